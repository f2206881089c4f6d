//! The explorer's database side as state: the connection and what it read, each row's state in
//! the database, the doctor and log panels, and the stamp/undo dialogs. Nothing here waits on
//! the database: actions queue [`Request`]s ([`Repair::take_requests`]) for the worker
//! ([`super::jobs`]), whose [`Event`]s come back through [`State::on_job_event`].

use std::path::PathBuf;
use std::sync::Arc;

use crate::alembic_run::{self, AlembicCommand, Verb};
use crate::assess;
use crate::db::{self, Backend, DbUrl, VersionTable};
use crate::plan::{self, Direction};
use crate::preflight;
use crate::project::OpsScope;
use crate::render::rows::GraphRow;
use crate::stamp;
use crate::swap::Change;

use super::dialog::{Dialog, Purpose, Stage};
use super::jobs::{Event, Loaded, Request};
use super::keys::{Action, Key, View};
use super::state::{Item, Outcome, State};

/// Where the database is, as found by the front end (the CLI's rules).
#[derive(Debug, Clone)]
pub struct Target {
    pub url: DbUrl,
    /// Where the URL came from (`--db`, `$DATABASE_URL`, `sqlalchemy.url in ...`).
    pub source: String,
    pub table: VersionTable,
    pub journal: Option<PathBuf>,
    /// How to run the project's Alembic, or why it cannot be run.
    pub alembic: Result<AlembicCommand, String>,
}

/// A revision's (or ghost row's) state in the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowDb {
    /// A row of the version table: the database is here.
    Current,
    /// Below a row: applied.
    Applied,
    /// `alembic upgrade heads` would run it.
    Pending,
    /// Not applied, and not on the way to the heads (or Alembic cannot plan from the rows).
    NotApplied,
    /// A version row no file defines (a ghost row).
    Unknown,
}

#[derive(Debug, Default)]
pub struct Repair {
    /// None: no database configured (the explorer is the graph alone).
    pub target: Option<Target>,
    /// Finding the database failed before connecting (e.g. an invalid URL).
    pub setup_error: Option<String>,
    /// `--read-only`: no stamp, undo or upgrade.
    pub read_only: bool,
    /// What the worker is doing, while it is.
    pub busy: Option<String>,
    /// Spinner frame.
    pub tick: usize,
    /// The last read failed (shown in the header; the graph works on).
    pub error: Option<String>,
    pub db: Option<Loaded>,
    /// Each revision's state in the database ([`crate::graph::RevIdx`] order), from `db`.
    rev_state: Vec<RowDb>,
    /// How many ghost rows for unknown version rows head the graph.
    pub ghost_rows: usize,
    pub dialog: Option<Dialog>,
    /// The outcome of the last write, for the doctor.
    pub notice: Option<String>,
    pub doctor_scroll: usize,
    pub log: Vec<String>,
    pub log_scroll: usize,
    /// The log shows its last lines as they arrive (until the user scrolls).
    pub log_follow: bool,
    /// Alembic is running (quitting is held back, see [`State::guard_quit`]).
    pub running: bool,
    quit_warned: bool,
    /// The database has been read once (the first reading points at the doctor).
    read_once: bool,
    /// The reading was let go for a reload ([`Repair::release_for_reload`]).
    released: bool,
    requests: Vec<Request>,
}

impl Repair {
    /// A database to connect to: the first read is queued.
    pub fn connect(target: Target, read_only: bool) -> Repair {
        Repair {
            target: Some(target),
            read_only,
            busy: Some("connecting".into()),
            requests: vec![Request::Load],
            ..Repair::default()
        }
    }

    /// No database, because finding it failed.
    pub fn failed(error: String, read_only: bool) -> Repair {
        Repair {
            setup_error: Some(error),
            read_only,
            ..Repair::default()
        }
    }

    /// Requests for the worker, oldest first.
    pub fn take_requests(&mut self) -> Vec<Request> {
        std::mem::take(&mut self.requests)
    }

    pub fn configured(&self) -> bool {
        self.target.is_some()
    }

    fn backend(&self) -> Option<Backend> {
        self.target.as_ref().map(|t| t.url.backend)
    }

    /// The project was reloaded: what was read refers to the old revisions, so it is read again
    /// (the dialog, computed from the old graph, closes).
    pub fn project_changed(&mut self) {
        self.db = None;
        self.released = false;
        self.rev_state.clear();
        self.ghost_rows = 0;
        self.dialog = None;
        if self.configured() {
            self.busy = Some("reading the database".into());
            self.requests.push(Request::Load);
        }
    }

    /// The watcher is reading the project again: what was read from the database refers to
    /// the old revisions and is read again after the swap ([`Repair::project_changed`]), so it
    /// is let go now, operations included (the worker's copy too). At 10,000 revisions, holding
    /// it beside the project being read put the explorer's peak 18 MiB higher. Not while a dialog
    /// is open or the worker is busy. Returns whether anything changed.
    pub fn release_for_reload(&mut self) -> bool {
        if self.db.is_none() || self.busy.is_some() || self.dialog.is_some() {
            return false;
        }
        self.db = None;
        self.released = true;
        self.busy = Some("the files changed: reading the project again".into());
        self.requests.push(Request::Forget);
        true
    }

    /// The reload after [`Repair::release_for_reload`] failed: the old project stays, so its
    /// database is read again.
    pub fn reload_failed(&mut self) {
        if std::mem::take(&mut self.released) {
            self.busy = Some("reading the database".into());
            self.requests.push(Request::Load);
        }
    }

    /// Advances the spinner (the event loop calls this while busy).
    pub fn tick(&mut self) {
        self.tick = self.tick.wrapping_add(1);
    }
}

fn ghost_row(id: &str) -> GraphRow {
    GraphRow {
        id: id.to_string(),
        rev: None,
        labels: Vec::new().into(),
        marks: Vec::new(),
        message: "in the database; no revision file defines it".into(),
        parents: Vec::new(),
    }
}

fn first_chars(id: &str) -> String {
    id.chars().take(4).collect()
}

fn same_rows(a: &[String], b: &[String]) -> bool {
    let (mut a, mut b) = (a.to_vec(), b.to_vec());
    a.sort();
    b.sort();
    a == b
}

impl State<'_> {
    /// The database state of row `r` (None: no database read).
    pub fn row_db(&self, r: usize) -> Option<RowDb> {
        // From the marks, not the reading: they stay while the database is read again.
        let row = self.rows.get(r)?;
        match row.rev {
            None => (r < self.repair.ghost_rows).then_some(RowDb::Unknown),
            Some(rev) => self.repair.rev_state.get(rev).copied(),
        }
    }

    /// Computed once per read, so drawing a row is a lookup.
    fn index_rev_states(&mut self) {
        let Some(a) = self.repair.db.as_ref().map(|l| &l.assessment) else {
            self.repair.rev_state.clear();
            return;
        };
        let mut states = vec![RowDb::NotApplied; self.map.len()];
        if let Ok(plan) = &a.upgrade.plan {
            for &r in plan {
                states[r] = RowDb::Pending;
            }
        }
        for &r in &a.report.applied {
            states[r] = RowDb::Applied;
        }
        for r in a.report.rows.iter().filter_map(|(_, r)| *r) {
            states[r] = RowDb::Current;
        }
        self.repair.rev_state = states;
    }

    /// Applies what the worker reports.
    pub fn on_job_event(&mut self, event: Event) {
        match event {
            Event::Busy(what) => self.repair.busy = Some(what),
            Event::Loaded(result) => {
                self.repair.busy = None;
                let first = !self.repair.read_once && self.repair.error.is_none();
                match *result {
                    Ok(loaded) => {
                        self.repair.error = None;
                        self.repair.read_once = true;
                        let broken = loaded.assessment.broken();
                        self.repair.db = Some(loaded);
                        if first && broken {
                            self.status =
                                Some("the database needs repair: press D for the doctor".into());
                        }
                    }
                    Err(e) => {
                        self.status = Some(format!("the database could not be read: {e}"));
                        self.repair.error = Some(e);
                        self.repair.db = None;
                    }
                }
                self.index_rev_states();
                self.place_ghost_rows();
            }
            Event::Written(result) => {
                self.repair.busy = None;
                let note = match result {
                    Ok(w) if w.sql.is_empty() => {
                        "nothing written: the table already held those rows".to_string()
                    }
                    Ok(w) => format!(
                        "{}: the version table now holds {}; journaled (U undoes it)",
                        if w.change.action == "undo" {
                            "undone"
                        } else {
                            "stamped"
                        },
                        rows_text(&w.change.after)
                    ),
                    Err(e) => e,
                };
                self.status = Some(note.clone());
                self.repair.log.push(note.clone());
                self.repair.notice = Some(note);
                self.refresh();
            }
            Event::Line(line) => self.repair.log.push(line),
            Event::Tables(tables) => self.set_table_names(tables),
            Event::Ran(result) => {
                self.repair.busy = None;
                self.repair.running = false;
                self.repair.quit_warned = false;
                let note = match result {
                    Err(e) => format!("cannot run Alembic: {e}"),
                    Ok(r) => {
                        let how = match r.outcome.code {
                            Some(c) => format!("exit code {c}"),
                            None => "killed by a signal".into(),
                        };
                        let rows = match &r.after {
                            Ok(after) => format!(
                                "version rows: {} → {}",
                                rows_text(&r.before),
                                rows_text(after)
                            ),
                            Err(e) => format!("the rows could not be read back: {e}"),
                        };
                        let what = format!("alembic {} {}", r.verb.as_str(), r.target);
                        if r.outcome.success {
                            format!("{what} finished ({how}); {rows}")
                        } else {
                            format!("{what} FAILED ({how}; the log shows why); {rows}")
                        }
                    }
                };
                self.repair.log.push(note.clone());
                self.status = Some(note.clone());
                self.repair.notice = Some(note);
                self.refresh();
            }
        }
    }

    /// Ghost rows for version rows no file defines lead the graph (newest first: the database
    /// is where history last was); they go when the rows do.
    fn place_ghost_rows(&mut self) {
        let old = self.repair.ghost_rows;
        let unknown: Vec<String> = self
            .repair
            .db
            .as_ref()
            .map(|l| {
                l.assessment
                    .unknown
                    .iter()
                    .filter(|id| !self.rows[old..].iter().any(|r| &r.id == *id))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        let current: Vec<&str> = self.rows[..old].iter().map(|r| r.id.as_str()).collect();
        if current == unknown.iter().map(String::as_str).collect::<Vec<_>>() {
            return;
        }
        let mut rows: Vec<GraphRow> = unknown.iter().map(|id| ghost_row(id)).collect();
        rows.extend(self.rows[old..].iter().cloned());
        self.repair.ghost_rows = unknown.len();
        self.set_rows(rows);
    }

    /// An action that needs the database (see [`Action::needs_database`]).
    pub(super) fn database_action(&mut self, action: Action) {
        if !self.repair.configured() {
            self.status = Some(match &self.repair.setup_error {
                Some(e) => format!("no database: {e}"),
                None => "no database: pass --db URL (or set MIGSCOPE_DATABASE_URL or \
                         DATABASE_URL, or sqlalchemy.url in the ini)"
                    .into(),
            });
            return;
        }
        if action.writes() && self.repair.read_only {
            self.status =
                Some("read-only (--read-only): stamping, undo and upgrades are disabled".into());
            return;
        }
        match action {
            Action::Doctor => {
                self.repair.doctor_scroll = 0;
                self.view = View::Doctor;
            }
            Action::Log => self.view = View::Log,
            Action::Refresh => self.refresh(),
            Action::JumpToDatabase => self.jump_to_database(),
            Action::Stamp => {
                let Some(Item::Row(r)) = self.selected_item() else {
                    self.status = Some("select a revision first (z unfolds)".into());
                    return;
                };
                match self.rows[r].rev {
                    Some(_) => {
                        let id = self.rows[r].id.clone();
                        self.open_stamp(vec![id], None);
                    }
                    None => {
                        self.status = Some("no file defines this revision: stamp another".into())
                    }
                }
            }
            Action::StampSuggested => {
                let suggested = self
                    .repair
                    .db
                    .as_ref()
                    .and_then(|l| l.assessment.suggested.as_ref())
                    .map(|s| (s.ids.clone(), s.purge));
                match suggested {
                    Some((ids, purge)) => self.open_stamp(ids, Some(purge)),
                    None => {
                        self.status = Some("the schema suggests no stamp".into());
                    }
                }
            }
            Action::Undo => self.open_undo(),
            Action::Upgrade => self.open_run(Direction::Upgrade),
            Action::Downgrade => self.open_run(Direction::Downgrade),
            _ => {}
        }
    }

    /// Reads the database again.
    /// Reads the database again. The old reading goes first: it is stale (a write or a run
    /// just changed the rows), and at 10,000 revisions holding it beside the new one was the
    /// explorer's memory peak. The row marks stay until the new reading replaces them.
    pub fn refresh(&mut self) {
        if self.repair.configured() {
            self.repair.db = None;
            self.repair.busy = Some("reading the database".into());
            self.repair.requests.push(Request::Load);
        }
    }

    fn jump_to_database(&mut self) {
        let n = self.rows.len();
        let start = self.selected_row().unwrap_or(0);
        let found = (1..=n)
            .map(|k| (start + k) % n)
            .find(|&r| matches!(self.row_db(r), Some(RowDb::Current | RowDb::Unknown)));
        match (found, &self.repair.db) {
            (Some(r), _) => self.select_row(r),
            (None, Some(_)) => {
                self.status =
                    Some("the version table holds no row: an empty database (all pending)".into())
            }
            (None, None) => self.status = Some(self.not_loaded()),
        }
    }

    fn not_loaded(&self) -> String {
        match &self.repair.error {
            Some(e) => format!("the database could not be read: {e}"),
            None => "the database has not been read yet".into(),
        }
    }

    /// The backend, once the database has been read (else says why not).
    fn writable_backend(&mut self) -> Option<Backend> {
        if self.repair.db.is_none() {
            self.status = Some(self.not_loaded());
            return None;
        }
        self.repair.backend()
    }

    /// The stamp preview for `targets`. `purge`: as the doctor suggests; None: a plain stamp,
    /// or `--purge` when Alembic cannot read the rows (a row no file defines).
    fn open_stamp(&mut self, targets: Vec<String>, purge: Option<bool>) {
        // No targets (a suggestion that nothing ran) is `stamp base`.
        let targets = assess::stamp_targets(&targets);
        let map = self.map;
        let Some(backend) = self.writable_backend() else {
            return;
        };
        let Some(loaded) = self.repair.db.as_ref() else {
            return;
        };
        let a = &loaded.assessment;
        let rows = a.rows.clone();
        let mut notes = Vec::new();
        let mut purge = purge.unwrap_or(false);
        let mut result = stamp::stamp(map, &rows, &targets, purge);
        if result.is_err() && !purge && !a.unknown.is_empty() {
            notes.push(format!(
                "The table holds {}, which no file defines, so a plain `alembic stamp` fails. \
                 Like `alembic stamp --purge`, this stamp starts from no rows.",
                a.unknown.join(", ")
            ));
            purge = true;
            result = stamp::stamp(map, &rows, &targets, true);
        }
        let mut dialog = Dialog::new(
            Purpose::Stamp {
                targets: targets.clone(),
                purge,
            },
            format!(" stamp {} ", targets.join(" ")),
            rows.clone(),
            first_chars(&targets[0]),
        );
        dialog.notes = notes;
        match result {
            Err(e) => dialog.refusal = Some(format!("alembic stamp would fail: {e}")),
            Ok(r) => {
                let table = self.repair.target.as_ref().map(|t| t.table.clone());
                dialog.then = Some(assess::route(map, &r.rows, &loaded.ops, &loaded.schema));
                dialog.after = r.rows;
                self.fill_sql(&mut dialog, backend, table);
            }
        }
        self.repair.dialog = Some(dialog);
    }

    fn fill_sql(&self, dialog: &mut Dialog, backend: Backend, table: Option<VersionTable>) {
        let Some(table) = table else { return };
        let exists = self
            .repair
            .db
            .as_ref()
            .is_some_and(|l| l.assessment.table_exists);
        let shown_before = exists.then_some(dialog.before.as_slice());
        match db::plan_sql(backend, &table, shown_before, &dialog.after) {
            Ok(steps) if steps.is_empty() => {
                dialog.refusal =
                    Some("the table already holds exactly these rows: nothing to write".into())
            }
            Ok(steps) => dialog.sql = steps.iter().map(|s| s.to_string()).collect(),
            Err(e) => dialog.refusal = Some(e.to_string()),
        }
    }

    /// The plan `alembic upgrade|downgrade <selected>` would run from the rows, each step with
    /// its operations and preflight conflicts.
    fn open_run(&mut self, direction: Direction) {
        let map = self.map;
        let Some(Item::Row(r)) = self.selected_item() else {
            self.status = Some("select a revision first (z unfolds)".into());
            return;
        };
        if self.rows[r].rev.is_none() {
            self.status = Some("no file defines this revision: Alembic cannot go there".into());
            return;
        }
        let target = self.rows[r].id.clone();
        if self.writable_backend().is_none() {
            return;
        }
        let Some(loaded) = self.repair.db.as_ref() else {
            return;
        };
        let rows = loaded.assessment.rows.clone();
        let verb = match direction {
            Direction::Upgrade => "upgrade",
            Direction::Downgrade => "downgrade",
        };
        let mut dialog = Dialog::new(
            Purpose::Run {
                direction,
                target: target.clone(),
            },
            format!(" alembic {verb} {target} "),
            rows.clone(),
            first_chars(&target),
        );
        let plan = match direction {
            Direction::Upgrade => plan::upgrade(map, &rows, &target),
            Direction::Downgrade => plan::downgrade(map, &rows, &target),
        };
        match self.repair.target.as_ref().map(|t| &t.alembic) {
            Some(Ok(cmd)) => {
                let argv = cmd.argv(verb_of(direction), &target, false);
                dialog.command = Some(alembic_run::display_argv(&argv));
            }
            Some(Err(e)) => dialog.refusal = Some(format!("cannot run Alembic: {e}")),
            None => {}
        }
        match plan {
            Err(e) => dialog.refusal = Some(format!("Alembic refuses: {}", e.message())),
            Ok(_) if dialog.refusal.is_some() => {}
            Ok(p) if p.revisions.is_empty() => {
                dialog.refusal = Some(format!(
                    "nothing to {verb}: the database is already {} {target}",
                    match direction {
                        Direction::Upgrade => "at or past",
                        Direction::Downgrade => "at or before",
                    }
                ))
            }
            Ok(p) => {
                dialog.ops = match direction {
                    Direction::Upgrade => loaded.ops.clone(),
                    // The worker reads `upgrade()` only: at 10,000 revisions both functions
                    // are twice the memory, for a preview few sessions open.
                    Direction::Downgrade => Arc::new(
                        self.project_ref
                            .map(|p| p.ops(OpsScope::Both))
                            .unwrap_or_default(),
                    ),
                };
                dialog.steps = preflight::preflight_plan(map, &p, &dialog.ops, &loaded.schema);
                if let Some((i, c)) = preflight::first_failure(&dialog.steps) {
                    dialog.notes.push(format!(
                        "Predicted failure at step {} ({}): {}",
                        i + 1,
                        map.rev(dialog.steps[i].rev).id,
                        c.message
                    ));
                }
            }
        }
        self.repair.dialog = Some(dialog);
    }

    fn open_undo(&mut self) {
        let map = self.map;
        let Some(backend) = self.writable_backend() else {
            return;
        };
        let Some(loaded) = self.repair.db.as_ref() else {
            return;
        };
        let Some(entry) = loaded.last_change.clone() else {
            self.status = Some(
                match self.repair.target.as_ref().and_then(|t| t.journal.as_ref()) {
                    Some(p) => format!(
                        "nothing to undo: {} has no change to this database",
                        p.display()
                    ),
                    None => "nothing to undo: no journal (set MIGSCOPE_STATE_DIR)".into(),
                },
            );
            return;
        };
        let rows = loaded.assessment.rows.clone();
        if matches!(entry.action.as_str(), "upgrade" | "downgrade") {
            let back = match entry.action.as_str() {
                "upgrade" => "downgrade",
                _ => "upgrade",
            };
            self.status = Some(format!(
                "the last change was `{}`: Alembic changed the schema too, so rewriting the rows \
                 would not undo it; run `alembic {back}` to {} instead ({} on that revision)",
                entry.command,
                rows_text(&entry.before),
                &back[..1]
            ));
            return;
        }
        let mut dialog = Dialog::new(
            Purpose::Undo {
                time: entry.time.clone(),
                command: entry.command.clone(),
            },
            format!(" undo the {} of {} ", entry.action, entry.time),
            rows.clone(),
            "undo".into(),
        );
        dialog.notes.push(format!(
            "Puts back the rows from before `{}`, if the table still holds its result.",
            entry.command
        ));
        if !same_rows(&rows, &entry.after) {
            dialog.refusal = Some(format!(
                "the table holds {}, not that change's result ({}): it changed since; nothing \
                 to undo safely",
                rows_text(&rows),
                rows_text(&entry.after)
            ));
        }
        dialog.then = Some(assess::route(
            map,
            &entry.before,
            &loaded.ops,
            &loaded.schema,
        ));
        dialog.after = entry.before.clone();
        let table = self.repair.target.as_ref().map(|t| t.table.clone());
        if dialog.refusal.is_none() {
            self.fill_sql(&mut dialog, backend, table);
        }
        self.repair.dialog = Some(dialog);
    }

    /// A key while a dialog is open: nothing else sees it.
    pub(super) fn dialog_key(&mut self, key: Key) -> Outcome {
        let Some(d) = self.repair.dialog.as_mut() else {
            return Outcome::Continue;
        };
        match (key, d.stage) {
            (Key::Interrupt, _) => return Outcome::Quit,
            (Key::Esc, _) => {
                self.repair.dialog = None;
                self.status = Some("cancelled: nothing written".into());
            }
            (Key::Up, _) => d.scroll = d.scroll.saturating_sub(1),
            (Key::Down, _) => d.scroll += 1,
            (Key::PageUp, _) => d.scroll = d.scroll.saturating_sub(10),
            (Key::PageDown, _) => d.scroll += 10,
            (Key::Enter, Stage::Preview) if d.refusal.is_none() => d.stage = Stage::Confirm,
            (Key::Char(c), Stage::Confirm) => {
                d.answer.push(c);
                d.wrong = false;
            }
            (Key::Backspace, Stage::Confirm) => {
                d.answer.pop();
                d.wrong = false;
            }
            (Key::Enter, Stage::Confirm) => {
                if d.answer == d.expected {
                    self.confirmed();
                } else {
                    d.wrong = true;
                }
            }
            _ => {}
        }
        Outcome::Continue
    }

    /// The confirmation was typed: queue the write.
    fn confirmed(&mut self) {
        let Some(d) = self.repair.dialog.take() else {
            return;
        };
        let (action, command) = match &d.purpose {
            Purpose::Stamp { targets, purge } => (
                "stamp",
                format!("{} (explorer)", assess::stamp_command(targets, *purge)),
            ),
            Purpose::Undo { .. } => ("undo", "migscope undo (explorer)".to_string()),
            Purpose::Fix { command } => {
                self.apply_fix(command);
                return;
            }
            Purpose::Run { direction, target } => {
                let verb = verb_of(*direction);
                self.repair.log.clear();
                self.repair.log.push(format!(
                    "alembic {} {target} from {}:",
                    verb.as_str(),
                    rows_text(&d.before)
                ));
                self.repair.log_follow = true;
                self.repair.running = true;
                self.repair.busy = Some(format!("running alembic {}", verb.as_str()));
                self.repair.requests.push(Request::Run {
                    verb,
                    target: target.clone(),
                    before: d.before,
                });
                self.view = View::Log;
                return;
            }
        };
        self.repair.busy = Some("writing".into());
        self.repair.requests.push(Request::Write(Change {
            before: d.before,
            after: d.after,
            action: action.into(),
            command,
        }));
    }

    /// Quitting while Alembic runs would close its output pipes mid-migration: the first
    /// attempt only warns; Ctrl-C after the warning quits anyway.
    pub(super) fn guard_quit(&mut self, outcome: Outcome, key: Key) -> Outcome {
        if outcome != Outcome::Quit || !self.repair.running {
            return outcome;
        }
        if key == Key::Interrupt && self.repair.quit_warned {
            return Outcome::Quit;
        }
        self.repair.quit_warned = true;
        self.status = Some(
            "Alembic is still running: quitting now could cut it off mid-migration; wait for it \
             (Ctrl-C again quits anyway)"
                .into(),
        );
        Outcome::Continue
    }

    /// Moves in the doctor or log panel.
    pub(super) fn panel_action(&mut self, action: Action) {
        match action {
            Action::Up => self.panel_scroll(-1),
            Action::Down => self.panel_scroll(1),
            Action::PageUp => self.panel_scroll(-10),
            Action::PageDown => self.panel_scroll(10),
            Action::Top => self.panel_scroll(isize::MIN / 2),
            Action::Bottom => self.panel_scroll(isize::MAX / 2),
            Action::Help => {
                self.help_scroll = 0;
                self.view = View::Help;
            }
            Action::Back => self.view = View::Graph,
            _ => {}
        }
    }

    pub(super) fn panel_scroll(&mut self, delta: isize) {
        if self.view == View::Log && self.repair.log_follow {
            // Scrolling starts from the last page the log showed (its pane: the body less borders).
            let room = (self.height as usize).saturating_sub(4);
            self.repair.log_scroll = self.repair.log.len().saturating_sub(room);
            self.repair.log_follow = false;
        }
        let s = match self.view {
            View::Log => &mut self.repair.log_scroll,
            _ => &mut self.repair.doctor_scroll,
        };
        *s = s.saturating_add_signed(delta).min(10_000);
    }
}

fn verb_of(direction: Direction) -> Verb {
    match direction {
        Direction::Upgrade => Verb::Upgrade,
        Direction::Downgrade => Verb::Downgrade,
    }
}

/// `a b` or `(no rows)`.
pub fn rows_text(rows: &[String]) -> String {
    if rows.is_empty() {
        "(no rows)".into()
    } else {
        rows.join(" ")
    }
}
