//! [`DbError`], and turning driver errors into it without ever carrying a password.

use std::io;
use std::time::Duration;

use super::url::{DbUrl, mask_all};
use super::{Backend, VersionTable};

/// Everything that can go wrong talking to a database. Messages name the endpoint and the
/// masked URL and say what to do; none contains a password (URLs are masked and driver messages
/// are scrubbed of the password before they are stored).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DbError {
    #[error("no database URL: {detail}; pass --db URL or set MIGSCOPE_DATABASE_URL")]
    NoUrl { detail: String },

    #[error("invalid database URL {url}: {reason}")]
    InvalidUrl { url: String, reason: String },

    #[error(
        "connection refused by {endpoint} ({url}): is the database server running and \
         listening there?"
    )]
    ConnectionRefused { endpoint: String, url: String },

    #[error("cannot reach {endpoint} ({url}): {message}")]
    Unreachable {
        endpoint: String,
        url: String,
        message: String,
    },

    #[error("authentication failed for user '{user}' at {endpoint} ({url}): {message}")]
    AuthFailed {
        user: String,
        endpoint: String,
        url: String,
        message: String,
    },

    #[error("database '{database}' does not exist on {endpoint} ({url})")]
    UnknownDatabase {
        database: String,
        endpoint: String,
        url: String,
    },

    #[error(
        "the SQLite database {} does not exist ({url}); migscope never creates one: check --db \
         or sqlalchemy.url (sqlite:///name.db is relative to the working directory)",
        path.display()
    )]
    NoSqliteFile {
        path: std::path::PathBuf,
        url: String,
    },

    #[error("timed out after {}s {what} ({url})", after.as_secs_f64())]
    Timeout {
        what: String,
        after: Duration,
        url: String,
    },

    #[error(
        "gave up waiting for a lock during {context} on {url}: another session is using the \
         version table; try again when it has finished"
    )]
    LockTimeout { context: String, url: String },

    #[error("TLS error talking to {endpoint} ({url}): {message}")]
    Tls {
        endpoint: String,
        url: String,
        message: String,
    },

    #[error(
        "{table} does not look like an Alembic version table: {problem}. Pass --version-table \
         / --version-table-schema if the project uses another table"
    )]
    BadVersionTable { table: String, problem: String },

    #[error(
        "the version table {table} changed since it was read (expected {}, now {}); nothing \
         was written. Look at the new state and try again",
        show_rows(expected),
        show_rows(now)
    )]
    Changed {
        table: String,
        expected: Vec<String>,
        now: Vec<String>,
    },

    #[error(
        "revision id '{id}' is {len} characters long but {table}.version_num holds at most \
         {max}; widen the column first (ALTER TABLE ... ALTER COLUMN version_num TYPE \
         VARCHAR({len}))"
    )]
    TooLong {
        table: String,
        id: String,
        len: usize,
        max: u32,
    },

    #[error("{0}")]
    Invalid(String),

    #[error("{what} is not supported on {backend}")]
    Unsupported { what: String, backend: Backend },

    #[error("lost the connection to {endpoint} ({url}) during {context}: {message}")]
    ConnectionLost {
        endpoint: String,
        url: String,
        context: String,
        message: String,
    },

    #[error("{context} failed on {url}: {message}")]
    Query {
        context: String,
        url: String,
        /// SQLSTATE (PostgreSQL, SQLite extended code) or error number (MySQL), when known.
        code: Option<String>,
        message: String,
    },
}

fn show_rows(rows: &[String]) -> String {
    if rows.is_empty() {
        "no rows".to_string()
    } else {
        format!("[{}]", rows.join(", "))
    }
}

impl DbError {
    /// Did the failure happen before anything could have been written? True for everything
    /// except a connection lost during `COMMIT`, whose outcome is unknown.
    pub fn outcome_unknown(&self) -> bool {
        matches!(self, DbError::ConnectionLost { context, .. } if context.contains("COMMIT"))
    }
}

/// What an error message may mention about the connection.
pub(crate) struct ErrCtx<'a> {
    pub url: &'a DbUrl,
}

impl ErrCtx<'_> {
    /// Removes the password (raw and as URL text) and any URL password from driver text.
    pub fn scrub(&self, text: &str) -> String {
        let mut out = mask_all(text);
        if let Some(pw) = self.url.password() {
            // Very short passwords would mangle every message (a one-letter password matches
            // everywhere) and protect nothing; longer ones are removed wherever they appear.
            if pw.chars().count() >= 4 {
                out = out.replace(pw, "***");
            }
        }
        out
    }

    fn masked(&self) -> String {
        self.url.masked()
    }

    /// Classifies an error raised while connecting.
    pub fn connect_error(&self, err: sqlx::Error) -> DbError {
        let endpoint = self.url.endpoint();
        let url = self.masked();
        match &err {
            sqlx::Error::Io(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                return DbError::ConnectionRefused { endpoint, url };
            }
            sqlx::Error::Io(e) => {
                return DbError::Unreachable {
                    endpoint,
                    url,
                    message: self.scrub(&e.to_string()),
                };
            }
            sqlx::Error::Tls(e) => {
                return DbError::Tls {
                    endpoint,
                    url,
                    message: self.scrub(&e.to_string()),
                };
            }
            sqlx::Error::Configuration(e) => {
                return DbError::InvalidUrl {
                    url,
                    reason: self.scrub(&e.to_string()),
                };
            }
            sqlx::Error::Database(db) => {
                let code = db_code(self.url.backend, &err);
                let message = self.scrub(db.message());
                let user = self.url.user().unwrap_or("(default)").to_string();
                match (self.url.backend, code.as_deref()) {
                    // invalid_password, invalid_authorization_specification
                    (Backend::Postgres, Some("28P01" | "28000"))
                    // ER_ACCESS_DENIED_ERROR, ER_DBACCESS_DENIED_ERROR, ER_ACCESS_DENIED_NO_PASSWORD_ERROR
                    | (Backend::MySql, Some("1045" | "1044" | "1698")) => {
                        return DbError::AuthFailed {
                            user,
                            endpoint,
                            url,
                            message,
                        };
                    }
                    // invalid_catalog_name, ER_BAD_DB_ERROR
                    (Backend::Postgres, Some("3D000")) | (Backend::MySql, Some("1049")) => {
                        return DbError::UnknownDatabase {
                            database: self.url.database().unwrap_or_default().to_string(),
                            endpoint,
                            url,
                        };
                    }
                    _ => {}
                }
            }
            _ => {}
        }
        self.query_error(err, "connecting")
    }

    /// Classifies an error raised by a statement.
    pub fn query_error(&self, err: sqlx::Error, context: &str) -> DbError {
        let url = self.masked();
        let endpoint = self.url.endpoint();
        let code = db_code(self.url.backend, &err);
        let lost = match &err {
            sqlx::Error::Io(_) | sqlx::Error::Protocol(_) | sqlx::Error::WorkerCrashed => true,
            sqlx::Error::Database(_) => match (self.url.backend, code.as_deref()) {
                // Class 57P (operator intervention: terminated, shutdown) and 08 (connection).
                (Backend::Postgres, Some(c)) => c.starts_with("57P") || c.starts_with("08"),
                // ER_CONNECTION_KILLED, ER_SERVER_SHUTDOWN, CR_SERVER_GONE_ERROR, CR_SERVER_LOST
                (Backend::MySql, Some(c)) => matches!(c, "1927" | "1053" | "2006" | "2013"),
                _ => false,
            },
            _ => false,
        };
        let message = self.scrub(&describe(&err));
        if lost {
            return DbError::ConnectionLost {
                endpoint,
                url,
                context: context.to_string(),
                message,
            };
        }
        let lock_timeout = matches!(
            (self.url.backend, code.as_deref()),
            // lock_not_available; ER_LOCK_WAIT_TIMEOUT; SQLITE_BUSY
            (Backend::Postgres, Some("55P03"))
                | (Backend::MySql, Some("1205"))
                | (Backend::Sqlite, Some("5"))
        );
        if lock_timeout {
            return DbError::LockTimeout {
                context: context.to_string(),
                url,
            };
        }
        DbError::Query {
            context: context.to_string(),
            url,
            code,
            message,
        }
    }

    pub fn bad_table(&self, table: &VersionTable, problem: impl Into<String>) -> DbError {
        DbError::BadVersionTable {
            table: table.to_string(),
            problem: problem.into(),
        }
    }
}

/// The backend's own error code: SQLSTATE on PostgreSQL, the error number on MySQL (more
/// precise than its SQLSTATE), the extended result code on SQLite.
fn db_code(backend: Backend, err: &sqlx::Error) -> Option<String> {
    let sqlx::Error::Database(db) = err else {
        return None;
    };
    if backend == Backend::MySql
        && let Some(my) = db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
    {
        return Some(my.number().to_string());
    }
    db.code().map(|c| c.into_owned())
}

/// The driver's message without its Rust-type framing.
fn describe(err: &sqlx::Error) -> String {
    match err {
        sqlx::Error::Database(db) => db.message().to_string(),
        other => other.to_string(),
    }
}
