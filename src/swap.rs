//! The one write migscope makes: replace the version table's rows (compare-and-swap, one
//! transaction, see [`crate::db::Db::replace_version_rows`]) and record it in the journal.
//! `migscope stamp`/`undo` and the explorer both write through here, so both journal alike.

use std::path::{Path, PathBuf};

use crate::db::{Db, DbError, DbUrl, SqlStep, VersionTable};
use crate::journal::{self, Entry};

/// One change to write.
#[derive(Debug, Clone)]
pub struct Change {
    /// What the table must still hold (compared as multisets once locked).
    pub before: Vec<String>,
    pub after: Vec<String>,
    /// `stamp`, `undo`, or Alembic's `upgrade`/`downgrade` (the journal's `action`).
    pub action: String,
    /// The command that asked for it (masked), for the journal.
    pub command: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SwapError {
    /// The database refused or failed; `DbError::Changed` when the rows were no longer
    /// `before` (nothing written).
    #[error(transparent)]
    Db(#[from] DbError),
    /// The rows were written but the journal entry was not.
    #[error(
        "the change was written but journaling it to {} failed: {source}; `migscope undo` \
         will not know about it",
        path.display()
    )]
    Journal {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl SwapError {
    /// Nothing was written because the rows had changed since they were read.
    pub fn rows_changed(&self) -> bool {
        matches!(self, SwapError::Db(DbError::Changed { .. }))
    }
}

/// Connects, swaps `change.before` for `change.after` in `table`, closes, then appends the
/// journal entry to `journal_path`. Returns the data statements executed and the entry (empty
/// and None: the rows already were `after`, and nothing is journaled).
pub async fn write(
    url: &DbUrl,
    table: &VersionTable,
    change: &Change,
    journal_path: &Path,
) -> Result<(Vec<SqlStep>, Option<Entry>), SwapError> {
    let mut conn = Db::connect(url).await?;
    let result = conn
        .replace_version_rows(table, &change.before, &change.after)
        .await;
    conn.close().await;
    let steps = result?;
    if steps.is_empty() {
        return Ok((steps, None));
    }
    let entry = record(url, table, change, journal_path)?;
    Ok((steps, Some(entry)))
}

/// Appends `change` (made to `table` in `url`, by migscope or by Alembic) to the journal.
pub fn record(
    url: &DbUrl,
    table: &VersionTable,
    change: &Change,
    journal_path: &Path,
) -> Result<Entry, SwapError> {
    let entry = Entry {
        time: journal::now_utc(),
        action: change.action.clone(),
        url: url.masked(),
        version_table: table.to_string(),
        before: change.before.clone(),
        after: change.after.clone(),
        command: change.command.clone(),
    };
    journal::append(journal_path, &entry).map_err(|source| SwapError::Journal {
        path: journal_path.to_path_buf(),
        source,
    })?;
    Ok(entry)
}

/// The change that undoes the newest journaled change to this database and table:
/// `(entry, change)`; None when the journal holds none.
pub fn undo_change<'a>(
    entries: &'a [Entry],
    url: &DbUrl,
    table: &VersionTable,
    command: &str,
) -> Option<(&'a Entry, Change)> {
    let last = journal::last_for(entries, &url.masked(), &table.to_string())?;
    Some((
        last,
        Change {
            before: last.after.clone(),
            after: last.before.clone(),
            action: "undo".into(),
            command: command.to_string(),
        },
    ))
}
