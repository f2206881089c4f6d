//! The read commands never change a SQLite file (nor create one), and a revision the database
//! holds but no file defines is traced through the project's git history (real `git`, temporary
//! repositories).

mod support;

use std::path::Path;
use std::process::Command;

use migscope::db::{Db, VersionTable};
use support::sandbox::{Sandbox, rt, sqlite_url, strs};

/// Bytes and modification time.
fn fingerprint(path: &Path) -> (Vec<u8>, std::time::SystemTime) {
    (
        std::fs::read(path).unwrap(),
        std::fs::metadata(path).unwrap().modified().unwrap(),
    )
}

fn sqlite_arg(path: &Path) -> String {
    format!("sqlite:///{}", path.display())
}

#[test]
fn read_commands_leave_the_sqlite_file_untouched() {
    let sb = Sandbox::new();
    let db = sb.db();
    let before = fingerprint(&db);
    let url = sqlite_arg(&db);
    let runs: [&[&str]; 5] = [
        &["status"],
        &["status", "--format", "json"],
        &["check", "--db", &url],
        &["plan", "--to", "heads", "--from", "current"],
        &["stamp", "--purge", "cd2257cee794", "--dry-run"],
    ];
    for args in runs {
        let out = sb.run(args);
        assert!(matches!(out.code, Some(0 | 1)), "{args:?}: {out:?}");
    }
    assert_eq!(fingerprint(&db), before, "a read command changed the file");
    let dir: Vec<String> = std::fs::read_dir(db.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("demo.db"))
        .collect();
    assert_eq!(dir, strs(&["demo.db"]), "journal or WAL files left behind");
}

/// The read connection is read-only at the driver level: a write through it fails.
#[test]
fn a_read_only_connection_refuses_writes() {
    let sb = Sandbox::new();
    let before = fingerprint(&sb.db());
    let url = sqlite_url(&sb.db());
    let err = rt().block_on(async {
        let mut conn = Db::connect_read_only(&url).await.unwrap();
        let rows = conn.version_rows(&VersionTable::default()).await.unwrap();
        assert_eq!(rows, Some(strs(&["b90dd01ef204"])));
        let err = conn
            .replace_version_rows(
                &VersionTable::default(),
                &strs(&["b90dd01ef204"]),
                &strs(&["cd2257cee794"]),
            )
            .await
            .unwrap_err();
        conn.close().await;
        err
    });
    assert!(err.to_string().contains("readonly"), "{err}");
    assert_eq!(fingerprint(&sb.db()), before);
}

#[test]
fn a_missing_sqlite_file_is_an_error_not_a_new_database() {
    let sb = Sandbox::new();
    let missing = sb.tmp.path().join("nope/missing.db");
    let url = sqlite_arg(&missing);
    // Before the subcommand too: the project's own URL (which works) must not be used instead.
    let runs: [&[&str]; 6] = [
        &["status", "--db", &url],
        &["check", "--db", &url],
        &["plan", "--to", "heads", "--from", "current", "--db", &url],
        &["--db", &url, "status"],
        &[
            "--db",
            &url,
            "stamp",
            "--purge",
            "cd2257cee794",
            "--dry-run",
        ],
        &["--db", &url, "plan", "--to", "heads", "--from", "current"],
    ];
    for args in runs {
        let out = sb.run(args);
        assert_eq!(out.code, Some(2), "{args:?}: {out:?}");
        assert!(
            out.stderr.contains(&format!(
                "the SQLite database {} does not exist",
                missing.display()
            )),
            "{args:?}: {out:?}"
        );
        assert!(out.stderr.contains("never creates one"), "{out:?}");
    }
    assert!(!missing.exists());
    assert!(!missing.parent().unwrap().exists());
}

// ---- unknown revisions in git history ------------------------------------------------------

const LOST_ID: &str = "b90dd01ef204";

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A repository holding the demo copy plus the file that defined the id the demo's table holds.
fn repo_with_lost_file(sb: &Sandbox) -> std::path::PathBuf {
    let root = sb.tmp.path().join("demo");
    git(&root, &["init", "-q"]);
    let file = root.join(format!("migrations/versions/{LOST_ID}_add_audit_log.py"));
    std::fs::write(
        &file,
        format!(
            "revision = '{LOST_ID}'\ndown_revision = 'cd2257cee794'\nbranch_labels = None\n\n\
             def upgrade():\n    pass\n"
        ),
    )
    .unwrap();
    git(&root, &["add", "-A"]);
    git(
        &root,
        &["commit", "-q", "-m", "the project with the audit log"],
    );
    root
}

fn history_of(sb: &Sandbox) -> serde_json::Value {
    let out = sb.run(&["status", "--format", "json"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let entries = v["unknown_history"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{v}");
    assert_eq!(entries[0]["id"], LOST_ID);
    entries[0].clone()
}

#[test]
fn a_deleted_revision_file_is_found_with_its_commit() {
    let sb = Sandbox::new();
    let root = repo_with_lost_file(&sb);
    let rel = format!("migrations/versions/{LOST_ID}_add_audit_log.py");
    git(&root, &["rm", "-q", &rel]);
    git(
        &root,
        &["commit", "-q", "-m", "remove the audit log migration"],
    );
    let head = git(&root, &["rev-parse", "HEAD"]);

    let h = history_of(&sb);
    let hist = &h["history"];
    assert_eq!(hist["kind"], "removed", "{h}");
    assert_eq!(hist["fate"], "deleted", "{h}");
    assert_eq!(hist["file"], rel);
    assert_eq!(hist["down_revision"], serde_json::json!(["cd2257cee794"]));
    assert_eq!(hist["commit"]["hash"], head);
    assert_eq!(hist["commit"]["subject"], "remove the audit log migration");

    let out = sb.run(&["status"]);
    assert!(
        out.stdout.contains(&format!(
            "git history: defined in {rel} (down_revision cd2257cee794); deleted by commit {}",
            &head[..10]
        )),
        "{out:?}"
    );
    let url = sqlite_arg(&sb.db());
    let out = sb.run(&["check", "--db", &url]);
    assert!(out.stdout.contains("error[db-unknown-revision]"), "{out:?}");
    assert!(
        out.stdout.contains("remove the audit log migration"),
        "{out:?}"
    );
}

#[test]
fn a_renamed_revision_file_is_found_where_it_went() {
    let sb = Sandbox::new();
    let root = repo_with_lost_file(&sb);
    let rel = format!("migrations/versions/{LOST_ID}_add_audit_log.py");
    std::fs::create_dir_all(root.join("archive")).unwrap();
    let moved = format!("archive/{LOST_ID}_add_audit_log.py");
    git(&root, &["mv", &rel, &moved]);
    git(&root, &["commit", "-q", "-m", "archive old migrations"]);
    let head = git(&root, &["rev-parse", "HEAD"]);

    let h = history_of(&sb);
    let hist = &h["history"];
    assert_eq!(hist["kind"], "removed", "{h}");
    assert_eq!(hist["fate"], "renamed", "{h}");
    assert_eq!(hist["to"], moved);
    assert_eq!(hist["file"], rel);
    assert_eq!(hist["commit"]["hash"], head);
    assert!(
        h["text"]
            .as_str()
            .unwrap()
            .contains(&format!("moved to {moved}"))
    );
}

#[test]
fn without_a_repository_or_a_trace_it_says_which() {
    let sb = Sandbox::new();
    let h = history_of(&sb);
    assert_eq!(h["history"]["kind"], "not_a_repo", "{h}");
    let out = sb.run(&["status"]);
    assert!(out.stdout.contains("is not in a git repository"), "{out:?}");

    let root = sb.tmp.path().join("demo");
    git(&root, &["init", "-q"]);
    git(&root, &["add", "-A"]);
    git(&root, &["commit", "-q", "-m", "no audit log here"]);
    let h = history_of(&sb);
    assert_eq!(h["history"]["kind"], "not_in_history", "{h}");
}

#[test]
fn without_git_it_says_so() {
    let sb = Sandbox::new();
    // An empty PATH: the git command cannot be found.
    let empty = tempfile::tempdir().unwrap();
    let out = support::process::output(
        Command::new(support::cli::migscope_bin())
            .args(["-c"])
            .arg(sb.ini())
            .args(["status", "--format", "json"])
            .env("PATH", empty.path())
            .env("MIGSCOPE_STATE_DIR", sb.state())
            .env_remove("DATABASE_URL")
            .env_remove("MIGSCOPE_DATABASE_URL"),
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let h = &v["unknown_history"][0];
    assert_eq!(h["history"]["kind"], "no_git", "{h}");
    assert!(
        h["text"].as_str().unwrap().contains("cannot run git"),
        "{h}"
    );
}

/// `status` through the operations cache says exactly what it says without it, and the cache
/// is really used (the run reports its hits).
#[test]
fn status_is_the_same_through_the_operations_cache() {
    let sb = Sandbox::new();
    let cache = sb.tmp.path().join("cache");
    // The demo's files were just copied: let them age past the cache's settle time once.
    std::thread::sleep(std::time::Duration::from_millis(2200));
    let run = |cached: bool| {
        let mut cmd = Command::new(support::cli::migscope_bin());
        cmd.args([
            "-c",
            sb.ini().to_str().unwrap(),
            "status",
            "--format",
            "json",
        ])
        .env("MIGSCOPE_STATE_DIR", sb.state())
        .env("MIGSCOPE_TIMING", "1")
        .env("MIGSCOPE_CACHE_MIN_FILES", "1")
        .env_remove("DATABASE_URL")
        .env_remove("MIGSCOPE_DATABASE_URL");
        if cached {
            cmd.env("MIGSCOPE_CACHE_DIR", &cache);
        } else {
            cmd.env("MIGSCOPE_NO_CACHE", "1");
        }
        support::process::output(&mut cmd)
    };
    let fresh = run(false);
    assert_eq!(fresh.code, Some(0), "{fresh:?}");
    let first = run(true);
    let second = run(true);
    assert_eq!(first.stdout, fresh.stdout);
    assert_eq!(second.stdout, fresh.stdout);
    assert!(
        second
            .stderr
            .contains("cache (upgrade-ops): 11 hits, 0 misses"),
        "{second:?}"
    );
}
