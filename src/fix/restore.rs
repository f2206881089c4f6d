//! Bring back a revision file that is referenced (as a parent or dependency, or by the
//! database) but gone from disk: its last version in git history, written where it was.

use std::path::{Path, PathBuf};

use crate::gitsrc::GitRepo;
use crate::revision::read::read_source;

use super::{DbCheck, FileWrite, FixContext, FixError, FixPlan, finish};

fn canonical(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

/// Plans writing back the newest version of `rev`'s file found in the repository's history.
pub fn plan_restore(ctx: &FixContext, rev: &str) -> Result<FixPlan, FixError> {
    let map = &ctx.project.map;
    if let Some(r) = map.get(rev) {
        return Err(FixError::Request(format!(
            "{rev} is on disk: {}",
            map.record_of(r).path.display()
        )));
    }
    let mut notes = Vec::new();
    let referenced_by: Vec<String> = map
        .revisions()
        .iter()
        .filter(|r| {
            r.missing_parents().iter().any(|p| p == rev)
                || r.missing_deps().iter().any(|p| p == rev)
        })
        .map(|r| r.id.clone())
        .collect();
    let in_db = matches!(&ctx.db, DbCheck::Rows { rows, .. } if rows.iter().any(|r| r == rev));
    if referenced_by.is_empty() && !in_db {
        notes.push(format!(
            "no revision file and no database row refers to {rev}; restoring it anyway"
        ));
    }
    let config = &ctx.project.config;
    let locations: Vec<PathBuf> = config
        .version_locations
        .iter()
        .filter(|l| l.is_dir())
        .map(|l| canonical(l))
        .collect();
    let first = locations.first().ok_or_else(|| FixError::Config {
        message: "the project has no existing version location".to_string(),
    })?;
    let repo = GitRepo::discover(first)?;
    let root = canonical(&repo.root);
    let rel: Vec<PathBuf> = locations
        .iter()
        .filter_map(|l| l.strip_prefix(&root).ok().map(Path::to_path_buf))
        .map(|p| {
            if p.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                p
            }
        })
        .collect();

    let defines_rev = |at: &str, path: &Path| -> Result<Option<Vec<u8>>, FixError> {
        let Some(bytes) = repo.read_file(at, path)? else {
            return Ok(None);
        };
        let record = read_source(path, &bytes);
        Ok(record
            .normalized()
            .is_ok_and(|n| n.id == rev)
            .then_some(bytes))
    };
    let mut found = None;
    for (at, path) in repo.deleted_files(&rel)? {
        if let Some(bytes) = defines_rev(&at, &path)? {
            found = Some((at, path, bytes));
            break;
        }
    }
    if found.is_none() {
        for (at, path) in repo.files_mentioning(rev, &rel)? {
            if let Some(bytes) = defines_rev(&at, &path)? {
                found = Some((at, path, bytes));
                break;
            }
        }
    }
    let Some((at, repo_path, bytes)) = found else {
        return Err(FixError::Request(format!(
            "no version of a file defining {rev} in the git history of {} (searched every \
             branch under {}); restore it from a backup or another checkout (`migscope compare`)",
            repo.root.display(),
            rel.iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    };
    // Where it was, when that is still a version location; else the first one.
    let old = root.join(&repo_path);
    let in_location = old.parent().is_some_and(|dir| {
        locations
            .iter()
            .any(|l| dir == l || (config.recursive && dir.starts_with(l)))
    });
    let path = if in_location {
        old
    } else {
        first.join(repo_path.file_name().unwrap_or_default())
    };
    if path.exists() {
        return Err(FixError::Request(format!(
            "{} exists but does not define {rev}; move it aside first",
            path.display()
        )));
    }
    let commit = at.trim_end_matches('^');
    notes.push(format!(
        "found {} as of {}{}",
        repo_path.display(),
        &commit[..commit.len().min(12)],
        if at.ends_with('^') {
            " (the parent of the commit that deleted it)"
        } else {
            ""
        }
    ));
    if !referenced_by.is_empty() {
        notes.push(format!("referenced by {}", referenced_by.join(", ")));
    }
    let summary = format!("restore {rev} from git history");
    let writes = vec![FileWrite {
        path,
        before: None,
        after: Some(bytes),
    }];
    Ok(finish(ctx, "restore", summary, writes, notes))
}
