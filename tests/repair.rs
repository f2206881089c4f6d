//! Database status and guided repair, through the real binary on SQLite copies of the demo,
//! plus migscope's stamp semantics against the real Alembic (`tests/alembic/oracle.py`,
//! `op: "stamp"`) on random graphs and states.
//!
//! Environment knobs: `MIGSCOPE_STAMP_SEED` (base seed; graph *i* uses `base + i`) and
//! `MIGSCOPE_STAMP_GRAPHS` (default 300 graphs, 4 stamps each).

mod db_support;
mod support;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use migscope::config::ConfigOptions;
use migscope::db::{Db, VersionTable};
use migscope::project::Project;
use support::sandbox::{
    Out, Sandbox, demo_src, output, rows_of, rt, run_in, sha256_like, sqlite_url, strs,
};
use support::{generator, model, venv};

// ---- the demo ------------------------------------------------------------------------------

#[test]
fn demo_status_shows_the_broken_state_and_the_repair() {
    let state = tempfile::tempdir().unwrap();
    let out = run_in(state.path(), &strs(&["--demo", "status"]));
    assert_eq!(out.code, Some(0), "{out:?}");
    let text = &out.stdout;
    for needle in [
        "b90dd01ef204  UNKNOWN",
        "Can't locate revision identified by 'b90dd01ef204'",
        "suggested stamp: cd2257cee794 add_system_settings",
        "repair: migscope stamp --purge cd2257cee794 add_system_settings",
        "preflight: no conflict with the schema",
        "predicted failure: add_system_settings: table system_settings already exists",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{out:?}");
    }
    assert!(!text.contains("***") || !text.contains("password"));

    let out = run_in(
        state.path(),
        &strs(&["--demo", "status", "--format", "json"]),
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["unknown_rows"], serde_json::json!(["b90dd01ef204"]));
    assert_eq!(v["rows"][0]["on_disk"], false);
    assert_eq!(
        v["suggestion"]["targets"],
        serde_json::json!(["cd2257cee794", "add_system_settings"])
    );
    assert_eq!(
        v["suggestion"]["upgrade_after_main_line_only"]["first_failure"]["revision"],
        "add_system_settings"
    );
    assert!(v["upgrade_heads"]["error"].is_string());
    // Reading the demo wrote nothing: no work copy, no journal.
    assert!(!state.path().join("demo").exists());
    assert!(!state.path().join("journal.jsonl").exists());
}

#[test]
fn stamp_journals_and_undo_restores() {
    let sb = Sandbox::new();
    assert_eq!(sb.rows(), strs(&["b90dd01ef204"]));

    // Alembic refuses a plain stamp over an unknown row; so do we.
    let out = sb.run(&["stamp", "cd2257cee794", "--yes"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        out.stderr
            .contains("Can't locate revision identified by 'b90dd01ef204'"),
        "{out:?}"
    );
    assert!(out.stderr.contains("--purge"), "{out:?}");

    // Dry run: preview only.
    let out = sb.run(&[
        "stamp",
        "--purge",
        "cd2257cee794",
        "add_system_settings",
        "--dry-run",
    ]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("Before:   b90dd01ef204"), "{out:?}");
    assert!(
        out.stdout
            .contains("After:    cd2257cee794 add_system_settings"),
        "{out:?}"
    );
    assert!(
        out.stdout
            .contains("DELETE FROM alembic_version WHERE version_num = 'b90dd01ef204'"),
        "{out:?}"
    );
    assert_eq!(sb.rows(), strs(&["b90dd01ef204"]));

    // No terminal, no --yes: refused.
    let out = sb.run(&["stamp", "--purge", "cd2257cee794", "add_system_settings"]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("--yes"), "{out:?}");
    assert_eq!(sb.rows(), strs(&["b90dd01ef204"]));
    assert!(sb.journal().is_empty());

    let out = sb.run(&[
        "stamp",
        "--purge",
        "cd2257cee794",
        "add_system_settings",
        "--yes",
    ]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(sb.rows(), strs(&["add_system_settings", "cd2257cee794"]));
    let journal = sb.journal();
    assert_eq!(journal.len(), 1);
    let e = &journal[0];
    assert_eq!(e["action"], "stamp");
    assert_eq!(e["version_table"], "alembic_version");
    assert_eq!(e["before"], serde_json::json!(["b90dd01ef204"]));
    assert_eq!(
        e["after"],
        serde_json::json!(["cd2257cee794", "add_system_settings"])
    );
    assert!(
        e["url"]
            .as_str()
            .unwrap()
            .contains(&sb.db().display().to_string())
    );
    assert!(e["command"].as_str().unwrap().contains("stamp --purge"));
    assert!(e["time"].as_str().unwrap().ends_with('Z'));

    // Status now reads the repaired table.
    let out = sb.run(&["status"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("preflight: no conflict"), "{out:?}");
    assert!(!out.stdout.contains("UNKNOWN"), "{out:?}");

    let out = sb.run(&["undo", "--yes"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(sb.rows(), strs(&["b90dd01ef204"]));
    let journal = sb.journal();
    assert_eq!(journal.len(), 2);
    assert_eq!(journal[1]["action"], "undo");
    assert_eq!(journal[1]["after"], serde_json::json!(["b90dd01ef204"]));
}

#[test]
fn a_change_between_preview_and_write_aborts() {
    let sb = Sandbox::new();
    // Someone else changes the table after we looked at it (we expect b90dd01ef204).
    let url = sqlite_url(&sb.db());
    rt().block_on(async {
        let mut conn = Db::connect(&url).await.unwrap();
        conn.replace_version_rows(
            &VersionTable::default(),
            &strs(&["b90dd01ef204"]),
            &strs(&["9d4a6f0e2c15"]),
        )
        .await
        .unwrap();
        conn.close().await;
    });
    let out = sb.run(&[
        "stamp",
        "--purge",
        "cd2257cee794",
        "--expect",
        "b90dd01ef204",
        "--yes",
    ]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stderr.contains("changed since it was read"), "{out:?}");
    assert_eq!(sb.rows(), strs(&["9d4a6f0e2c15"]));
    assert!(sb.journal().is_empty());

    // Undo is just as careful: after a stamp, a concurrent change blocks the undo.
    let out = sb.run(&["stamp", "cd2257cee794", "--yes"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(sb.rows(), strs(&["cd2257cee794"]));
    rt().block_on(async {
        let mut conn = Db::connect(&url).await.unwrap();
        conn.replace_version_rows(
            &VersionTable::default(),
            &strs(&["cd2257cee794"]),
            &strs(&["8a9b1c2d3e4f"]),
        )
        .await
        .unwrap();
        conn.close().await;
    });
    let out = sb.run(&["undo", "--yes"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert_eq!(sb.rows(), strs(&["8a9b1c2d3e4f"]));
    assert_eq!(sb.journal().len(), 1);
}

#[test]
fn demo_writes_go_to_a_copy_and_the_asset_never_changes() {
    let asset = demo_src().join("demo.db");
    let before = sha256_like(&asset);
    let state = tempfile::tempdir().unwrap();
    let out = run_in(
        state.path(),
        &strs(&[
            "--demo",
            "stamp",
            "--purge",
            "cd2257cee794",
            "add_system_settings",
            "--yes",
        ]),
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stderr.contains("working on a copy"), "{out:?}");
    let copy = state.path().join("demo/demo.db");
    assert_eq!(
        rows_of(&copy),
        strs(&["add_system_settings", "cd2257cee794"])
    );
    // Later --demo commands use the copy.
    let out = run_in(state.path(), &strs(&["--demo", "status"]));
    assert!(!out.stdout.contains("UNKNOWN"), "{out:?}");
    let out = run_in(state.path(), &strs(&["--demo", "undo", "--yes"]));
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(rows_of(&copy), strs(&["b90dd01ef204"]));
    assert_eq!(sha256_like(&asset), before, "the bundled demo.db changed");
    assert_eq!(rows_of(&asset), strs(&["b90dd01ef204"]));
}

#[test]
fn demo_db_is_what_the_script_makes() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("demo.db");
    let status = Command::new("python3")
        .arg(venv::repo_root().join("scripts/make_demo_db.py"))
        .arg(&out)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(rows_of(&out), strs(&["b90dd01ef204"]));
    // Same schema as the committed asset (bytes may differ across SQLite versions).
    let dump = |p: &Path| {
        let o = Command::new("python3")
            .args([
                "-c",
                "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); \
                 print(sorted(c.execute('select type,name,sql from sqlite_master').fetchall()))",
            ])
            .arg(p)
            .output()
            .unwrap();
        String::from_utf8(o.stdout).unwrap()
    };
    assert_eq!(dump(&out), dump(&demo_src().join("demo.db")));
}

#[test]
fn check_db_and_plan_from_current() {
    let sb = Sandbox::new();
    let db = format!("sqlite:///{}", sb.db().display());
    let out = sb.run(&["check", "--db", &db, "--format", "json"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let codes: Vec<&str> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["code"].as_str())
        .filter(|c| c.starts_with("db-"))
        .collect();
    assert_eq!(codes, ["db-unknown-revision"], "{out:?}");
    // Alembic's refusal for the unknown row, not a made-up plan.
    let out = sb.run(&[
        "plan",
        "--from",
        "current",
        "--to",
        "heads",
        "--direction",
        "upgrade",
    ]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stderr.contains("b90dd01ef204"), "{out:?}");

    let out = sb.run(&[
        "stamp",
        "--purge",
        "9d4a6f0e2c15",
        "add_system_settings",
        "--yes",
    ]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let out = sb.run(&["plan", "--from", "current", "--to", "heads"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(
        out.stdout.lines().collect::<Vec<_>>(),
        [
            "cd2257cee794",
            "add_sync_status_to_rich_menus",
            "e3f4g5h6i7j8",
            "f1a2b3c4d5e6",
            "8a9b1c2d3e4f",
            "157caa418be7",
            "a9b8c7d6e5f4"
        ],
        "{out:?}"
    );
    let out = sb.run(&["check", "--db", &db]);
    assert!(out.stdout.contains("warning[db-behind-heads]"), "{out:?}");
    // The predicted conflict: cd2257cee794's reply_objects already exists.
    let out = sb.run(&["status"]);
    assert!(
        out.stdout
            .contains("predicted failure: cd2257cee794: table reply_objects already exists"),
        "{out:?}"
    );
    // Overlapping rows (a row and its ancestor).
    let url = sqlite_url(&sb.db());
    rt().block_on(async {
        let mut conn = Db::connect(&url).await.unwrap();
        conn.replace_version_rows(
            &VersionTable::default(),
            &strs(&["9d4a6f0e2c15", "add_system_settings"]),
            &strs(&["9d4a6f0e2c15", "3f1c9a2b7d40"]),
        )
        .await
        .unwrap();
        conn.close().await;
    });
    let out = sb.run(&["check", "--db", &db]);
    assert!(out.stdout.contains("error[db-overlapping-rows]"), "{out:?}");
    let out = sb.run(&["status"]);
    assert!(
        out.stdout
            .contains("overlap: 3f1c9a2b7d40 is an ancestor of 9d4a6f0e2c15"),
        "{out:?}"
    );
}

/// `alembic` from the pinned venv, on the sandbox's copy.
fn alembic(sb: &Sandbox, args: &[&str]) -> Out {
    output(
        Command::new(venv::alembic_python())
            .args(["-m", "alembic", "-c"])
            .arg(sb.ini())
            .args(args)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .current_dir(sb.tmp.path()),
    )
}

#[test]
fn real_alembic_upgrades_after_our_stamp() {
    let sb = Sandbox::new();
    // As predicted: Alembic cannot even start from the unknown row.
    let out = alembic(&sb, &["upgrade", "heads"]);
    assert_ne!(out.code, Some(0), "{out:?}");
    assert!(out.stderr.contains("b90dd01ef204"), "{out:?}");

    let out = sb.run(&[
        "stamp",
        "--purge",
        "cd2257cee794",
        "add_system_settings",
        "--yes",
    ]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let out = alembic(&sb, &["upgrade", "heads"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(
        sb.rows(),
        strs(&["a9b8c7d6e5f4", "add_sync_status_to_rich_menus"])
    );
    let out = sb.run(&["status"]);
    assert!(out.stdout.contains("nothing to run"), "{out:?}");

    // The route status warns against: stamping the main line only fails where predicted.
    let sb = Sandbox::new();
    let out = sb.run(&["stamp", "--purge", "cd2257cee794", "--yes"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let out = alembic(&sb, &["upgrade", "heads"]);
    assert_ne!(out.code, Some(0), "{out:?}");
    assert!(
        out.stderr.contains("table system_settings already exists"),
        "{out:?}"
    );
}

#[test]
fn connection_failures_are_clear() {
    let sb = Sandbox::new();
    let missing = sb.tmp.path().join("nope.db");
    let out = sb.run(&[
        "status",
        "--db",
        &format!("sqlite:///{}", missing.display()),
    ]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("does not exist"), "{out:?}");
    let out = sb.run(&["status", "--db", "postgresql://me:s3cret@127.0.0.1:1/x"]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(!out.stderr.contains("s3cret"), "{out:?}");
    assert!(!out.stdout.contains("s3cret"), "{out:?}");
    // No version table at all.
    let empty = sb.tmp.path().join("empty.db");
    std::fs::write(&empty, b"").unwrap();
    let out = sb.run(&["status", "--db", &format!("sqlite:///{}", empty.display())]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("does not exist"), "{out:?}");
}

// ---- servers ---------------------------------------------------------------------------------

on_each_backend!(stamp_and_undo_round_trip);

/// Through the binary on a fresh database of each backend: a stamp creates the version table with
/// Alembic's DDL, a second stamp moves the rows, `plan --from current` and `status` read them,
/// two undos restore the empty table.
async fn stamp_and_undo_round_trip(t: db_support::TestDb) {
    let sb = Sandbox::new();
    // The SQLAlchemy spelling the CLI takes (the sqlx one coincides for the servers).
    let url = match t.sqlite_path() {
        Some(p) => format!("sqlite:///{}", p.display()),
        None => t.url.expose_sqlx_url(),
    };
    let rows = || {
        let u = t.url.clone();
        std::thread::spawn(move || {
            rt().block_on(async {
                let mut conn = Db::connect(&u).await.unwrap();
                let mut r = conn.version_rows(&VersionTable::default()).await.unwrap();
                conn.close().await;
                if let Some(r) = &mut r {
                    r.sort();
                }
                r
            })
        })
        .join()
        .unwrap()
    };
    assert_eq!(rows(), None);
    let out = sb.run(&[
        "stamp",
        "cd2257cee794",
        "add_system_settings",
        "--yes",
        "--db",
        &url,
    ]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("CREATE TABLE"), "{out:?}");
    assert_eq!(rows(), Some(strs(&["add_system_settings", "cd2257cee794"])));
    let out = sb.run(&["stamp", "heads", "--yes", "--db", &url]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(
        rows(),
        Some(strs(&["a9b8c7d6e5f4", "add_sync_status_to_rich_menus"]))
    );
    let out = sb.run(&["plan", "--from", "current", "--to", "heads", "--db", &url]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(out.stdout.trim(), "", "{out:?}");
    let out = sb.run(&["status", "--db", &url]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("on disk, head"), "{out:?}");
    if let Some(pw) = t
        .url
        .expose_sqlx_url()
        .split('@')
        .next()
        .and_then(|a| a.rsplit_once(':'))
        .map(|p| p.1.to_string())
        .filter(|p| !p.is_empty() && !p.starts_with('/'))
    {
        assert!(!out.stdout.contains(&pw), "{out:?}");
    }
    // Undo reverts the last change; undoing that undo redoes it.
    let out = sb.run(&["undo", "--yes", "--db", &url]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(rows(), Some(strs(&["add_system_settings", "cd2257cee794"])));
    let out = sb.run(&["undo", "--yes", "--db", &url]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(
        rows(),
        Some(strs(&["a9b8c7d6e5f4", "add_sync_status_to_rich_menus"]))
    );
    // Back to no rows (the table stays: Alembic reads an empty table as no table).
    let out = sb.run(&["stamp", "base", "--yes", "--db", &url]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(rows(), Some(Vec::new()));
    assert_eq!(sb.journal().len(), 5);
}

// ---- stamp semantics against the real Alembic ----------------------------------------------

const STAMP_SEED: u64 = 0x7374_616d_0000;
const STAMPS_PER_GRAPH: usize = 4;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

struct StampQuery {
    current: Vec<String>,
    targets: Vec<String>,
    purge: bool,
}

fn random_stamp(m: &model::GraphModel, rng: &mut StdRng) -> StampQuery {
    let mut current = model::random_current(m, rng);
    current.dedup();
    let n = match rng.random_range(0..10) {
        0..6 => 1,
        6..9 => 2,
        _ => 3,
    };
    let targets = (0..n).map(|_| model::random_target(m, rng)).collect();
    StampQuery {
        current,
        targets,
        purge: rng.random_bool(0.2),
    }
}

/// Runs the oracle on `cases` (JSON), one process.
fn oracle(cases: &[serde_json::Value]) -> Vec<serde_json::Value> {
    let python = venv::alembic_python();
    let mut child = Command::new(python)
        .arg(venv::oracle_script())
        .env("PYTHONHASHSEED", "0")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let input = serde_json::json!({ "cases": cases }).to_string();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()).unwrap());
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(
        out.status.success(),
        "oracle failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn stamp_matches_alembic_on_random_graphs() {
    let base = env_u64("MIGSCOPE_STAMP_SEED", STAMP_SEED);
    let count = env_u64("MIGSCOPE_STAMP_GRAPHS", 300) as usize;
    let tmp = tempfile::tempdir().unwrap();
    let mut cases = Vec::new();
    let mut subjects = Vec::new();
    for i in 0..count {
        let seed = base.wrapping_add(i as u64);
        let graph = generator::generate(seed);
        let root = tmp.path().join(format!("seed-{seed}"));
        let dirs = graph.write(&root);
        let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed);
        let m = graph.model();
        let queries: Vec<StampQuery> = (0..STAMPS_PER_GRAPH)
            .map(|_| random_stamp(&m, &mut rng))
            .collect();
        cases.push(serde_json::json!({
            "id": seed.to_string(),
            "dirs": dirs,
            "recursive": graph.recursive,
            "queries": queries.iter().map(|q| serde_json::json!({
                "op": "stamp",
                "current": q.current,
                "target": q.targets[0],
                "targets": q.targets,
                "purge": q.purge,
            })).collect::<Vec<_>>(),
        }));
        subjects.push((seed, root, dirs, graph.recursive, queries));
    }
    // A few processes in parallel.
    let jobs = 4;
    let chunk = cases.len().div_ceil(jobs).max(1);
    let answers: Vec<serde_json::Value> = std::thread::scope(|s| {
        let handles: Vec<_> = cases
            .chunks(chunk)
            .map(|part| s.spawn(move || oracle(part)))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    assert_eq!(answers.len(), subjects.len());

    let mut failures = Vec::new();
    let (mut compared, mut ok_both, mut err_both) = (0, 0, 0);
    for ((seed, root, dirs, recursive, queries), answer) in subjects.iter().zip(&answers) {
        if let Some(tb) = answer.get("oracle_failure") {
            panic!("oracle crashed on seed {seed}: {tb}");
        }
        let project = Project::load(&ConfigOptions {
            cwd: root.clone(),
            config: Vec::new(),
            name: None,
            dirs: dirs.clone(),
            recursive: *recursive,
            alembic_config_env: None,
        })
        .unwrap();
        let map = &project.map;
        for (qi, q) in queries.iter().enumerate() {
            let expected = if answer.get("error").is_some() {
                &answer["error"]
            } else {
                &answer["queries"][qi]
            };
            if expected["error"]["type"] == "Timeout" || expected["type"] == "Timeout" {
                continue;
            }
            compared += 1;
            let ours = migscope::stamp::stamp(map, &q.current, &q.targets, q.purge);
            let theirs = expected.get("revisions").and_then(|r| r.as_array());
            let describe = || {
                format!(
                    "seed {seed} query {qi}: rows {:?}, stamp {:?}{}\n  alembic: {expected}\n  \
                     migscope: {ours:?}\n  reproduce: MIGSCOPE_STAMP_SEED={seed} \
                     MIGSCOPE_STAMP_GRAPHS=1 cargo test --test repair stamp_matches",
                    q.current,
                    q.targets,
                    if q.purge { " --purge" } else { "" }
                )
            };
            match (&ours, theirs) {
                (Ok(r), Some(t)) => {
                    let mut got = r.rows.clone();
                    got.sort();
                    let want: Vec<String> =
                        t.iter().map(|v| v.as_str().unwrap().to_string()).collect();
                    if got == want {
                        ok_both += 1;
                    } else {
                        failures.push(describe());
                    }
                }
                (Err(e), None) => {
                    err_both += 1;
                    // Resolution errors: the same CLI message.
                    if let migscope::stamp::StampError::Revision(re) = e
                        && expected["error"]["type"] == "CommandError"
                        && re.message() != expected["error"]["message"].as_str().unwrap_or("")
                        && !matches!(
                            re,
                            migscope::graph::RevisionError::Crash { .. }
                                | migscope::graph::RevisionError::AmbiguousWalk { .. }
                                | migscope::graph::RevisionError::RelativeOverwalk { .. }
                        )
                    {
                        failures.push(format!("message differs: {}", describe()));
                    }
                }
                _ => failures.push(describe()),
            }
        }
    }
    eprintln!(
        "stamp vs alembic: base seed {base}, {count} graphs, {compared} stamps compared \
         ({ok_both} succeed on both sides, {err_both} fail on both)"
    );
    if !failures.is_empty() {
        let kept = tmp.keep();
        panic!(
            "{} of {compared} stamps differ from Alembic (projects kept in {}):\n{}",
            failures.len(),
            kept.display(),
            failures
                .iter()
                .take(15)
                .cloned()
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    assert!(compared >= 300, "only {compared} stamps compared");
}

#[test]
fn stamp_and_undo_answer_in_json() {
    let sb = Sandbox::new();
    let json = |out: &Out| -> serde_json::Value {
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out:?}"))
    };
    let args = ["stamp", "--purge", "cd2257cee794", "--format", "json"];
    let mut dry = args.to_vec();
    dry.push("--dry-run");
    let out = sb.run(&dry);
    assert_eq!(out.code, Some(0), "{out:?}");
    let v = json(&out);
    assert_eq!(v["action"], "stamp");
    assert_eq!(v["before"], serde_json::json!(["b90dd01ef204"]));
    assert_eq!(v["after"], serde_json::json!(["cd2257cee794"]));
    assert_eq!(
        v["sql"],
        serde_json::json!([
            "DELETE FROM alembic_version WHERE version_num = 'b90dd01ef204'",
            "INSERT INTO alembic_version (version_num) VALUES ('cd2257cee794')"
        ])
    );
    assert_eq!(v["executed"], false);
    assert_eq!(v["outcome"], "dry_run");
    assert!(v["journal"].is_null());
    assert_eq!(sb.rows(), strs(&["b90dd01ef204"]));

    let mut apply = args.to_vec();
    apply.push("--yes");
    let out = sb.run(&apply);
    assert_eq!(out.code, Some(0), "{out:?}");
    let v = json(&out);
    assert_eq!(v["executed"], true);
    assert_eq!(v["outcome"], "applied");
    assert_eq!(sb.rows(), strs(&["cd2257cee794"]));
    let journal = sb.journal();
    assert_eq!(v["journal"], journal[0]);

    // Nothing to do: the rows are already these.
    let out = sb.run(&apply);
    let v = json(&out);
    assert_eq!(v["outcome"], "unchanged", "{out:?}");
    assert_eq!(v["sql"], serde_json::json!([]));

    let out = sb.run(&["undo", "--yes", "--format", "json"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let v = json(&out);
    assert_eq!(v["action"], "undo");
    assert_eq!(v["before"], serde_json::json!(["cd2257cee794"]));
    assert_eq!(v["after"], serde_json::json!(["b90dd01ef204"]));
    assert_eq!(v["executed"], true);
    assert!(out.stderr.contains("Undoing the stamp"), "{out:?}");
    assert_eq!(sb.rows(), strs(&["b90dd01ef204"]));
    assert_eq!(sb.journal().len(), 2);
}
