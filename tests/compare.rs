//! `migscope compare` and `migscope check --against`, through the real binary, on checkouts built
//! in temporary directories: CRLF/BOM copies, missing files, edited graph identifiers, renames,
//! two git branches that each add a revision, and the sync plan applied.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

/// A revision file in the shape Alembic's template writes.
fn rev_body(id: &str, down: Option<&str>, body: &str) -> String {
    let (down_lit, revises) = match down {
        Some(d) => (format!("'{d}'"), d.to_string()),
        None => ("None".to_string(), String::new()),
    };
    format!(
        "\"\"\"rev {id}\n\nRevision ID: {id}\nRevises: {revises}\nCreate Date: 2024-01-01 00:00:00\n\n\"\"\"\nfrom alembic import op\n\nrevision = '{id}'\ndown_revision = {down_lit}\nbranch_labels = None\ndepends_on = None\n\n\ndef upgrade():\n    {body}\n\n\ndef downgrade():\n    pass\n"
    )
}

/// A project directory: `alembic.ini` + `migrations/versions`.
struct Checkout {
    root: PathBuf,
}

impl Checkout {
    fn new(parent: &Path, name: &str) -> Checkout {
        let root = parent.join(name);
        fs::create_dir_all(root.join("migrations/versions")).unwrap();
        fs::write(
            root.join("alembic.ini"),
            "[alembic]\nscript_location = %(here)s/migrations\n",
        )
        .unwrap();
        Checkout { root }
    }

    fn versions(&self) -> PathBuf {
        self.root.join("migrations/versions")
    }

    fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> &Self {
        fs::write(self.versions().join(name), bytes).unwrap();
        self
    }

    fn rev(&self, id: &str, down: Option<&str>) -> &Self {
        self.write(&format!("{id}_rev.py"), rev_body(id, down, "pass"))
    }

    /// The same three-revision history in every checkout.
    fn base_history(&self) -> &Self {
        self.rev("aaa001", None)
            .rev("bbb002", Some("aaa001"))
            .rev("ccc003", Some("bbb002"))
    }

    fn read(&self, name: &str) -> Vec<u8> {
        fs::read(self.versions().join(name)).unwrap()
    }

    fn arg(&self) -> &str {
        self.root.to_str().unwrap()
    }
}

fn migscope(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_migscope"))
        .current_dir(cwd)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run migscope")
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "bad JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn compare_json(cwd: &Path, left: &str, right: &str, extra: &[&str]) -> (i32, Value) {
    let mut args = vec!["compare", left, right, "--format", "json"];
    args.extend_from_slice(extra);
    let out = migscope(cwd, &args);
    (out.status.code().unwrap_or(-1), json(&out))
}

fn entry<'a>(v: &'a Value, rev: &str) -> &'a Value {
    v["revisions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["revision"] == rev)
        .unwrap_or_else(|| panic!("no entry for {rev} in {v:#}"))
}

fn strs(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn crlf_bom_and_trailing_whitespace_copies_are_harmless() {
    let tmp = tempfile::tempdir().unwrap();
    let (l, r) = (
        Checkout::new(tmp.path(), "linux"),
        Checkout::new(tmp.path(), "windows"),
    );
    l.base_history();
    r.base_history();
    // What a Windows editor does to the files.
    let crlf = String::from_utf8(l.read("aaa001_rev.py"))
        .unwrap()
        .replace('\n', "\r\n");
    let mut bom = b"\xef\xbb\xbf".to_vec();
    bom.extend_from_slice(crlf.as_bytes());
    r.write("aaa001_rev.py", &bom);
    let ws = String::from_utf8(l.read("bbb002_rev.py"))
        .unwrap()
        .replace("pass\n", "pass   \n");
    r.write("bbb002_rev.py", ws);

    let (code, v) = compare_json(tmp.path(), l.arg(), r.arg(), &[]);
    assert_eq!(code, 0, "cosmetic differences only: {v:#}");
    assert_eq!(v["counts"]["identical"], 1);
    assert_eq!(v["counts"]["eol_only"], 2);
    let a = entry(&v, "aaa001");
    assert_eq!(a["status"], "eol_only");
    assert_eq!(strs(&a["cosmetic"]), ["bom", "line-endings"]);
    assert_eq!(
        strs(&entry(&v, "bbb002")["cosmetic"]),
        ["trailing-whitespace"]
    );
    // Nothing to copy unless asked.
    assert!(v["sync"]["actions"].as_array().unwrap().is_empty());
    assert_eq!(v["sync"]["harmless"].as_array().unwrap().len(), 2);
    assert_eq!(strs(&v["union"]["heads"]), ["ccc003"]);

    let text = migscope(tmp.path(), &["compare", l.arg(), r.arg()]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("harmless: the WSL/Windows case"), "{text}");
    assert!(
        text.contains("byte order mark, line endings (CRLF/LF)"),
        "{text}"
    );
}

#[test]
fn a_file_missing_on_one_side_is_unknown_to_it() {
    let tmp = tempfile::tempdir().unwrap();
    let (l, r) = (
        Checkout::new(tmp.path(), "left"),
        Checkout::new(tmp.path(), "right"),
    );
    l.base_history().rev("ddd004", Some("ccc003"));
    r.base_history();

    let (code, v) = compare_json(tmp.path(), l.arg(), r.arg(), &[]);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(entry(&v, "ddd004")["status"], "only_left");
    assert_eq!(strs(&v["unknown_to_right"]), ["ddd004"]);
    assert!(strs(&v["unknown_to_left"]).is_empty());
    assert_eq!(strs(&v["left"]["heads"]), ["ddd004"]);
    assert_eq!(strs(&v["right"]["heads"]), ["ccc003"]);
    assert_eq!(strs(&v["union"]["heads"]), ["ddd004"]);
    assert_eq!(v["union"]["errors"], 0);
    let actions = v["sync"]["actions"].as_array().unwrap();
    assert_eq!(actions.len(), 1);
    assert_eq!(actions[0]["to"], "right");
    assert_eq!(
        actions[0]["target"].as_str().unwrap(),
        r.versions().join("ddd004_rev.py").to_str().unwrap()
    );

    let text = migscope(tmp.path(), &["compare", l.arg(), r.arg()]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("A database upgraded with LEFT to ddd004 is unknown to RIGHT"),
        "{text}"
    );
}

#[test]
fn an_edited_down_revision_is_a_graph_difference_with_a_diff() {
    let tmp = tempfile::tempdir().unwrap();
    let (l, r) = (
        Checkout::new(tmp.path(), "left"),
        Checkout::new(tmp.path(), "right"),
    );
    l.base_history();
    r.base_history();
    // Someone "rebased" ccc003 onto aaa001 on the right.
    r.write("ccc003_rev.py", rev_body("ccc003", Some("aaa001"), "pass"));
    // And edited bbb002's upgrade without touching the graph.
    r.write(
        "bbb002_rev.py",
        rev_body("bbb002", Some("aaa001"), "op.add_column('t', None)"),
    );

    let (code, v) = compare_json(tmp.path(), l.arg(), r.arg(), &["--diff"]);
    assert_eq!(code, 1);
    let c = entry(&v, "ccc003");
    assert_eq!(c["status"], "graph_differs");
    assert_eq!(c["graph"][0]["field"], "down_revision");
    assert_eq!(strs(&c["graph"][0]["left"]), ["bbb002"]);
    assert_eq!(strs(&c["graph"][0]["right"]), ["aaa001"]);
    assert_eq!(entry(&v, "bbb002")["status"], "content_differs");
    // Differing files are conflicts, never copied.
    assert!(v["sync"]["actions"].as_array().unwrap().is_empty());
    let conflicts = v["sync"]["conflicts"].as_array().unwrap();
    assert_eq!(conflicts.len(), 2);
    let diff = v["diffs"]["ccc003"].as_str().unwrap();
    assert!(
        diff.contains("-down_revision = 'bbb002'\n+down_revision = 'aaa001'\n"),
        "{diff}"
    );
    assert!(diff.contains("@@ "), "{diff}");
    let diff = v["diffs"]["bbb002"].as_str().unwrap();
    assert!(diff.contains("+    op.add_column('t', None)"), "{diff}");

    // `--diff REV` (after the sides) shows one revision, by unique prefix too.
    let out = migscope(tmp.path(), &["compare", l.arg(), r.arg(), "--diff", "ccc"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("diff ccc003:"), "{text}");
    assert!(!text.contains("diff bbb002:"), "{text}");
    assert!(
        text.contains("down_revision (bbb002) on LEFT, (aaa001) on RIGHT"),
        "{text}"
    );
    let out = migscope(tmp.path(), &["compare", l.arg(), r.arg(), "--diff", "zzz"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no revision zzz"));
}

#[test]
fn a_renamed_file_is_the_same_revision() {
    let tmp = tempfile::tempdir().unwrap();
    let (l, r) = (
        Checkout::new(tmp.path(), "left"),
        Checkout::new(tmp.path(), "right"),
    );
    l.base_history();
    r.rev("aaa001", None).rev("bbb002", Some("aaa001"));
    r.write(
        "ccc003_renamed_on_the_right.py",
        rev_body("ccc003", Some("bbb002"), "pass"),
    );
    let (code, v) = compare_json(tmp.path(), l.arg(), r.arg(), &[]);
    assert_eq!(code, 0, "a rename alone is harmless: {v:#}");
    let c = entry(&v, "ccc003");
    assert_eq!(c["status"], "identical");
    assert_eq!(c["renamed"], true);
    assert_eq!(c["left"]["name"], "ccc003_rev.py");
    assert_eq!(c["right"]["name"], "ccc003_renamed_on_the_right.py");
    assert_eq!(v["counts"]["renamed"], 1);
    assert!(v["sync"]["actions"].as_array().unwrap().is_empty());
    assert!(
        v["sync"]["harmless"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("different file names")
    );
}

#[test]
fn a_bare_versions_directory_compares_with_its_project() {
    let tmp = tempfile::tempdir().unwrap();
    let l = Checkout::new(tmp.path(), "project");
    l.base_history();
    let copy = tmp.path().join("rsynced_versions");
    fs::create_dir_all(&copy).unwrap();
    for e in fs::read_dir(l.versions()).unwrap() {
        let e = e.unwrap();
        fs::copy(e.path(), copy.join(e.file_name())).unwrap();
    }
    let (code, v) = compare_json(tmp.path(), l.arg(), copy.to_str().unwrap(), &[]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["counts"]["identical"], 3);
    assert_eq!(v["right"]["source"]["kind"], "directory");
    assert!(v["right"]["source"]["config"].is_null());
    assert!(
        v["left"]["source"]["config"]
            .as_str()
            .unwrap()
            .ends_with("alembic.ini")
    );
}

#[test]
fn bad_sides_are_usage_errors_that_name_the_side() {
    let tmp = tempfile::tempdir().unwrap();
    let l = Checkout::new(tmp.path(), "left");
    l.base_history();
    let out = migscope(tmp.path(), &["compare", l.arg(), "nowhere"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("RIGHT side nowhere"), "{err}");
    assert!(err.contains("git:nowhere"), "suggests the git form: {err}");

    let empty = tmp.path().join("empty");
    fs::create_dir_all(&empty).unwrap();
    let out = migscope(tmp.path(), &["compare", empty.to_str().unwrap(), l.arg()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("LEFT side"), "{err}");
    assert!(err.contains("neither an Alembic project"), "{err}");
}

#[test]
fn the_sync_plan_applied_leaves_the_sides_equal_and_backs_up_what_it_replaced() {
    let tmp = tempfile::tempdir().unwrap();
    let (l, r) = (
        Checkout::new(tmp.path(), "wsl"),
        Checkout::new(tmp.path(), "windows"),
    );
    l.base_history().rev("ddd004", Some("ccc003"));
    r.base_history();
    r.write("eee005_rev.py", rev_body("eee005", Some("ccc003"), "pass"));
    let crlf = String::from_utf8(l.read("bbb002_rev.py"))
        .unwrap()
        .replace('\n', "\r\n");
    r.write("bbb002_rev.py", &crlf);
    let before_left: Vec<_> = fs::read_dir(l.versions()).unwrap().collect();

    // Without a terminal and without --yes: refuse, change nothing.
    let out = migscope(
        tmp.path(),
        &["compare", l.arg(), r.arg(), "--apply", "--include-eol"],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("add --yes"), "{err}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Sync plan:"),
        "the plan is printed before refusing"
    );
    assert_eq!(
        fs::read_dir(l.versions()).unwrap().count(),
        before_left.len()
    );
    assert_eq!(r.read("bbb002_rev.py"), crlf.as_bytes());

    let out = migscope(
        tmp.path(),
        &[
            "compare",
            l.arg(),
            r.arg(),
            "--apply",
            "--yes",
            "--include-eol",
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("copy LEFT -> RIGHT  ddd004"), "{text}");
    assert!(text.contains("copy RIGHT -> LEFT  eee005"), "{text}");
    assert!(text.contains("replace LEFT -> RIGHT  bbb002"), "{text}");

    let (code, v) = compare_json(tmp.path(), l.arg(), r.arg(), &[]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["counts"]["identical"], 5, "{v:#}");
    assert!(v["revisions"].as_array().unwrap().is_empty(), "{v:#}");
    // The two added revisions are now two heads on both sides: that is for a merge, not a copy.
    assert_eq!(strs(&v["union"]["heads"]).len(), 2);

    let backups: Vec<PathBuf> = fs::read_dir(r.versions())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains(".migscope-bak-"))
        .collect();
    assert_eq!(backups.len(), 1, "{backups:?}");
    assert!(
        backups[0]
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("bbb002_rev.py.migscope-bak-")
    );
    assert_eq!(fs::read(&backups[0]).unwrap(), crlf.as_bytes());
    // No temporary file left behind, and the backup is not a revision file.
    for dir in [l.versions(), r.versions()] {
        for e in fs::read_dir(dir).unwrap() {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            assert!(!name.contains("migscope-tmp"), "{name}");
        }
    }
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .current_dir(dir)
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .output()
        .expect("git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn two_git_branches_that_each_add_a_revision_merge_into_two_heads() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = Checkout::new(tmp.path(), "repo");
    let dir = repo.root.clone();
    repo.base_history();
    git(&dir, &["init", "-q"]);
    git(&dir, &["checkout", "-q", "-b", "main"]);
    git(&dir, &["add", "-A"]);
    git(&dir, &["commit", "-q", "-m", "base"]);
    git(&dir, &["checkout", "-q", "-b", "feature"]);
    repo.rev("fff100", Some("ccc003"));
    git(&dir, &["add", "-A"]);
    git(&dir, &["commit", "-q", "-m", "feature adds a revision"]);
    git(&dir, &["checkout", "-q", "main"]);
    repo.rev("mmm200", Some("ccc003"));
    git(&dir, &["add", "-A"]);
    git(&dir, &["commit", "-q", "-m", "main adds a revision"]);

    // Each side alone is clean.
    let out = migscope(&dir, &["check"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    git(&dir, &["checkout", "-q", "feature"]);
    let out = migscope(&dir, &["check"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // Read from git objects: main is not checked out, and stays so.
    let (code, v) = compare_json(&dir, "git:main", "git:feature", &[]);
    assert_eq!(code, 1);
    assert_eq!(v["left"]["source"]["kind"], "git");
    assert_eq!(v["left"]["source"]["reference"], "main");
    assert_eq!(v["left"]["revisions"], 4);
    assert_eq!(strs(&v["unknown_to_right"]), ["mmm200"]);
    assert_eq!(strs(&v["unknown_to_left"]), ["fff100"]);
    assert_eq!(strs(&v["union"]["heads"]), ["mmm200", "fff100"]);
    assert!(v["union"]["errors"].as_u64().unwrap() >= 2);
    assert!(
        entry(&v, "mmm200")["left"]["path"]
            .as_str()
            .unwrap()
            .starts_with("main:migrations/versions/")
    );
    assert!(!repo.versions().join("mmm200_rev.py").exists());

    // The working tree against a git ref, and the CI check.
    let (_, v) = compare_json(&dir, "git:main", ".", &[]);
    assert_eq!(strs(&v["union"]["heads"]), ["mmm200", "fff100"]);
    let out = migscope(
        &dir,
        &["check", "--against", "git:main", "--format", "json"],
    );
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    assert_eq!(strs(&v["heads"]), ["mmm200", "fff100"]);
    assert_eq!(strs(&v["only_here"]), ["fff100"]);
    assert!(
        v["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["code"] == "multiple-heads" && d["severity"] == "error")
    );
    let out = migscope(&dir, &["check", "--against", "git:main"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("merged with git:main: 5 revisions, 2 heads"),
        "{text}"
    );
    let out = migscope(
        &dir,
        &["check", "--against", "git:main", "--format", "github"],
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("::error "));

    // Against itself (or an ancestor) the union is clean.
    let out = migscope(&dir, &["check", "--against", "git:feature"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = migscope(&dir, &["check", "--against", "git:HEAD~1"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // Clear errors for a bad ref, a missing prefix, and --apply on git.
    let out = migscope(&dir, &["compare", "git:nope", "git:main"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("`nope` is not a commit"));
    let out = migscope(&dir, &["check", "--against", "main"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("write git:main"));
    let out = migscope(&dir, &["compare", "git:main", ".", "--apply", "--yes"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("read-only"));
}

/// Through the record cache (forced on for these small sides), a comparison says exactly what
/// it says without it, also after a file changes on one side.
#[test]
fn the_cache_never_changes_a_comparison() {
    let tmp = tempfile::tempdir().unwrap();
    let (l, r) = (
        Checkout::new(tmp.path(), "linux"),
        Checkout::new(tmp.path(), "windows"),
    );
    l.base_history();
    r.base_history();
    let crlf = String::from_utf8(l.read("aaa001_rev.py"))
        .unwrap()
        .replace('\n', "\r\n");
    r.write("aaa001_rev.py", crlf);
    let cache = tmp.path().join("cache");
    let run = |cached: bool| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_migscope"));
        cmd.current_dir(tmp.path())
            .args(["compare", l.arg(), r.arg(), "--format", "json"])
            .env("MIGSCOPE_CACHE_MIN_FILES", "1")
            .stdin(Stdio::null());
        if cached {
            cmd.env("MIGSCOPE_CACHE_DIR", &cache);
        } else {
            cmd.env("MIGSCOPE_NO_CACHE", "1");
        }
        json(&cmd.output().unwrap())
    };
    // Files younger than the settle time are never cached.
    std::thread::sleep(std::time::Duration::from_millis(2200));
    let fresh = run(false);
    assert_eq!(run(true), fresh);
    assert_eq!(run(true), fresh);
    assert!(
        fs::read_dir(&cache).unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with("compare-")),
        "the comparison did not use the cache"
    );
    let edited = String::from_utf8(r.read("bbb002_rev.py"))
        .unwrap()
        .replace("pass\n", "op.drop_table('t')\n");
    r.write("bbb002_rev.py", edited);
    let fresh = run(false);
    assert_eq!(entry(&fresh, "bbb002")["status"], "content_differs");
    assert_eq!(run(true), fresh);
}
