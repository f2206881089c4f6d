//! Throwaway databases on the machine's PostgreSQL and MariaDB/MySQL servers (and SQLite temp
//! files) for `tests/db.rs`.
//!
//! Server URLs come from `MIGSCOPE_TEST_PG_URL` / `MIGSCOPE_TEST_MYSQL_URL`. When a server is
//! unreachable the test is skipped with a loud line, except under `CI=true`, where that is a
//! failure: CI must exercise the real backends.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use migscope::db::{Backend, ConnectOptions, Db, DbUrl, parse_url};
use sqlx::mysql::MySqlConnection;
use sqlx::postgres::PgConnection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{AssertSqlSafe, Connection, Row};

pub const PG_DEFAULT: &str = "postgres://postgres@127.0.0.1:5432/test";
pub const MYSQL_DEFAULT: &str = "mysql://root@127.0.0.1:3306/test";

pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// A server URL from the environment (or the default), parsed by migscope itself.
pub fn server_url(backend: Backend) -> DbUrl {
    let (var, default) = match backend {
        Backend::Postgres => ("MIGSCOPE_TEST_PG_URL", PG_DEFAULT),
        Backend::MySql => ("MIGSCOPE_TEST_MYSQL_URL", MYSQL_DEFAULT),
        Backend::Sqlite => unreachable!(),
    };
    let raw = std::env::var(var).unwrap_or_else(|_| default.to_string());
    parse_url(&raw, &std::env::current_dir().unwrap()).expect("test URL parses")
}

fn unique_name() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "migscope_t_{}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        nanos % 100_000
    )
}

/// One test's own database, dropped (with anything it created next to it) when this guard
/// goes, even when the test panics.
pub struct TestDb {
    pub backend: Backend,
    /// The test database.
    pub url: DbUrl,
    /// The server's admin database (to create and drop the test one).
    admin: Option<DbUrl>,
    name: String,
    /// MySQL: extra databases (standing in for schemas) to drop too.
    extra: Vec<String>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    /// A fresh database, or None when the server is not there (and we are not in CI).
    pub fn new(rt: &tokio::runtime::Runtime, backend: Backend) -> Option<TestDb> {
        if backend == Backend::Sqlite {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("test.db");
            rt.block_on(async {
                let o = SqliteConnectOptions::new()
                    .filename(&path)
                    .create_if_missing(true);
                SqliteConnection::connect_with(&o)
                    .await
                    .unwrap()
                    .close()
                    .await
                    .unwrap();
            });
            let url = parse_url(&format!("sqlite:///{}", path.display()), dir.path()).unwrap();
            return Some(TestDb {
                backend,
                url,
                admin: None,
                name: "main".into(),
                extra: Vec::new(),
                _dir: Some(dir),
            });
        }
        let admin = server_url(backend);
        let reachable = rt.block_on(Db::connect_with(
            &admin,
            &ConnectOptions {
                timeout: Duration::from_secs(5),
            },
        ));
        if let Err(e) = reachable {
            let msg = format!("{backend} server not available at {}: {e}", admin.masked());
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("CI=true and {msg}; start the server or fix MIGSCOPE_TEST_*_URL");
            }
            eprintln!("\n==================== SKIPPED: {msg} ====================\n");
            return None;
        }
        let name = unique_name();
        rt.block_on(async {
            let mut side = Side::open(&admin).await;
            side.exec(&format!("CREATE DATABASE {name}")).await;
        });
        Some(TestDb {
            backend,
            url: admin.with_database(&name),
            admin: Some(admin),
            name,
            extra: Vec::new(),
            _dir: None,
        })
    }

    /// A schema other than the default one to put tables in: a PostgreSQL schema inside the
    /// test database, or a second MySQL database (MySQL's schemas). None on SQLite.
    pub async fn other_schema(&mut self) -> Option<String> {
        match self.backend {
            Backend::Postgres => {
                self.side().await.exec("CREATE SCHEMA meta").await;
                Some("meta".into())
            }
            Backend::MySql => {
                let other = format!("{}_meta", self.name);
                self.side()
                    .await
                    .exec(&format!("CREATE DATABASE {other}"))
                    .await;
                self.extra.push(other.clone());
                Some(other)
            }
            Backend::Sqlite => None,
        }
    }

    /// A second connection to the test database, for setup and for playing "someone else".
    pub async fn side(&self) -> Side {
        Side::open(&self.url).await
    }

    pub async fn connect(&self) -> Db {
        Db::connect(&self.url)
            .await
            .expect("connect to the test database")
    }

    pub fn sqlite_path(&self) -> Option<PathBuf> {
        self.url.sqlite_path().map(|p| p.to_path_buf())
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(admin) = self.admin.clone() else {
            return;
        };
        let mut names = vec![self.name.clone()];
        names.append(&mut self.extra);
        let backend = self.backend;
        // Own thread and runtime: this may run while a test's runtime is unwinding.
        let dropped = std::thread::spawn(move || {
            rt().block_on(async {
                let mut side = Side::open(&admin).await;
                for n in names {
                    let sql = match backend {
                        // FORCE: a test that failed may still hold a connection.
                        Backend::Postgres => format!("DROP DATABASE IF EXISTS {n} WITH (FORCE)"),
                        _ => format!("DROP DATABASE IF EXISTS {n}"),
                    };
                    side.try_exec(&sql).await.expect("drop the test database");
                }
            })
        })
        .join();
        if dropped.is_err() && !std::thread::panicking() {
            panic!("could not drop test database {}", self.name);
        }
    }
}

/// A plain sqlx connection, independent of migscope's `Db`.
pub enum Side {
    Pg(PgConnection),
    My(MySqlConnection),
    Lite(SqliteConnection),
}

impl Side {
    pub async fn open(url: &DbUrl) -> Side {
        match url.backend {
            Backend::Postgres => Side::Pg(
                PgConnection::connect(&url.expose_sqlx_url())
                    .await
                    .expect("side connection"),
            ),
            Backend::MySql => Side::My(
                MySqlConnection::connect(&url.expose_sqlx_url())
                    .await
                    .expect("side connection"),
            ),
            Backend::Sqlite => Side::Lite(
                SqliteConnection::connect_with(
                    &SqliteConnectOptions::new().filename(url.sqlite_path().unwrap()),
                )
                .await
                .expect("side connection"),
            ),
        }
    }

    pub async fn try_exec(&mut self, sql: &str) -> Result<(), sqlx::Error> {
        let q = || sqlx::raw_sql(AssertSqlSafe(sql.to_string()));
        match self {
            Side::Pg(c) => q().execute(c).await.map(drop),
            Side::My(c) => q().execute(c).await.map(drop),
            Side::Lite(c) => q().execute(c).await.map(drop),
        }
    }

    pub async fn exec(&mut self, sql: &str) {
        if let Err(e) = self.try_exec(sql).await {
            panic!("{sql}: {e}");
        }
    }

    /// The first column of every row, as text (cast it in the SQL).
    pub async fn texts(&mut self, sql: &str) -> Vec<String> {
        let q = || sqlx::raw_sql(AssertSqlSafe(sql.to_string()));
        let rows: Vec<Option<String>> = match self {
            Side::Pg(c) => q()
                .fetch_all(c)
                .await
                .map(|r| r.iter().map(|r| r.get(0)).collect()),
            Side::My(c) => q()
                .fetch_all(c)
                .await
                .map(|r| r.iter().map(|r| r.get(0)).collect()),
            Side::Lite(c) => q()
                .fetch_all(c)
                .await
                .map(|r| r.iter().map(|r| r.get(0)).collect()),
        }
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
        rows.into_iter().map(Option::unwrap_or_default).collect()
    }
}

/// Generates one `#[test]` per backend running `async fn $scenario(t: TestDb)`.
#[macro_export]
macro_rules! on_each_backend {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            use migscope::db::Backend;
            fn run(backend: Backend) {
                let rt = $crate::db_support::rt();
                let Some(t) = $crate::db_support::TestDb::new(&rt, backend) else {
                    return;
                };
                rt.block_on(super::$scenario(t));
            }
            #[test]
            fn postgres() {
                run(Backend::Postgres)
            }
            #[test]
            fn mysql() {
                run(Backend::MySql)
            }
            #[test]
            fn sqlite() {
                run(Backend::Sqlite)
            }
        }
    )*};
}
