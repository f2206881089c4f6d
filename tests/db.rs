//! The database layer against real servers: PostgreSQL and MariaDB/MySQL on this machine (see
//! `db_support` for the URLs and the skip/CI rules) and SQLite temp files. Each scenario runs
//! on all three backends in its own throwaway database.

mod db_support;
// The pinned Alembic venv the differential tests use (`<repo>/.venv`), to check that Alembic
// reads what we write and we read what it writes.
#[path = "support/venv.rs"]
#[allow(dead_code)]
mod venv;

use std::path::Path;
use std::time::{Duration, Instant};

use db_support::{Side, TestDb, rt, server_url};
use migscope::db::{
    Backend, ConnectOptions, Db, DbError, SchemaScope, SqlStep, VersionTable, choose_url, parse_url,
};

fn ids(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn vt(name: &str, schema: Option<&str>) -> VersionTable {
    VersionTable {
        name: name.to_string(),
        schema: schema.map(str::to_string),
    }
}

/// `name` quoted for the backend (test setup SQL).
fn q(backend: Backend, name: &str) -> String {
    match backend {
        Backend::MySql => format!("`{name}`"),
        _ => format!("\"{name}\""),
    }
}

on_each_backend!(
    reads_versions_from_custom_tables,
    reports_missing_and_misshapen_tables,
    creates_the_table_with_alembic_ddl,
    snapshot_in_a_bounded_number_of_queries,
    compare_and_swap_aborts_when_rows_changed,
    broken_connection_leaves_old_rows,
    waits_for_locks_only_up_to_the_timeout,
);

async fn reads_versions_from_custom_tables(mut t: TestDb) {
    let b = t.backend;
    let other = t.other_schema().await;
    let mut side = t.side().await;
    // Default name, default schema: rows come back in the database's order, as text.
    side.exec(
        "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, \
         CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))",
    )
    .await;
    side.exec("INSERT INTO alembic_version VALUES ('b2')").await;
    side.exec("INSERT INTO alembic_version VALUES ('a1')").await;
    // A custom, case-sensitive name with a wider column, in another schema when there is one.
    let custom = vt("AppVersions", other.as_deref());
    let qualified = match &other {
        Some(s) => format!("{}.{}", q(b, s), q(b, "AppVersions")),
        None => q(b, "AppVersions"),
    };
    side.exec(&format!(
        "CREATE TABLE {qualified} (version_num VARCHAR(64) NOT NULL PRIMARY KEY)"
    ))
    .await;
    let long = "x".repeat(40);
    side.exec(&format!("INSERT INTO {qualified} VALUES ('{long}')"))
        .await;

    let mut db = t.connect().await;
    let default = VersionTable::default();
    let mut rows = db.version_rows(&default).await.unwrap().unwrap();
    rows.sort();
    assert_eq!(rows, ids(&["a1", "b2"]));
    assert_eq!(db.version_column_length(&default).await.unwrap(), Some(32));
    let state = db.read_version_state(&custom).await.unwrap();
    assert_eq!(state.rows, Some(vec![long]));
    assert_eq!(state.column_length, Some(64));
    if b != Backend::Sqlite {
        assert_eq!(state.schema, other);
    }
    // The same name without the schema is another (absent) table.
    if other.is_some() {
        assert_eq!(
            db.version_rows(&vt("AppVersions", None)).await.unwrap(),
            None
        );
    }
}

async fn reports_missing_and_misshapen_tables(t: TestDb) {
    let mut side = t.side().await;
    side.exec("CREATE TABLE not_versions (id INTEGER PRIMARY KEY, label VARCHAR(10))")
        .await;
    let mut db = t.connect().await;
    assert_eq!(
        db.version_rows(&VersionTable::default()).await.unwrap(),
        None
    );
    assert_eq!(
        db.version_column_length(&VersionTable::default())
            .await
            .unwrap(),
        None
    );
    let err = db
        .version_rows(&vt("not_versions", None))
        .await
        .unwrap_err();
    assert!(matches!(err, DbError::BadVersionTable { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("no version_num column"), "{msg}");
    assert!(msg.contains("id, label"), "{msg}");
    assert!(msg.contains("--version-table"), "{msg}");
}

async fn creates_the_table_with_alembic_ddl(t: TestDb) {
    let b = t.backend;
    let mut db = t.connect().await;
    let table = VersionTable::default();
    let done = db
        .replace_version_rows(&table, &[], &ids(&["1a2b3c4d5e6f"]))
        .await
        .unwrap();
    let shown: Vec<&str> = done.iter().map(|s| s.display.as_str()).collect();
    assert_eq!(
        shown,
        [
            "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, CONSTRAINT \
             alembic_version_pkc PRIMARY KEY (version_num))",
            "INSERT INTO alembic_version (version_num) VALUES ('1a2b3c4d5e6f')",
        ]
    );
    // Exactly what Alembic itself would have created.
    let mut side = t.side().await;
    match b {
        Backend::Postgres => {
            let pk = side
                .texts(
                    "SELECT conname::text FROM pg_constraint \
                     WHERE conrelid = 'alembic_version'::regclass AND contype = 'p'",
                )
                .await;
            assert_eq!(pk, ["alembic_version_pkc"]);
        }
        Backend::MySql => {
            let key = side
                .texts(
                    "SELECT CAST(COLUMN_KEY AS CHAR) FROM information_schema.COLUMNS \
                     WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'alembic_version'",
                )
                .await;
            assert_eq!(key, ["PRI"]);
        }
        Backend::Sqlite => {
            let sql = side
                .texts("SELECT sql FROM sqlite_master WHERE name = 'alembic_version'")
                .await;
            assert!(sql[0].contains("alembic_version_pkc"), "{sql:?}");
        }
    }
    assert_eq!(db.version_column_length(&table).await.unwrap(), Some(32));
    assert_eq!(
        db.version_rows(&table).await.unwrap(),
        Some(ids(&["1a2b3c4d5e6f"]))
    );
    // Moving on from there: one DELETE, one INSERT, no DDL.
    let done = db
        .replace_version_rows(&table, &ids(&["1a2b3c4d5e6f"]), &ids(&["abc", "def"]))
        .await
        .unwrap();
    assert_eq!(done.len(), 3, "{done:?}");
    let mut rows = db.version_rows(&table).await.unwrap().unwrap();
    rows.sort();
    assert_eq!(rows, ids(&["abc", "def"]));
    // Nothing to do: no statement.
    let done = db
        .replace_version_rows(&table, &ids(&["def", "abc"]), &ids(&["abc", "def"]))
        .await
        .unwrap();
    assert!(done.is_empty());
    // Ids that do not fit VARCHAR(32) are refused before anything is written (MySQL in
    // non-strict mode would silently truncate them).
    if b != Backend::Sqlite {
        let err = db
            .replace_version_rows(&table, &ids(&["abc", "def"]), &ids(&[&"z".repeat(33)]))
            .await
            .unwrap_err();
        assert!(matches!(err, DbError::TooLong { max: 32, .. }), "{err:?}");
        assert_eq!(db.version_rows(&table).await.unwrap().unwrap().len(), 2);
    }
    // Custom name in a schema: `<name>_pkc`, created in that schema.
    if b == Backend::Postgres {
        side.exec("CREATE SCHEMA meta").await;
        let custom = vt("Versions", Some("meta"));
        let done = db
            .replace_version_rows(&custom, &[], &ids(&["x1"]))
            .await
            .unwrap();
        assert!(
            done[0]
                .display
                .starts_with("CREATE TABLE meta.\"Versions\" (version_num VARCHAR(32) NOT NULL, CONSTRAINT \"Versions_pkc\""),
            "{}",
            done[0].display
        );
        assert_eq!(db.version_rows(&custom).await.unwrap(), Some(ids(&["x1"])));
    }
}

async fn snapshot_in_a_bounded_number_of_queries(t: TestDb) {
    let b = t.backend;
    let mut side = t.side().await;
    side.exec(
        "CREATE TABLE users (id INTEGER NOT NULL PRIMARY KEY, email VARCHAR(120) NOT NULL, \
         name VARCHAR(50), team_id INTEGER)",
    )
    .await;
    side.exec("CREATE UNIQUE INDEX ix_users_email ON users (email)")
        .await;
    side.exec("CREATE INDEX ix_users_team_name ON users (team_id, name)")
        .await;
    side.exec("CREATE TABLE teams (id INTEGER NOT NULL PRIMARY KEY, title TEXT)")
        .await;
    side.exec(
        "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, \
         CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))",
    )
    .await;
    let mut db = t.connect().await;
    let scope = SchemaScope::excluding(&VersionTable::default());
    let before = db.query_count();
    let snap = db.schema(&scope).await.unwrap();
    let per_snapshot = db.query_count() - before;

    let names: Vec<&str> = snap.tables.keys().map(|k| k.1.as_str()).collect();
    assert_eq!(names, ["teams", "users"], "version table excluded");
    let users = snap.table(None, "users").unwrap();
    let cols: Vec<(&str, bool, Option<u32>)> = users
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c.nullable, c.max_length))
        .collect();
    assert_eq!(
        cols,
        [
            ("id", false, None),
            ("email", false, Some(120)),
            ("name", true, Some(50)),
            ("team_id", true, None),
        ]
    );
    let email = users.column("email").unwrap();
    assert!(
        email.data_type.to_ascii_lowercase().contains("varchar")
            || email.data_type.contains("character varying"),
        "{}",
        email.data_type
    );
    let ix = users.index("ix_users_email").unwrap();
    assert!(ix.unique);
    assert_eq!(ix.columns, ["email"]);
    let ix = users.index("ix_users_team_name").unwrap();
    assert!(!ix.unique);
    assert_eq!(ix.columns, ["team_id", "name"]);
    assert_eq!(
        users.indexes.len(),
        2,
        "primary key not listed: {:?}",
        users.indexes
    );
    assert_eq!(snap.table(None, "teams").unwrap().indexes.len(), 0);
    match b {
        Backend::Postgres => assert_eq!(snap.default_schema.as_deref(), Some("public")),
        Backend::MySql => assert_eq!(
            snap.default_schema.as_deref(),
            Some(db.url().database().unwrap())
        ),
        Backend::Sqlite => assert_eq!(snap.default_schema.as_deref(), Some("main")),
    }

    // Thirty more tables: the same number of queries.
    for i in 0..30 {
        side.exec(&format!(
            "CREATE TABLE extra_{i} (id INTEGER NOT NULL PRIMARY KEY, v VARCHAR(10))"
        ))
        .await;
        side.exec(&format!("CREATE INDEX ix_extra_{i}_v ON extra_{i} (v)"))
            .await;
    }
    let before = db.query_count();
    let snap = db.schema(&scope).await.unwrap();
    assert_eq!(snap.tables.len(), 32);
    assert_eq!(db.query_count() - before, per_snapshot);
    assert_eq!(per_snapshot, if b == Backend::Sqlite { 2 } else { 3 });
}

async fn compare_and_swap_aborts_when_rows_changed(t: TestDb) {
    let table = VersionTable::default();
    let mut db = t.connect().await;
    db.replace_version_rows(&table, &[], &ids(&["aaa"]))
        .await
        .unwrap();
    // Preview: the user sees "aaa" and approves moving it to "ccc"...
    let seen = db.version_rows(&table).await.unwrap().unwrap();
    // ...meanwhile a deploy runs `alembic upgrade`.
    let mut other = t.side().await;
    other
        .exec("UPDATE alembic_version SET version_num = 'bbb' WHERE version_num = 'aaa'")
        .await;
    let err = db
        .replace_version_rows(&table, &seen, &ids(&["ccc"]))
        .await
        .unwrap_err();
    match &err {
        DbError::Changed { expected, now, .. } => {
            assert_eq!(expected, &ids(&["aaa"]));
            assert_eq!(now, &ids(&["bbb"]));
        }
        other => panic!("expected Changed, got {other:?}"),
    }
    assert!(err.to_string().contains("nothing was written"), "{err}");
    assert_eq!(
        other.texts("SELECT version_num FROM alembic_version").await,
        ["bbb"]
    );
    // A table that vanished (or appeared) counts as a change too.
    let err = db
        .replace_version_rows(&vt("elsewhere", None), &ids(&["aaa"]), &ids(&["ccc"]))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, DbError::Changed { now, .. } if now.is_empty()),
        "{err:?}"
    );
    assert_eq!(
        db.version_rows(&vt("elsewhere", None)).await.unwrap(),
        None,
        "no table left"
    );
    // The Db is still usable after an aborted swap.
    db.replace_version_rows(&table, &ids(&["bbb"]), &ids(&["ccc"]))
        .await
        .unwrap();
    assert_eq!(
        other.texts("SELECT version_num FROM alembic_version").await,
        ["ccc"]
    );
}

async fn broken_connection_leaves_old_rows(t: TestDb) {
    let table = VersionTable::default();
    let old = ids(&["old1", "old2"]);
    let new = ids(&["new1"]);
    let mut db = t.connect().await;
    db.replace_version_rows(&table, &[], &old).await.unwrap();
    let backend = t.backend;

    if backend == Backend::Sqlite {
        // No other session can kill a SQLite connection: abandon it instead, mid-transaction,
        // right after the first DELETE ran. The observer unwinds out of the poll (quietly:
        // `resume_unwind` skips the panic hook), so nothing after the DELETE is ever sent;
        // stopping between polls raced with sqlx's worker, which could answer the INSERT and
        // the COMMIT within the same poll.
        let fired = std::cell::Cell::new(false);
        {
            let mut observer = |_: &SqlStep| {
                fired.set(true);
                std::panic::resume_unwind(Box::new("abandon the write"));
            };
            let mut fut =
                std::pin::pin!(db.replace_version_rows_observed(&table, &old, &new, &mut observer));
            std::future::poll_fn(|cx| {
                let polled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    fut.as_mut().poll(cx)
                }));
                match polled {
                    Err(_) => std::task::Poll::Ready(()),
                    Ok(p) => p.map(|r| panic!("finished before the drop: {r:?}")),
                }
            })
            .await;
        }
        assert!(fired.get());
        drop(db);
    } else {
        let session = db.session_id().await.unwrap().unwrap();
        let url = t.url.clone();
        let mut killed = 0;
        let mut observer = |step: &SqlStep| {
            if killed > 0 {
                return;
            }
            assert!(step.display.starts_with("DELETE"), "{}", step.display);
            killed += 1;
            // Another session kills ours between the DELETE and the rest.
            let (url, session) = (url.clone(), session.clone());
            std::thread::spawn(move || {
                rt().block_on(async {
                    let mut side = Side::open(&url).await;
                    match backend {
                        Backend::Postgres => {
                            let ok = side
                                .texts(&format!(
                                    "SELECT pg_terminate_backend({session}, 5000)::text"
                                ))
                                .await;
                            assert_eq!(ok, ["true"]);
                        }
                        _ => side.exec(&format!("KILL CONNECTION {session}")).await,
                    }
                })
            })
            .join()
            .unwrap();
        };
        let err = db
            .replace_version_rows_observed(&table, &old, &new, &mut observer)
            .await
            .unwrap_err();
        assert_eq!(killed, 1);
        assert!(matches!(err, DbError::ConnectionLost { .. }), "{err:?}");
        assert!(!err.outcome_unknown());
    }
    let mut fresh = t.connect().await;
    let mut rows = fresh.version_rows(&table).await.unwrap().unwrap();
    rows.sort();
    assert_eq!(rows, old, "old rows, never a partial update");
}

async fn waits_for_locks_only_up_to_the_timeout(t: TestDb) {
    let table = VersionTable::default();
    let opts = ConnectOptions {
        timeout: Duration::from_secs(1),
    };
    let mut db = Db::connect_with(&t.url, &opts).await.unwrap();
    db.replace_version_rows(&table, &[], &ids(&["v1"]))
        .await
        .unwrap();
    let mut holder = t.side().await;
    match t.backend {
        Backend::Postgres => {
            holder.exec("BEGIN").await;
            holder
                .exec("LOCK TABLE alembic_version IN ACCESS EXCLUSIVE MODE")
                .await;
        }
        Backend::MySql => {
            holder.exec("START TRANSACTION").await;
            holder
                .exec("SELECT version_num FROM alembic_version FOR UPDATE")
                .await;
        }
        Backend::Sqlite => holder.exec("BEGIN IMMEDIATE").await,
    }
    let started = Instant::now();
    let err = db
        .replace_version_rows(&table, &ids(&["v1"]), &ids(&["v2"]))
        .await
        .unwrap_err();
    let waited = started.elapsed();
    assert!(
        matches!(err, DbError::LockTimeout { .. }),
        "{err:?} after {waited:?}"
    );
    assert!(waited < Duration::from_secs(5), "{waited:?}");
    holder.exec("ROLLBACK").await;
    // Once the lock is gone the same call goes through.
    db.replace_version_rows(&table, &ids(&["v1"]), &ids(&["v2"]))
        .await
        .unwrap();
}

// ---- without a backend loop ----------------------------------------------------------------

#[test]
fn connection_errors_are_clear_and_never_show_the_password() {
    let rt = rt();
    let secret = "Sup3rS3cretPw";
    let cwd = std::env::current_dir().unwrap();
    let opts = ConnectOptions {
        timeout: Duration::from_secs(5),
    };
    // Nothing listens on port 1.
    let url = parse_url(
        &format!("postgresql+psycopg2://me:{secret}@127.0.0.1:1/app"),
        &cwd,
    )
    .unwrap();
    let err = rt.block_on(Db::connect_with(&url, &opts)).unwrap_err();
    assert!(matches!(err, DbError::ConnectionRefused { .. }), "{err:?}");
    let shown = format!("{err} / {err:?}");
    assert!(shown.contains("127.0.0.1:1"), "{shown}");
    assert!(
        shown.contains("postgres://me:***@127.0.0.1:1/app"),
        "{shown}"
    );
    assert!(!shown.contains(secret), "{shown}");
    assert!(!format!("{url:?}").contains(secret));

    // A non-routable address: the timeout, not a hang.
    let url = parse_url(
        &format!("mysql+pymysql://me:{secret}@10.255.255.1:3306/app"),
        &cwd,
    )
    .unwrap();
    let quick = ConnectOptions {
        timeout: Duration::from_millis(300),
    };
    let started = Instant::now();
    let err = rt.block_on(Db::connect_with(&url, &quick)).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(
        matches!(err, DbError::Timeout { .. } | DbError::Unreachable { .. }),
        "{err:?}"
    );
    assert!(!format!("{err} {err:?}").contains(secret));

    // A SQLite file that does not exist is not created.
    let dir = tempfile::tempdir().unwrap();
    let url = parse_url("sqlite:///nope/app.db", dir.path()).unwrap();
    let err = rt.block_on(Db::connect(&url)).unwrap_err();
    assert!(matches!(err, DbError::NoSqliteFile { .. }), "{err:?}");
    assert!(!dir.path().join("nope").exists());
}

fn server_or_skip(rt: &tokio::runtime::Runtime, backend: Backend) -> Option<migscope::db::DbUrl> {
    TestDb::new(rt, backend).map(|t| {
        // Only probing: the guard drops the throwaway database right away.
        t.url.clone()
    })
}

#[test]
fn auth_and_unknown_database_errors() {
    let rt = rt();
    let secret = "Wr0ngPassw0rd";
    for backend in [Backend::Postgres, Backend::MySql] {
        let Some(_) = server_or_skip(&rt, backend) else {
            continue;
        };
        let base = server_url(backend);
        let err = rt
            .block_on(Db::connect(&base.with_database("migscope_no_such_db")))
            .unwrap_err();
        assert!(matches!(err, DbError::UnknownDatabase { .. }), "{err:?}");
        assert!(err.to_string().contains("migscope_no_such_db"), "{err}");

        // A user that does not exist (trust auth would accept any password for a real one).
        let scheme = if backend == Backend::Postgres {
            "postgresql"
        } else {
            "mysql"
        };
        let raw = format!(
            "{scheme}://migscope_nobody:{secret}@{}/{}",
            base.endpoint(),
            base.database().unwrap_or("test")
        );
        let url = parse_url(&raw, Path::new("/")).unwrap();
        let err = rt.block_on(Db::connect(&url)).unwrap_err();
        assert!(
            matches!(err, DbError::AuthFailed { .. }),
            "{backend}: {err:?}"
        );
        let shown = format!("{err} {err:?}");
        assert!(shown.contains("migscope_nobody"), "{shown}");
        assert!(!shown.contains(secret), "{shown}");
    }
}

#[test]
fn url_comes_from_flag_env_or_config_and_sqlalchemy_urls_connect() {
    let rt = rt();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("alembic.ini"),
        "[alembic]\nscript_location = %(here)s/migrations\n\
         sqlalchemy.url = sqlite:///%(here)s/app.db\n",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("migrations")).unwrap();
    let cfg = migscope::config::load(&migscope::config::ConfigOptions::new(dir.path())).unwrap();
    let (raw, source) = choose_url(None, |_| None, Some(&cfg)).unwrap();
    assert!(source.to_string().contains("alembic.ini"), "{source}");
    let url = parse_url(&raw, dir.path()).unwrap();
    assert_eq!(url.sqlite_path(), Some(dir.path().join("app.db").as_path()));
    // The placeholder `alembic init` writes is called out.
    std::fs::write(
        dir.path().join("alembic.ini"),
        "[alembic]\nscript_location = migrations\nsqlalchemy.url = driver://user:pass@localhost/dbname\n",
    )
    .unwrap();
    let cfg = migscope::config::load(&migscope::config::ConfigOptions::new(dir.path())).unwrap();
    let err = choose_url(None, |_| None, Some(&cfg)).unwrap_err();
    assert!(err.to_string().contains("placeholder"), "{err}");
    assert!(!err.to_string().contains("pass@"), "{err}");

    // Real servers through SQLAlchemy spellings.
    for (backend, scheme) in [
        (Backend::Postgres, "postgresql+psycopg2"),
        (Backend::MySql, "mysql+pymysql"),
    ] {
        let Some(url) = server_or_skip(&rt, backend) else {
            continue;
        };
        let sqlx_url = server_url(backend).expose_sqlx_url();
        let (_, rest) = sqlx_url.split_once("://").unwrap();
        let sa = parse_url(&format!("{scheme}://{rest}"), Path::new("/")).unwrap();
        assert_eq!(sa.backend, backend);
        assert_eq!(sa.driver.as_deref(), scheme.split('+').nth(1));
        let mut db = rt.block_on(Db::connect(&sa)).unwrap();
        let v = rt.block_on(db.server_version()).unwrap();
        assert!(!v.is_empty());
        drop(url);
    }
}

/// The figures quoted in the report: connect + read state + snapshot of a 50-table schema.
#[test]
fn postgres_timings_for_a_fifty_table_schema() {
    let rt = rt();
    let Some(t) = TestDb::new(&rt, Backend::Postgres) else {
        return;
    };
    rt.block_on(async {
        let mut side = t.side().await;
        let mut ddl = String::new();
        for i in 0..50 {
            ddl.push_str(&format!(
                "CREATE TABLE t{i} (id SERIAL PRIMARY KEY, name VARCHAR(100) NOT NULL, \
                 code CHAR(8), body TEXT, created TIMESTAMP, owner_id INTEGER);\n\
                 CREATE INDEX ix_t{i}_name ON t{i} (name);\n\
                 CREATE UNIQUE INDEX ux_t{i}_code_owner ON t{i} (code, owner_id);\n"
            ));
        }
        side.exec(&ddl).await;
        let table = VersionTable::default();
        let mut db = Db::connect(&t.url).await.unwrap();
        db.replace_version_rows(&table, &[], &ids(&["abc123"]))
            .await
            .unwrap();
        db.close().await;

        let start = Instant::now();
        let mut db = Db::connect(&t.url).await.unwrap();
        let connected = start.elapsed();
        let state = db.read_version_state(&table).await.unwrap();
        let read = start.elapsed() - connected;
        let snap = db.schema(&SchemaScope::excluding(&table)).await.unwrap();
        let total = start.elapsed();
        assert_eq!(state.rows, Some(ids(&["abc123"])));
        assert_eq!(snap.tables.len(), 50);
        assert!(
            snap.tables
                .values()
                .all(|t| t.columns.len() == 6 && t.indexes.len() == 2)
        );
        println!(
            "TIMING postgres 50 tables: connect {connected:?}, version state {read:?}, \
             snapshot {:?}, total {total:?}, {} queries",
            total - connected - read,
            db.query_count()
        );
        assert_eq!(db.query_count(), 2 + 3);
    });
}

/// Real Alembic (the pinned version) on a SQLite project whose env.py names a custom version
/// table: it reads the rows we stamp, and we read the rows it stamps.
#[test]
fn alembic_reads_what_we_write_and_back() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("migrations/versions")).unwrap();
    std::fs::write(
        root.join("alembic.ini"),
        "[alembic]\nscript_location = %(here)s/migrations\n\
         sqlalchemy.url = sqlite:///%(here)s/app.db\n",
    )
    .unwrap();
    std::fs::write(
        root.join("migrations/env.py"),
        r#"from alembic import context
from sqlalchemy import engine_from_config, pool

config = context.config


def run_migrations_online():
    connectable = engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    with connectable.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=None,
            version_table="app_versions",
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
"#,
    )
    .unwrap();
    for (rev, down) in [
        ("a1a1a1a1a1a1", "None"),
        ("b2b2b2b2b2b2", "'a1a1a1a1a1a1'"),
        ("c3c3c3c3c3c3", "'a1a1a1a1a1a1'"),
    ] {
        std::fs::write(
            root.join(format!("migrations/versions/{rev}_x.py")),
            format!(
                "revision = '{rev}'\ndown_revision = {down}\nbranch_labels = None\n\
                 depends_on = None\n\n\ndef upgrade():\n    pass\n\n\ndef downgrade():\n    pass\n"
            ),
        )
        .unwrap();
    }
    // SQLAlchemy would create the file on first connect; migscope refuses to.
    std::fs::write(root.join("app.db"), b"").unwrap();

    let cfg = migscope::config::load(&migscope::config::ConfigOptions::new(root)).unwrap();
    let (raw, _) = choose_url(None, |_| None, Some(&cfg)).unwrap();
    let url = parse_url(&raw, root).unwrap();
    let located =
        migscope::db::locate_version_table(None, None, migscope::db::env_py_path(&cfg).as_deref());
    assert_eq!(located.table, vt("app_versions", None));

    let alembic = |args: &[&str]| {
        let out = std::process::Command::new(venv::alembic_python())
            .args(["-m", "alembic", "-c"])
            .arg(root.join("alembic.ini"))
            .args(args)
            .current_dir(root)
            .output()
            .expect("run alembic");
        assert!(
            out.status.success(),
            "alembic {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };

    let rt = rt();
    rt.block_on(async {
        let mut db = Db::connect(&url).await.unwrap();
        db.replace_version_rows(&located.table, &[], &ids(&["b2b2b2b2b2b2", "c3c3c3c3c3c3"]))
            .await
            .unwrap();
    });
    let current = alembic(&["current"]);
    assert!(current.contains("b2b2b2b2b2b2 (head)"), "{current}");
    assert!(current.contains("c3c3c3c3c3c3 (head)"), "{current}");

    alembic(&["stamp", "--purge", "a1a1a1a1a1a1"]);
    rt.block_on(async {
        let mut db = Db::connect(&url).await.unwrap();
        let state = db.read_version_state(&located.table).await.unwrap();
        assert_eq!(state.rows, Some(ids(&["a1a1a1a1a1a1"])));
        assert_eq!(state.column_length, Some(32));
    });
}
