//! A session on the terminal: the event loop over the explorer, compare mode, and the work that
//! runs in the background (reloading a changed project, reading another checkout to compare).
//!
//! The explorer's state borrows the project it shows, so a reload leaves the loop, carries what the
//! user was looking at over ([`Kept`]) and builds the state of the new project from the parts the
//! watcher computed (project, diagnostics, rows and lanes); compare mode owns its data and
//! survives the reload.

use std::io;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use crossterm::event::{self, Event, KeyEventKind, MouseButton, MouseEventKind};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use crate::compare::{self, Pair, SideSpec, Which};
use crate::config::ConfigOptions;
use crate::project::{OpsScope, Project};
use crate::render::lanes::GlyphSet;

use super::compare::CompareState;
use super::jobs::{Context, Jobs, Request};
use super::keys::{self, Action, Key, View};
use super::repair::Repair;
use super::search::TableNames;
use super::state::{Graph, Outcome, State};
use super::watch::{Kept, Reloaded, Watcher};
use super::{view, with_terminal};

/// How the session was started: what it needs to read the project again and to compare it.
#[derive(Debug, Clone)]
pub struct Session {
    /// How the project was found (reloads and compare's LEFT side use it).
    pub opts: ConfigOptions,
    /// `--branches`.
    pub branches: Vec<String>,
    pub glyphs: GlyphSet,
    /// Reload when the versions directories change.
    pub watch: bool,
}

/// The explorer on `project` until the user quits; `repair` is its database side (with a
/// target, a worker thread serves it, see [`super::jobs`]).
pub fn explore(project: Project, session: &Session, repair: Repair) -> io::Result<()> {
    with_terminal(|term| {
        let mut diagnostics = super::diagnostics(&project, &session.branches);
        let mut graph = Graph::of(&project.map);
        // Shared with the database worker, which reads the database against it, and with the
        // watcher, whose reloads keep its unchanged records.
        let mut project = Arc::new(project);
        let watcher = session.watch.then(|| {
            Watcher::spawn(
                Arc::clone(&project),
                session.opts.clone(),
                session.branches.clone(),
            )
        });
        let jobs = repair.target.as_ref().map(|t| {
            Jobs::start(Context {
                project: Arc::clone(&project),
                url: t.url.clone(),
                table: t.table.clone(),
                journal: t.journal.clone(),
                alembic: t.alembic.clone().ok(),
            })
        });
        let mut repair = repair;
        let mut fixes = super::fixes::Fixes::new(session.branches.clone());
        let mut kept: Option<Kept> = None;
        let mut extras = Extras::default();
        if jobs.is_none() {
            extras.tables = Some(read_tables(&project));
        }
        loop {
            let size = term.size()?;
            let mut state = State::with_graph(
                &project.map,
                graph,
                super::project_root(&project),
                diagnostics,
                session.glyphs,
                (size.width, size.height),
            );
            state.repair = std::mem::take(&mut repair);
            state.project_ref = Some(&project);
            state.fixes = std::mem::take(&mut fixes);
            if let Some(k) = kept.take() {
                k.restore(&mut state);
                state.status = Some(match state.fixes.take_pending() {
                    Some(fixed) => format!("{fixed}; reloaded"),
                    None => "files changed: reloaded".into(),
                });
            }
            let exit = event_loop(
                term,
                Some(&mut state),
                &mut extras,
                watcher.as_ref(),
                jobs.as_ref(),
                session,
            )?;
            match exit {
                Exit::Quit => return Ok(()),
                Exit::Reload(r) => {
                    kept = Some(Kept::of(&state));
                    repair = std::mem::take(&mut state.repair);
                    fixes = std::mem::take(&mut state.fixes);
                    drop(state);
                    project = r.project;
                    crate::heap::trim();
                    diagnostics = r.diagnostics;
                    // The database is read again against the new revisions (the worker then
                    // sends their tables); without one, the tables are read here.
                    match &jobs {
                        Some(j) => j.send(Request::Project(Arc::clone(&project))),
                        None => extras.tables = Some(read_tables(&project)),
                    }
                    repair.project_changed();
                    graph = Graph::of(&project.map);
                }
            }
        }
    })
}

/// Hands the worker what the explorer asked for, and the explorer what the worker reported.
/// Returns whether anything changed on screen.
fn pump(explorer: Option<&mut State>, jobs: Option<&Jobs>) -> bool {
    let (Some(state), Some(jobs)) = (explorer, jobs) else {
        return false;
    };
    let mut changed = false;
    let mut replaced = false;
    while let Some(ev) = jobs.try_recv() {
        replaced |= matches!(ev, super::jobs::Event::Loaded(_));
        state.on_job_event(ev);
        changed = true;
    }
    if replaced {
        // The reading replaced was built on the worker's and rayon's threads.
        crate::heap::trim();
    }
    for r in state.repair.take_requests() {
        jobs.send(r);
    }
    changed
}

/// Compare mode on its own (`migscope compare LEFT RIGHT` on a terminal).
pub fn compare(pair: Pair, glyphs: GlyphSet) -> io::Result<()> {
    with_terminal(|term| {
        let size = term.size()?;
        let session = Session {
            opts: ConfigOptions::default(),
            branches: Vec::new(),
            glyphs,
            watch: false,
        };
        let mut extras = Extras {
            compare: Some(CompareState::new(pair, glyphs, (size.width, size.height))),
            ..Extras::default()
        };
        event_loop(term, None, &mut extras, None, None, &session).map(|_| ())
    })
}

enum Exit {
    Quit,
    Reload(Box<Reloaded>),
}

/// Everything on screen besides the explorer, kept across reloads.
#[derive(Default)]
pub struct Extras {
    /// Compare mode, drawn over the explorer while open.
    pub compare: Option<CompareState>,
    /// The "compare with" question being typed.
    pub prompt: Option<String>,
    /// Another checkout being read: (what was typed, the reader's answer).
    loading: Option<(String, Receiver<Result<CompareState, String>>)>,
    /// The tables each revision touches, being read for search (without a database; with
    /// one, the worker sends them).
    tables: Option<Receiver<TableNames>>,
}

/// Reads the tables each revision of `project` touches, off the UI thread.
fn read_tables(project: &Arc<Project>) -> Receiver<TableNames> {
    let (tx, rx) = mpsc::channel();
    let project = Arc::clone(project);
    std::thread::spawn(move || {
        let ops = project.ops(OpsScope::Upgrade);
        let _ = tx.send(TableNames::of(&ops, &project.map));
        drop(ops);
        crate::heap::trim();
    });
    rx
}

impl Extras {
    /// Starts reading `other` (a path or git:REF) to compare with the session's project.
    fn start_compare(
        &mut self,
        other: String,
        left_label: String,
        session: &Session,
        size: (u16, u16),
    ) {
        let (tx, rx) = mpsc::channel();
        let (opts, branches, glyphs) = (
            session.opts.clone(),
            session.branches.clone(),
            session.glyphs,
        );
        let spec = SideSpec::parse(&other);
        std::thread::spawn(move || {
            let result =
                compare::load_with_project(Which::Left, &spec, &opts, &left_label, &branches)
                    .map(|pair| CompareState::new(pair, glyphs, size))
                    .map_err(|e| e.to_string());
            let _ = tx.send(result);
        });
        self.loading = Some((other, rx));
    }

    /// Takes the finished comparison, if any: `Some(status)` when the screen changed.
    fn poll_loading(&mut self, size: (u16, u16)) -> Option<Option<String>> {
        let (_, rx) = self.loading.as_ref()?;
        let result = match rx.try_recv() {
            Ok(r) => r,
            Err(mpsc::TryRecvError::Empty) => return None,
            Err(mpsc::TryRecvError::Disconnected) => {
                Err("the comparison stopped unexpectedly".into())
            }
        };
        self.loading = None;
        match result {
            Ok(mut c) => {
                c.resize(size.0, size.1);
                self.compare = Some(c);
                Some(None)
            }
            Err(e) => Some(Some(format!("cannot compare: {e}"))),
        }
    }

    /// A key typed into the "compare with" question; false when no question is open.
    fn prompt_key(
        &mut self,
        key: Key,
        explorer: Option<&State>,
        session: &Session,
        size: (u16, u16),
    ) -> bool {
        let Some(text) = &mut self.prompt else {
            return false;
        };
        match key {
            Key::Char(c) => text.push(c),
            Key::Backspace => {
                text.pop();
            }
            Key::Esc | Key::Interrupt => self.prompt = None,
            Key::Enter => {
                let other = text.trim().to_string();
                self.prompt = None;
                if !other.is_empty() {
                    let label = explorer.map_or_else(String::new, |s| s.project.clone());
                    self.start_compare(other, label, session, size);
                }
            }
            _ => {}
        }
        true
    }
}

fn event_loop(
    term: &mut ratatui::DefaultTerminal,
    mut explorer: Option<&mut State>,
    extras: &mut Extras,
    watcher: Option<&Watcher>,
    jobs: Option<&Jobs>,
    session: &Session,
) -> io::Result<Exit> {
    let mut dirty = true;
    loop {
        dirty |= pump(explorer.as_deref_mut(), jobs);
        if let Some(rx) = &extras.tables
            && let Ok(tables) = rx.try_recv()
        {
            if let Some(s) = explorer.as_deref_mut() {
                s.set_table_names(tables);
                dirty = true;
            }
            extras.tables = None;
        }
        if dirty {
            term.draw(|f| draw(f, explorer.as_deref(), extras))?;
            dirty = false;
        }
        let size = term.size().map(|s| (s.width, s.height))?;
        if let Some(w) = watcher
            && w.reload_coming()
        {
            if let Some(s) = explorer.as_deref_mut()
                && s.repair.release_for_reload()
            {
                // The worker lets go of its operations before the reload starts.
                pump(Some(s), jobs);
                crate::heap::trim();
                dirty = true;
            }
            w.ready();
        }
        if let Some(w) = watcher
            && let Some(reload) = w.latest()
        {
            match reload {
                Ok(r) => return Ok(Exit::Reload(Box::new(r))),
                Err(e) => {
                    if let Some(s) = explorer.as_deref_mut() {
                        s.status =
                            Some(format!("files changed, but the project does not load: {e}"));
                        s.repair.reload_failed();
                    }
                    dirty = true;
                }
            }
        }
        if let Some(status) = extras.poll_loading(size) {
            if let (Some(msg), Some(s)) = (status, explorer.as_deref_mut()) {
                s.status = Some(msg);
            }
            dirty = true;
        }
        // Short polls: background results show up within a tenth of a second, and the spinner
        // turns while the database worker is busy.
        if !event::poll(Duration::from_millis(100))? {
            if let Some(s) = explorer.as_deref_mut()
                && s.repair.busy.is_some()
            {
                s.repair.tick();
                dirty = true;
            }
            continue;
        }
        match event::read()? {
            Event::Key(k) if k.kind != KeyEventKind::Release => {
                let Some(key) = Key::from_event(&k) else {
                    continue;
                };
                dirty = true;
                if extras.prompt_key(key, explorer.as_deref(), session, size) {
                    continue;
                }
                if let Some(c) = &mut extras.compare {
                    if c.handle_key(key) == Outcome::Quit {
                        extras.compare = None;
                        if explorer.is_none() {
                            return Ok(Exit::Quit);
                        }
                    }
                    continue;
                }
                let Some(s) = explorer.as_deref_mut() else {
                    return Ok(Exit::Quit);
                };
                if !s.search.editing
                    && s.repair.dialog.is_none()
                    && !s.fixes.active()
                    && keys::action_for(s.view, key) == Some(Action::CompareWith)
                {
                    extras.prompt = Some(String::new());
                    continue;
                }
                if s.handle_key(key) == Outcome::Quit {
                    return Ok(Exit::Quit);
                }
            }
            Event::Resize(w, h) => {
                if let Some(s) = explorer.as_deref_mut() {
                    s.resize(w, h);
                }
                if let Some(c) = &mut extras.compare {
                    c.resize(w, h);
                }
                dirty = true;
            }
            Event::Mouse(m) => {
                let delta = match m.kind {
                    MouseEventKind::ScrollDown => 3,
                    MouseEventKind::ScrollUp => -3,
                    MouseEventKind::Down(MouseButton::Left) => 0,
                    _ => continue,
                };
                match (&mut extras.compare, explorer.as_deref_mut()) {
                    (Some(c), _) => c.wheel(delta),
                    (None, Some(s)) if delta != 0 => s.wheel(delta),
                    (None, Some(s)) if s.view == View::Graph => {
                        if let Some(inner) = view::graph_inner(s.width, s.height)
                            && inner.contains((m.column, m.row).into())
                        {
                            s.click_graph_line((m.row - inner.y) as usize);
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

/// The whole screen: compare mode when open, else the explorer; the question or the progress of
/// a comparison on the bottom line.
pub fn draw(frame: &mut Frame, explorer: Option<&State>, extras: &Extras) {
    match (&extras.compare, explorer) {
        (Some(c), _) => super::compare::view::draw(frame, c),
        (None, Some(s)) => view::draw(frame, s),
        (None, None) => {}
    }
    let area = frame.area();
    if area.height == 0 {
        return;
    }
    let bottom = Rect::new(0, area.height - 1, area.width, 1);
    let key = Style::new().fg(Color::Black).bg(Color::Gray);
    let line = if let Some(text) = &extras.prompt {
        Line::from(vec![
            Span::styled(
                "compare with (a path or git:REF): ",
                Style::new().add_modifier(Modifier::BOLD),
            ),
            Span::raw(text.clone()),
            Span::styled("▏", Style::new().fg(Color::Yellow)),
            Span::raw("  "),
            Span::styled(" Enter ", key),
            Span::raw(" compare  "),
            Span::styled(" Esc ", key),
            Span::raw(" cancel"),
        ])
    } else if let Some((other, _)) = &extras.loading {
        Line::styled(
            format!("reading {other} to compare…"),
            Style::new().fg(Color::Yellow),
        )
    } else {
        return;
    };
    frame.render_widget(Clear, bottom);
    frame.render_widget(Paragraph::new(line), bottom);
}
