//! Making two sides equal: which files to copy in which direction, and copying them safely.
//!
//! The plan only ever *adds* a revision a side lacks. Two different copies of one revision are a
//! conflict for a human (which one is right depends on which databases ran which), so they are
//! listed and never overwritten; the one exception is `--include-eol`, where the two copies are
//! the same Python and LEFT's bytes replace RIGHT's, with a backup.
//!
//! Applying is all-or-nothing: every file is first written under a temporary name in its target
//! directory, originals are backed up, and only then are the temporary files renamed into place
//! (a rename within a directory is atomic). Any failure undoes what was done so far.

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::Serialize;

use super::{Comparison, Fingerprint, Side, Status, Which};

/// Copy one side's file to the other side.
#[derive(Debug, Clone, Serialize)]
pub struct Action {
    pub revision: String,
    /// The side written to.
    pub to: Which,
    pub source: PathBuf,
    pub target: PathBuf,
    /// The target exists and is replaced (backed up first). Only with `--include-eol`.
    pub replaces: bool,
    #[serde(skip)]
    source_index: usize,
    #[serde(skip)]
    replaced_index: Option<usize>,
}

/// Something the plan will not do by itself.
#[derive(Debug, Clone, Serialize)]
pub struct Conflict {
    pub revision: String,
    pub reason: String,
    pub left: Option<PathBuf>,
    pub right: Option<PathBuf>,
}

/// A difference that needs no copy.
#[derive(Debug, Clone, Serialize)]
pub struct Harmless {
    pub revision: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct SyncPlan {
    pub actions: Vec<Action>,
    pub conflicts: Vec<Conflict>,
    pub harmless: Vec<Harmless>,
}

impl SyncPlan {
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }
}

/// The copies that make the sides hold the same revisions.
pub fn plan(cmp: &Comparison, left: &Side, right: &Side, include_eol: bool) -> SyncPlan {
    // What each side holds under each (location, relative path): a copy must not land on it.
    // Only needed when something is to be copied.
    fn names(side: &Side) -> HashMap<(usize, &std::ffi::OsStr), &str> {
        side.files
            .iter()
            .zip(&side.keys)
            .map(|(f, (k, _))| {
                let id = match k {
                    super::Key::Id(id) => id.as_str(),
                    super::Key::File(_) => "",
                };
                ((side.location_index(f.location), f.rel.as_os_str()), id)
            })
            .collect()
    }
    let copies = cmp
        .revisions
        .iter()
        .any(|d| matches!(d.status, Status::OnlyLeft | Status::OnlyRight));
    let (left_names, right_names) = if copies {
        (names(left), names(right))
    } else {
        Default::default()
    };
    let mut out = SyncPlan::default();
    for d in &cmp.revisions {
        let paths = (
            d.left.as_ref().map(|f| f.path.clone()),
            d.right.as_ref().map(|f| f.path.clone()),
        );
        let conflict = |reason: String| Conflict {
            revision: d.revision.clone(),
            reason,
            left: paths.0.clone(),
            right: paths.1.clone(),
        };
        match d.status {
            Status::OnlyLeft | Status::OnlyRight => {
                let (from, to, to_names) = if d.status == Status::OnlyLeft {
                    (left, right, &right_names)
                } else {
                    (right, left, &left_names)
                };
                let f = d.left.as_ref().or(d.right.as_ref()).expect("one side");
                let file = &from.files[f.index];
                let target = to.path_for(file.location, &file.rel);
                // Never put a second file under a name the other side already uses.
                let slot = (to.location_index(file.location), file.rel.as_os_str());
                let taken = to_names.get(&slot).map(|s| s.to_string()).or_else(|| {
                    (!to.is_git() && fs::symlink_metadata(&target).is_ok()).then(String::new)
                });
                match taken {
                    Some(other) => out.conflicts.push(conflict(format!(
                        "{} already has {} ({}); rename one of them",
                        to.which.name(),
                        target.display(),
                        if other.is_empty() {
                            "a file with no readable revision id".to_string()
                        } else {
                            format!("revision {other}")
                        }
                    ))),
                    None => out.actions.push(Action {
                        revision: d.revision.clone(),
                        to: to.which,
                        source: f.path.clone(),
                        target,
                        replaces: false,
                        source_index: f.index,
                        replaced_index: None,
                    }),
                }
            }
            Status::EolOnly if include_eol => {
                let (l, r) = (
                    d.left.as_ref().expect("both"),
                    d.right.as_ref().expect("both"),
                );
                out.actions.push(Action {
                    revision: d.revision.clone(),
                    to: Which::Right,
                    source: l.path.clone(),
                    target: r.path.clone(),
                    replaces: true,
                    source_index: l.index,
                    replaced_index: Some(r.index),
                });
            }
            Status::EolOnly => out.harmless.push(Harmless {
                revision: d.revision.clone(),
                reason: format!(
                    "differs only by {}: Python reads both the same; no copy needed \
                     (--include-eol copies LEFT's over RIGHT's)",
                    d.cosmetic
                        .iter()
                        .map(|c| c.describe())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }),
            Status::Identical => out.harmless.push(Harmless {
                revision: d.revision.clone(),
                reason: rename_note(d),
            }),
            Status::ContentDiffers => out.conflicts.push(conflict(format!(
                "the two files differ{}; decide which is right and copy it by hand \
                 (see: migscope compare LEFT RIGHT --diff {})",
                if d.renamed { " (and their names)" } else { "" },
                d.revision
            ))),
            Status::GraphDiffers => out.conflicts.push(conflict(format!(
                "{}: databases upgraded with one side disagree with the other about its \
                 place in the graph; fix by hand",
                d.graph
                    .iter()
                    .map(|g| format!(
                        "{} is ({}) on LEFT but ({}) on RIGHT",
                        g.field,
                        g.left.join(", "),
                        g.right.join(", ")
                    ))
                    .collect::<Vec<_>>()
                    .join("; ")
            ))),
        }
        if d.renamed && d.status != Status::Identical {
            out.harmless.push(Harmless {
                revision: d.revision.clone(),
                reason: rename_note(d),
            });
        }
    }
    out
}

fn rename_note(d: &super::RevisionDiff) -> String {
    let name = |f: &Option<super::FileRef>| {
        f.as_ref()
            .map(|f| f.name.display().to_string())
            .unwrap_or_default()
    };
    format!(
        "same revision under different file names ({} on LEFT, {} on RIGHT); Alembic matches \
         revisions by id, so this is harmless (rename one to tidy up)",
        name(&d.left),
        name(&d.right)
    )
}

/// Why applying failed. Nothing was changed (or everything was undone).
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(
        "--apply writes only to directories; {0} is a git reference (check it out, or compare directories)"
    )]
    GitSide(String),
    #[error("{path}: {message}; nothing was changed")]
    Precondition { path: PathBuf, message: String },
    #[error("{path}: {source}; every change was undone")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What [`apply`] did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Applied {
    pub written: Vec<PathBuf>,
    pub backups: Vec<PathBuf>,
}

/// One file to put in place.
struct Op {
    target: PathBuf,
    bytes: Vec<u8>,
    /// `None`: the target must not exist. `Some(f)`: it must still hold what was compared.
    expect: Option<Fingerprint>,
    /// The source file's permissions, for directory sources.
    permissions: Option<fs::Permissions>,
}

/// Applies a plan to two directory sides. `stamp` names the backups (see [`timestamp`]).
pub fn apply(
    plan: &SyncPlan,
    left: &Side,
    right: &Side,
    stamp: &str,
) -> Result<Applied, ApplyError> {
    for side in [left, right] {
        if side.is_git() {
            return Err(ApplyError::GitSide(side.label.clone()));
        }
    }
    let mut ops = Vec::with_capacity(plan.actions.len());
    for a in &plan.actions {
        let (from, to) = match a.to {
            Which::Right => (left, right),
            Which::Left => (right, left),
        };
        // Copy what was compared, not whatever the file holds now.
        let bytes = from
            .bytes(a.source_index)
            .map_err(|e| ApplyError::Precondition {
                path: a.source.clone(),
                message: format!("cannot read it ({e})"),
            })?;
        if Fingerprint::of(&bytes) != from.files[a.source_index].fingerprint {
            return Err(ApplyError::Precondition {
                path: a.source.clone(),
                message: "changed since the comparison; run compare again".into(),
            });
        }
        ops.push(Op {
            target: a.target.clone(),
            bytes,
            expect: a.replaced_index.map(|i| to.files[i].fingerprint),
            permissions: fs::metadata(&a.source).ok().map(|m| m.permissions()),
        });
    }
    apply_ops(&ops, stamp, None)
}

/// `YYYYMMDDTHHMMSSZ` (UTC) for backup names.
pub fn timestamp(now: SystemTime) -> String {
    let secs = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's civil_from_days.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn sibling(target: &Path, suffix: &str, hidden: bool) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dot = if hidden { "." } else { "" };
    target.with_file_name(format!("{dot}{name}{suffix}"))
}

/// The all-or-nothing copy. `fail_at` makes the commit step fail before the given operation
/// (tests use it to check the undo).
fn apply_ops(ops: &[Op], stamp: &str, fail_at: Option<usize>) -> Result<Applied, ApplyError> {
    // 1. Preconditions, before touching anything.
    for op in ops {
        match (op.expect, fs::read(&op.target)) {
            (None, Err(e)) if e.kind() == std::io::ErrorKind::NotFound => {}
            (None, _) => {
                return Err(ApplyError::Precondition {
                    path: op.target.clone(),
                    message: "appeared since the comparison (it would be overwritten)".into(),
                });
            }
            (Some(expected), Ok(now)) if Fingerprint::of(&now) == expected => {}
            (Some(_), _) => {
                return Err(ApplyError::Precondition {
                    path: op.target.clone(),
                    message: "changed since the comparison; run compare again".into(),
                });
            }
        }
    }
    let mut undo = Undo::default();
    let result = (|| {
        // 2. Every new content under a temporary name next to its target.
        let tmp_suffix = format!(".migscope-tmp-{}", std::process::id());
        let mut temps = Vec::with_capacity(ops.len());
        for op in ops {
            let dir = op.target.parent().unwrap_or(Path::new("."));
            if !dir.exists() {
                let mut missing = Vec::new();
                let mut d = dir;
                while !d.exists() {
                    missing.push(d.to_path_buf());
                    d = d.parent().unwrap_or(Path::new("/"));
                }
                fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
                undo.dirs.extend(missing);
            }
            let tmp = sibling(&op.target, &tmp_suffix, true);
            let mut f = fs::File::create_new(&tmp).map_err(|e| io(&tmp, e))?;
            undo.temps.push(tmp.clone());
            f.write_all(&op.bytes).map_err(|e| io(&tmp, e))?;
            f.sync_all().map_err(|e| io(&tmp, e))?;
            if let Some(p) = &op.permissions {
                fs::set_permissions(&tmp, p.clone()).map_err(|e| io(&tmp, e))?;
            }
            temps.push(tmp);
        }
        // 3. Backups of what will be replaced.
        for op in ops.iter().filter(|op| op.expect.is_some()) {
            let mut backup = sibling(&op.target, &format!(".migscope-bak-{stamp}"), false);
            let mut n = 1;
            while fs::symlink_metadata(&backup).is_ok() {
                n += 1;
                backup = sibling(&op.target, &format!(".migscope-bak-{stamp}-{n}"), false);
            }
            fs::copy(&op.target, &backup).map_err(|e| io(&backup, e))?;
            undo.backups.push((op.target.clone(), backup));
        }
        // 4. Into place.
        for (k, (op, tmp)) in ops.iter().zip(&temps).enumerate() {
            if fail_at == Some(k) {
                return Err(io(
                    &op.target,
                    std::io::Error::other("injected failure (test)"),
                ));
            }
            if op.expect.is_none() && fs::symlink_metadata(&op.target).is_ok() {
                return Err(io(
                    &op.target,
                    std::io::Error::new(
                        std::io::ErrorKind::AlreadyExists,
                        "appeared while copying",
                    ),
                ));
            }
            fs::rename(tmp, &op.target).map_err(|e| io(&op.target, e))?;
            undo.temps.retain(|t| t != tmp);
            undo.placed.push((op.target.clone(), op.expect.is_some()));
        }
        Ok(())
    })();
    match result {
        Ok(()) => Ok(Applied {
            written: ops.iter().map(|o| o.target.clone()).collect(),
            backups: undo.backups.into_iter().map(|(_, b)| b).collect(),
        }),
        Err(e) => {
            undo.run();
            Err(e)
        }
    }
}

fn io(path: &Path, source: std::io::Error) -> ApplyError {
    ApplyError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What to take back when applying fails halfway.
#[derive(Default)]
struct Undo {
    temps: Vec<PathBuf>,
    /// (original, backup).
    backups: Vec<(PathBuf, PathBuf)>,
    /// Targets already renamed into place, and whether they replaced an original.
    placed: Vec<(PathBuf, bool)>,
    /// Directories created for targets, innermost first.
    dirs: Vec<PathBuf>,
}

impl Undo {
    fn run(self) {
        for (target, replaced) in self.placed.iter().rev() {
            if *replaced {
                if let Some((_, backup)) = self.backups.iter().find(|(t, _)| t == target) {
                    let _ = fs::copy(backup, target);
                }
            } else {
                let _ = fs::remove_file(target);
            }
        }
        for (_, backup) in &self.backups {
            let _ = fs::remove_file(backup);
        }
        for tmp in &self.temps {
            let _ = fs::remove_file(tmp);
        }
        // Innermost first; only directories that are empty again.
        for dir in &self.dirs {
            let _ = fs::remove_dir(dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(dir: &Path) -> Vec<(String, Vec<u8>)> {
        let mut out: Vec<(String, Vec<u8>)> = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    out.push((
                        p.strip_prefix(dir).unwrap().display().to_string() + "/",
                        vec![],
                    ));
                    stack.push(p);
                } else {
                    out.push((
                        p.strip_prefix(dir).unwrap().display().to_string(),
                        fs::read(&p).unwrap(),
                    ));
                }
            }
        }
        out.sort();
        out
    }

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "migscope-sync-{name}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn timestamps() {
        let t = |s: u64| timestamp(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(s));
        assert_eq!(t(0), "19700101T000000Z");
        assert_eq!(t(951_782_400), "20000229T000000Z");
        assert_eq!(t(1_700_000_000), "20231114T221320Z");
    }

    #[test]
    fn commit_failure_undoes_everything() {
        let dir = scratch("undo");
        fs::write(dir.join("keep.py"), b"old\r\n").unwrap();
        let before = listing(&dir);
        let ops = vec![
            Op {
                target: dir.join("new.py"),
                bytes: b"new\n".to_vec(),
                expect: None,
                permissions: None,
            },
            Op {
                target: dir.join("keep.py"),
                bytes: b"old\n".to_vec(),
                expect: Some(Fingerprint::of(b"old\r\n")),
                permissions: None,
            },
            Op {
                target: dir.join("sub").join("deep.py"),
                bytes: b"deep\n".to_vec(),
                expect: None,
                permissions: None,
            },
        ];
        for fail_at in 0..3 {
            let err = apply_ops(&ops, "20240101T000000Z", Some(fail_at)).unwrap_err();
            assert!(err.to_string().contains("undone"), "{err}");
            assert_eq!(listing(&dir), before, "failing at {fail_at} left changes");
        }
        let done = apply_ops(&ops, "20240101T000000Z", None).unwrap();
        assert_eq!(
            done.backups,
            [dir.join("keep.py.migscope-bak-20240101T000000Z")]
        );
        assert_eq!(fs::read(dir.join("keep.py")).unwrap(), b"old\n");
        assert_eq!(fs::read(&done.backups[0]).unwrap(), b"old\r\n");
        assert_eq!(fs::read(dir.join("sub/deep.py")).unwrap(), b"deep\n");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn temp_write_failure_changes_nothing() {
        let dir = scratch("tmpfail");
        // `blocker` is a file, so the directory for the second target cannot be created.
        fs::write(dir.join("blocker"), b"").unwrap();
        let before = listing(&dir);
        let ops = vec![
            Op {
                target: dir.join("a.py"),
                bytes: b"a\n".to_vec(),
                expect: None,
                permissions: None,
            },
            Op {
                target: dir.join("blocker").join("b.py"),
                bytes: b"b\n".to_vec(),
                expect: None,
                permissions: None,
            },
        ];
        assert!(apply_ops(&ops, "x", None).is_err());
        assert_eq!(listing(&dir), before);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn preconditions_refuse_before_writing() {
        let dir = scratch("pre");
        fs::write(dir.join("there.py"), b"x").unwrap();
        let before = listing(&dir);
        let new_exists = [Op {
            target: dir.join("there.py"),
            bytes: b"y".to_vec(),
            expect: None,
            permissions: None,
        }];
        let err = apply_ops(&new_exists, "x", None).unwrap_err();
        assert!(matches!(err, ApplyError::Precondition { .. }), "{err}");
        let changed = [Op {
            target: dir.join("there.py"),
            bytes: b"y".to_vec(),
            expect: Some(Fingerprint::of(b"not what is there")),
            permissions: None,
        }];
        let err = apply_ops(&changed, "x", None).unwrap_err();
        assert!(err.to_string().contains("changed since"), "{err}");
        assert_eq!(listing(&dir), before);
        fs::remove_dir_all(&dir).unwrap();
    }
}
