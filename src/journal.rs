//! The repair journal: one JSON line per write migscope makes to a version table, so that the
//! last change can be looked at and undone (`migscope undo`).
//!
//! Location: `$MIGSCOPE_STATE_DIR/journal.jsonl`, else `$XDG_STATE_HOME/migscope/journal.jsonl`,
//! else `~/.local/state/migscope/journal.jsonl`. Each line:
//!
//! ```json
//! {"time":"2026-11-23T23:59:01Z","action":"stamp","url":"sqlite:///tmp/app.db",
//!  "version_table":"alembic_version","before":["b90dd01ef204"],
//!  "after":["cd2257cee794","add_system_settings"],"command":"migscope stamp --purge ..."}
//! ```
//!
//! URLs are always masked (no password is ever written). Entries are appended, never rewritten;
//! an undo is itself an entry (`action: "undo"`), so undoing twice redoes.
//!
//! Graph fixes (`migscope fix ...`) write files, not rows: their lines are [`FixEntry`]s
//! (`action: "fix"`, or `"undo"` for the undo of one), naming the project and, per file, a copy
//! of its content before and after (under `<state dir>/backups/`). [`read`] skips them, so the
//! database undo never sees them; [`read_lines`] returns both kinds in order.

use std::io::{self, BufRead, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// One write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// UTC, RFC 3339, seconds.
    pub time: String,
    /// `stamp` or `undo`.
    pub action: String,
    /// The database, masked.
    pub url: String,
    /// `schema.name` or `name`.
    pub version_table: String,
    pub before: Vec<String>,
    pub after: Vec<String>,
    /// The command line that made the change.
    pub command: String,
}

/// One file a fix wrote (or removed), with copies of both versions in the state directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileChange {
    pub path: PathBuf,
    /// A copy of the content before the change; `None`: the file did not exist.
    pub before: Option<PathBuf>,
    /// A copy of the content written; `None`: the change removed the file.
    pub after: Option<PathBuf>,
}

/// One graph fix written to a project's files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FixEntry {
    pub time: String,
    /// `fix` or `undo`.
    pub action: String,
    /// The project: its ini file (or pyproject.toml, or first version location), absolute.
    pub project: PathBuf,
    /// What the fix did, in one line (`reparent add_system_settings onto cd2257cee794`).
    pub summary: String,
    pub files: Vec<FileChange>,
    pub command: String,
}

/// One journal line of either kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    Rows(Entry),
    Files(FixEntry),
}

/// Where the journal lives, from the environment (`env` is passed in for tests).
pub fn journal_path(env: impl Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let non_empty = |k: &str| env(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = non_empty("MIGSCOPE_STATE_DIR") {
        return Some(dir.join("journal.jsonl"));
    }
    if let Some(dir) = non_empty("XDG_STATE_HOME") {
        return Some(dir.join("migscope").join("journal.jsonl"));
    }
    non_empty("HOME").map(|h| {
        h.join(".local")
            .join("state")
            .join("migscope")
            .join("journal.jsonl")
    })
}

/// Appends one entry (creating the directory and file as needed) and syncs it to disk.
pub fn append(path: &Path, entry: &Entry) -> io::Result<()> {
    append_line(path, entry)
}

/// Appends one fix entry, like [`append`].
pub fn append_fix(path: &Path, entry: &FixEntry) -> io::Result<()> {
    append_line(path, entry)
}

fn append_line(path: &Path, entry: &impl Serialize) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut line = serde_json::to_string(entry).map_err(io::Error::other)?;
    line.push('\n');
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    f.write_all(line.as_bytes())?;
    f.sync_all()
}

/// Every readable entry, oldest first (a missing file is an empty journal; unreadable lines,
/// e.g. a torn last line, are skipped).
pub fn read(path: &Path) -> io::Result<Vec<Entry>> {
    let f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for line in io::BufReader::new(f).lines() {
        let line = line?;
        if let Ok(e) = serde_json::from_str::<Entry>(&line) {
            out.push(e);
        }
    }
    Ok(out)
}

/// Every readable line of both kinds, oldest first.
pub fn read_lines(path: &Path) -> io::Result<Vec<Line>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    Ok(text
        .lines()
        .filter_map(|l| {
            // A fix line has no `url`, a database line no `files`: each parses as one kind only.
            serde_json::from_str::<Entry>(l)
                .map(Line::Rows)
                .or_else(|_| serde_json::from_str::<FixEntry>(l).map(Line::Files))
                .ok()
        })
        .collect())
}

/// The newest entry about this database and version table.
pub fn last_for<'a>(entries: &'a [Entry], url: &str, version_table: &str) -> Option<&'a Entry> {
    entries
        .iter()
        .rev()
        .find(|e| e.url == url && e.version_table == version_table)
}

/// Now, as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn now_utc() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format_utc(secs)
}

/// Seconds since the epoch as RFC 3339 UTC (Howard Hinnant's civil-from-days).
pub fn format_utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc() {
        assert_eq!(format_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(format_utc(1_795_478_399), "2026-11-23T23:59:59Z");
    }

    #[test]
    fn path_precedence() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(a, _)| *a == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(
            journal_path(env(&[("MIGSCOPE_STATE_DIR", "/s"), ("HOME", "/h")])),
            Some(PathBuf::from("/s/journal.jsonl"))
        );
        assert_eq!(
            journal_path(env(&[("XDG_STATE_HOME", "/x"), ("HOME", "/h")])),
            Some(PathBuf::from("/x/migscope/journal.jsonl"))
        );
        assert_eq!(
            journal_path(env(&[("HOME", "/h")])),
            Some(PathBuf::from("/h/.local/state/migscope/journal.jsonl"))
        );
    }

    #[test]
    fn appends_and_finds_the_last_entry() {
        let dir = std::env::temp_dir().join(format!("migscope-journal-{}", std::process::id()));
        let path = dir.join("journal.jsonl");
        let _ = std::fs::remove_file(&path);
        let mk = |after: &str, url: &str| Entry {
            time: now_utc(),
            action: "stamp".into(),
            url: url.into(),
            version_table: "alembic_version".into(),
            before: vec![],
            after: vec![after.into()],
            command: "migscope stamp".into(),
        };
        append(&path, &mk("a", "u1")).unwrap();
        append(&path, &mk("b", "u2")).unwrap();
        append(&path, &mk("c", "u1")).unwrap();
        let all = read(&path).unwrap();
        assert_eq!(all.len(), 3);
        assert_eq!(
            last_for(&all, "u1", "alembic_version").unwrap().after,
            vec!["c"]
        );
        assert!(last_for(&all, "u3", "alembic_version").is_none());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
