//! The write dialogs: a preview (rows before and after, the exact SQL, what `alembic upgrade
//! heads` would then run and where it would fail), then a confirmation that needs a deliberate
//! answer (the target's first characters). The data lives in [`Dialog`]; [`draw`] is a pure
//! function of it.

use std::sync::Arc;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use crate::assess::Route;
use crate::graph::RevisionMap;
use crate::plan::Direction;
use crate::preflight::StepReport;
use crate::render::route::{self, Tone};
use crate::revision::ops::{Body, OpsStore};

use super::repair::rows_text;
use super::state::State;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Purpose {
    Stamp {
        targets: Vec<String>,
        purge: bool,
    },
    /// Undo the journaled change made at `time` by `command`.
    Undo {
        time: String,
        command: String,
    },
    /// `alembic upgrade|downgrade target`.
    Run {
        direction: Direction,
        target: String,
    },
    /// A graph fix (the plan is `state.fixes`'), as the `migscope` command it stands for.
    Fix {
        command: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Preview,
    /// Waiting for the typed answer.
    Confirm,
}

#[derive(Debug, Clone)]
pub struct Dialog {
    pub purpose: Purpose,
    pub title: String,
    /// The rows now (the write checks they still are).
    pub before: Vec<String>,
    pub after: Vec<String>,
    /// The statements, as the database will run them.
    pub sql: Vec<String>,
    pub notes: Vec<String>,
    /// `alembic upgrade heads` from the new rows, simulated on the schema.
    pub then: Option<Route>,
    /// A run's plan in execution order, each step simulated on the schema.
    pub steps: Vec<StepReport>,
    /// The operations the steps were simulated with (by revision).
    pub ops: Arc<OpsStore>,
    /// The command that will run (a run's argv, shown as words).
    pub command: Option<String>,
    /// Why this cannot be applied (Enter does nothing).
    pub refusal: Option<String>,
    pub stage: Stage,
    /// What the user must type to confirm.
    pub expected: String,
    pub answer: String,
    /// The last Enter came with a wrong answer.
    pub wrong: bool,
    pub scroll: usize,
}

impl Dialog {
    pub fn new(purpose: Purpose, title: String, before: Vec<String>, expected: String) -> Dialog {
        Dialog {
            purpose,
            title,
            before,
            after: Vec::new(),
            sql: Vec::new(),
            notes: Vec::new(),
            then: None,
            steps: Vec::new(),
            ops: Arc::default(),
            command: None,
            refusal: None,
            stage: Stage::Preview,
            expected,
            answer: String::new(),
            wrong: false,
            scroll: 0,
        }
    }
}

fn heading(text: &str) -> Line<'static> {
    Line::styled(text.to_string(), Style::new().add_modifier(Modifier::BOLD))
}

pub(super) fn field(name: &str, value: String, style: Style) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!("{name:<9}"), Style::new().fg(Color::DarkGray)),
        Span::styled(value, style),
    ])
}

/// Lines describing a route: what runs, then where it fails (`all_in`: as
/// [`route::route_lines`]).
pub fn route_lines(
    map: &RevisionMap,
    route: &Route,
    indent: &str,
    all_in: Option<&str>,
) -> Vec<Line<'static>> {
    route::route_lines(map, route, indent, all_in)
        .into_iter()
        .map(|(tone, text)| {
            let style = match tone {
                Tone::Plain => Style::new(),
                Tone::Bad => Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
                Tone::Good => Style::new().fg(Color::Green),
                Tone::Warn => Style::new().fg(Color::Yellow),
                Tone::Muted => Style::new().fg(Color::DarkGray),
            };
            Line::styled(text, style)
        })
        .collect()
}

/// Each step: the revision, the operations it runs, and what would fail.
fn step_lines(map: &RevisionMap, steps: &[StepReport], ops: &OpsStore) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let rev = map.rev(step.rev);
        lines.push(Line::from(vec![
            Span::raw(format!("{:>3}. ", i + 1)),
            Span::styled(rev.id.clone(), Style::new().fg(Color::Yellow)),
            Span::raw(format!(" {}", rev.message)),
        ]));
        let empty = match step.body {
            Some(Body::Empty) => Some("(empty: nothing to run)"),
            Some(Body::Missing) => Some("(no such function in the file)"),
            Some(Body::Unparsable) => Some("(the function does not parse: not checked)"),
            _ if step.ops(ops).is_empty() => Some("(no operation recognised)"),
            _ => None,
        };
        if let Some(what) = empty {
            lines.push(Line::styled(
                format!("       {what}"),
                Style::new().fg(Color::DarkGray),
            ));
        }
        for op in &step.ops(ops) {
            lines.push(Line::raw(format!("       {op}")));
        }
        for c in &step.conflicts {
            let may = if c.certain { "" } else { " (may not run)" };
            lines.push(Line::styled(
                format!("       ✗ line {}: {}{may}", c.line, c.message),
                Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
            ));
        }
    }
    lines
}

/// The dialog's body, top to bottom (scrolled by the view).
pub fn dialog_lines(state: &State, d: &Dialog) -> Vec<Line<'static>> {
    if let Purpose::Fix { .. } = d.purpose {
        return super::fixes::dialog_lines(state, d);
    }
    let mut lines = Vec::new();
    if let Some(t) = &state.repair.target {
        lines.push(field("database", t.url.masked(), Style::new()));
        lines.push(field("table", t.table.to_string(), Style::new()));
    }
    if let Purpose::Stamp { targets, purge } = &d.purpose {
        lines.push(field(
            "as",
            format!(
                "alembic stamp {}{}",
                if *purge { "--purge " } else { "" },
                targets.join(" ")
            ),
            Style::new(),
        ));
    }
    if let Some(c) = &d.command {
        lines.push(field("runs", c.clone(), Style::new().fg(Color::Cyan)));
    }
    if let Purpose::Run { .. } = d.purpose {
        lines.push(field("from", rows_text(&d.before), Style::new()));
    } else {
        lines.push(field(
            "before",
            rows_text(&d.before),
            Style::new().fg(Color::Red),
        ));
        if d.refusal.is_none() || !d.after.is_empty() {
            lines.push(field(
                "after",
                rows_text(&d.after),
                Style::new().fg(Color::Green),
            ));
        }
    }
    for n in &d.notes {
        lines.push(Line::styled(n.clone(), Style::new().fg(Color::Yellow)));
    }
    if let Some(r) = &d.refusal {
        lines.push(Line::raw(""));
        lines.push(Line::styled(
            format!("cannot apply: {r}"),
            Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
        ));
    }
    if !d.sql.is_empty() {
        lines.push(Line::raw(""));
        lines.push(heading(
            "SQL (one transaction, only if the rows are still as above)",
        ));
        for s in &d.sql {
            lines.push(Line::styled(
                format!("  {s};"),
                Style::new().fg(Color::Cyan),
            ));
        }
    }
    if !d.steps.is_empty() {
        lines.push(Line::raw(""));
        lines.push(heading(&format!(
            "The plan, in execution order ({} revisions)",
            d.steps.len()
        )));
        lines.extend(step_lines(state.map, &d.steps, &d.ops));
    }
    if let Some(route) = &d.then {
        lines.push(Line::raw(""));
        lines.push(heading("Then `alembic upgrade heads`"));
        lines.extend(route_lines(state.map, route, "  ", None));
    }
    lines
}

/// The dialog, centred over `area`.
pub fn draw(frame: &mut Frame, state: &State, d: &Dialog, area: Rect) {
    let w = area.width.saturating_sub(4).clamp(20, 100);
    let h = area.height.saturating_sub(2).max(6).min(area.height);
    let rect = Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    );
    frame.render_widget(Clear, rect);
    let block = Block::new()
        .borders(Borders::ALL)
        .title(d.title.clone())
        .border_style(Style::new().fg(Color::Yellow));
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let [body, prompt] = Layout::vertical([Constraint::Min(1), Constraint::Length(2)]).areas(inner);
    let lines = dialog_lines(state, d);
    let scroll = d
        .scroll
        .min(lines.len().saturating_sub(1))
        .min(u16::MAX as usize) as u16;
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0)),
        body,
    );
    let key = Style::new().fg(Color::Black).bg(Color::Gray);
    let ask = match (d.stage, &d.refusal) {
        (_, Some(_)) => vec![Span::styled(" Esc ", key), Span::raw(" close")],
        (Stage::Preview, None) => vec![
            Span::styled(" Enter ", key),
            Span::raw(" continue to the confirmation   "),
            Span::styled(" Esc ", key),
            Span::raw(" cancel"),
        ],
        (Stage::Confirm, None) => {
            let mut v = vec![
                Span::styled(
                    format!("Type {} and Enter to write: ", d.expected),
                    Style::new().add_modifier(Modifier::BOLD),
                ),
                Span::styled(d.answer.clone(), Style::new().fg(Color::Yellow)),
                Span::styled("▏", Style::new().fg(Color::Yellow)),
            ];
            if d.wrong {
                v.push(Span::styled(
                    format!("  not {}: nothing written", d.expected),
                    Style::new().fg(Color::Red),
                ));
            }
            v
        }
    };
    frame.render_widget(
        Paragraph::new(vec![
            Line::styled(
                "─".repeat(prompt.width as usize),
                Style::new().fg(Color::DarkGray),
            ),
            Line::from(ask),
        ]),
        prompt,
    );
}
