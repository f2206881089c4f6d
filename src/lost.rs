//! Where a revision went: for an id the database holds but no file defines, the project's git
//! history is searched for the file that defined it and the commit that deleted, moved or
//! rewrote it.
//!
//! One `git log -S<id>` (pickaxe: commits where the number of occurrences of the id changed in
//! some `.py` file, on every ref) finds the candidates; renames are switched off so a move shows
//! as a deletion plus an addition in the same commit, both of which pickaxe reports. The old and
//! new blobs of the candidates are then read with one `cat-file --batch` and parsed with the
//! ordinary revision reader, so "defined" means exactly what it means for files on disk.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::gitsrc::{GitError, GitRepo, git_checked, path_from_bytes, slash_path};
use crate::revision::read::read_source;

/// A commit, as shown to the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommitInfo {
    pub hash: String,
    /// Author date, ISO 8601.
    pub date: String,
    pub subject: String,
}

impl CommitInfo {
    /// `1a2b3c4d 2026-01-31 "subject"`.
    pub fn short(&self) -> String {
        format!(
            "{} {} \"{}\"",
            &self.hash[..self.hash.len().min(10)],
            self.date.get(..10).unwrap_or(&self.date),
            self.subject
        )
    }
}

/// What happened to the file that defined the revision (flattened into
/// [`Explanation::Removed`]'s JSON as `fate`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "fate", rename_all = "snake_case")]
pub enum Fate {
    /// The commit deleted it.
    Deleted,
    /// The commit moved it to `to` (which still defines the id; it is outside the version
    /// locations, or not where Alembic looks).
    Renamed { to: PathBuf },
    /// The commit changed the file's `revision` to another id.
    Rewritten { new_id: Option<String> },
}

/// The answer for one id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Explanation {
    /// A commit removed the definition. `file` is the path before that commit (from the
    /// repository root); `down_revision` is what that file declared.
    Removed {
        file: PathBuf,
        down_revision: Vec<String>,
        commit: CommitInfo,
        #[serde(flatten)]
        fate: Fate,
    },
    /// The file is committed at HEAD (added in `commit`) but is not among the revision files
    /// migscope read: deleted in the working tree, or outside the version locations.
    AtHead {
        file: PathBuf,
        down_revision: Vec<String>,
        commit: CommitInfo,
    },
    /// Only other refs have the file (added in `commit`, never removed, not at HEAD).
    OtherRef {
        file: PathBuf,
        down_revision: Vec<String>,
        commit: CommitInfo,
        refs: Vec<String>,
    },
    /// No commit on any ref ever had a `.py` file defining it.
    NotInHistory,
    /// The project is not in a git repository.
    NotARepo { dir: PathBuf },
    /// git could not be run (or failed).
    NoGit { message: String },
}

impl Explanation {
    /// One line for humans (paths relative to the repository root).
    pub fn describe(&self) -> String {
        let down = |d: &[String]| {
            if d.is_empty() {
                "down_revision None".to_string()
            } else {
                format!("down_revision {}", d.join(", "))
            }
        };
        match self {
            Explanation::Removed {
                file,
                down_revision,
                commit,
                fate,
            } => {
                let what = match fate {
                    Fate::Deleted => "deleted".to_string(),
                    Fate::Renamed { to } => format!("moved to {}", slash_path(to)),
                    Fate::Rewritten { new_id: Some(id) } => format!("changed to revision {id}"),
                    Fate::Rewritten { new_id: None } => "changed to define no revision".into(),
                };
                format!(
                    "defined in {} ({}); {what} by commit {} (restore: git checkout {}^ -- :/{})",
                    slash_path(file),
                    down(down_revision),
                    commit.short(),
                    &commit.hash[..commit.hash.len().min(10)],
                    slash_path(file)
                )
            }
            Explanation::AtHead {
                file,
                down_revision,
                commit,
            } => format!(
                "defined in {} ({}), committed at HEAD (added by {}) but not among the files \
                 read: deleted in the working tree (git checkout -- {0}) or outside the version \
                 locations",
                slash_path(file),
                down(down_revision),
                commit.short()
            ),
            Explanation::OtherRef {
                file,
                down_revision,
                commit,
                refs,
            } => format!(
                "defined in {} ({}) only on {} (added by {}); this checkout never had it",
                slash_path(file),
                down(down_revision),
                if refs.is_empty() {
                    "commits no branch contains".to_string()
                } else {
                    refs.join(", ")
                },
                commit.short()
            ),
            Explanation::NotInHistory => {
                "no commit of this repository (any branch) has a file defining it".to_string()
            }
            Explanation::NotARepo { dir } => format!(
                "{} is not in a git repository: its history cannot be searched",
                dir.display()
            ),
            Explanation::NoGit { message } => format!("git history not searched: {message}"),
        }
    }
}

/// One `--name-status` entry of a commit.
struct Change {
    status: u8,
    path: PathBuf,
}

struct LoggedCommit {
    info: CommitInfo,
    changes: Vec<Change>,
}

/// Explains each id (in order) from the history of the repository containing `dir`.
pub fn explain(dir: &Path, ids: &[String]) -> Vec<Explanation> {
    if ids.is_empty() {
        return Vec::new();
    }
    let repo = match GitRepo::discover(dir) {
        Ok(r) => r,
        Err(GitError::NotARepo { .. }) => {
            return ids
                .iter()
                .map(|_| Explanation::NotARepo {
                    dir: dir.to_path_buf(),
                })
                .collect();
        }
        Err(e) => {
            let message = e.to_string();
            return ids
                .iter()
                .map(|_| Explanation::NoGit {
                    message: message.clone(),
                })
                .collect();
        }
    };
    ids.iter()
        .map(|id| {
            explain_one(&repo, id).unwrap_or_else(|e| Explanation::NoGit {
                message: e.to_string(),
            })
        })
        .collect()
}

fn explain_one(repo: &GitRepo, id: &str) -> Result<Explanation, GitError> {
    let pickaxe = format!("-S{id}");
    let args = [
        "log",
        "--all",
        "--no-renames",
        &pickaxe,
        "--format=%x01%H%x1f%aI%x1f%s",
        "--name-status",
        "-z",
        "--",
        "*.py",
    ];
    let out = git_checked(&repo.root, &args.map(OsStr::new))?;
    let commits = parse_log(&out);

    // Every blob that might define the id: the old side of deletions and modifications, the new
    // side of additions and modifications. Root commits have no parent side.
    let mut specs = Vec::new();
    for c in &commits {
        for ch in &c.changes {
            let p = slash_path(&ch.path);
            if matches!(ch.status, b'D' | b'M') {
                specs.push(format!("{}^:{p}", c.info.hash));
            }
            if matches!(ch.status, b'A' | b'M') {
                specs.push(format!("{}:{p}", c.info.hash));
            }
        }
    }
    let blobs = repo.read_blobs(&specs)?;
    let mut blobs = blobs.into_iter();
    let mut defines = |path: &Path| -> Option<(Option<String>, Vec<String>)> {
        let bytes = blobs.next().flatten()?;
        let n = read_source(path, &bytes).normalized().ok();
        Some((
            n.as_ref().map(|n| n.id.clone()),
            n.map(|n| n.down).unwrap_or_default(),
        ))
    };

    // Newest first (git log order): the first removal is the one that matters; the newest
    // addition is kept in case nothing removed it.
    let mut added: Option<(PathBuf, Vec<String>, CommitInfo)> = None;
    for c in &commits {
        let mut removed: Option<(PathBuf, Vec<String>, Option<Fate>)> = None;
        let mut new_homes = Vec::new();
        for ch in &c.changes {
            let old = matches!(ch.status, b'D' | b'M')
                .then(|| defines(&ch.path))
                .flatten();
            let new = matches!(ch.status, b'A' | b'M')
                .then(|| defines(&ch.path))
                .flatten();
            let old_defines = old.as_ref().is_some_and(|(i, _)| i.as_deref() == Some(id));
            let new_defines = new.as_ref().is_some_and(|(i, _)| i.as_deref() == Some(id));
            if old_defines && !new_defines && removed.is_none() {
                let down = old.map(|(_, d)| d).unwrap_or_default();
                let fate = (ch.status == b'M').then(|| Fate::Rewritten {
                    new_id: new.and_then(|(i, _)| i),
                });
                removed = Some((ch.path.clone(), down, fate));
            } else if new_defines && !old_defines {
                let down = new.map(|(_, d)| d).unwrap_or_default();
                new_homes.push(ch.path.clone());
                if added.is_none() {
                    added = Some((ch.path.clone(), down, c.info.clone()));
                }
            }
        }
        if let Some((file, down_revision, fate)) = removed {
            let fate = fate.unwrap_or_else(|| match new_homes.into_iter().next() {
                Some(to) => Fate::Renamed { to },
                None => Fate::Deleted,
            });
            return Ok(Explanation::Removed {
                file,
                down_revision,
                commit: c.info.clone(),
                fate,
            });
        }
    }
    let Some((file, down_revision, commit)) = added else {
        return Ok(Explanation::NotInHistory);
    };
    let at_head = repo
        .read_blobs(&[format!("HEAD:{}", slash_path(&file))])?
        .into_iter()
        .next()
        .flatten()
        .is_some();
    if at_head {
        return Ok(Explanation::AtHead {
            file,
            down_revision,
            commit,
        });
    }
    let refs_out = git_checked(
        &repo.root,
        &[
            "for-each-ref",
            "--format=%(refname:short)",
            "--contains",
            &commit.hash,
        ]
        .map(OsStr::new),
    )?;
    let refs = String::from_utf8_lossy(&refs_out)
        .lines()
        .map(str::to_string)
        .collect();
    Ok(Explanation::OtherRef {
        file,
        down_revision,
        commit,
        refs,
    })
}

/// `git log --format=%x01%H%x1f%aI%x1f%s --name-status -z`: each commit is `\x01` + header +
/// `\0`, then `STATUS\0path\0` pairs (a newline may precede the first status).
fn parse_log(out: &[u8]) -> Vec<LoggedCommit> {
    out.split(|b| *b == 1)
        .filter(|c| !c.is_empty())
        .filter_map(|chunk| {
            let end = chunk.iter().position(|b| *b == 0).unwrap_or(chunk.len());
            let header = String::from_utf8_lossy(&chunk[..end]);
            let mut fields = header.splitn(3, '\x1f');
            let info = CommitInfo {
                hash: fields.next()?.to_string(),
                date: fields.next()?.to_string(),
                subject: fields.next().unwrap_or_default().to_string(),
            };
            let rest = chunk.get(end + 1..).unwrap_or_default();
            let mut parts = rest
                .split(|b| *b == 0)
                .map(|p| p.strip_prefix(b"\n").unwrap_or(p))
                .filter(|p| !p.is_empty());
            let mut changes = Vec::new();
            while let (Some(status), Some(path)) = (parts.next(), parts.next()) {
                changes.push(Change {
                    status: status[0],
                    path: path_from_bytes(path),
                });
            }
            Some(LoggedCommit { info, changes })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_records_split_into_commits_and_changes() {
        let out = b"\x01abc\x1f2026-01-02T03:04:05Z\x1fdrop bbb\0\nD\0m/v/b y.py\0A\0old/b.py\0\
                    \x01def\x1f2026-01-01T00:00:00Z\x1fadd\0\nA\0m/v/b y.py\0";
        let commits = parse_log(out);
        assert_eq!(commits.len(), 2);
        assert_eq!(commits[0].info.subject, "drop bbb");
        assert_eq!(commits[0].changes.len(), 2);
        assert_eq!(commits[0].changes[0].status, b'D');
        assert_eq!(commits[0].changes[0].path, PathBuf::from("m/v/b y.py"));
        assert_eq!(commits[0].changes[1].path, PathBuf::from("old/b.py"));
        assert_eq!(commits[1].info.hash, "def");
        assert_eq!(
            commits[0].info.short(),
            "abc 2026-01-02 \"drop bbb\"".to_string()
        );
    }
}
