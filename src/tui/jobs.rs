//! Work the screen must not wait for: connecting, reading the database, writing the version
//! table (and, later, running Alembic). One worker thread owns a tokio runtime; requests go in
//! and events come out over std channels, and the event loop drains the events each tick
//! ([`Jobs::try_recv`]) so a slow or dead server never freezes a key press.
//!
//! The worker handles one request at a time, in order: a write is never overtaken by the read
//! that should see it.

use std::cell::Cell;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::thread;
use std::time::Duration;

use crate::alembic_run::{self, AlembicCommand, Outcome, Verb};
use crate::assess::{self, Assessment};
use crate::db::{self, DbUrl, VersionState, VersionTable};
use crate::journal::{self, Entry};
use crate::project::{OpsScope, Project};
use crate::revision::ops::OpsStore;
use crate::schema::SchemaSnapshot;
use crate::swap::{self, Change};

use super::search::TableNames;

/// What the worker needs to know once.
pub struct Context {
    /// The project the database is read against (replaced by [`Request::Project`]).
    pub project: Arc<Project>,
    pub url: DbUrl,
    pub table: VersionTable,
    /// Where writes are journaled (None: no state directory, writes are refused).
    pub journal: Option<PathBuf>,
    /// How to run the project's Alembic (None: it could not be found; runs are refused).
    pub alembic: Option<AlembicCommand>,
}

#[derive(Debug, Clone)]
pub enum Request {
    /// The project was reloaded: read the database against this one from now on.
    Project(Arc<Project>),
    /// Connect and read the version table, the schema and the journal.
    Load,
    /// Let go of the operations read for [`Request::Load`] (the project is being reloaded).
    Forget,
    /// Swap the version rows and journal the change.
    Write(Change),
    /// Run `alembic upgrade|downgrade target` from the rows `before`, streaming its output;
    /// the rows it leaves are read back and journaled.
    Run {
        verb: Verb,
        target: String,
        before: Vec<String>,
    },
}

/// A finished Alembic run.
#[derive(Debug, Clone)]
pub struct Ran {
    pub verb: Verb,
    pub target: String,
    pub outcome: Outcome,
    pub before: Vec<String>,
    /// The rows afterwards (Err: reading them back failed).
    pub after: Result<Vec<String>, String>,
}

/// The database as last read, with everything derived from it.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub version: VersionState,
    pub schema: SchemaSnapshot,
    /// Each revision's `upgrade()` operations ([`crate::graph::RevIdx`] order), read once.
    pub ops: Arc<OpsStore>,
    pub assessment: Assessment,
    /// The newest journaled change to this database and table (what `U` undoes).
    pub last_change: Option<Entry>,
}

/// A finished write.
#[derive(Debug, Clone)]
pub struct Written {
    pub change: Change,
    /// The statements run (empty: the rows already were the new ones).
    pub sql: Vec<String>,
}

#[derive(Debug, Clone)]
pub enum Event {
    /// The worker started on something (shown with a spinner).
    Busy(String),
    Loaded(Box<Result<Loaded, String>>),
    /// Err: nothing written (or written but not journaled: the message says which).
    Written(Result<Written, String>),
    /// One line of Alembic's output (URLs masked).
    Line(String),
    /// Err: Alembic could not be started.
    Ran(Result<Ran, String>),
    /// The tables each revision touches, for search (once per project).
    Tables(TableNames),
}

/// The worker and its two channels. Dropping it closes the request channel; the worker ends
/// after its current request (it is not waited for: quitting must not wait on a server).
pub struct Jobs {
    requests: Sender<Request>,
    events: Receiver<Event>,
    /// The worker's end of the channel closed (it panicked); reported once.
    gone: Cell<bool>,
}

impl Jobs {
    pub fn start(ctx: Context) -> Jobs {
        let (req_tx, req_rx) = mpsc::channel::<Request>();
        let (ev_tx, ev_rx) = mpsc::channel::<Event>();
        thread::Builder::new()
            .name("migscope-db".into())
            .spawn(move || worker(ctx, req_rx, ev_tx))
            .expect("spawning the database worker thread");
        Jobs {
            requests: req_tx,
            events: ev_rx,
            gone: Cell::new(false),
        }
    }

    pub fn send(&self, r: Request) {
        // A dead worker has already reported why (its last event).
        let _ = self.requests.send(r);
    }

    /// The next event, if one is ready. A worker that died says so once, as a failed read, so
    /// the screen does not wait on it forever.
    pub fn try_recv(&self) -> Option<Event> {
        match self.events.try_recv() {
            Ok(e) => Some(e),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => (!self.gone.replace(true)).then(|| {
                Event::Loaded(Box::new(Err(
                    "the database worker stopped unexpectedly; restart migscope".into(),
                )))
            }),
        }
    }

    /// Waits up to `timeout` for the next event (tests and the end of a run).
    pub fn recv_timeout(&self, timeout: Duration) -> Option<Event> {
        self.events.recv_timeout(timeout).ok()
    }
}

fn worker(ctx: Context, requests: Receiver<Request>, events: Sender<Event>) {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = events.send(Event::Loaded(Box::new(Err(format!(
                "cannot start the async runtime: {e}"
            )))));
            return;
        }
    };
    let mut ctx = ctx;
    let mut ops: Option<Arc<OpsStore>> = None;
    let mut tables_sent = false;
    while let Ok(req) = requests.recv() {
        let event = match req {
            Request::Project(project) => {
                // The old project's last holder is often this thread.
                ctx.project = project;
                ops = None;
                tables_sent = false;
                crate::heap::trim();
                continue;
            }
            Request::Forget => {
                ops = None;
                crate::heap::trim();
                continue;
            }
            Request::Load => {
                let _ = events.send(Event::Busy("reading the database".into()));
                let loaded = Event::Loaded(Box::new(load(&rt, &ctx, &mut ops)));
                if !tables_sent {
                    // After the reading, which the screen waits for; from the same operations
                    // (read now if the database could not be).
                    if events.send(loaded).is_err() {
                        return;
                    }
                    tables_sent = true;
                    let store =
                        ops.get_or_insert_with(|| Arc::new(ctx.project.ops(OpsScope::Upgrade)));
                    Event::Tables(TableNames::of(store, &ctx.project.map))
                } else {
                    loaded
                }
            }
            Request::Run {
                verb,
                target,
                before,
            } => {
                let _ = events.send(Event::Busy(format!(
                    "running alembic {} {target}",
                    verb.as_str()
                )));
                Event::Ran(run(&rt, &ctx, &events, verb, target, before))
            }
            Request::Write(change) => {
                let _ = events.send(Event::Busy(format!("writing {}", ctx.table)));
                Event::Written(write(&rt, &ctx, change))
            }
        };
        if events.send(event).is_err() {
            return;
        }
        // What the job computed and dropped here (routes, simulated schemas, decoded
        // operations) goes back now, not when this thread next allocates.
        crate::heap::trim();
    }
}

/// The database first: when it cannot be read, the project's operations are not needed (and
/// at 10,000 revisions reading them is most of the memory this adds).
fn load(
    rt: &tokio::runtime::Runtime,
    ctx: &Context,
    ops: &mut Option<Arc<OpsStore>>,
) -> Result<Loaded, String> {
    let (version, schema) = rt
        .block_on(db::read_with_schema(&ctx.url, &ctx.table))
        .map_err(|e| e.to_string())?;
    let ops = ops
        .get_or_insert_with(|| Arc::new(ctx.project.ops(OpsScope::Upgrade)))
        .clone();
    let assessment = assess::assess(&ctx.project.map, &version, &schema, &ops);
    // An unreadable journal only disables undo; the database view still loads.
    let last_change = ctx.journal.as_ref().and_then(|p| {
        let entries = journal::read(p).ok()?;
        journal::last_for(&entries, &ctx.url.masked(), &ctx.table.to_string()).cloned()
    });
    Ok(Loaded {
        version,
        schema,
        ops,
        assessment,
        last_change,
    })
}

/// Runs Alembic, streaming each line as an event, then reads the rows back and journals what
/// changed (as `migscope upgrade` does).
fn run(
    rt: &tokio::runtime::Runtime,
    ctx: &Context,
    events: &Sender<Event>,
    verb: Verb,
    target: String,
    before: Vec<String>,
) -> Result<Ran, String> {
    let cmd = ctx.alembic.as_ref().ok_or("Alembic was not found")?;
    let outcome = alembic_run::run(cmd, verb, &target, false, &mut |_, line| {
        let _ = events.send(Event::Line(db::mask_all(line)));
    })
    .map_err(|e| e.to_string())?;
    let after = rt
        .block_on(async {
            let mut conn = db::Db::connect_read_only(&ctx.url).await?;
            let s = conn.read_version_state(&ctx.table).await;
            conn.close().await;
            s
        })
        .map(|s| s.rows.unwrap_or_default())
        .map_err(|e| e.to_string());
    if let (Ok(rows), Some(journal)) = (&after, &ctx.journal)
        && *rows != before
    {
        let change = Change {
            before: before.clone(),
            after: rows.clone(),
            action: verb.as_str().into(),
            command: format!("alembic {} {target} (explorer)", verb.as_str()),
        };
        // The run happened either way; a journal failure is reported with its outcome.
        if let Err(e) = swap::record(&ctx.url, &ctx.table, &change, journal) {
            let _ = events.send(Event::Line(e.to_string()));
        }
    }
    Ok(Ran {
        verb,
        target,
        outcome,
        before,
        after,
    })
}

fn write(rt: &tokio::runtime::Runtime, ctx: &Context, change: Change) -> Result<Written, String> {
    let journal = ctx.journal.as_ref().ok_or_else(|| {
        "no journal location: set MIGSCOPE_STATE_DIR (or XDG_STATE_HOME, or HOME); nothing \
         written"
            .to_string()
    })?;
    let (steps, _) = rt
        .block_on(swap::write(&ctx.url, &ctx.table, &change, journal))
        .map_err(|e| {
            if e.rows_changed() {
                format!("aborted, nothing written: {e}")
            } else {
                e.to_string()
            }
        })?;
    Ok(Written {
        change,
        sql: steps.iter().map(|s| s.to_string()).collect(),
    })
}
