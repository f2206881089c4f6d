//! Watching the project: a background thread notices edited, added or removed revision files (and
//! configuration files), reads the project again off the UI thread and hands it over; the explorer
//! swaps it in keeping what the user was looking at ([`Kept`]).
//!
//! Polling, not inotify: the files this tool is for are often edited from Windows and read from WSL
//! (`/mnt/c/...`), where change notifications do not arrive. A poll only lists the directories and
//! reads each revision file's size and mtime (no file is opened), folded into an order-independent
//! digest; its interval grows with its cost so that polling stays under 5% of one core.

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
/// A poll may take at most 1/20 of the interval.
const COST_FACTOR: u32 = 20;

/// What a poll sees of the watched files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Snapshot {
    pub files: usize,
    digest: u64,
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
}

/// Folds one file into the digest. Adding per-file hashes makes the digest independent of the
/// order directories are listed in.
fn add(snap: &mut Snapshot, name: &[u8], meta: &std::fs::Metadata) {
    let mut h = DefaultHasher::new();
    name.hash(&mut h);
    meta.len().hash(&mut h);
    if let Ok(t) = meta.modified()
        && let Ok(d) = t.duration_since(UNIX_EPOCH)
    {
        d.as_nanos().hash(&mut h);
    }
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
        }
    }
}

/// A project read again after a change, with its diagnostics (both computed off the UI thread).
pub struct Reloaded {
    pub project: Project,
    pub diagnostics: Vec<Diagnostic>,
}

/// The background watcher; dropping it stops the thread at its next poll.
pub struct Watcher {
    rx: Receiver<Result<Reloaded, String>>,
    stop: Arc<AtomicBool>,
}

impl Watcher {
    /// Watches `project` (read with `opts`); `branches` are the `--branches` flag's labels.
    pub fn spawn(project: &Project, opts: ConfigOptions, branches: Vec<String>) -> Watcher {
        let (tx, rx) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let mut watched = Watched::of(project);
        std::thread::Builder::new()
            .name("migscope-watch".into())
            .spawn(move || {
                let mut last = watched.snapshot();
                let mut interval = MIN_INTERVAL;
                while !stopped.load(Ordering::Relaxed) {
                    std::thread::sleep(interval);
                    let t = Instant::now();
                    let now = watched.snapshot();
                    interval = MIN_INTERVAL.max(t.elapsed() * COST_FACTOR);
                    if now == last {
                        continue;
                    }
                    last = now;
                    let msg = match Project::load(&opts) {
                        Ok(project) => {
                            let w = Watched::of(&project);
                            if w.dirs != watched.dirs || w.configs != watched.configs {
                                // The configuration moved the versions directories.
                                watched = w;
                                last = watched.snapshot();
                            }
                            let diagnostics = super::diagnostics(&project, &branches);
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
                }
            })
            .expect("spawn the watcher thread");
        Watcher { rx, stop }
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
