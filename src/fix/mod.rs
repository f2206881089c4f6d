//! Repairs of the revision graph itself, as previewed and validated file edits: merge heads
//! ([`merge`]), point a revision at other parents ([`reparent`]), bring a lost file back from
//! git history ([`restore`]), and undo any of them.
//!
//! Every fix is planned first: a [`FixPlan`] holds the exact bytes each file will have, a unified
//! diff, the graph before and after (computed by reading the new bytes with the ordinary reader
//! and building the map they give), and the reasons to refuse (a cycle, a missing parent,
//! rewriting history a database has applied). [`apply`] writes the plan only if every file still
//! has the content the plan was made from, keeps a copy of each file's old and new content,
//! re-reads the project from disk and rolls everything back when the graph is not the predicted
//! one, then journals the change so that [`plan_undo`] can revert it. Nothing here prints or
//! talks to a database: the caller passes the database's rows in ([`DbCheck`]).

pub mod diff;
mod merge;
mod naming;
mod reparent;
mod restore;
mod source;
pub mod template;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

use crate::config::ProjectConfig;
use crate::diagnose::{self, Expectations, Severity};
use crate::gitsrc::GitError;
use crate::graph::{RevisionError, RevisionMap};
use crate::journal::{self, FileChange, FixEntry};
use crate::project::Project;
use crate::revision;

pub use merge::{MergeRequest, plan_merge};
pub use reparent::{ReparentRequest, Suggestion, plan_reparent, suggest_parent};
pub use restore::plan_restore;

/// Why a fix could not be planned or applied.
#[derive(Debug, thiserror::Error)]
pub enum FixError {
    /// Alembic would refuse the request (unknown or ambiguous revision, a map it cannot load).
    #[error("{}", .0.message())]
    Revision(#[from] RevisionError),
    /// The request itself does not make sense (not a head, nothing to merge...).
    #[error("{0}")]
    Request(String),
    #[error("{file}{}: {message}", .line.map(|l| format!(":{l}")).unwrap_or_default())]
    Edit {
        file: String,
        line: Option<u32>,
        message: String,
    },
    #[error("{file}:{line}: {message}")]
    Template {
        file: String,
        line: usize,
        message: String,
    },
    #[error("configuration: {message}")]
    Config { message: String },
    #[error("{}: {source}", .path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Git(#[from] GitError),
    #[error(
        "refused: {}; pass --force to write anyway",
        .0.iter().map(|r| r.message.as_str()).collect::<Vec<_>>().join("; ")
    )]
    Refused(Vec<Refusal>),
    #[error(
        "{} changed since the fix was planned; nothing was written (plan the fix again)",
        .0.display()
    )]
    Stale(PathBuf),
    #[error("after writing, the project did not read as predicted ({0}); every file was put back")]
    Unpredicted(String),
}

impl FixError {
    /// A stable code for JSON output: Alembic's error code for a revision error.
    pub fn code(&self) -> &'static str {
        match self {
            FixError::Revision(e) => e.code(),
            FixError::Request(_) => "fix_request",
            FixError::Edit { .. } => "fix_edit",
            FixError::Template { .. } => "fix_template",
            FixError::Config { .. } => "fix_config",
            FixError::Io { .. } => "fix_io",
            FixError::Git(_) => "fix_git",
            FixError::Refused(_) => "fix_refused",
            FixError::Stale(_) => "fix_stale",
            FixError::Unpredicted(_) => "fix_unpredicted",
        }
    }
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> FixError + '_ {
    move |source| FixError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What the connected database says, for the "applied history" check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DbCheck {
    /// No database could be read; the reason is shown to the user.
    Skipped { reason: String },
    /// The version table's rows (`database` is the masked URL).
    Rows { database: String, rows: Vec<String> },
}

/// One file the fix writes: its current and its new content (`None`: absent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileWrite {
    pub path: PathBuf,
    pub before: Option<Vec<u8>>,
    pub after: Option<Vec<u8>>,
}

/// A reason not to write a fix (`--force` writes anyway).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    /// `cycle`, `missing-parent`, `unloadable` or `applied-history`.
    pub code: &'static str,
    pub message: String,
}

/// The graph as the user sees it, before or after a fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GraphSummary {
    pub heads: Vec<String>,
    pub bases: Vec<String>,
    pub errors: usize,
    pub warnings: usize,
    /// Alembic's error loading the map, if any.
    pub load_error: Option<String>,
    /// `code revision` of each error and warning.
    pub problems: Vec<String>,
}

impl GraphSummary {
    pub fn of(map: &RevisionMap, expect: &Expectations) -> GraphSummary {
        let diags = diagnose::diagnose(map, expect);
        GraphSummary {
            heads: map.ids(map.heads()),
            bases: map.ids(map.bases()),
            errors: diagnose::count(&diags, Severity::Error),
            warnings: diagnose::count(&diags, Severity::Warning),
            load_error: map.alembic_error().map(RevisionError::message),
            problems: diags
                .iter()
                .filter(|d| d.severity > Severity::Info)
                .map(|d| match &d.revision {
                    Some(r) => format!("{} {r}", d.code),
                    None => d.code.to_string(),
                })
                .collect(),
        }
    }
}

/// A fix, ready to show and to [`apply`].
#[derive(Debug, Clone, Serialize)]
pub struct FixPlan {
    /// `merge`, `reparent`, `restore` or `undo`.
    pub action: &'static str,
    /// One line: what the fix does.
    pub summary: String,
    #[serde(serialize_with = "write_paths")]
    pub writes: Vec<FileWrite>,
    /// Unified diff of every file written.
    pub diff: String,
    pub before: GraphSummary,
    pub after: GraphSummary,
    pub refusals: Vec<Refusal>,
    /// Things the user should know (a suggestion's reasoning, a skipped database check).
    pub notes: Vec<String>,
    pub db: DbCheck,
    /// The project's journal key.
    pub project: PathBuf,
    #[serde(skip)]
    config: ProjectConfig,
    #[serde(skip)]
    predicted: Shape,
}

fn write_paths<S: serde::Serializer>(writes: &[FileWrite], s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq;
    let mut seq = s.serialize_seq(Some(writes.len()))?;
    for w in writes {
        let change = match (&w.before, &w.after) {
            (None, _) => "create",
            (_, None) => "delete",
            _ => "modify",
        };
        seq.serialize_element(&serde_json::json!({ "path": w.path, "change": change }))?;
    }
    seq.end()
}

/// What the graph must look like after the fix: each revision's parents, labels and
/// dependencies, and the heads and bases (as sets: a new file's load position is not known
/// before it is written).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Shape {
    revisions: BTreeMap<String, [Vec<String>; 3]>,
    heads: BTreeSet<String>,
    bases: BTreeSet<String>,
}

impl Shape {
    fn of(map: &RevisionMap) -> Shape {
        let sorted = |v: &[String]| {
            let mut v = v.to_vec();
            v.sort();
            v
        };
        Shape {
            revisions: map
                .revisions()
                .iter()
                .filter(|r| !r.phantom)
                .map(|r| {
                    (
                        r.id.clone(),
                        [
                            sorted(&r.down),
                            sorted(&r.own_labels),
                            sorted(&r.depends_on),
                        ],
                    )
                })
                .collect(),
            heads: map.ids(map.heads()).into_iter().collect(),
            bases: map.ids(map.bases()).into_iter().collect(),
        }
    }

    /// The first difference, for the user.
    fn difference(&self, actual: &Shape) -> Option<String> {
        for (id, facts) in &self.revisions {
            match actual.revisions.get(id) {
                None => return Some(format!("{id} is not read from the files")),
                Some(f) if f != facts => {
                    return Some(format!(
                        "{id} reads as down_revision {:?}, branch_labels {:?}, expected {:?}, {:?}",
                        f[0], f[1], facts[0], facts[1]
                    ));
                }
                _ => {}
            }
        }
        if let Some(extra) = actual
            .revisions
            .keys()
            .find(|k| !self.revisions.contains_key(*k))
        {
            return Some(format!("{extra} appeared unexpectedly"));
        }
        if self.heads != actual.heads {
            return Some(format!(
                "heads are {:?}, expected {:?}",
                actual.heads, self.heads
            ));
        }
        (self.bases != actual.bases)
            .then(|| format!("bases are {:?}, expected {:?}", actual.bases, self.bases))
    }
}

/// What every plan starts from.
pub struct FixContext<'a> {
    pub project: &'a Project,
    pub expect: Expectations,
    pub db: DbCheck,
}

/// The key a project's fixes are journaled under: its ini file, else its pyproject.toml, else
/// its first version location.
pub fn project_key(config: &ProjectConfig) -> PathBuf {
    config
        .ini_path
        .clone()
        .or_else(|| config.toml_path.clone())
        .or_else(|| config.version_locations.first().cloned())
        .or_else(|| config.script_location.clone())
        .unwrap_or_default()
}

/// The map the files would give after `writes`.
fn predict(map: &RevisionMap, writes: &[FileWrite]) -> RevisionMap {
    let mut records = map.records.clone();
    for w in writes {
        let pos = records.iter().position(|r| r.path == w.path);
        match (pos, &w.after) {
            (Some(i), Some(bytes)) => {
                records[i] = Arc::new(revision::read::read_source(&w.path, bytes));
            }
            (Some(i), None) => {
                records.remove(i);
            }
            (None, Some(bytes)) => {
                let rec = Arc::new(revision::read::read_source(&w.path, bytes));
                // Alembic loads a directory's files in name order: put the new file there.
                let dir = w.path.parent();
                let at = records
                    .iter()
                    .position(|r| r.path.parent() == dir && r.path > w.path)
                    .or_else(|| {
                        records
                            .iter()
                            .rposition(|r| r.path.parent() == dir)
                            .map(|i| i + 1)
                    })
                    .unwrap_or(records.len());
                records.insert(at, rec);
            }
            (None, None) => {}
        }
    }
    RevisionMap::build_shared(records)
}

/// Builds the plan for `writes`: the diff, the graph before and after, the refusals.
fn finish(
    ctx: &FixContext,
    action: &'static str,
    summary: String,
    writes: Vec<FileWrite>,
    mut notes: Vec<String>,
) -> FixPlan {
    let map = &ctx.project.map;
    let after_map = predict(map, &writes);
    // Paths in the diff are relative to the project (the config file's directory).
    let config = &ctx.project.config;
    let base = config
        .ini_path
        .as_ref()
        .or(config.toml_path.as_ref())
        .or(config.version_locations.first())
        .and_then(|p| p.parent())
        .map(Path::to_path_buf);
    let diff: String = writes
        .iter()
        .map(|w| {
            let label = base
                .as_deref()
                .and_then(|b| w.path.strip_prefix(b).ok())
                .unwrap_or(&w.path);
            diff::unified(
                &label.to_string_lossy(),
                w.before.as_deref(),
                w.after.as_deref(),
            )
        })
        .collect();
    let mut refusals = graph_refusals(map, &after_map);
    match &ctx.db {
        DbCheck::Skipped { reason } => notes.push(format!(
            "database check skipped ({reason}): whether this rewrites applied history was not \
             checked"
        )),
        DbCheck::Rows { database, rows } => {
            refusals.extend(applied_refusals(
                map, &after_map, database, rows, &mut notes,
            ));
        }
    }
    FixPlan {
        action,
        summary,
        diff,
        before: GraphSummary::of(map, &ctx.expect),
        after: GraphSummary::of(&after_map, &ctx.expect),
        refusals,
        notes,
        db: ctx.db.clone(),
        project: project_key(&ctx.project.config),
        config: ctx.project.config.clone(),
        predicted: Shape::of(&after_map),
        writes,
    }
}

fn is_cycle(e: &RevisionError) -> bool {
    matches!(
        e,
        RevisionError::Cycle { .. }
            | RevisionError::DependencyCycle { .. }
            | RevisionError::UndetectedCycle { .. }
            | RevisionError::SelfLoop { .. }
            | RevisionError::DependencySelfLoop { .. }
    )
}

/// Cycles, missing parents and load errors the fix would introduce.
fn graph_refusals(before: &RevisionMap, after: &RevisionMap) -> Vec<Refusal> {
    let mut out = Vec::new();
    let missing = |m: &RevisionMap| -> BTreeSet<(String, String)> {
        m.revisions()
            .iter()
            .flat_map(|r| {
                r.missing_parents()
                    .iter()
                    .chain(r.missing_deps())
                    .map(|p| (r.id.clone(), p.clone()))
            })
            .collect()
    };
    let was_missing = missing(before);
    for (rev, parent) in missing(after).difference(&was_missing) {
        out.push(Refusal {
            code: "missing-parent",
            message: format!("{rev} would name {parent}, which no revision file defines"),
        });
    }
    let new_error = after
        .alembic_error()
        .filter(|e| before.alembic_error() != Some(*e));
    match new_error {
        Some(e) if is_cycle(e) => out.push(Refusal {
            code: "cycle",
            message: format!("the edit would create a cycle: {}", e.detail()),
        }),
        Some(RevisionError::Missing { .. }) => {}
        Some(e) => out.push(Refusal {
            code: "unloadable",
            message: format!("Alembic could not load the result: {}", e.message()),
        }),
        None => {}
    }
    out
}

/// Revisions the database has applied whose parents, labels or dependencies the fix changes.
fn applied_refusals(
    before: &RevisionMap,
    after: &RevisionMap,
    database: &str,
    rows: &[String],
    notes: &mut Vec<String>,
) -> Vec<Refusal> {
    let report = crate::stamp::rows_report(before, rows);
    let unknown: Vec<&str> = report
        .rows
        .iter()
        .filter(|(_, r)| r.is_none())
        .map(|(id, _)| id.as_str())
        .collect();
    if !unknown.is_empty() {
        notes.push(format!(
            "{database} holds {}, which no revision file defines: the revisions it stands for \
             are not known, so only the known rows were checked",
            unknown.join(", ")
        ));
    }
    let (old, new) = (Shape::of(before), Shape::of(after));
    before
        .ids(&report.applied)
        .into_iter()
        .filter(|id| match (old.revisions.get(id), new.revisions.get(id)) {
            (Some(a), Some(b)) => a != b,
            (Some(_), None) => true,
            _ => false,
        })
        .map(|id| Refusal {
            code: "applied-history",
            message: format!(
                "{database} has applied {id}; changing its place in the history makes Alembic \
                 disagree with that database about what ran"
            ),
        })
        .collect()
}

/// Where a fix's copies are kept and journaled, and the command line to journal.
pub struct ApplyOptions {
    pub force: bool,
    pub state_dir: PathBuf,
    pub journal: PathBuf,
    pub command: String,
}

impl ApplyOptions {
    /// The journal and state directory from the environment (see [`journal::journal_path`]);
    /// `None` when there is no state directory at all.
    pub fn from_env(force: bool, command: String) -> Option<ApplyOptions> {
        let journal = journal::journal_path(|k| std::env::var(k).ok())?;
        Some(ApplyOptions {
            force,
            state_dir: journal.parent()?.to_path_buf(),
            journal,
            command,
        })
    }
}

/// What [`apply`] did.
#[derive(Debug, Clone, Serialize)]
pub struct Applied {
    pub files: Vec<FileChange>,
    /// The graph read back from disk.
    pub after: GraphSummary,
}

/// Writes the plan (see the module documentation for the checks around it).
pub fn apply(
    plan: &FixPlan,
    opts: &ApplyOptions,
    expect: &Expectations,
) -> Result<Applied, FixError> {
    if !plan.refusals.is_empty() && !opts.force {
        return Err(FixError::Refused(plan.refusals.clone()));
    }
    for w in &plan.writes {
        if read_optional(&w.path)? != w.before {
            return Err(FixError::Stale(w.path.clone()));
        }
    }
    let files = keep_copies(plan, &opts.state_dir)?;
    // Directories the writes create, deepest first, so that a rollback leaves none behind.
    let created: Vec<PathBuf> = plan
        .writes
        .iter()
        .flat_map(|w| w.path.ancestors().skip(1).take_while(|d| !d.exists()))
        .map(Path::to_path_buf)
        .collect();
    let mut done = Vec::new();
    for w in &plan.writes {
        if let Err(e) = write_one(&w.path, w.after.as_deref()) {
            rollback(&done, &created);
            return Err(e);
        }
        done.push(w.clone());
    }
    let reread = Project::from_config(plan.config.clone());
    if let Some(difference) = plan.predicted.difference(&Shape::of(&reread.map)) {
        rollback(&done, &created);
        return Err(FixError::Unpredicted(difference));
    }
    let entry = FixEntry {
        time: journal::now_utc(),
        action: if plan.action == "undo" { "undo" } else { "fix" }.to_string(),
        project: plan.project.clone(),
        summary: plan.summary.clone(),
        files: files.clone(),
        command: opts.command.clone(),
    };
    journal::append_fix(&opts.journal, &entry).map_err(io_error(&opts.journal))?;
    Ok(Applied {
        files,
        after: GraphSummary::of(&reread.map, expect),
    })
}

fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, FixError> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_error(path)(e)),
    }
}

/// Copies of each file's content before and after, under `<state dir>/backups/<time>-<id>/`.
fn keep_copies(plan: &FixPlan, state_dir: &Path) -> Result<Vec<FileChange>, FixError> {
    let stamp = journal::now_utc().replace(':', "");
    let dir = state_dir
        .join("backups")
        .join(format!("{stamp}-{}", naming::new_rev_id(|_| false)));
    std::fs::create_dir_all(&dir).map_err(io_error(&dir))?;
    let mut out = Vec::new();
    for (i, w) in plan.writes.iter().enumerate() {
        let name = w
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let copy = |which: &str, bytes: &Option<Vec<u8>>| -> Result<Option<PathBuf>, FixError> {
            let Some(bytes) = bytes else { return Ok(None) };
            let p = dir.join(format!("{i:03}-{which}-{name}"));
            std::fs::write(&p, bytes).map_err(io_error(&p))?;
            Ok(Some(p))
        };
        out.push(FileChange {
            path: w.path.clone(),
            before: copy("before", &w.before)?,
            after: copy("after", &w.after)?,
        });
    }
    Ok(out)
}

/// Replaces (through a temporary file and a rename, keeping the permissions), creates, or
/// removes one file.
fn write_one(path: &Path, bytes: Option<&[u8]>) -> Result<(), FixError> {
    let Some(bytes) = bytes else {
        return match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_error(path)(e)),
            _ => Ok(()),
        };
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io_error(dir))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // Not `*.py`: Alembic (and migscope) must never load a half-written temporary file.
    let tmp = dir.join(format!(".{name}.migscope-tmp"));
    std::fs::write(&tmp, bytes).map_err(io_error(&tmp))?;
    if let Ok(meta) = std::fs::metadata(path) {
        let _ = std::fs::set_permissions(&tmp, meta.permissions());
    }
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io_error(path)(e)
    })
}

/// Puts back the content each write found and removes the directories made for them (best
/// effort: this runs after a failure).
fn rollback(done: &[FileWrite], created: &[PathBuf]) {
    for w in done.iter().rev() {
        let _ = write_one(&w.path, w.before.as_deref());
    }
    for dir in created {
        let _ = std::fs::remove_dir(dir);
    }
}

/// The plan that reverts a journaled fix: each file gets back its content from before the fix,
/// provided it still holds what the fix wrote.
pub fn plan_undo(ctx: &FixContext, entry: &FixEntry) -> Result<FixPlan, FixError> {
    let read_copy = |p: &Option<PathBuf>| -> Result<Option<Vec<u8>>, FixError> {
        match p {
            None => Ok(None),
            Some(p) => std::fs::read(p).map(Some).map_err(io_error(p)),
        }
    };
    let mut writes = Vec::new();
    for f in &entry.files {
        let expected = read_copy(&f.after)?;
        if read_optional(&f.path)? != expected {
            return Err(FixError::Stale(f.path.clone()));
        }
        writes.push(FileWrite {
            path: f.path.clone(),
            before: expected,
            after: read_copy(&f.before)?,
        });
    }
    Ok(finish(
        ctx,
        "undo",
        format!(
            "undo the {} of {} ({})",
            entry.action, entry.time, entry.summary
        ),
        writes,
        Vec::new(),
    ))
}

/// The newest fix journaled for `project`, with its position among all journal lines.
pub fn last_fix(lines: &[journal::Line], project: &Path) -> Option<(usize, FixEntry)> {
    lines.iter().enumerate().rev().find_map(|(i, l)| match l {
        journal::Line::Files(e) if e.project == project => Some((i, e.clone())),
        _ => None,
    })
}

/// The fix `migscope undo` (and the explorer's `U`) reverts for `project`: its newest journaled
/// fix, unless a change to the database at `db_url` (masked) was journaled after it (that one is
/// undone first).
pub fn undoable_fix(
    lines: &[journal::Line],
    project: &Path,
    db_url: Option<&str>,
) -> Option<FixEntry> {
    let (at, entry) = last_fix(lines, project)?;
    let newer_rows = db_url.is_some_and(|url| {
        lines[at + 1..]
            .iter()
            .any(|l| matches!(l, journal::Line::Rows(e) if e.url == url))
    });
    (!newer_rows).then_some(entry)
}

/// Python identifiers Alembic accepts as revision ids here: no quote or backslash to escape.
fn plain_id(id: &str) -> bool {
    !id.is_empty() && !id.contains(['\'', '"', '\\', '\n', '\r'])
}
