//! A throwaway copy of the demo project and its database, with its own state directory, and
//! the `migscope` binary run against it.

use std::path::{Path, PathBuf};
use std::process::Command;

use migscope::db::{Db, VersionTable, parse_url};

use super::cli::migscope_bin;
pub use super::process::{Out, copy_dir, output};
use super::venv;

pub fn demo_src() -> PathBuf {
    venv::repo_root().join("assets/demo")
}

/// A temp dir holding a copy of the demo project and database, and a state dir.
pub struct Sandbox {
    pub tmp: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        let tmp = tempfile::Builder::new()
            .prefix("migscope-repair-")
            .tempdir()
            .unwrap();
        copy_dir(&demo_src(), &tmp.path().join("demo"));
        Sandbox { tmp }
    }
    pub fn ini(&self) -> PathBuf {
        self.tmp.path().join("demo/alembic.ini")
    }
    pub fn db(&self) -> PathBuf {
        self.tmp.path().join("demo/demo.db")
    }
    pub fn state(&self) -> PathBuf {
        self.tmp.path().join("state")
    }
    pub fn journal(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.state().join("journal.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
    /// migscope with `-c <copy>/alembic.ini` and this sandbox's state dir.
    pub fn run(&self, args: &[&str]) -> Out {
        let mut full = vec!["-c".to_string(), self.ini().display().to_string()];
        full.extend(args.iter().map(|s| s.to_string()));
        run_in(&self.state(), &full)
    }
    pub fn rows(&self) -> Vec<String> {
        rows_of(&self.db())
    }
}

pub fn run_in(state: &Path, args: &[String]) -> Out {
    output(
        Command::new(migscope_bin())
            .args(args)
            .env("NO_COLOR", "1")
            .env("MIGSCOPE_STATE_DIR", state)
            .env_remove("DATABASE_URL")
            .env_remove("MIGSCOPE_DATABASE_URL"),
    )
}

pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

pub fn sqlite_url(path: &Path) -> migscope::db::DbUrl {
    parse_url(&format!("sqlite:///{}", path.display()), Path::new("/")).unwrap()
}

/// The version table's rows, sorted.
pub fn rows_of(db: &Path) -> Vec<String> {
    let url = sqlite_url(db);
    let mut rows = rt().block_on(async {
        let mut conn = Db::connect(&url).await.unwrap();
        let rows = conn
            .version_rows(&VersionTable::default())
            .await
            .unwrap()
            .unwrap_or_default();
        conn.close().await;
        rows
    });
    rows.sort();
    rows
}

pub fn sha256_like(path: &Path) -> Vec<u8> {
    // Byte-for-byte comparison is all that is needed.
    std::fs::read(path).unwrap()
}

pub fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}
