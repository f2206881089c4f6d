//! Watching the project: a background thread notices edited, added or removed revision files (and
//! configuration files), reads the project again off the UI thread and hands it over; the explorer
//! swaps it in keeping what the user was looking at ([`Kept`]).
//!
//! Polling, not inotify: the files this tool is for are often edited from Windows and read from WSL
//! (`/mnt/c/...`), where change notifications do not arrive. A full sweep lists the directories and
//! reads each revision file's size and mtime (no file is opened), folded into an order-independent
//! digest; its interval grows with its cost so that sweeping stays under 5% of one core (at 10,000
//! files a sweep is tens of milliseconds). Between sweeps, every [`MIN_INTERVAL`] a quick check
//! stats only the directories (files added, removed, renamed, or saved by rename) and the
//! [`HOT`] most recently modified files (the ones being worked on, edited in place).

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant, UNIX_EPOCH};

use crate::config::ConfigOptions;
use crate::diagnose::Diagnostic;
use crate::discover;
use crate::project::Project;

use super::keys::{Action, View};
use super::state::{Item, State};

/// Shortest time between two polls.
pub const MIN_INTERVAL: Duration = Duration::from_millis(250);
/// A sweep may take at most 1/20 of the time between sweeps.
const COST_FACTOR: u32 = 20;
/// Files the quick check stats between sweeps.
pub const HOT: usize = 32;

/// What a full sweep sees of the watched files.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub files: usize,
    digest: u64,
    /// The most recently modified files: (mtime in ns, path), at most [`HOT`].
    hot: Vec<(u128, PathBuf)>,
}

impl PartialEq for Snapshot {
    fn eq(&self, other: &Self) -> bool {
        (self.files, self.digest) == (other.files, other.digest)
    }
}

/// Where a project's revision files and configuration live.
#[derive(Debug, Clone, Default)]
pub struct Watched {
    pub dirs: Vec<PathBuf>,
    pub recursive: bool,
    pub configs: Vec<PathBuf>,
}

impl Watched {
    pub fn of(project: &Project) -> Watched {
        let c = &project.config;
        Watched {
            dirs: c.version_locations.clone(),
            recursive: c.recursive,
            configs: c.ini_path.iter().chain(&c.toml_path).cloned().collect(),
        }
    }

    /// Stats every revision file (and config file); reads no content.
    pub fn snapshot(&self) -> Snapshot {
        let mut snap = Snapshot {
            files: 0,
            digest: 0,
            hot: Vec::with_capacity(HOT),
        };
        for dir in &self.dirs {
            scan(dir, self.recursive, &mut snap);
        }
        for c in &self.configs {
            if let Ok(meta) = std::fs::metadata(c) {
                add(&mut snap, c.as_os_str().as_encoded_bytes(), &meta);
            }
        }
        snap
    }

    /// The quick check's digest: the metadata of the directories, the config files and the
    /// sweep's hot files.
    pub fn quick(&self, sweep: &Snapshot) -> u64 {
        let hot = &sweep.hot;
        let mut snap = Snapshot {
            files: 0,
            digest: 0,
            hot: Vec::new(),
        };
        for p in self
            .dirs
            .iter()
            .chain(&self.configs)
            .chain(hot.iter().map(|h| &h.1))
        {
            if let Ok(meta) = std::fs::metadata(p) {
                add(&mut snap, p.as_os_str().as_encoded_bytes(), &meta);
            }
        }
        snap.digest ^ snap.files as u64
    }
}

fn mtime_ns(meta: &std::fs::Metadata) -> u128 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos())
}

/// Folds one file into the digest. Adding per-file hashes makes the digest independent of the
/// order directories are listed in.
fn add(snap: &mut Snapshot, name: &[u8], meta: &std::fs::Metadata) {
    let mut h = DefaultHasher::new();
    name.hash(&mut h);
    meta.len().hash(&mut h);
    mtime_ns(meta).hash(&mut h);
    snap.files += 1;
    snap.digest = snap.digest.wrapping_add(h.finish());
}

fn scan(dir: &Path, recursive: bool, snap: &mut Snapshot) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        if recursive && e.file_type().is_ok_and(|t| t.is_dir()) {
            scan(&e.path(), true, snap);
        } else if discover::is_revision_file_name(&name)
            && let Ok(meta) = e.metadata()
        {
            // The directory's own path is hashed through its files' full names.
            let mut full = dir.as_os_str().as_encoded_bytes().to_vec();
            full.extend_from_slice(name.as_encoded_bytes());
            add(snap, &full, &meta);
            keep_if_hot(&mut snap.hot, mtime_ns(&meta), || e.path());
        }
    }
}

/// Keeps the [`HOT`] newest files; `path` is only built for a file that gets in.
fn keep_if_hot(hot: &mut Vec<(u128, PathBuf)>, mtime: u128, path: impl FnOnce() -> PathBuf) {
    if hot.len() < HOT {
        hot.push((mtime, path()));
        return;
    }
    if let Some(oldest) = hot.iter_mut().min_by_key(|h| h.0)
        && oldest.0 < mtime
    {
        *oldest = (mtime, path());
    }
}

/// When to look, and whether anything changed: quick checks every [`MIN_INTERVAL`], a full sweep
/// when its cost allows.
struct Poller {
    watched: Watched,
    full: Snapshot,
    quick: u64,
    sweep_every: Duration,
    last_sweep: Instant,
}

impl Poller {
    fn new(watched: Watched) -> Poller {
        let mut p = Poller {
            watched,
            full: Snapshot {
                files: 0,
                digest: 0,
                hot: Vec::new(),
            },
            quick: 0,
            sweep_every: MIN_INTERVAL,
            last_sweep: Instant::now(),
        };
        p.sweep();
        p
    }

    fn sweep(&mut self) {
        let t = Instant::now();
        self.full = self.watched.snapshot();
        self.sweep_every = MIN_INTERVAL.max(t.elapsed() * COST_FACTOR);
        self.last_sweep = Instant::now();
        self.quick = self.watched.quick(&self.full);
    }

    /// Whether the revision files changed since the last call. A quick check that sees something
    /// (perhaps only an editor's swap file appearing) brings the sweep forward; the sweep decides.
    fn changed(&mut self) -> bool {
        let due = self.last_sweep.elapsed() >= self.sweep_every;
        if !due && self.watched.quick(&self.full) == self.quick {
            return false;
        }
        let before = self.full.clone();
        self.sweep();
        self.full != before
    }
}

/// A project read again after a change, with its diagnostics (computed off the UI thread).
/// Its graph rows and lanes are built by the explorer once it has dropped the old ones (about
/// 20 ms at 10,000 revisions): built here, both were alive at once, and on different threads'
/// heaps, which left the explorer 6 MiB larger after each reload.
pub struct Reloaded {
    /// Shared with the watcher: the next reload keeps its unchanged records.
    pub project: Arc<Project>,
    pub diagnostics: Vec<Diagnostic>,
}

/// The background watcher; dropping it stops the thread at its next poll.
pub struct Watcher {
    rx: Receiver<Result<Reloaded, String>>,
    stop: Arc<AtomicBool>,
    /// Set when the thread is about to read the project again; it waits (at most
    /// [`READY_WAIT`]) for [`Watcher::ready`] first.
    asking: Arc<AtomicBool>,
    ready: mpsc::Sender<()>,
}

/// How long a reload waits for the explorer to let go of what it will replace (the event loop
/// looks every 100 ms).
const READY_WAIT: Duration = Duration::from_millis(250);

impl Watcher {
    /// Watches `project` (read with `opts`); `branches` are the `--branches` flag's labels.
    pub fn spawn(project: Arc<Project>, opts: ConfigOptions, branches: Vec<String>) -> Watcher {
        let (tx, rx) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let asking = Arc::new(AtomicBool::new(false));
        let ask = asking.clone();
        let (ready, readied) = mpsc::channel::<()>();
        let watched = Watched::of(&project);
        let mut current = project;
        std::thread::Builder::new()
            .name("migscope-watch".into())
            .spawn(move || {
                let mut poller = Poller::new(watched);
                let mut trim = false;
                while !stopped.load(Ordering::Relaxed) {
                    std::thread::sleep(MIN_INTERVAL);
                    if std::mem::take(&mut trim) {
                        // The project this thread built before the last reload has been let
                        // go by now, by other threads: its pages wait on this thread's lists.
                        crate::heap::trim();
                    }
                    if !poller.changed() {
                        continue;
                    }
                    // The explorer lets go of what the reload replaces before it is built
                    // beside it (at 10,000 revisions, the database's reading).
                    while readied.try_recv().is_ok() {}
                    ask.store(true, Ordering::Relaxed);
                    let _ = readied.recv_timeout(READY_WAIT);
                    ask.store(false, Ordering::Relaxed);
                    let msg = match current.reload(&opts) {
                        Ok(project) => {
                            let w = Watched::of(&project);
                            if w.dirs != poller.watched.dirs || w.configs != poller.watched.configs
                            {
                                // The configuration moved the versions directories.
                                poller = Poller::new(w);
                            }
                            let diagnostics = super::diagnostics(&project, &branches);
                            let project = Arc::new(project);
                            current = Arc::clone(&project);
                            Ok(Reloaded {
                                project,
                                diagnostics,
                            })
                        }
                        Err(e) => Err(e.to_string()),
                    };
                    if tx.send(msg).is_err() {
                        return;
                    }
                    trim = true;
                }
            })
            .expect("spawn the watcher thread");
        Watcher {
            rx,
            stop,
            asking,
            ready,
        }
    }

    /// The files changed and a reload is about to start: true once, for the explorer to let go
    /// of what the reload replaces and then call [`Watcher::ready`].
    pub fn reload_coming(&self) -> bool {
        self.asking.swap(false, Ordering::Relaxed)
    }

    /// The explorer is ready for the reload.
    pub fn ready(&self) {
        let _ = self.ready.send(());
    }

    /// The newest reload waiting, if any (older ones are dropped unseen).
    pub fn latest(&self) -> Option<Result<Reloaded, String>> {
        self.rx.try_iter().last()
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// What the user was looking at, by revision id, to carry over to a reloaded graph.
#[derive(Debug, Clone)]
pub struct Kept {
    selected: Option<String>,
    /// The selection was a folded run (restored folded when its ends still exist).
    folded: bool,
    folds: Vec<(String, String)>,
    scroll: usize,
    view: View,
    query: String,
    source_scroll: usize,
    problem_selected: usize,
    help_scroll: usize,
    details_scroll: usize,
}

impl Kept {
    pub fn of(s: &State) -> Kept {
        Kept {
            selected: s.selected_row().map(|r| s.rows[r].id.clone()),
            folded: matches!(s.selected_item(), Some(Item::Folded { .. })),
            folds: s
                .folds
                .iter()
                .map(|&(f, l)| (s.rows[f].id.clone(), s.rows[l].id.clone()))
                .collect(),
            scroll: s.scroll,
            view: s.view,
            query: s.search.query.clone(),
            source_scroll: s.source_scroll,
            problem_selected: s.problem_selected,
            help_scroll: s.help_scroll,
            details_scroll: s.details_scroll,
        }
    }

    /// Applies this to a freshly built state of the reloaded project.
    pub fn restore(self, s: &mut State) {
        let row_of = |s: &State, id: &str| s.rows.iter().position(|r| r.id == id);
        s.folds = self
            .folds
            .iter()
            .filter_map(|(f, l)| Some((row_of(s, f)?, row_of(s, l)?)))
            .filter(|(f, l)| f <= l)
            .collect();
        s.rebuild_items();
        s.scroll = self.scroll;
        if let Some(r) = self.selected.as_deref().and_then(|id| row_of(s, id)) {
            match s.item_of_row(r) {
                Some(i) if self.folded && matches!(s.items[i], Item::Folded { .. }) => {
                    s.selected = i;
                    s.ancestry.fill(false);
                    s.ensure_visible();
                }
                _ => s.select_row(r),
            }
        }
        s.search.query = self.query;
        s.refresh_matches();
        s.details_scroll = self.details_scroll;
        s.help_scroll = self.help_scroll;
        s.problem_selected = self
            .problem_selected
            .min(s.diagnostics.len().saturating_sub(1));
        match self.view {
            View::Source => {
                s.apply(Action::ToggleSource);
                s.source_scroll = self.source_scroll;
            }
            view => s.view = view,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn quick_checks_see_hot_files_and_sweeps_see_the_rest() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let write = |name: &str, text: &str| fs::write(dir.join(name), text).unwrap();
        write("old.py", "revision = 'old'\n");
        std::thread::sleep(Duration::from_millis(20));
        for i in 0..(HOT + 8) {
            write(&format!("r{i:02}.py"), "revision = 'x'\n");
        }
        let mut p = Poller::new(Watched {
            dirs: vec![dir.clone()],
            recursive: false,
            configs: Vec::new(),
        });
        assert_eq!(p.full.files, HOT + 9);
        assert!(!p.full.hot.iter().any(|h| h.1.ends_with("old.py")));
        // No sweep due: only the quick check runs.
        p.sweep_every = Duration::from_secs(3600);
        assert!(!p.changed());
        // An in-place edit of a recent file (the directory's mtime does not move).
        write(&format!("r{:02}.py", HOT + 7), "revision = 'edited'\n");
        assert!(p.changed());
        p.sweep_every = Duration::from_secs(3600);
        // An editor's swap file moves the directory's mtime: a sweep, but no change.
        write(".r01.py.swp", "swap");
        assert!(!p.changed());
        p.sweep_every = Duration::from_secs(3600);
        // An old file edited in place waits for the next sweep.
        write("old.py", "revision = 'old, edited'\n");
        assert!(!p.changed());
        p.sweep_every = Duration::ZERO;
        assert!(p.changed());
    }
}
