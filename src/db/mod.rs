//! The live database: where it is ([`url`]), where its version table is ([`version`],
//! [`env_py`]), what it holds ([`Db::read_version_state`], [`Db::schema`]) and the one write
//! migscope makes, a compare-and-swap of the version table's rows
//! ([`Db::replace_version_rows`]).
//!
//! One [`Db`] is one connection (no pool: every operation is sequential, and a transaction must
//! stay on its connection). The concrete sqlx drivers are used rather than `sqlx::any`: every
//! query is backend-specific anyway (catalogs, locking, quoting), and `any` cannot decode some
//! catalog column types. Every value is read as text (`CAST(... AS TEXT/CHAR)` in the SQL), so
//! one row-reading path serves the three backends.
//!
//! The API is async (tokio). The CLI runs it on a current-thread runtime with `block_on`; the
//! futures are not `Send`, which that does not need.

mod env_py;
mod error;
mod introspect;
mod url;
mod version;

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use sqlx::mysql::{MySqlConnectOptions, MySqlConnection};
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{AssertSqlSafe, Connection, Row};

pub use env_py::{EnvPySettings, Setting, scan_env_py};
pub use error::DbError;
pub use introspect::SchemaScope;
pub use url::{DbUrl, URL_ENV_VARS, UrlSource, choose_url, mask_all, parse_url};
pub use version::{
    ALEMBIC_VERSION_LENGTH, DEFAULT_VERSION_TABLE, LocatedVersionTable, Origin, SqlStep,
    VersionTable, create_table_step, env_py_path, locate_version_table, plan_sql, qualified,
    quote_ident,
};

use error::ErrCtx;
use url::Target;

/// Default for [`ConnectOptions::timeout`].
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Postgres,
    /// MySQL and MariaDB.
    MySql,
    Sqlite,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Postgres => "PostgreSQL",
            Backend::MySql => "MySQL/MariaDB",
            Backend::Sqlite => "SQLite",
        })
    }
}

#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Limit for establishing the connection, and for waiting on a lock when writing.
    pub timeout: Duration,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// The version table as found in the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionState {
    /// None: the table does not exist (Alembic's "no version" state, same as no rows).
    pub rows: Option<Vec<String>>,
    /// The schema the table was found in (PostgreSQL resolves an unqualified name through the
    /// search path).
    pub schema: Option<String>,
    /// The declared length of `version_num` (`VARCHAR(32)`: 32), when it has one.
    pub column_length: Option<u32>,
}

/// Connects read-only, reads the version table and the schema around it (the version table
/// excluded), closes: what the explorer looks at.
pub async fn read_with_schema(
    url: &DbUrl,
    table: &VersionTable,
) -> Result<(VersionState, crate::schema::SchemaSnapshot), DbError> {
    let mut conn = Db::connect_read_only(url).await?;
    let result = async {
        let state = conn.read_version_state(table).await?;
        let schema = conn.schema(&SchemaScope::excluding(table)).await?;
        Ok((state, schema))
    }
    .await;
    conn.close().await;
    result
}

/// What the catalog says about the version table (one query).
struct TableShape {
    schema: Option<String>,
    /// (name, declared type, max length)
    columns: Vec<(String, String, Option<u32>)>,
    /// MySQL storage engine, to refuse non-transactional tables.
    engine: Option<String>,
}

enum Conn {
    Pg(PgConnection),
    My(MySqlConnection),
    Lite(SqliteConnection),
}

/// Rows of nullable text columns.
type Rows = Vec<Vec<Option<String>>>;

/// One open connection. `Debug` shows the masked URL only.
pub struct Db {
    conn: Conn,
    url: DbUrl,
    timeout: Duration,
    queries: u64,
    /// A transaction was begun and not yet ended (a cancelled future could leave one open; the
    /// next operation rolls it back first).
    in_tx: bool,
}

impl fmt::Debug for Db {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Db")
            .field("url", &self.url.masked())
            .field("timeout", &self.timeout)
            .field("queries", &self.queries)
            .finish()
    }
}

impl Db {
    /// Connects with [`DEFAULT_TIMEOUT`].
    pub async fn connect(url: &DbUrl) -> Result<Db, DbError> {
        Db::connect_with(url, &ConnectOptions::default()).await
    }

    pub async fn connect_with(url: &DbUrl, opts: &ConnectOptions) -> Result<Db, DbError> {
        Db::open(url, opts, false).await
    }

    /// Connects for reading only, with [`DEFAULT_TIMEOUT`]: SQLite is opened with
    /// `SQLITE_OPEN_READONLY` (the file is never created, written or touched), PostgreSQL
    /// sessions start with `default_transaction_read_only`. The read commands use this so that
    /// looking can never change the database.
    pub async fn connect_read_only(url: &DbUrl) -> Result<Db, DbError> {
        Db::open(url, &ConnectOptions::default(), true).await
    }

    async fn open(url: &DbUrl, opts: &ConnectOptions, read_only: bool) -> Result<Db, DbError> {
        let cx = ErrCtx { url };
        let attempt = async {
            Ok::<Conn, sqlx::Error>(match &url.target {
                Target::Server(_) => {
                    let raw = url.expose_sqlx_url();
                    match url.backend {
                        Backend::Postgres => {
                            let mut o = PgConnectOptions::from_str(&raw)?;
                            if o.get_application_name().is_none() {
                                o = o.application_name("migscope");
                            }
                            if read_only {
                                o = o.options([("default_transaction_read_only", "on")]);
                            }
                            Conn::Pg(PgConnection::connect_with(&o).await?)
                        }
                        _ => {
                            let o = MySqlConnectOptions::from_str(&raw)?;
                            Conn::My(MySqlConnection::connect_with(&o).await?)
                        }
                    }
                }
                Target::Sqlite { path } => {
                    let o = SqliteConnectOptions::new()
                        .busy_timeout(opts.timeout)
                        // A typo in a path must not create an empty database.
                        .create_if_missing(false)
                        .read_only(read_only);
                    let o = match path {
                        Some(p) => o.filename(p),
                        None => o.in_memory(true),
                    };
                    Conn::Lite(SqliteConnection::connect_with(&o).await?)
                }
            })
        };
        if let Some(p) = url.sqlite_path()
            && !p.exists()
        {
            return Err(DbError::NoSqliteFile {
                path: p.to_path_buf(),
                url: url.masked(),
            });
        }
        let conn = match tokio::time::timeout(opts.timeout, attempt).await {
            Err(_) => {
                return Err(DbError::Timeout {
                    what: format!("connecting to {}", url.endpoint()),
                    after: opts.timeout,
                    url: url.masked(),
                });
            }
            Ok(Err(e)) => return Err(cx.connect_error(e)),
            Ok(Ok(c)) => c,
        };
        Ok(Db {
            conn,
            url: url.clone(),
            timeout: opts.timeout,
            queries: 0,
            in_tx: false,
        })
    }

    pub fn backend(&self) -> Backend {
        self.url.backend
    }

    pub fn url(&self) -> &DbUrl {
        &self.url
    }

    /// Statements sent so far (each catalog query, SELECT, DML and transaction statement
    /// counts one). Lets callers and tests check that work is bounded.
    pub fn query_count(&self) -> u64 {
        self.queries
    }

    /// The server's id for this session (`pg_backend_pid()`, `CONNECTION_ID()`), for
    /// diagnostics (and tests that kill the session). None on SQLite.
    pub async fn session_id(&mut self) -> Result<Option<String>, DbError> {
        let sql = match self.backend() {
            Backend::Postgres => "SELECT pg_backend_pid()::text",
            Backend::MySql => "SELECT CAST(CONNECTION_ID() AS CHAR)",
            Backend::Sqlite => return Ok(None),
        };
        let rows = self.rows("reading the session id", sql, &[]).await?;
        Ok(first_cell(&rows))
    }

    /// The server's version string.
    pub async fn server_version(&mut self) -> Result<String, DbError> {
        let sql = match self.backend() {
            Backend::Postgres => "SELECT version()",
            Backend::MySql => "SELECT CAST(VERSION() AS CHAR)",
            Backend::Sqlite => "SELECT 'SQLite ' || sqlite_version()",
        };
        let rows = self.rows("reading the server version", sql, &[]).await?;
        Ok(first_cell(&rows).unwrap_or_default())
    }

    pub async fn close(self) {
        let _ = match self.conn {
            Conn::Pg(c) => c.close().await,
            Conn::My(c) => c.close().await,
            Conn::Lite(c) => c.close().await,
        };
    }

    // ---- reading -------------------------------------------------------------------------

    /// The rows of the version table in the database's order, read as text; None when the
    /// table does not exist. Two queries.
    pub async fn version_rows(
        &mut self,
        table: &VersionTable,
    ) -> Result<Option<Vec<String>>, DbError> {
        Ok(self.read_version_state(table).await?.rows)
    }

    /// The declared length of `version_num`, if the table exists and the type has one.
    pub async fn version_column_length(
        &mut self,
        table: &VersionTable,
    ) -> Result<Option<u32>, DbError> {
        let shape = self.table_shape(table).await?;
        Ok(shape.and_then(|s| version_column(&s).and_then(|c| c.2)))
    }

    /// Rows, resolved schema and column length in two queries.
    pub async fn read_version_state(
        &mut self,
        table: &VersionTable,
    ) -> Result<VersionState, DbError> {
        self.settle().await?;
        let Some(shape) = self.table_shape(table).await? else {
            return Ok(VersionState {
                rows: None,
                schema: table.schema.clone(),
                column_length: None,
            });
        };
        let column_length = self.check_shape(table, &shape)?;
        let rows = self.read_rows(table, false).await?;
        Ok(VersionState {
            rows: Some(rows),
            schema: shape.schema,
            column_length,
        })
    }

    /// The catalog entry of the version table, or None if there is no such table.
    async fn table_shape(&mut self, table: &VersionTable) -> Result<Option<TableShape>, DbError> {
        let ctx = format!("looking up the version table {table}");
        let rows = match self.backend() {
            Backend::Postgres => {
                // to_regclass resolves an unqualified name through the search path, as
                // Alembic's unqualified SQL does; NULL (no rows) when nothing matches.
                let sql = "SELECT n.nspname::text, a.attname::text, \
                     format_type(a.atttypid, a.atttypmod), \
                     CASE WHEN a.atttypid IN (1042, 1043) AND a.atttypmod > 0 \
                          THEN (a.atttypmod - 4)::text END, NULL::text \
                     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                     LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 \
                          AND NOT a.attisdropped \
                     WHERE c.oid = to_regclass($1) ORDER BY a.attnum";
                let name = version::regclass_text(table);
                self.rows(&ctx, sql, &[&name]).await?
            }
            Backend::MySql => {
                let sql = format!(
                    "SELECT CAST(c.TABLE_SCHEMA AS CHAR), CAST(c.COLUMN_NAME AS CHAR), \
                     CAST(c.COLUMN_TYPE AS CHAR), CAST(c.CHARACTER_MAXIMUM_LENGTH AS CHAR), \
                     CAST(t.ENGINE AS CHAR) \
                     FROM information_schema.COLUMNS c JOIN information_schema.TABLES t \
                       ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME \
                     WHERE c.TABLE_SCHEMA = {} AND c.TABLE_NAME = ? \
                     ORDER BY c.ORDINAL_POSITION",
                    if table.schema.is_some() {
                        "?"
                    } else {
                        "DATABASE()"
                    }
                );
                let mut params: Vec<&str> = table.schema.iter().map(String::as_str).collect();
                params.push(&table.name);
                self.rows(&ctx, &sql, &params).await?
            }
            Backend::Sqlite => {
                let schema = table.schema.as_deref().unwrap_or("main");
                let sql = "SELECT ?2, CAST(name AS TEXT), CAST(type AS TEXT), NULL, NULL \
                           FROM pragma_table_info(?1, ?2) ORDER BY cid";
                let mut rows = self.rows(&ctx, sql, &[&table.name, schema]).await?;
                for r in &mut rows {
                    r[3] = r[2]
                        .as_deref()
                        .and_then(introspect::declared_length)
                        .map(|n| n.to_string());
                }
                rows
            }
        };
        let Some(first) = rows.first() else {
            return Ok(None);
        };
        Ok(Some(TableShape {
            schema: first[0].clone(),
            columns: rows
                .iter()
                .filter_map(|r| {
                    Some((
                        r[1].clone()?,
                        r[2].clone().unwrap_or_default(),
                        r[3].as_deref().and_then(|s| s.parse().ok()),
                    ))
                })
                .collect(),
            engine: first[4].clone(),
        }))
    }

    /// Checks there is a `version_num` column; returns its length.
    fn check_shape(
        &self,
        table: &VersionTable,
        shape: &TableShape,
    ) -> Result<Option<u32>, DbError> {
        match version_column(shape) {
            Some(c) => Ok(c.2),
            None => Err(ErrCtx { url: &self.url }.bad_table(
                table,
                format!(
                    "it has no version_num column (columns: {})",
                    shape
                        .columns
                        .iter()
                        .map(|c| c.0.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
        }
    }

    async fn read_rows(
        &mut self,
        table: &VersionTable,
        lock: bool,
    ) -> Result<Vec<String>, DbError> {
        let b = self.backend();
        let cast = if b == Backend::MySql { "CHAR" } else { "TEXT" };
        let sql = format!(
            "SELECT CAST(version_num AS {cast}) FROM {}{}",
            qualified(b, table),
            if lock { " FOR UPDATE" } else { "" }
        );
        let rows = self.rows(&format!("reading {table}"), &sql, &[]).await?;
        rows.into_iter()
            .map(|r| r.into_iter().next().flatten())
            .collect::<Option<Vec<String>>>()
            .ok_or_else(|| ErrCtx { url: &self.url }.bad_table(table, "version_num holds a NULL"))
    }

    /// The tables, columns and indexes in scope, in a fixed number of queries (three on
    /// PostgreSQL and MySQL, two per schema on SQLite), whatever the number of tables.
    pub async fn schema(
        &mut self,
        scope: &SchemaScope,
    ) -> Result<crate::schema::SchemaSnapshot, DbError> {
        self.settle().await?;
        introspect::snapshot(self, scope).await
    }

    // ---- writing -------------------------------------------------------------------------

    /// Replaces the version table's rows `expected_before` with `after`, atomically, and only
    /// if the rows are still `expected_before` (compared as multisets) once locked: otherwise
    /// [`DbError::Changed`] and nothing is written. Creates the table with Alembic's DDL when
    /// it does not exist and `after` is not empty. Returns the data statements executed (the
    /// transaction and lock statements around them are not listed); empty when nothing had to
    /// change.
    ///
    /// Locking: PostgreSQL takes `LOCK TABLE ... IN SHARE ROW EXCLUSIVE MODE` rather than
    /// `SELECT ... FOR UPDATE`, which would not stop a concurrent `INSERT` (stamping an empty
    /// table is the common case); MySQL reads with `FOR UPDATE` under REPEATABLE READ, whose
    /// next-key locks do block inserts; SQLite uses `BEGIN IMMEDIATE`. MySQL cannot create a
    /// table inside a transaction (DDL commits implicitly), so there the table is created
    /// first and the swap then runs on the new, empty table: if the swap fails, an empty
    /// table is left, which Alembic reads exactly as no table.
    pub async fn replace_version_rows(
        &mut self,
        table: &VersionTable,
        expected_before: &[String],
        after: &[String],
    ) -> Result<Vec<SqlStep>, DbError> {
        self.replace_version_rows_observed(table, expected_before, after, &mut |_| {})
            .await
    }

    /// [`Db::replace_version_rows`], calling `observer` after each data statement has run and
    /// before the commit (progress display; tests use it to break the connection mid-way).
    pub async fn replace_version_rows_observed(
        &mut self,
        table: &VersionTable,
        expected_before: &[String],
        after: &[String],
        observer: &mut dyn FnMut(&SqlStep),
    ) -> Result<Vec<SqlStep>, DbError> {
        self.settle().await?;
        // Validate the target before touching anything.
        plan_sql(self.backend(), table, None, after)?;
        let result = self.swap(table, expected_before, after, observer).await;
        if result.is_err() && self.in_tx {
            // Best effort: a dead connection has rolled back already.
            let _ = self.end_tx("ROLLBACK").await;
        }
        result
    }

    async fn swap(
        &mut self,
        table: &VersionTable,
        expected: &[String],
        after: &[String],
        observer: &mut dyn FnMut(&SqlStep),
    ) -> Result<Vec<SqlStep>, DbError> {
        let backend = self.backend();
        let mut done = Vec::new();
        let lock_ms = self.timeout.as_millis().max(1);
        match backend {
            Backend::Postgres => {
                self.begin("BEGIN").await?;
                self.exec_raw(
                    "setting the lock timeout",
                    &format!("SET LOCAL lock_timeout = '{lock_ms}ms'"),
                )
                .await?;
            }
            Backend::MySql => {
                let secs = self.timeout.as_secs().max(1);
                self.exec_raw(
                    "setting the lock timeout",
                    &format!("SET SESSION innodb_lock_wait_timeout = {secs}"),
                )
                .await?;
                let shape = self.table_shape(table).await?;
                if shape.is_none() {
                    // Compare before creating, so a stale preview does not leave a table.
                    self.compare(table, expected, &[])?;
                    if after.is_empty() {
                        return Ok(done);
                    }
                    let create = create_table_step(backend, table);
                    self.exec_step("creating the version table", &create)
                        .await?;
                    observer(&create);
                    done.push(create);
                }
                self.exec_raw(
                    "setting the isolation level",
                    "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ",
                )
                .await?;
                self.begin("START TRANSACTION").await?;
            }
            Backend::Sqlite => self.begin("BEGIN IMMEDIATE").await?,
        }

        let shape = self.table_shape(table).await?;
        let current = match &shape {
            None => None,
            Some(shape) => {
                let len = self.check_shape(table, shape)?;
                if backend == Backend::MySql
                    && let Some(engine) = &shape.engine
                    && !engine.eq_ignore_ascii_case("InnoDB")
                {
                    return Err(DbError::Invalid(format!(
                        "{table} uses the {engine} storage engine, which has no transactions; \
                         migscope only writes to InnoDB tables (ALTER TABLE ... ENGINE=InnoDB)"
                    )));
                }
                match backend {
                    Backend::Postgres => {
                        let lock = format!(
                            "LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE",
                            qualified(backend, table)
                        );
                        self.exec_raw(&format!("locking {table}"), &lock).await?;
                        Some((self.read_rows(table, false).await?, len))
                    }
                    Backend::MySql => Some((self.read_rows(table, true).await?, len)),
                    Backend::Sqlite => Some((self.read_rows(table, false).await?, len)),
                }
            }
        };
        let now: &[String] = current.as_ref().map_or(&[], |c| &c.0);
        self.compare(table, expected, now)?;

        // A too-long id fails on PostgreSQL and is silently truncated by non-strict MySQL:
        // refuse it up front. SQLite does not enforce declared lengths.
        let max = match &current {
            Some((_, len)) => *len,
            None => Some(ALEMBIC_VERSION_LENGTH),
        };
        if backend != Backend::Sqlite
            && let Some(max) = max
            && let Some(id) = after.iter().find(|id| id.chars().count() > max as usize)
        {
            return Err(DbError::TooLong {
                table: table.to_string(),
                id: id.clone(),
                len: id.chars().count(),
                max,
            });
        }

        let steps = plan_sql(
            backend,
            table,
            current.as_ref().map(|c| c.0.as_slice()),
            after,
        )?;
        for step in steps {
            self.exec_step(&format!("updating {table}"), &step).await?;
            observer(&step);
            done.push(step);
        }
        self.end_tx("COMMIT").await?;
        Ok(done)
    }

    fn compare(
        &self,
        table: &VersionTable,
        expected: &[String],
        now: &[String],
    ) -> Result<(), DbError> {
        let mut a = expected.to_vec();
        let mut b = now.to_vec();
        a.sort();
        b.sort();
        if a == b {
            Ok(())
        } else {
            Err(DbError::Changed {
                table: table.to_string(),
                expected: expected.to_vec(),
                now: now.to_vec(),
            })
        }
    }

    // ---- statements ----------------------------------------------------------------------

    /// Rolls back a transaction a cancelled operation left open.
    async fn settle(&mut self) -> Result<(), DbError> {
        if self.in_tx {
            self.end_tx("ROLLBACK").await?;
        }
        Ok(())
    }

    async fn begin(&mut self, sql: &'static str) -> Result<(), DbError> {
        self.exec_raw("starting a transaction", sql).await?;
        self.in_tx = true;
        Ok(())
    }

    async fn end_tx(&mut self, sql: &'static str) -> Result<(), DbError> {
        let r = self.exec_raw(sql, sql).await;
        // Either way the transaction is over: committed, rolled back, or gone with the
        // connection.
        self.in_tx = false;
        r
    }

    async fn exec_step(&mut self, context: &str, step: &SqlStep) -> Result<(), DbError> {
        let params: Vec<&str> = step.params.iter().map(String::as_str).collect();
        self.rows(context, &step.sql, &params).await.map(drop)
    }

    async fn exec_raw(&mut self, context: &str, sql: &str) -> Result<(), DbError> {
        self.rows(context, sql, &[]).await.map(drop)
    }

    /// Runs one statement and reads every column of every row as optional text. Statements
    /// without parameters go through the simple/text protocol (`raw_sql`): MySQL cannot
    /// prepare some of them (transaction control), and nothing is worth caching. With
    /// parameters, a prepared statement binds them, so values are never spliced into SQL.
    ///
    /// The SQL passed here is built only from fixed text, numbers and identifiers quoted by
    /// [`quote_ident`]; values always travel as bind parameters. Hence `AssertSqlSafe`.
    async fn rows(&mut self, context: &str, sql: &str, params: &[&str]) -> Result<Rows, DbError> {
        self.queries += 1;
        macro_rules! run {
            ($c:expr) => {{
                let c = $c;
                let fetched = if params.is_empty() {
                    sqlx::raw_sql(AssertSqlSafe(sql.to_string()))
                        .fetch_all(&mut *c)
                        .await
                } else {
                    let mut q = sqlx::query(AssertSqlSafe(sql.to_string()));
                    for p in params {
                        q = q.bind(p.to_string());
                    }
                    q.fetch_all(&mut *c).await
                };
                fetched.and_then(|rows| {
                    rows.iter()
                        .map(|r| {
                            (0..r.len())
                                .map(|i| r.try_get::<Option<String>, _>(i))
                                .collect::<Result<Vec<_>, _>>()
                        })
                        .collect::<Result<Rows, _>>()
                })
            }};
        }
        let result = match &mut self.conn {
            Conn::Pg(c) => run!(c),
            Conn::My(c) => run!(c),
            Conn::Lite(c) => run!(c),
        };
        result.map_err(|e| ErrCtx { url: &self.url }.query_error(e, context))
    }
}

fn version_column(shape: &TableShape) -> Option<&(String, String, Option<u32>)> {
    shape
        .columns
        .iter()
        .find(|c| c.0.eq_ignore_ascii_case("version_num"))
}

fn first_cell(rows: &Rows) -> Option<String> {
    rows.first().and_then(|r| r.first().cloned().flatten())
}
