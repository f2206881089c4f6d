//! How the database shows on the main screen: the header's database part, each row's mark
//! (the database's revision, applied, pending), the details pane's database section and the log
//! panel. Pure functions of the state.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::evidence::{self, Verdict};
use crate::render::lanes::GlyphSet;

use super::repair::{RowDb, rows_text};
use super::state::State;

const SPINNER: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

fn spinner(state: &State) -> char {
    match state.glyphs {
        GlyphSet::Unicode => SPINNER[state.repair.tick % SPINNER.len()],
        GlyphSet::Ascii => ['|', '/', '-', '\\'][state.repair.tick % 4],
    }
}

const DB_MARK: Style = Style::new()
    .fg(Color::Black)
    .bg(Color::Magenta)
    .add_modifier(Modifier::BOLD);

/// The header's database part.
pub fn header_spans(state: &State) -> Vec<Span<'static>> {
    let r = &state.repair;
    let dim = Style::new().fg(Color::DarkGray);
    let red = Style::new().fg(Color::Red).add_modifier(Modifier::BOLD);
    let Some(target) = &r.target else {
        return vec![match &r.setup_error {
            Some(e) => Span::styled(format!("database: {e}"), red),
            None => Span::styled("database: not connected", dim),
        }];
    };
    let mut spans = vec![Span::raw(format!("{} ", target.url.masked()))];
    match (&r.db, &r.error, &r.busy) {
        (None, _, Some(b)) => spans.push(Span::styled(format!("{} {b}…", spinner(state)), dim)),
        (None, Some(e), None) => {
            spans.push(Span::styled("cannot read (R retries): ", red));
            spans.push(Span::styled(e.clone(), red));
        }
        (None, None, None) => spans.push(Span::styled("not read", dim)),
        (Some(l), _, _) => {
            let a = &l.assessment;
            if a.rows.is_empty() {
                spans.push(Span::styled(
                    "empty (no version row) ",
                    Style::new().fg(Color::Yellow),
                ));
            }
            for (id, rev) in &a.report.rows {
                spans.push(Span::styled(format!(" {id} "), DB_MARK));
                let (what, style) = match rev {
                    None => ("UNKNOWN", red),
                    Some(x) if state.map.heads().contains(x) => {
                        ("head", Style::new().fg(Color::Green))
                    }
                    Some(_) => ("behind", Style::new().fg(Color::Yellow)),
                };
                spans.push(Span::styled(format!(" {what} "), style));
            }
            if let Ok(p) = &a.upgrade.plan
                && !p.is_empty()
            {
                spans.push(Span::raw(format!("{} pending ", p.len())));
            }
            if a.broken() {
                spans.push(Span::styled("⚠ needs repair (D)", red));
            }
            if let Some(b) = &r.busy {
                spans.push(Span::styled(format!(" {} {b}…", spinner(state)), dim));
            }
        }
    }
    if r.read_only {
        spans.push(Span::styled(" [read-only]", dim));
    }
    spans
}

/// The one-character column before the lanes, when a database was read: `◆` the database's
/// revision, `✓` applied, `↑` pending (upgrade heads runs it), `?` a version row no file defines.
pub fn row_glyph(state: &State, r: usize) -> Option<Span<'static>> {
    let db = state.row_db(r)?;
    let unicode = state.glyphs == GlyphSet::Unicode;
    let (c, style) = match db {
        RowDb::Current => (
            if unicode { "◆" } else { "#" },
            Style::new().fg(Color::Magenta).bold(),
        ),
        RowDb::Applied => (
            if unicode { "✓" } else { "+" },
            Style::new().fg(Color::Green),
        ),
        RowDb::Pending => (
            if unicode { "↑" } else { "^" },
            Style::new().fg(Color::Yellow),
        ),
        RowDb::NotApplied => (" ", Style::new()),
        RowDb::Unknown => ("?", Style::new().fg(Color::Red).bold()),
    };
    Some(Span::styled(c, style))
}

/// Marks after the row's own: `[database]`, or `[database: unknown]` on a ghost row.
pub fn row_marks(state: &State, r: usize) -> Vec<Span<'static>> {
    match state.row_db(r) {
        Some(RowDb::Current) => vec![Span::raw(" "), Span::styled("[database]", DB_MARK)],
        Some(RowDb::Unknown) => vec![
            Span::raw(" "),
            Span::styled("[database: unknown revision]", DB_MARK.bg(Color::Red)),
        ],
        _ => Vec::new(),
    }
}

fn field(name: &str, value: String, style: Style) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!("{name:<9}"), Style::new().fg(Color::DarkGray)),
        Span::styled(value, style),
    ])
}

/// The details pane's database section for row `r`.
pub fn details(state: &State, r: usize) -> Vec<Line<'static>> {
    let Some(db) = state.row_db(r) else {
        return Vec::new();
    };
    let Some(l) = &state.repair.db else {
        return Vec::new();
    };
    let a = &l.assessment;
    let row = &state.rows[r];
    let mut out = vec![Line::raw("")];
    let (text, style) = match db {
        RowDb::Current => (
            "the database is here (a version table row)".to_string(),
            Style::new().fg(Color::Magenta).add_modifier(Modifier::BOLD),
        ),
        RowDb::Applied => ("applied".into(), Style::new().fg(Color::Green)),
        RowDb::Pending => {
            let plan = a.upgrade.plan.as_ref().map(Vec::as_slice).unwrap_or(&[]);
            let step = row
                .rev
                .and_then(|x| plan.iter().position(|&p| p == x))
                .map_or(0, |i| i + 1);
            (
                format!(
                    "pending: `alembic upgrade heads` runs it (step {step} of {})",
                    plan.len()
                ),
                Style::new().fg(Color::Yellow),
            )
        }
        RowDb::NotApplied => (
            match &a.upgrade.plan {
                Err(_) => "not applied per the version table (Alembic cannot plan from its \
                           rows: see D)"
                    .to_string(),
                Ok(_) => "not applied".into(),
            },
            Style::new(),
        ),
        RowDb::Unknown => {
            out.push(field(
                "database",
                "the version table holds this id, but no revision file defines it".into(),
                Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
            ));
            out.push(Line::raw(format!(
                "Alembic cannot place the database in the graph: every `alembic upgrade` fails \
                 with Can't locate revision identified by '{}'. The file was deleted or \
                 renamed, or the database was migrated from another checkout.",
                row.id
            )));
            out.push(Line::styled(
                "What to do: restore the file, or stamp the revision the schema matches (D: \
                 the doctor suggests one and applies it).",
                Style::new().fg(Color::Yellow),
            ));
            return out;
        }
    };
    out.push(field("database", text, style));
    let Some(x) = row.rev else { return out };
    if let Some(e) = a.evidence.get(x) {
        let verdict = match e.verdict {
            Verdict::Applied => "applied",
            Verdict::NotApplied => "not applied",
            Verdict::Mixed => "partly applied",
            Verdict::Unknown => "no evidence",
        };
        let ops = evidence::upgrade_ops(&l.ops, x);
        let fact = e
            .headline()
            .map_or(String::new(), |f| format!(" ({})", f.text(&ops)));
        out.push(field("schema", format!("{verdict}{fact}"), Style::new()));
    }
    // Conflicts on the way from the rows to the heads; when Alembic cannot plan from the rows,
    // on the way from the stamp the doctor suggests.
    let route = match (&a.upgrade.plan, &a.suggested) {
        (Err(_), Some(s)) => Some((&s.after, "after the suggested stamp")),
        (Ok(_), _) => Some((&a.upgrade, "on upgrade heads")),
        _ => None,
    };
    if let Some((route, when)) = route {
        for c in route.conflicts.iter().filter(|c| c.rev == x) {
            out.push(field(
                "conflict",
                format!(
                    "{when}: {}{}",
                    c.message,
                    if c.certain { "" } else { " (may not run)" }
                ),
                Style::new().fg(Color::Red),
            ));
        }
    }
    out
}

/// The spinner and what the worker is doing, for the bottom bar.
pub fn busy_span(state: &State) -> Option<Span<'static>> {
    let b = state.repair.busy.as_ref()?;
    Some(Span::styled(
        format!("{} {b}…  ", spinner(state)),
        Style::new().fg(Color::Cyan),
    ))
}

/// The log panel: Alembic's output, and each write's outcome.
pub fn draw_log(frame: &mut Frame, state: &State, area: Rect) {
    let block = Block::new().borders(Borders::ALL).title(" log ");
    let mut lines: Vec<Line> = state
        .repair
        .log
        .iter()
        .map(|l| Line::raw(l.clone()))
        .collect();
    if lines.is_empty() {
        lines.push(Line::styled(
            "Nothing has run yet.",
            Style::new().fg(Color::DarkGray),
        ));
    }
    if let Some(l) = &state.repair.db {
        lines.push(Line::styled(
            format!("version table now: {}", rows_text(&l.assessment.rows)),
            Style::new().fg(Color::DarkGray),
        ));
    }
    let room = block.inner(area).height as usize;
    let last_page = lines.len().saturating_sub(room);
    let scroll = if state.repair.log_follow {
        last_page
    } else {
        state.repair.log_scroll.min(last_page)
    };
    let scroll = scroll.min(u16::MAX as usize) as u16;
    frame.render_widget(Paragraph::new(lines).block(block).scroll((scroll, 0)), area);
}
