//! Drawing: pure functions from [`State`] to a frame. Only the visible rows are drawn.

use std::path::Path;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use crate::diagnose::Severity;
use crate::render::lanes::{Cell, GlyphSet};
use crate::render::rows::{GraphRow, Mark};

use super::keys::{self, BINDINGS, DIALOG_KEYS, SEARCH_KEYS, View};
use super::state::{Item, State};
use super::{dbview, dialog, doctor};

/// Smallest terminal the explorer draws in.
pub const MIN_WIDTH: u16 = 50;
pub const MIN_HEIGHT: u16 = 10;
/// From this width on, the details pane sits right of the graph; below it, under the graph.
const SIDE_BY_SIDE: u16 = 100;
const DETAILS_BELOW: u16 = 9;

const PALETTE: [Color; 6] = [
    Color::Cyan,
    Color::Green,
    Color::Yellow,
    Color::Magenta,
    Color::Blue,
    Color::Red,
];

/// Where everything goes on a screen of this size; `None` when it is too small.
pub struct Areas {
    pub header: Rect,
    pub graph: Rect,
    pub details: Rect,
    pub bar: Rect,
    /// The whole middle (full-screen views).
    pub body: Rect,
}

pub fn areas(width: u16, height: u16) -> Option<Areas> {
    screen_areas(width, height, 1, DETAILS_BELOW)
}

/// A screen of `header` lines, the graph and details panes (details `below` lines high when under
/// the graph) and the bottom bar; `None` when too small.
pub(crate) fn screen_areas(width: u16, height: u16, header: u16, below: u16) -> Option<Areas> {
    if width < MIN_WIDTH || height < MIN_HEIGHT {
        return None;
    }
    let full = Rect::new(0, 0, width, height);
    let [header, body, bar] = Layout::vertical([
        Constraint::Length(header),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(full);
    let [graph, details] = graph_and_details(body, below);
    Some(Areas {
        header,
        graph,
        details,
        bar,
        body,
    })
}

/// The body split into the graph pane and the details pane: side by side on wide terminals,
/// else the details (`below` lines high) under the graph.
pub(crate) fn graph_and_details(body: Rect, below: u16) -> [Rect; 2] {
    if body.width >= SIDE_BY_SIDE {
        Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(body)
    } else {
        Layout::vertical([Constraint::Min(3), Constraint::Length(below)]).areas(body)
    }
}

/// Rows of graph lines visible at this terminal size (inside the pane's border).
pub fn graph_pane_height(width: u16, height: u16) -> usize {
    areas(width, height).map_or(1, |a| a.graph.height.saturating_sub(2) as usize)
}

/// How far the details pane can scroll: its wrapped lines beyond what fits.
pub fn details_overflow(state: &State) -> usize {
    let Some(a) = areas(state.width, state.height) else {
        return 0;
    };
    let inner = Block::bordered().inner(a.details);
    wrapped_height(&details_lines(state), inner.width).saturating_sub(inner.height as usize)
}

/// Lines `lines` take when word-wrapped at `width` columns, as the panes wrap them (greedy, a
/// word longer than the line is cut), to bound scrolling.
pub(crate) fn wrapped_height(lines: &[Line], width: u16) -> usize {
    let w = usize::from(width.max(1));
    lines
        .iter()
        .map(|l| {
            let text: String = l.spans.iter().map(|s| s.content.as_ref()).collect();
            let (mut rows, mut used) = (1, 0);
            for word in text.split(' ') {
                let n = word.chars().count();
                let need = if used == 0 { n } else { used + 1 + n };
                if need <= w {
                    used = need;
                } else if n <= w {
                    rows += 1;
                    used = n;
                } else {
                    // Cut into full lines; the rest starts the next one.
                    rows += usize::from(used > 0) + (n - 1) / w;
                    used = n - (n - 1) / w * w;
                }
            }
            rows
        })
        .sum()
}

/// The graph pane's inner area, for mapping mouse clicks.
pub fn graph_inner(width: u16, height: u16) -> Option<Rect> {
    areas(width, height).map(|a| Block::bordered().inner(a.graph))
}

pub fn draw(frame: &mut Frame, state: &State) {
    let area = frame.area();
    let Some(a) = areas(area.width, area.height) else {
        let msg = format!(
            "terminal too small: {}×{} (needs {MIN_WIDTH}×{MIN_HEIGHT}); enlarge it or press q",
            area.width, area.height
        );
        frame.render_widget(
            Paragraph::new(msg)
                .wrap(Wrap { trim: true })
                .style(Style::new().fg(Color::Red)),
            area,
        );
        return;
    };
    draw_header(frame, state, a.header);
    match state.view {
        View::Graph => {
            draw_graph(frame, state, a.graph);
            draw_details(frame, state, a.details);
        }
        View::Source => draw_source(frame, state, a.body),
        View::Problems => draw_problems(frame, state, a.body),
        View::Help => draw_help(frame, help_lines(), state.help_scroll, a.body),
        // Drawn by `super::compare::view` from its own state.
        View::Compare | View::Diff => {}
        View::Doctor => doctor::draw(frame, state, a.body),
        View::Log => dbview::draw_log(frame, state, a.body),
    }
    if let Some(d) = &state.repair.dialog {
        dialog::draw(frame, state, d, a.body);
    }
    draw_bar(frame, state, a.bar);
}

pub(crate) fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("{n} {what}")
    } else {
        format!("{n} {what}s")
    }
}

fn draw_header(frame: &mut Frame, state: &State, area: Rect) {
    let revisions = state.rows.iter().filter(|r| r.rev.is_some()).count();
    let problems = state.problems();
    let heads_style = if state.heads > 1 {
        Style::new().fg(Color::Red).add_modifier(Modifier::BOLD)
    } else {
        Style::new()
    };
    let problems_style = if problems > 0 {
        Style::new().fg(Color::Red).add_modifier(Modifier::BOLD)
    } else {
        Style::new().fg(Color::Green)
    };
    let project = [Span::raw(state.project.clone()), Span::raw("  ")];
    let counts = [
        Span::raw(plural(revisions, "revision")),
        Span::raw(" · "),
        Span::styled(plural(state.heads, "head"), heads_style),
        Span::raw(" · "),
        Span::styled(plural(problems, "problem"), problems_style),
        Span::raw("  "),
    ];
    let mut spans = vec![Span::styled(
        " migscope ",
        Style::new().add_modifier(Modifier::BOLD),
    )];
    if state.repair.configured() {
        // With a database, its state matters most: it comes first and the path last.
        spans.extend(dbview::header_spans(state));
        spans.push(Span::raw("  "));
        spans.extend(counts);
        spans.extend(project);
    } else {
        spans.extend(project);
        spans.extend(counts);
        spans.extend(dbview::header_spans(state));
    }
    frame.render_widget(
        Paragraph::new(Line::from(spans)).style(Style::new().add_modifier(Modifier::REVERSED)),
        area,
    );
}

pub(crate) fn node_char(row: &GraphRow, glyphs: GlyphSet) -> char {
    let head = row
        .marks
        .iter()
        .any(|m| matches!(m, Mark::Head | Mark::EffectiveHead));
    match (glyphs, row.rev.is_none(), head) {
        (GlyphSet::Unicode, true, _) => '○',
        (GlyphSet::Unicode, _, true) => '◉',
        (GlyphSet::Unicode, _, _) => '●',
        (GlyphSet::Ascii, true, _) => 'o',
        (GlyphSet::Ascii, _, true) => '@',
        (GlyphSet::Ascii, _, _) => '*',
    }
}

pub(crate) fn lane_spans(
    cells: &[Cell],
    width: usize,
    glyphs: GlyphSet,
    node: char,
) -> Vec<Span<'static>> {
    let mut spans = Vec::with_capacity(width);
    for c in cells.iter().take(width) {
        let ch = c.glyph.to_char_with_node(glyphs, node);
        let mut style = Style::new().fg(PALETTE[c.color as usize % PALETTE.len()]);
        if c.glyph.is_node() {
            style = style.add_modifier(Modifier::BOLD);
        }
        spans.push(Span::styled(ch.to_string(), style));
    }
    let drawn = cells.len().min(width);
    if drawn < width {
        spans.push(Span::raw(" ".repeat(width - drawn)));
    }
    spans
}

/// Splits `text` into spans, with every case-insensitive occurrence of `query` highlighted.
fn highlighted(text: &str, query: &str, base: Style) -> Vec<Span<'static>> {
    let hl = Style::new().fg(Color::Black).bg(Color::Yellow);
    if query.is_empty() {
        return vec![Span::styled(text.to_string(), base)];
    }
    let lower = text.to_lowercase();
    if lower.len() != text.len() {
        // Lower-casing changed byte offsets: highlight the whole piece if it matches.
        let style = if lower.contains(query) { hl } else { base };
        return vec![Span::styled(text.to_string(), style)];
    }
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(pos) = lower[at..].find(query) {
        let start = at + pos;
        let end = start + query.len();
        if !text.is_char_boundary(start) || !text.is_char_boundary(end) {
            break;
        }
        if start > at {
            out.push(Span::styled(text[at..start].to_string(), base));
        }
        out.push(Span::styled(text[start..end].to_string(), hl));
        at = end;
    }
    if at < text.len() {
        out.push(Span::styled(text[at..].to_string(), base));
    }
    out
}

fn row_text(state: &State, r: usize, query: &str) -> Vec<Span<'static>> {
    let row = &state.rows[r];
    let mut spans = Vec::new();
    let id_style = if row.rev.is_none() {
        Style::new().fg(Color::Red).add_modifier(Modifier::DIM)
    } else if state.ancestry[r] {
        Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD)
    } else {
        Style::new().fg(Color::Yellow)
    };
    spans.extend(highlighted(&row.id, query, id_style));
    if !row.labels.is_empty() {
        spans.push(Span::raw(" "));
        let shown = label_text(&row.labels);
        spans.extend(highlighted(&shown, query, Style::new().fg(Color::Green)));
    }
    for m in &row.marks {
        let style = if m.is_problem() {
            Style::new().fg(Color::Red).add_modifier(Modifier::BOLD)
        } else {
            Style::new().fg(Color::Cyan)
        };
        spans.push(Span::raw(" "));
        spans.push(Span::styled(format!("[{}]", m.label()), style));
    }
    spans.extend(dbview::row_marks(state, r));
    if !state.row_diagnostics[r].is_empty() && row.rev.is_some() {
        spans.push(Span::styled(" ⚠", Style::new().fg(Color::Red)));
    }
    if !row.message.is_empty() {
        spans.push(Span::raw(" "));
        spans.extend(highlighted(&row.message, query, Style::new()));
    }
    spans
}

/// A row's labels in parentheses; long lists are abbreviated (the details pane lists them all).
pub(crate) fn label_text(labels: &[String]) -> String {
    let all = labels.join(", ");
    if all.chars().count() > 24 && labels.len() > 1 {
        format!("({} +{})", labels[0], labels.len() - 1)
    } else {
        format!("({all})")
    }
}

fn draw_graph(frame: &mut Frame, state: &State, area: Rect) {
    let title = match state.items.len() {
        0 => " graph (empty) ".to_string(),
        _ => format!(
            " graph {}/{} ",
            state.selected_row().map_or(0, |r| r + 1),
            state.rows.len()
        ),
    };
    let block = Block::new().borders(Borders::ALL).title(title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let h = inner.height as usize;
    let lane_width = state
        .layout
        .char_width()
        .min((inner.width as usize).saturating_sub(2) * 2 / 3);
    let query = if state.search.query.is_empty() {
        String::new()
    } else {
        state.search.query.to_lowercase()
    };
    let (sel_mark, anc_mark) = match state.glyphs {
        GlyphSet::Unicode => ("▶", "•"),
        GlyphSet::Ascii => (">", "."),
    };
    let mut lines: Vec<Line> = Vec::with_capacity(h);
    let mut line_no = state.scroll;
    while lines.len() < h {
        let Some((i, k)) = state.item_at_line(line_no) else {
            break;
        };
        line_no += 1;
        let selected = i == state.selected;
        let mut spans = Vec::new();
        match state.items[i] {
            Item::Row(r) => {
                let cells = state.layout.row(r);
                let gutter = if k == 0 && selected {
                    Span::styled(sel_mark, Style::new().fg(Color::White).bold())
                } else if k == 0 && state.ancestry[r] {
                    Span::styled(anc_mark, Style::new().fg(Color::Yellow))
                } else {
                    Span::raw(" ")
                };
                spans.push(gutter);
                let db = (k == 0).then(|| dbview::row_glyph(state, r)).flatten();
                spans.push(db.unwrap_or(Span::raw(" ")));
                let node = node_char(&state.rows[r], state.glyphs);
                let line = cells.line(k).unwrap_or(&[]);
                spans.extend(lane_spans(line, lane_width, state.glyphs, node));
                if k == 0 {
                    spans.push(Span::raw(" "));
                    spans.extend(row_text(state, r, &query));
                }
            }
            Item::Folded { first, last } => {
                spans.push(Span::raw(if selected { sel_mark } else { " " }));
                spans.push(Span::raw(" "));
                let fold = match state.glyphs {
                    GlyphSet::Unicode => '┆',
                    GlyphSet::Ascii => ':',
                };
                let line = state.layout.row(first).line(0).unwrap_or(&[]);
                spans.extend(lane_spans(line, lane_width, state.glyphs, fold));
                let hits = (first..=last).filter(|&x| state.is_match(x)).count();
                let mut text = format!(
                    " … {} folded (z to unfold)",
                    plural(last + 1 - first, "revision")
                );
                if hits > 0 {
                    text += &format!(", {} inside", plural(hits, "match"));
                }
                spans.push(Span::styled(text, Style::new().fg(Color::DarkGray)));
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

pub(crate) fn relative<'p>(path: &'p Path, root: &Path) -> &'p Path {
    path.strip_prefix(root).unwrap_or(path)
}

pub(crate) fn severity_style(s: Severity) -> Style {
    match s {
        Severity::Error => Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
        Severity::Warning => Style::new().fg(Color::Yellow),
        Severity::Info => Style::new().fg(Color::Blue),
    }
}

pub(crate) fn field(name: &str, value: String) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!("{name:<9}"), Style::new().fg(Color::DarkGray)),
        Span::raw(value),
    ])
}

pub(crate) fn list(v: &[String]) -> String {
    if v.is_empty() {
        "—".to_string()
    } else {
        v.join(", ")
    }
}

/// The details pane's lines for the selection.
pub fn details_lines(state: &State) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    let Some(item) = state.selected_item() else {
        lines.push(Line::raw("no revisions"));
        return lines;
    };
    let r = match item {
        Item::Row(r) => r,
        Item::Folded { first, last } => {
            lines.push(Line::raw(format!(
                "{} folded: {} … {}",
                plural(last + 1 - first, "revision"),
                state.rows[first].id,
                state.rows[last].id
            )));
            lines.push(Line::raw("z unfolds them"));
            return lines;
        }
    };
    let row = &state.rows[r];
    lines.push(field("id", row.id.clone()));
    if !row.marks.is_empty() {
        let marks: Vec<String> = row
            .marks
            .iter()
            .map(|m| format!("[{}]", m.label()))
            .collect();
        lines.push(field("marks", marks.join(" ")));
    }
    let ids = |rows: &[usize]| -> Vec<String> {
        rows.iter().map(|&x| state.rows[x].id.clone()).collect()
    };
    match row.rev {
        None => {
            lines.push(field("message", row.message.clone()));
            lines.push(field("children", list(&ids(&state.child_rows[r]))));
        }
        Some(x) => {
            let rev = state.map.rev(x);
            let rec = state.map.record_of(x);
            lines.push(field("message", rev.message.clone()));
            let line = rec
                .revision
                .as_ref()
                .map_or(String::new(), |a| format!(":{}", a.span.line));
            lines.push(field(
                "file",
                format!("{}{line}", relative(&rec.path, &state.root).display()),
            ));
            lines.push(field("parents", list(&rev.down)));
            lines.push(field("children", list(&state.map.ids(rev.children()))));
            lines.push(field("labels", list(&rev.labels)));
            lines.push(field("depends", list(&rev.depends_on)));
            let created = rec
                .docstring
                .as_ref()
                .and_then(|d| d.create_date.clone())
                .unwrap_or_else(|| "—".into());
            lines.push(field("created", created));
        }
    }
    // The database first: with one connected, it is what the repair is about.
    lines.extend(dbview::details(state, r));
    let diags = &state.row_diagnostics[r];
    if !diags.is_empty() {
        lines.push(Line::raw(""));
        lines.push(Line::styled(
            plural(diags.len(), "problem"),
            Style::new().add_modifier(Modifier::BOLD),
        ));
        for &d in diags {
            let d = &state.diagnostics[d];
            lines.push(Line::from(vec![
                Span::styled(d.severity.as_str(), severity_style(d.severity)),
                Span::raw(format!(" {}: {}", d.code, d.message)),
            ]));
            lines.push(Line::styled(
                format!("  fix: {}", d.fix),
                Style::new().fg(Color::DarkGray),
            ));
        }
    }
    if let Some(ops) = state.operations.as_ref().filter(|o| Some(o.rev) == row.rev) {
        lines.extend(ops.lines());
    }
    lines
}

fn draw_details(frame: &mut Frame, state: &State, area: Rect) {
    draw_scrolled(
        frame,
        " details ",
        details_lines(state),
        state.details_scroll,
        area,
    );
}

/// A bordered pane of wrapped lines from line `scroll` on; the title says when there is more.
pub(crate) fn draw_scrolled(
    frame: &mut Frame,
    title: &str,
    lines: Vec<Line<'static>>,
    scroll: usize,
    area: Rect,
) {
    let visible = area.height.saturating_sub(2) as usize;
    let total = wrapped_height(&lines, area.width.saturating_sub(2));
    let scroll = scroll.min(total.saturating_sub(visible));
    let title = if scroll > 0 || total > visible {
        let more = if scroll + visible < total {
            "↓ J"
        } else {
            "end, K ↑"
        };
        format!("{title}({more}) ")
    } else {
        title.to_string()
    };
    let block = Block::new().borders(Borders::ALL).title(title);
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false })
            .scroll((scroll.min(u16::MAX as usize) as u16, 0)),
        area,
    );
}

fn draw_source(frame: &mut Frame, state: &State, area: Rect) {
    frame.render_widget(Clear, area);
    let Some(src) = &state.source else {
        frame.render_widget(Paragraph::new("no file"), area);
        return;
    };
    let title = format!(" {} ", relative(&src.path, &state.root).display());
    let block = Block::new().borders(Borders::ALL).title(title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let mut lines: Vec<Line> = Vec::new();
    // Full details first, then the file.
    if let Some(r) = state.selected_row()
        && let Some(x) = state.rows[r].rev
    {
        for l in crate::render::log_entry(state.map, x).lines().take(8) {
            if l.starts_with("Path:") {
                // The title shows the file.
                continue;
            }
            if l.starts_with("Rev:") {
                lines.push(Line::styled(
                    l.to_string(),
                    Style::new().add_modifier(Modifier::BOLD),
                ));
            } else if l.starts_with("    ") || l.is_empty() {
                break;
            } else {
                lines.push(Line::raw(l.to_string()));
            }
        }
        lines.push(Line::styled(
            "─".repeat(inner.width as usize),
            Style::new().fg(Color::DarkGray),
        ));
    }
    if let Some(e) = &src.error {
        lines.push(Line::styled(
            format!("cannot read the file: {e}"),
            Style::new().fg(Color::Red),
        ));
    }
    let digits = src.lines.len().max(1).to_string().len();
    let room = (inner.height as usize).saturating_sub(lines.len());
    for (n, text) in src
        .lines
        .iter()
        .enumerate()
        .skip(state.source_scroll)
        .take(room)
    {
        let no = n as u32 + 1;
        let here = src.highlight == Some(no);
        let mut line = Line::from(vec![
            Span::styled(
                format!("{:>digits$}{}", no, if here { "▶" } else { " " }),
                Style::new().fg(Color::DarkGray),
            ),
            Span::raw(text.clone()),
        ]);
        if here {
            line = line.style(Style::new().bg(Color::DarkGray));
        }
        lines.push(line);
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

fn draw_problems(frame: &mut Frame, state: &State, area: Rect) {
    let title = format!(" problems ({}) ", state.diagnostics.len());
    let block = Block::new().borders(Borders::ALL).title(title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if state.diagnostics.is_empty() {
        frame.render_widget(
            Paragraph::new("No problems: Alembic can load this project and it has one head."),
            inner,
        );
        return;
    }
    // The selected problem in full takes the bottom lines.
    let detail_h = 5.min(inner.height.saturating_sub(1));
    let [list_area, detail_area] =
        Layout::vertical([Constraint::Min(1), Constraint::Length(detail_h)]).areas(inner);
    let list_h = list_area.height as usize;
    let top = state
        .problem_selected
        .saturating_sub(list_h.saturating_sub(1));
    let mut lines: Vec<Line> = Vec::new();
    for (i, d) in state.diagnostics.iter().enumerate().skip(top).take(list_h) {
        let selected = i == state.problem_selected;
        let at = match (&d.file, d.line) {
            (Some(f), Some(l)) => format!("{}:{l}", relative(f, &state.root).display()),
            (Some(f), None) => relative(f, &state.root).display().to_string(),
            _ => String::new(),
        };
        let mut line = Line::from(vec![
            Span::raw(if selected { "▶ " } else { "  " }),
            Span::styled(
                format!("{:<8}", d.severity.as_str()),
                severity_style(d.severity),
            ),
            Span::styled(format!("{:<22} ", d.code), Style::new().fg(Color::Cyan)),
            Span::styled(
                d.revision.clone().unwrap_or_else(|| "—".into()),
                Style::new().fg(Color::Yellow),
            ),
            Span::raw(format!("  {}", d.message)),
            Span::styled(format!("  {at}"), Style::new().fg(Color::DarkGray)),
        ]);
        if selected {
            line = line.style(Style::new().bg(Color::DarkGray));
        }
        lines.push(line);
    }
    frame.render_widget(Paragraph::new(lines), list_area);
    if let Some(d) = state.diagnostics.get(state.problem_selected) {
        let detail = vec![
            Line::styled(
                "─".repeat(detail_area.width as usize),
                Style::new().fg(Color::DarkGray),
            ),
            Line::raw(d.message.clone()),
            Line::from(vec![
                Span::styled("fix: ", Style::new().add_modifier(Modifier::BOLD)),
                Span::raw(d.fix.clone()),
            ]),
        ];
        frame.render_widget(
            Paragraph::new(detail).wrap(Wrap { trim: false }),
            detail_area,
        );
    }
}

/// The explorer's views, whose keys its help lists.
pub const EXPLORER_VIEWS: [View; 6] = [
    View::Graph,
    View::Source,
    View::Problems,
    View::Help,
    View::Doctor,
    View::Log,
];

/// The key table's rows that work in any of `views`, each with the views it is limited to.
pub fn key_lines(views: &[View]) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    for b in BINDINGS {
        let in_views: Vec<&str> = views
            .iter()
            .filter(|v| b.applies_to(**v))
            .map(|v| v.title())
            .collect();
        if in_views.is_empty() {
            continue;
        }
        let scope = if in_views.len() == views.len() {
            String::new()
        } else {
            format!("  ({})", in_views.join(", "))
        };
        lines.push(Line::from(vec![
            Span::styled(
                format!("{:<14}", b.key_names()),
                Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
            ),
            Span::raw(b.help),
            Span::styled(scope, Style::new().fg(Color::DarkGray)),
        ]));
    }
    lines
}

/// The help screen's lines, generated from the key table the input handler uses.
pub fn help_lines() -> Vec<Line<'static>> {
    let mut lines = key_lines(&EXPLORER_VIEWS);
    for (title, keys) in [
        ("While typing a search", SEARCH_KEYS),
        ("In a stamp or undo dialog", DIALOG_KEYS),
    ] {
        lines.push(Line::raw(""));
        lines.push(Line::styled(
            title,
            Style::new().add_modifier(Modifier::BOLD),
        ));
        for (k, what) in keys {
            lines.push(Line::from(vec![
                Span::styled(format!("{k:<14}"), Style::new().fg(Color::Yellow)),
                Span::raw(*what),
            ]));
        }
    }
    lines.push(Line::raw(""));
    lines.push(Line::raw(
        "Mouse: the wheel moves the selection; a click on the graph selects a row.",
    ));
    lines
}

pub(crate) fn draw_help(frame: &mut Frame, lines: Vec<Line<'static>>, scroll: usize, area: Rect) {
    let block = Block::new().borders(Borders::ALL).title(" keys ");
    let scroll = scroll
        .min(lines.len().saturating_sub(1))
        .min(u16::MAX as usize) as u16;
    frame.render_widget(Paragraph::new(lines).block(block).scroll((scroll, 0)), area);
}

fn draw_bar(frame: &mut Frame, state: &State, area: Rect) {
    let key = Style::new().fg(Color::Black).bg(Color::Gray);
    let mut spans: Vec<Span> = Vec::new();
    if state.search.editing {
        spans.push(Span::styled("/", Style::new().add_modifier(Modifier::BOLD)));
        spans.push(Span::raw(state.search.query.clone()));
        spans.push(Span::styled("▏", Style::new().fg(Color::Yellow)));
        let n = state.search.matches.len();
        spans.push(Span::styled(
            format!("  {}", plural(n, "match").replace("matchs", "matches")),
            Style::new().fg(Color::DarkGray),
        ));
        for (k, what) in &SEARCH_KEYS[1..] {
            spans.push(Span::raw("  "));
            spans.push(Span::styled(format!(" {k} "), key));
            spans.push(Span::raw(format!(
                " {}",
                what.split(';').next().unwrap_or(what)
            )));
        }
        frame.render_widget(Paragraph::new(Line::from(spans)), area);
        return;
    }
    if let Some(s) = &state.status {
        spans.push(Span::styled(
            format!("{s}  "),
            Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
        ));
    } else if state.view == View::Graph && !state.search.query.is_empty() {
        let total = state.search.matches.len();
        let pos = state
            .match_position()
            .map_or("-".to_string(), |p| p.to_string());
        spans.push(Span::styled(
            format!("/{} {pos}/{total}  ", state.search.query),
            Style::new().fg(Color::Yellow),
        ));
    }
    if let Some(b) = dbview::busy_span(state) {
        spans.push(b);
    }
    if state.repair.dialog.is_some() {
        for (k, what) in DIALOG_KEYS {
            spans.push(Span::styled(format!(" {k} "), key));
            spans.push(Span::raw(format!(
                " {}  ",
                what.split(':').next().unwrap_or(what)
            )));
        }
        frame.render_widget(Paragraph::new(Line::from(spans)), area);
        return;
    }
    spans.extend(key_spans(state.view, state.repair.configured()));
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// The bottom bar's keys for a view, from the key table (`database`: one is configured).
pub(crate) fn key_spans(view: View, database: bool) -> Vec<Span<'static>> {
    let key = Style::new().fg(Color::Black).bg(Color::Gray);
    let mut spans = Vec::new();
    for (i, (k, what)) in keys::bar(view, database).into_iter().enumerate() {
        if i > 0 {
            spans.push(Span::raw("  "));
        }
        spans.push(Span::styled(k, key));
        spans.push(Span::raw(format!(" {what}")));
    }
    spans
}
