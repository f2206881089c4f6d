//! Drawing compare mode: pure functions of [`CompareState`]. Only the visible rows are drawn.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use crate::compare::Which;
use crate::diagnose::Severity;
use crate::render::lanes::GlyphSet;

use super::super::keys::View;
use super::super::view::{
    Areas, MIN_HEIGHT, MIN_WIDTH, draw_help, draw_scrolled, field, key_lines, key_spans,
    label_text, lane_spans, list, node_char, plural, screen_areas, severity_style, wrapped_height,
};
use super::sidebyside::RowKind;
use super::{CompareState, DiffView, Mark};

const DETAILS_BELOW: u16 = 10;
const HEADER: u16 = 2;
/// Diff view lines that are not rows: the titles and the notes.
const DIFF_CHROME: u16 = 2;

pub fn areas(width: u16, height: u16) -> Option<Areas> {
    screen_areas(width, height, HEADER, DETAILS_BELOW)
}

/// Graph lines visible at this size.
pub fn graph_pane_height(width: u16, height: u16) -> usize {
    areas(width, height).map_or(1, |a| a.graph.height.saturating_sub(2) as usize)
}

/// Diff rows visible at this height.
pub fn diff_page(height: u16) -> usize {
    height.saturating_sub(HEADER + 1 + 2 + DIFF_CHROME) as usize
}

fn mark_style(m: Mark) -> Style {
    match m {
        Mark::Same => Style::new().fg(Color::DarkGray),
        Mark::OnlyLeft => Style::new().fg(Color::Magenta).add_modifier(Modifier::BOLD),
        Mark::OnlyRight => Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
        Mark::Graph => Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
        Mark::Content => Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
        Mark::Whitespace => Style::new().fg(Color::Green),
        Mark::Renamed => Style::new().fg(Color::Blue),
    }
}

pub fn draw(frame: &mut Frame, s: &CompareState) {
    let area = frame.area();
    let Some(a) = areas(area.width, area.height) else {
        frame.render_widget(
            Paragraph::new(format!(
                "terminal too small: {}×{} (needs {MIN_WIDTH}×{MIN_HEIGHT}); enlarge it or press q",
                area.width, area.height
            ))
            .wrap(Wrap { trim: true })
            .style(Style::new().fg(Color::Red)),
            area,
        );
        return;
    };
    draw_header(frame, s, a.header);
    match (s.view, &s.diff) {
        (View::Diff, Some(d)) => draw_diff(frame, d, a.body),
        (View::Help, _) => draw_help(frame, help_lines(), s.help_scroll, a.body),
        _ => {
            draw_graph(frame, s, a.graph);
            draw_scrolled(
                frame,
                " compare ",
                details_lines(s),
                s.details_scroll,
                a.details,
            );
        }
    }
    let mut bar: Vec<Span> = Vec::new();
    if let Some(st) = &s.status {
        bar.push(Span::styled(
            format!("{st}  "),
            Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
        ));
    }
    bar.extend(key_spans(s.view, false));
    frame.render_widget(Paragraph::new(Line::from(bar)), a.bar);
}

fn side_summary(s: &CompareState, which: Which) -> Vec<Span<'static>> {
    let side = match which {
        Which::Left => &s.pair.left,
        Which::Right => &s.pair.right,
    };
    let heads = side.map.heads().len();
    vec![
        Span::styled(
            format!("{} ", which.name()),
            Style::new().add_modifier(Modifier::BOLD),
        ),
        Span::raw(format!(
            "{} ({}, {})",
            side.label,
            plural(side.revision_count(), "revision"),
            plural(heads, "head")
        )),
    ]
}

fn draw_header(frame: &mut Frame, s: &CompareState, area: Rect) {
    let bold = Style::new().add_modifier(Modifier::BOLD);
    let mut first = vec![Span::styled(" migscope compare  ", bold)];
    first.extend(side_summary(s, Which::Left));
    first.push(Span::raw("  ↔  "));
    first.extend(side_summary(s, Which::Right));
    let u = &s.cmp.union;
    let bad = Style::new().fg(Color::Red).add_modifier(Modifier::BOLD);
    let problems = u.errors + u.warnings;
    let mut second = vec![
        Span::styled(" union ", bold),
        Span::raw(format!("{} · ", plural(u.revisions, "revision"))),
        Span::styled(
            plural(u.heads.len(), "head"),
            if u.heads.len() > 1 { bad } else { Style::new() },
        ),
        Span::raw(format!(" · {} · ", plural(u.bases.len(), "base"))),
        Span::styled(
            plural(problems, "problem"),
            if u.errors > 0 {
                bad
            } else {
                Style::new().fg(Color::Green)
            },
        ),
        Span::raw("   "),
    ];
    let counted = mark_counts(s);
    if counted.is_empty() {
        second.push(Span::styled(
            "both sides hold the same files",
            Style::new().fg(Color::Green),
        ));
    } else {
        second.push(Span::raw("differences:"));
        for (m, n) in counted {
            second.push(Span::raw(" "));
            second.push(Span::styled(m.code().to_string(), mark_style(m)));
            second.push(Span::raw(format!(" {n} ")));
        }
    }
    frame.render_widget(
        Paragraph::new(vec![Line::from(first), Line::from(second)])
            .style(Style::new().add_modifier(Modifier::REVERSED)),
        area,
    );
}

fn draw_graph(frame: &mut Frame, s: &CompareState, area: Rect) {
    let title = format!(" union graph {}/{} ", s.selected + 1, s.rows.len());
    let block = Block::new().borders(Borders::ALL).title(title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let lane_width = s
        .layout
        .char_width()
        .min((inner.width as usize).saturating_sub(4) * 2 / 3);
    let sel_mark = match s.glyphs {
        GlyphSet::Unicode => "▶",
        GlyphSet::Ascii => ">",
    };
    let mut lines: Vec<Line> = Vec::with_capacity(inner.height as usize);
    let mut line_no = s.scroll;
    while lines.len() < inner.height as usize {
        let Some((r, k)) = s.layout.row_at_line(line_no) else {
            break;
        };
        line_no += 1;
        let row = &s.rows[r];
        let mark = s.mark(r);
        let selected = r == s.selected;
        let mut spans = vec![
            Span::raw(if selected && k == 0 { sel_mark } else { " " }),
            Span::styled(
                if k == 0 { mark.code() } else { ' ' }.to_string(),
                mark_style(mark),
            ),
            Span::raw(" "),
        ];
        let cells = s.layout.row(r);
        spans.extend(lane_spans(
            cells.line(k).unwrap_or(&[]),
            lane_width,
            s.glyphs,
            node_char(row, s.glyphs),
        ));
        if k == 0 {
            let id_style = match (row.rev, mark) {
                (None, _) => Style::new().fg(Color::Red).add_modifier(Modifier::DIM),
                (_, Mark::Same) => Style::new(),
                _ => Style::new().fg(Color::Yellow),
            };
            spans.push(Span::raw(" "));
            spans.push(Span::styled(row.id.clone(), id_style));
            if !row.labels.is_empty() {
                spans.push(Span::styled(
                    format!(" {}", label_text(&row.labels)),
                    Style::new().fg(Color::Green),
                ));
            }
            for m in &row.marks {
                spans.push(Span::styled(
                    format!(" [{}]", m.label()),
                    Style::new().fg(Color::Cyan),
                ));
            }
            if mark != Mark::Same {
                spans.push(Span::styled(
                    format!(" [{}]", mark.label()),
                    mark_style(mark),
                ));
            }
            let renamed = s.selected_renamed(r);
            if renamed && mark != Mark::Renamed {
                spans.push(Span::styled(" [renamed]", mark_style(Mark::Renamed)));
            }
            if !row.message.is_empty() {
                spans.push(Span::raw(format!(" {}", row.message)));
            }
        }
        let mut line = Line::from(spans);
        if selected {
            line = line.style(Style::new().bg(Color::DarkGray));
        }
        lines.push(line);
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// How many revisions carry each mark (marks with none left out), in legend order.
fn mark_counts(s: &CompareState) -> Vec<(Mark, usize)> {
    let c = &s.cmp.counts;
    let counts = [
        c.only_left,
        c.only_right,
        c.graph_differs,
        c.content_differs,
        c.eol_only,
        c.renamed,
    ];
    Mark::ALL
        .into_iter()
        .zip(counts)
        .filter(|&(_, n)| n > 0)
        .collect()
}

/// Compare mode's help: its keys, and what the marks mean.
fn help_lines() -> Vec<Line<'static>> {
    let mut lines = key_lines(&[View::Compare, View::Diff]);
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        "Marks (the column left of the graph)",
        Style::new().add_modifier(Modifier::BOLD),
    ));
    for m in Mark::ALL {
        lines.push(Line::from(vec![
            Span::styled(format!("{:<14}", m.code()), mark_style(m)),
            Span::raw(m.label()),
        ]));
    }
    lines.push(Line::raw("(blank)        same on both sides"));
    lines
}

impl CompareState {
    /// Whether row `r`'s revision has another file name on the other side.
    fn selected_renamed(&self, r: usize) -> bool {
        self.row_diff[r].is_some_and(|d| self.cmp.revisions[d].renamed)
    }
}

/// The details pane: the selected revision's comparison, then the union's verdict.
pub fn details_lines(s: &CompareState) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    let bold = Style::new().add_modifier(Modifier::BOLD);
    if let Some(row) = s.rows.get(s.selected) {
        let mark = s.mark(s.selected);
        lines.push(field("id", row.id.clone()));
        let mut verdict = vec![
            Span::styled(
                format!("{:<9}", "compare"),
                Style::new().fg(Color::DarkGray),
            ),
            Span::styled(mark.label(), mark_style(mark)),
        ];
        if s.selected_renamed(s.selected) && mark != Mark::Renamed {
            verdict.push(Span::raw(", renamed"));
        }
        lines.push(Line::from(verdict));
        lines.push(field("message", row.message.clone()));
        match s.selected_diff() {
            Some(d) => {
                for (which, f) in [(Which::Left, &d.left), (Which::Right, &d.right)] {
                    let text = f
                        .as_ref()
                        .map_or("—".to_string(), |f| f.name.display().to_string());
                    lines.push(field(which.name(), text));
                }
                for g in &d.graph {
                    lines.push(Line::styled(
                        format!(
                            "{}: LEFT {} · RIGHT {}",
                            g.field,
                            list(&g.left),
                            list(&g.right)
                        ),
                        mark_style(Mark::Graph),
                    ));
                }
                if !d.cosmetic.is_empty() {
                    let kinds: Vec<&str> = d.cosmetic.iter().map(|c| c.describe()).collect();
                    lines.push(field("only", kinds.join(", ")));
                }
                lines.push(Line::styled(
                    "Enter: the two files side by side",
                    Style::new().fg(Color::DarkGray),
                ));
            }
            None if row.rev.is_some() => {
                lines.push(field("files", "identical on both sides".into()));
            }
            None => {}
        }
    }
    let u = &s.cmp.union;
    lines.push(Line::raw(""));
    lines.push(Line::styled("If both sides were merged", bold));
    lines.push(field("heads", list(&u.heads)));
    lines.push(field("bases", list(&u.bases)));
    lines.push(field(
        "problems",
        format!(
            "{}, {}",
            plural(u.errors, "error"),
            plural(u.warnings, "warning")
        ),
    ));
    for d in u
        .diagnostics
        .iter()
        .filter(|d| d.severity >= Severity::Warning)
    {
        lines.push(Line::from(vec![
            Span::styled(d.severity.as_str(), severity_style(d.severity)),
            Span::raw(format!(" {}: {}", d.code, d.message)),
        ]));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled("Differences", bold));
    for (m, n) in mark_counts(s) {
        lines.push(Line::from(vec![
            Span::styled(format!("{} ", m.code()), mark_style(m)),
            Span::raw(format!("{n} {}", m.label())),
        ]));
    }
    if s.cmp.is_equivalent() {
        lines.push(Line::raw("the two sides hold the same revisions"));
    }
    for (ids, from, to) in [
        (&s.cmp.unknown_to_right, "LEFT", "RIGHT"),
        (&s.cmp.unknown_to_left, "RIGHT", "LEFT"),
    ] {
        if !ids.is_empty() {
            lines.push(Line::raw(""));
            lines.push(Line::styled(
                format!("A database stamped from {from} at these is unknown to {to}:"),
                bold,
            ));
            lines.push(Line::raw(format!("  {}", ids.join(", "))));
        }
    }
    if !s.unplaced.is_empty() {
        lines.push(Line::raw(""));
        lines.push(Line::styled("Files without a revision id:", bold));
        for &i in &s.unplaced {
            let d = &s.cmp.revisions[i];
            lines.push(Line::raw(format!(
                "  {} ({})",
                d.revision,
                Mark::of(d).label()
            )));
        }
    }
    for side in [&s.pair.left, &s.pair.right] {
        for w in &side.warnings {
            lines.push(Line::styled(
                format!("{}: {w}", side.which.name()),
                Style::new().fg(Color::Yellow),
            ));
        }
    }
    lines
}

/// How far the details pane can scroll.
pub fn details_overflow(s: &CompareState) -> usize {
    let Some(a) = areas(s.width, s.height) else {
        return 0;
    };
    let inner = Block::bordered().inner(a.details);
    wrapped_height(&details_lines(s), inner.width).saturating_sub(inner.height as usize)
}

fn half(
    cell: &Option<(usize, String)>,
    digits: usize,
    width: usize,
    style: Style,
) -> Vec<Span<'static>> {
    let text_w = width.saturating_sub(digits + 1);
    match cell {
        Some((no, text)) => {
            let shown: String = text.chars().take(text_w).collect();
            let pad = text_w.saturating_sub(shown.chars().count());
            vec![
                Span::styled(format!("{no:>digits$} "), Style::new().fg(Color::DarkGray)),
                Span::styled(format!("{shown}{}", " ".repeat(pad)), style),
            ]
        }
        None => vec![Span::styled(
            " ".repeat(width),
            Style::new().fg(Color::DarkGray),
        )],
    }
}

fn draw_diff(frame: &mut Frame, d: &DiffView, area: Rect) {
    let changes = plural(d.rows.blocks.len(), "changed block");
    let title = format!(" {} · {changes} ", d.revision);
    let block = Block::new().borders(Borders::ALL).title(title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let w = inner.width as usize;
    let col = w.saturating_sub(3) / 2;
    let digits = d
        .rows
        .rows
        .iter()
        .flat_map(|r| [&r.left, &r.right])
        .flatten()
        .map(|(n, _)| n.to_string().len())
        .max()
        .unwrap_or(1);
    let bold = Style::new().add_modifier(Modifier::BOLD);
    let title_cell = |t: &str| {
        let t: String = t.chars().take(col).collect();
        format!("{t:<col$}")
    };
    let mut lines = vec![Line::from(vec![
        Span::styled(title_cell(&d.left_title), bold),
        Span::raw(" │ "),
        Span::styled(title_cell(&d.right_title), bold),
    ])];
    let notes = if d.notes.is_empty() {
        String::new()
    } else {
        format!("also differs: {}", d.notes.join("; "))
    };
    lines.push(Line::styled(notes, Style::new().fg(Color::Yellow)));
    let room = (inner.height as usize).saturating_sub(lines.len());
    for row in d.rows.rows.iter().skip(d.scroll).take(room) {
        let (ls, rs, sep) = match row.kind {
            RowKind::Same => (Style::new(), Style::new(), " │ "),
            RowKind::Changed => (
                Style::new().fg(Color::Red),
                Style::new().fg(Color::Green),
                " ~ ",
            ),
            RowKind::Removed => (Style::new().fg(Color::Red), Style::new(), " < "),
            RowKind::Added => (Style::new(), Style::new().fg(Color::Green), " > "),
        };
        let mut spans = half(&row.left, digits, col, ls);
        spans.push(Span::styled(sep, Style::new().fg(Color::DarkGray)));
        spans.extend(half(&row.right, digits, col, rs));
        lines.push(Line::from(spans));
    }
    if d.rows.rows.is_empty() {
        lines.push(Line::raw("(both files are empty)"));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}
