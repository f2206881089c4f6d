//! The interactive explorer: the graph, a revision's details and file, every problem.
//!
//! [`state`] holds everything on screen and applies keys, [`view`] draws it (pure functions of
//! the state, tested with ratatui's `TestBackend`), [`keys`] is the one key table behind the input
//! handler, the help screen and the bottom bar. [`run`] owns the terminal: it restores it on exit
//! and on panic. The library's core does not depend on this module.

pub mod dbview;
pub mod dialog;
pub mod doctor;
pub mod jobs;
pub mod keys;
pub mod repair;
pub mod state;
pub mod view;

use std::io::{self, IsTerminal};
use std::path::PathBuf;
use std::time::Duration;

use crossterm::event::{
    self, DisableMouseCapture, EnableMouseCapture, Event, KeyEventKind, MouseButton, MouseEventKind,
};
use crossterm::execute;

use crate::diagnose::{self, Diagnostic, Expectations, Severity};
use crate::project::Project;
use crate::render::lanes::GlyphSet;

pub use keys::{Action, Key, View};
pub use state::{Outcome, State};

/// Every diagnostic `migscope check` reports for a project (declared branches included).
pub fn diagnostics(project: &Project, extra_branches: &[String]) -> Vec<Diagnostic> {
    let mut branches = project.config.migscope.branches.clone();
    branches.extend(extra_branches.iter().cloned());
    let mut diags = diagnose::diagnose(&project.map, &Expectations { branches });
    for w in &project.discovery_warnings {
        diags.push(Diagnostic {
            code: "file-loaded-twice",
            severity: Severity::Warning,
            message: w.clone(),
            revision: None,
            file: None,
            line: None,
            column: None,
            fix: "List each versions directory once in version_locations".into(),
        });
    }
    diags
}

/// The directory a project is shown by (header) and file paths are relative to.
pub fn project_root(project: &Project) -> PathBuf {
    let c = &project.config;
    c.ini_path
        .as_ref()
        .or(c.toml_path.as_ref())
        .and_then(|p| p.parent().map(|d| d.to_path_buf()))
        .or_else(|| c.script_location.clone())
        .or_else(|| c.version_locations.first().cloned())
        .unwrap_or_default()
}

/// The explorer's state for a loaded project, sized for a `width`×`height` terminal.
pub fn state_for<'p>(
    project: &'p Project,
    extra_branches: &[String],
    glyphs: GlyphSet,
    size: (u16, u16),
) -> State<'p> {
    State::new(
        &project.map,
        project_root(project),
        diagnostics(project, extra_branches),
        glyphs,
        size,
    )
}

/// Whether the explorer can run here (it needs a terminal on stdin and stdout).
pub fn available() -> bool {
    io::stdout().is_terminal() && io::stdin().is_terminal()
}

fn restore_terminal() {
    let _ = execute!(io::stdout(), DisableMouseCapture);
    ratatui::restore();
}

/// Runs the explorer until the user quits; `jobs` serves the database side (see
/// [`repair`]). The terminal is restored on return and on panic.
pub fn run(state: &mut State, jobs: Option<&jobs::Jobs>) -> io::Result<()> {
    if !available() {
        return Err(io::Error::other("the explorer needs a terminal"));
    }
    let mut terminal = ratatui::try_init()?;
    // ratatui's hook restores the screen; ours also releases the mouse, then prints the panic.
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore_terminal();
        previous(info);
    }));
    let result = (|| {
        execute!(io::stdout(), EnableMouseCapture)?;
        let size = terminal.size()?;
        state.resize(size.width, size.height);
        event_loop(&mut terminal, state, jobs)
    })();
    restore_terminal();
    result
}

/// Hands the worker what the state asked for, and the state what the worker reported.
/// Returns whether anything changed on screen.
fn pump(state: &mut State, jobs: Option<&jobs::Jobs>) -> bool {
    let Some(jobs) = jobs else { return false };
    let mut changed = false;
    while let Some(ev) = jobs.try_recv() {
        state.on_job_event(ev);
        changed = true;
    }
    for r in state.repair.take_requests() {
        jobs.send(r);
    }
    changed
}

fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    state: &mut State,
    jobs: Option<&jobs::Jobs>,
) -> io::Result<()> {
    let mut dirty = true;
    loop {
        dirty |= pump(state, jobs);
        if dirty {
            terminal.draw(|f| view::draw(f, state))?;
            dirty = false;
        }
        // Poll with a timeout rather than block: the worker's events are picked up each tick,
        // and the spinner turns while it works.
        let busy = state.repair.busy.is_some();
        let tick = Duration::from_millis(if busy { 100 } else { 250 });
        if !event::poll(tick)? {
            if busy {
                state.repair.tick();
                dirty = true;
            }
            continue;
        }
        match event::read()? {
            Event::Key(k) if k.kind != KeyEventKind::Release => {
                if let Some(key) = Key::from_event(&k) {
                    if state.handle_key(key) == Outcome::Quit {
                        return Ok(());
                    }
                    dirty = true;
                }
            }
            Event::Resize(w, h) => {
                state.resize(w, h);
                dirty = true;
            }
            Event::Mouse(m) => {
                match m.kind {
                    MouseEventKind::ScrollDown => state.wheel(3),
                    MouseEventKind::ScrollUp => state.wheel(-3),
                    MouseEventKind::Down(MouseButton::Left) if state.view == View::Graph => {
                        if let Some(inner) = view::graph_inner(state.width, state.height)
                            && inner.contains((m.column, m.row).into())
                        {
                            state.click_graph_line((m.row - inner.y) as usize);
                        }
                    }
                    _ => continue,
                }
                dirty = true;
            }
            _ => {}
        }
    }
}
