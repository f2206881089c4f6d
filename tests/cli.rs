//! The command-line contract beyond `check`: help, pipes, exports, identifier forms.

use std::fs;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};

fn migscope() -> Command {
    Command::new(env!("CARGO_BIN_EXE_migscope"))
}

fn demo(args: &[&str]) -> (i32, String, String) {
    let out = migscope()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("--demo")
        .args(args)
        .output()
        .expect("run migscope");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn every_subcommand_has_help() {
    for sub in [
        "graph", "heads", "bases", "history", "show", "plan", "check", "export",
    ] {
        let out = migscope().args([sub, "--help"]).output().unwrap();
        assert!(out.status.success(), "{sub} --help failed");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("--config") && text.contains("--dir"),
            "{sub}: {text}"
        );
    }
}

#[test]
fn a_reader_that_closes_early_is_not_an_error() {
    // Enough history to overflow the pipe buffer, so the writer sees the closed pipe.
    let dir = tempfile::tempdir().unwrap();
    let versions = dir.path().join("versions");
    fs::create_dir(&versions).unwrap();
    let mut down = "None".to_string();
    for i in 0..3000 {
        let id = format!("r{i:07}");
        fs::write(
            versions.join(format!("{id}_x.py")),
            format!("\"\"\"a revision with a fairly long message to fill the pipe {i}\"\"\"\nrevision = '{id}'\ndown_revision = {down}\n"),
        )
        .unwrap();
        down = format!("'{id}'");
    }
    let mut child = migscope()
        .env("MIGSCOPE_NO_CACHE", "1")
        .args(["--dir", versions.to_str().unwrap(), "history"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    // stdout is dropped here, like `| head -c 16`.
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?} {stderr}");
    assert!(stderr.is_empty(), "{stderr}");
}

#[test]
fn exports_describe_every_revision_and_edge() {
    let (code, dot, _) = demo(&["export", "--format", "dot"]);
    assert_eq!(code, 0);
    assert!(dot.starts_with("digraph migrations {"));
    assert_eq!(dot.matches(" [label=").count(), 11, "{dot}");
    assert!(dot.contains("\"157caa418be7\" -> \"8a9b1c2d3e4f\""));
    assert!(dot.contains("\"157caa418be7\" -> \"f1a2b3c4d5e6\""));

    let (code, mermaid, _) = demo(&["export", "--format", "mermaid"]);
    assert_eq!(code, 0);
    assert!(mermaid.starts_with("flowchart BT"));
    assert!(mermaid.contains("r_add_sync_status_to_rich_menus --> r_add_system_settings"));

    let (code, json, _) = demo(&["export", "--format", "json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["revisions"].as_array().unwrap().len(), 11);
    assert_eq!(v["branch_labels"]["system_settings"], "add_system_settings");
}

#[test]
fn show_accepts_every_identifier_form() {
    for (ident, expected) in [
        ("cd2257cee794", "Rev: cd2257cee794 (branchpoint)"),
        ("cd22", "Rev: cd2257cee794 (branchpoint)"),
        (
            "system_settings@head",
            "Rev: add_sync_status_to_rich_menus (head)",
        ),
        ("157caa418be7@head", "Rev: a9b8c7d6e5f4 (head)"),
        ("system_settings", "Rev: add_system_settings"),
        ("a9b8c7d6e5f4-1", "Rev: 157caa418be7 (mergepoint)"),
        ("3f1c+2", "Rev: 9d4a6f0e2c15"),
    ] {
        let (code, out, err) = demo(&["show", ident]);
        assert_eq!(code, 0, "{ident}: {err}");
        assert_eq!(out.lines().next(), Some(expected), "{ident}");
    }
    let (code, out, _) = demo(&["show", "heads"]);
    assert_eq!(code, 0);
    assert_eq!(out.matches("Rev: ").count(), 2);
    let (code, _, err) = demo(&["show", "add_sy"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("Can't locate revision identified by 'add_sy'"),
        "{err}"
    );
}

#[test]
fn graph_draws_ascii_without_colour_when_piped() {
    let (code, out, _) = demo(&["graph", "--ascii"]);
    assert_eq!(code, 0);
    assert!(out.is_ascii(), "{out}");
    assert!(!out.contains('\x1b'), "no colour on a pipe");
    assert!(
        out.contains("add_system_settings (system_settings) [base] [orphan]"),
        "{out}"
    );
    assert_eq!(out.lines().filter(|l| l.contains("[head]")).count(), 2);
}

#[test]
fn plan_json_reports_direction_and_order() {
    let (code, out, _) = demo(&[
        "plan",
        "--from",
        "a9b8c7d6e5f4",
        "--to",
        "cd2257cee794",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["direction"], "downgrade");
    assert_eq!(v["revisions"][0], "a9b8c7d6e5f4");
    assert!(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("assets/demo/alembic.ini")
            .exists()
    );
}

#[test]
fn plan_errors_come_from_the_upgrade_reading_when_neither_direction_works() {
    // The demo database's row: no file defines it, so Alembic cannot plan from it either way.
    let (code, _, err) = demo(&["plan", "--from", "b90dd01ef204", "--to", "heads"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("Can't locate revision identified by 'b90dd01ef204'"),
        "{err}"
    );
    let (code, out, _) = demo(&["plan", "--from", "9d4a6f0e2c15", "--to", "-1"]);
    assert_eq!(code, 0);
    assert_eq!(out.trim(), "9d4a6f0e2c15");
}

/// Answers through the record cache are the answers without it, after every kind of edit, and
/// the cache is really used (the run reports its hits).
#[test]
fn the_record_cache_never_changes_an_answer() {
    let dir = tempfile::tempdir().unwrap();
    let versions = dir.path().join("versions");
    let cache = dir.path().join("cache");
    fs::create_dir(&versions).unwrap();
    let write = |name: &str, id: &str, down: &str| {
        fs::write(
            versions.join(name),
            format!("\"\"\"{id} message\"\"\"\nrevision = '{id}'\ndown_revision = {down}\n"),
        )
        .unwrap();
    };
    for i in 0..30 {
        let down = if i == 0 {
            "None".to_string()
        } else {
            format!("'r{:03}'", i - 1)
        };
        write(&format!("r{i:03}_x.py"), &format!("r{i:03}"), &down);
    }
    let run = |cached: bool, args: &[&str]| -> (String, String) {
        let mut cmd = migscope();
        cmd.env("MIGSCOPE_TIMING", "1")
            .env("MIGSCOPE_CACHE_MIN_FILES", "1");
        if cached {
            cmd.env("MIGSCOPE_CACHE_DIR", &cache);
        } else {
            cmd.env("MIGSCOPE_NO_CACHE", "1");
        }
        let out = cmd
            .args(["--dir", versions.to_str().unwrap()])
            .args(args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        (String::from_utf8_lossy(&out.stdout).into_owned(), stderr)
    };
    let agree = |what: &str| -> Vec<String> {
        let mut hits = Vec::new();
        for args in [
            &["history", "--format", "json"][..],
            &["check", "--format", "json"],
            &["heads"],
        ] {
            let (fresh, _) = run(false, args);
            let (cached, stderr) = run(true, args);
            assert_eq!(cached, fresh, "{what}: {args:?}");
            hits.extend(
                stderr
                    .lines()
                    .filter(|l| l.starts_with("cache:"))
                    .map(str::to_owned),
            );
        }
        hits
    };
    // Files younger than the settle time are never cached; let them age once.
    std::thread::sleep(std::time::Duration::from_millis(2200));
    agree("first run");
    let hits = agree("warm");
    assert!(
        hits.iter()
            .all(|l| l.starts_with("cache: 30 hits, 0 misses")),
        "{hits:?}"
    );
    // An edit that keeps the size, a new head, a removed file, a rename.
    write("r010_x.py", "r010", "'r008'");
    write("r030_x.py", "r030", "'r005'");
    fs::remove_file(versions.join("r020_x.py")).unwrap();
    fs::rename(versions.join("r025_x.py"), versions.join("r025_y.py")).unwrap();
    let hits = agree("after edits");
    assert!(hits.iter().any(|l| l.contains("misses")), "{hits:?}");
    fs::write(
        cache.read_dir().unwrap().next().unwrap().unwrap().path(),
        b"junk",
    )
    .unwrap();
    agree("corrupt cache file");
}
