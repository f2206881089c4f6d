//! The doctor: the database's situation in plain words — what is wrong, what the live schema
//! proves (which objects show which revisions ran), and the repair: the stamp the evidence
//! suggests, what `alembic upgrade heads` would then run, and what would fail otherwise.
//! A pure function of the state, like every view.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use crate::assess::{self, Assessment};
use crate::evidence::{self, Verdict};
use crate::render::route;

use super::dialog::route_lines;
use super::jobs::Loaded;
use super::repair::rows_text;
use super::state::State;

fn heading(text: &str) -> Line<'static> {
    Line::styled(
        text.to_string(),
        Style::new()
            .fg(Color::Cyan)
            .add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
    )
}

fn bad(text: String) -> Line<'static> {
    Line::styled(
        text,
        Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
    )
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// What is wrong, one finding per paragraph (empty: nothing).
fn findings(state: &State, a: &Assessment) -> Vec<Line<'static>> {
    let map = state.map;
    let mut out = Vec::new();
    for id in &a.unknown {
        out.push(bad(format!(
            "The database is at {id}, which no revision file defines."
        )));
        out.push(Line::raw(format!(
            "  Every `alembic upgrade` (and a plain `alembic stamp`) fails with: Can't locate \
             revision identified by '{id}'. The file was deleted or renamed, or the database \
             was migrated from another checkout or branch."
        )));
    }
    for (row, ancestor) in &a.report.overlapping {
        out.push(bad(format!(
            "The version table holds both {row} and its ancestor {ancestor}; Alembic rejects \
             such a table."
        )));
    }
    if a.unknown.is_empty()
        && let Err(e) = &a.upgrade.plan
    {
        out.push(bad(format!("`alembic upgrade heads` refuses: {e}")));
    }
    for id in &a.too_long {
        out.push(bad(format!(
            "Revision id {id} is longer than the version column ({} characters): the upgrade \
             that reaches it fails.",
            a.column_length.unwrap_or_default()
        )));
    }
    if !a.table_exists {
        out.push(Line::raw(
            "The version table does not exist: Alembic sees an empty database.",
        ));
    }
    if let Ok(p) = &a.upgrade.plan
        && !p.is_empty()
    {
        out.push(Line::styled(
            format!(
                "The database is {} behind the heads.",
                plural(p.len(), "revision")
            ),
            Style::new().fg(Color::Yellow),
        ));
        if let Some(f) = &a.upgrade.failure {
            out.push(bad(format!(
                "  `alembic upgrade heads` would fail at {}: {}",
                map.rev(f.rev).id,
                f.message
            )));
        }
    }
    if state.heads > 1 {
        let heads: Vec<String> = map.ids(map.heads());
        out.push(Line::styled(
            format!(
                "The project has {} heads ({}): `alembic upgrade head` refuses; use `heads`, or \
                 merge them.",
                state.heads,
                heads.join(", ")
            ),
            Style::new().fg(Color::Yellow),
        ));
    }
    out
}

/// Revisions listed under "What the schema shows": past that, one line each is a wall of text
/// (at 10,000 revisions, 10,000 lines); the details pane shows any revision's evidence.
const LISTED: usize = 40;

/// The schema's verdict on each revision that has one, newest first.
fn evidence_lines(state: &State, loaded: &Loaded) -> Vec<Line<'static>> {
    let a = &loaded.assessment;
    let mut out = Vec::new();
    let (mut silent, mut unlisted) = (0, 0);
    let width = state.rows.iter().map(|r| r.id.len()).max().unwrap_or(0) + 2;
    for row in &state.rows {
        let Some(r) = row.rev else { continue };
        let Some(e) = a.evidence.get(r) else { continue };
        let (mark, what, style) = match e.verdict {
            Verdict::Applied => ("✓", "applied", Color::Green),
            Verdict::NotApplied => ("✗", "not applied", Color::Red),
            Verdict::Mixed => ("!", "partly applied", Color::Yellow),
            Verdict::Unknown => {
                silent += 1;
                continue;
            }
        };
        if out.len() == LISTED {
            unlisted += 1;
            continue;
        }
        let ops = evidence::upgrade_ops(&loaded.ops, r);
        let fact = e.headline().map_or(String::new(), |f| f.text(&ops));
        out.push(Line::from(vec![
            Span::styled(format!("  {mark} {what:<14}"), Style::new().fg(style)),
            Span::styled(
                format!("{:<width$}", row.id),
                Style::new().fg(Color::Yellow),
            ),
            Span::raw(fact),
        ]));
    }
    if unlisted > 0 {
        out.push(Line::styled(
            format!(
                "  and {unlisted} more {} with a verdict (select one in the graph: the \
                 details pane shows its evidence)",
                if unlisted == 1 {
                    "revision"
                } else {
                    "revisions"
                }
            ),
            Style::new().fg(Color::DarkGray),
        ));
    }
    if silent > 0 {
        out.push(Line::styled(
            format!(
                "  {} without evidence either way (merges, empty or data-only upgrades)",
                plural(silent, "revision")
            ),
            Style::new().fg(Color::DarkGray),
        ));
    }
    out
}

/// The doctor panel's lines.
pub fn lines(state: &State) -> Vec<Line<'static>> {
    let r = &state.repair;
    let mut out = Vec::new();
    let Some(loaded) = &r.db else {
        out.push(Line::raw(match (&r.error, &r.busy, &r.target) {
            (Some(e), _, _) => format!("The database could not be read: {e}"),
            (None, Some(b), _) => format!("{b}…"),
            (None, None, None) => "No database: pass --db URL.".into(),
            (None, None, Some(_)) => "The database has not been read yet (R reads it).".into(),
        }));
        return out;
    };
    let a = &loaded.assessment;
    let map = state.map;
    if let Some(t) = &r.target {
        out.push(Line::raw(format!(
            "{} ({}, from {}), table {}: {}",
            t.url.masked(),
            t.url.backend,
            t.source,
            t.table,
            rows_text(&a.rows)
        )));
        out.push(Line::raw(""));
    }
    out.push(heading("What is wrong"));
    let found = findings(state, a);
    if found.is_empty() {
        out.push(Line::styled(
            "Nothing: the database is at the heads.",
            Style::new().fg(Color::Green),
        ));
    }
    out.extend(found);
    out.push(Line::raw(""));
    out.push(heading("The repair"));
    match &a.suggested {
        Some(s) if !a.suggestion_holds() => {
            out.push(Line::from(vec![
                Span::styled(
                    format!("  1. Stamp {}", assess::stamp_targets(&s.ids).join(" ")),
                    Style::new().add_modifier(Modifier::BOLD),
                ),
                Span::raw(format!("  ({})", assess::stamp_command(&s.ids, s.purge))),
            ]));
            if r.read_only {
                out.push(Line::raw("     (read-only: run that command in a shell)"));
            } else {
                out.push(Line::styled(
                    "     press s (or Enter) here: preview, then confirm",
                    Style::new().fg(Color::Yellow),
                ));
            }
            out.push(Line::raw("  2. Then `alembic upgrade heads`:"));
            out.extend(route_lines(
                map,
                &s.after,
                "     ",
                Some(route::STATUS_JSON),
            ));
            if let Some(first) = &s.first_only {
                out.push(Line::raw(format!(
                    "  Stamping only {} instead, `alembic upgrade heads`:",
                    s.ids[0]
                )));
                out.extend(route_lines(map, first, "     ", Some(route::STATUS_JSON)));
            }
        }
        _ => {
            out.push(Line::raw(
                "  The rows already describe the schema; `alembic upgrade heads` from them:",
            ));
            out.extend(route_lines(
                map,
                &a.upgrade,
                "     ",
                Some(route::STATUS_JSON),
            ));
        }
    }
    if let Some(e) = &loaded.last_change {
        out.push(Line::raw(""));
        out.push(Line::raw(format!(
            "Last change: {} at {}: {} → {} ({}); U undoes it.",
            e.action,
            e.time,
            rows_text(&e.before),
            rows_text(&e.after),
            e.command
        )));
    }
    if let Some(n) = &r.notice {
        out.push(Line::styled(
            n.clone(),
            Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
        ));
    }
    out.push(Line::raw(""));
    out.push(heading("What the schema shows"));
    match &a.suggested {
        None => out.push(Line::raw(
            "  No revision's operations could be checked against the schema.",
        )),
        Some(s) => {
            out.extend(evidence_lines(state, loaded));
            out.push(Line::raw(""));
            out.push(heading("Why this stamp"));
            for line in &s.suggestion.reasoning {
                out.push(Line::raw(format!("  - {line}")));
            }
        }
    }
    out
}

pub fn draw(frame: &mut Frame, state: &State, area: Rect) {
    let block = Block::new().borders(Borders::ALL).title(" doctor ");
    let lines = lines(state);
    let scroll = state
        .repair
        .doctor_scroll
        .min(lines.len().saturating_sub(1))
        .min(u16::MAX as usize) as u16;
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0)),
        area,
    );
}
