//! The interactive explorer: the graph, a revision's details and file, every problem.
//!
//! [`state`] holds everything on screen and applies keys, [`view`] draws it (pure functions of
//! the state, tested with ratatui's `TestBackend`), [`keys`] is the one key table behind the input
//! handler, the help screen and the bottom bar. [`compare`] is compare mode (its own state and
//! view), [`watch`] reloads the project when its files change, and [`app`] runs a session: the
//! event loop over the explorer, compare mode and the background work. [`with_terminal`] owns the
//! terminal: it restores it on exit and on panic. The database side is [`repair`] (state),
//! [`jobs`] (the worker that talks to the database), [`dbview`], [`doctor`] and [`dialog`]
//! (views); [`fixes`] plans graph fixes (merge, reparent, restore) through the same dialog. The library's core does not depend on this module.

pub mod app;
pub mod compare;
pub mod dbview;
pub mod dialog;
pub mod doctor;
pub mod fixes;
pub mod jobs;
pub mod keys;
pub mod operations;
pub mod repair;
pub mod search;
pub mod state;
pub mod view;
pub mod watch;

use std::io::{self, IsTerminal};
use std::path::PathBuf;

use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::execute;

use crate::diagnose::Diagnostic;
use crate::project::Project;
use crate::render::lanes::GlyphSet;

pub use keys::{Action, Key, View};
pub use state::{Outcome, State};

/// Every diagnostic `migscope check` reports for a project (declared branches included).
pub fn diagnostics(project: &Project, extra_branches: &[String]) -> Vec<Diagnostic> {
    project.diagnostics(extra_branches)
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
    let mut state = State::new(
        &project.map,
        project_root(project),
        diagnostics(project, extra_branches),
        glyphs,
        size,
    );
    state.project_ref = Some(project);
    state.fixes = fixes::Fixes::new(extra_branches.to_vec());
    state
}

/// Whether the explorer can run here (it needs a terminal on stdin and stdout).
pub fn available() -> bool {
    io::stdout().is_terminal() && io::stdin().is_terminal()
}

fn restore_terminal() {
    let _ = execute!(io::stdout(), DisableMouseCapture);
    ratatui::restore();
}

/// Runs `f` on the terminal in raw mode (alternate screen, mouse). The terminal is restored on
/// return and on panic, before the panic message prints.
pub fn with_terminal<T>(
    f: impl FnOnce(&mut ratatui::DefaultTerminal) -> io::Result<T>,
) -> io::Result<T> {
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
    let result = execute!(io::stdout(), EnableMouseCapture).and_then(|()| f(&mut terminal));
    restore_terminal();
    result
}
