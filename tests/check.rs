//! Every diagnostic `migscope check` reports, each on a small project that shows it, through the
//! real binary. Also the exit-status contract and the bundled demo.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::create_dir_all(dir.path().join("versions")).unwrap();
        Project { dir }
    }

    fn versions(&self) -> PathBuf {
        self.dir.path().join("versions")
    }

    fn file(&self, name: &str, body: &str) -> &Self {
        fs::write(self.versions().join(name), body).unwrap();
        self
    }

    /// A revision file in the shape Alembic's template writes.
    fn rev(&self, id: &str, down: &str) -> &Self {
        self.rev_with(id, down, "")
    }

    fn rev_with(&self, id: &str, down: &str, extra: &str) -> &Self {
        let revises = down
            .trim_matches(|c| "()'\" ".contains(c))
            .replace("', '", ", ");
        let revises = if down == "None" {
            String::new()
        } else {
            revises
        };
        let body = format!(
            "\"\"\"rev {id}\n\nRevision ID: {id}\nRevises: {revises}\nCreate Date: 2024-01-01 00:00:00\n\n\"\"\"\nfrom alembic import op\n\nrevision = '{id}'\ndown_revision = {down}\n{extra}\n\ndef upgrade():\n    pass\n\n\ndef downgrade():\n    pass\n"
        );
        self.file(&format!("{id}_rev.py"), &body)
    }

    fn check(&self, extra: &[&str]) -> (i32, Value) {
        run_check(
            self.dir.path(),
            &["--dir", self.versions().to_str().unwrap()],
            extra,
        )
    }
}

fn run_check(cwd: &Path, args: &[&str], extra: &[&str]) -> (i32, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_migscope"))
        .current_dir(cwd)
        .args(args)
        .args(extra)
        .args(["check", "--format", "json"])
        .output()
        .expect("run migscope");
    let json: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "bad JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), json)
}

/// The diagnostics with this code, as (severity, revision, line).
fn found(json: &Value, code: &str) -> Vec<(String, Option<String>, Option<u64>)> {
    json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == code)
        .map(|d| {
            (
                d["severity"].as_str().unwrap().to_string(),
                d["revision"].as_str().map(String::from),
                d["line"].as_u64(),
            )
        })
        .collect()
}

fn codes(json: &Value) -> Vec<String> {
    json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn clean_linear_history_has_no_findings_and_exits_0() {
    let p = Project::new();
    p.rev("aaaa0001", "None").rev("bbbb0002", "'aaaa0001'");
    let (code, json) = p.check(&[]);
    assert_eq!(code, 0, "{json}");
    assert!(codes(&json).is_empty(), "{json}");
}

#[test]
fn two_heads_are_an_error_on_each_head() {
    let p = Project::new();
    p.rev("aaaa0001", "None")
        .rev("bbbb0002", "'aaaa0001'")
        .rev("cccc0003", "'aaaa0001'");
    let (code, json) = p.check(&[]);
    assert_eq!(code, 1);
    let heads = found(&json, "multiple-heads");
    assert_eq!(heads.len(), 2);
    assert!(
        heads
            .iter()
            .all(|(s, _, line)| s == "error" && line.is_some())
    );
}

#[test]
fn declared_branches_make_multiple_heads_expected() {
    let p = Project::new();
    p.rev("aaaa0001", "None")
        .rev_with("bbbb0002", "'aaaa0001'", "branch_labels = ('expand',)")
        .rev_with("cccc0003", "'aaaa0001'", "branch_labels = ('contract',)");
    let (code, json) = p.check(&["--branches", "expand,contract"]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(found(&json, "multiple-heads")[0].0, "info");
}

#[test]
fn unlabelled_second_base_is_an_error_and_labelled_one_a_warning() {
    let p = Project::new();
    p.rev("aaaa0001", "None")
        .rev("bbbb0002", "'aaaa0001'")
        .rev("cccc0003", "'bbbb0002'")
        .rev("orph0001", "None");
    let (_, json) = p.check(&[]);
    assert_eq!(
        found(&json, "orphan-base"),
        vec![("error".into(), Some("orph0001".into()), Some(11))]
    );

    let q = Project::new();
    q.rev("aaaa0001", "None")
        .rev("bbbb0002", "'aaaa0001'")
        .rev_with(
            "add_system_settings",
            "None",
            "branch_labels = ('system_settings',)",
        );
    let (_, json) = q.check(&[]);
    let orphan = found(&json, "orphan-base");
    assert_eq!(orphan.len(), 1);
    assert_eq!(orphan[0].0, "warning");
    assert_eq!(orphan[0].1.as_deref(), Some("add_system_settings"));
}

#[test]
fn missing_parent_points_at_the_down_revision_line() {
    let p = Project::new();
    p.rev("aaaa0001", "None").rev("cccc0003", "'b90dd01ef204'");
    let (code, json) = p.check(&[]);
    assert_eq!(code, 1);
    assert_eq!(
        found(&json, "missing-parent"),
        vec![("error".into(), Some("cccc0003".into()), Some(11))]
    );
}

#[test]
fn missing_dependency_is_reported() {
    let p = Project::new();
    p.rev("aaaa0001", "None")
        .rev_with("bbbb0002", "'aaaa0001'", "depends_on = 'nowhere1'");
    let (_, json) = p.check(&[]);
    assert_eq!(found(&json, "missing-dependency").len(), 1);
}

#[test]
fn branch_label_as_down_revision_is_reported() {
    let p = Project::new();
    p.rev_with("aaaa0001", "None", "branch_labels = 'core'")
        .rev("bbbb0002", "'core'");
    let (_, json) = p.check(&[]);
    assert_eq!(found(&json, "label-as-parent").len(), 1, "{json}");
}

#[test]
fn duplicate_revision_ids_are_reported_for_each_file() {
    let p = Project::new();
    p.rev("aaaa0001", "None").rev("bbbb0002", "'aaaa0001'");
    p.file(
        "zz_copy.py",
        "revision = 'bbbb0002'\ndown_revision = 'aaaa0001'\n",
    );
    let (_, json) = p.check(&[]);
    assert_eq!(found(&json, "duplicate-revision").len(), 2);
}

#[test]
fn cycles_and_self_references_are_reported() {
    let p = Project::new();
    p.rev("aaaa0001", "None")
        .rev("bbbb0002", "('aaaa0001', 'cccc0003')")
        .rev("cccc0003", "'bbbb0002'")
        .rev("dddd0004", "'dddd0004'");
    let (code, json) = p.check(&[]);
    assert_eq!(code, 1);
    let cycle = found(&json, "cycle");
    assert_eq!(cycle.len(), 1, "{json}");
    assert_eq!(
        found(&json, "self-reference"),
        vec![("error".into(), Some("dddd0004".into()), Some(11))]
    );
}

#[test]
fn labels_clashing_with_labels_or_ids_are_reported() {
    let p = Project::new();
    p.rev_with("aaaa0001", "None", "branch_labels = ('core',)")
        .rev_with(
            "bbbb0002",
            "'aaaa0001'",
            "branch_labels = ['core', 'aaaa0001']",
        );
    let (_, json) = p.check(&[]);
    assert_eq!(found(&json, "duplicate-label").len(), 1, "{json}");
    assert_eq!(found(&json, "label-is-revision-id").len(), 1, "{json}");
}

#[test]
fn files_alembic_cannot_load_are_errors() {
    let p = Project::new();
    p.rev("aaaa0001", "None");
    p.file("_helpers.py", "def helper():\n    return 1\n");
    p.file("bbbb0002_x.py", "revision = 'bbbb0002'\n");
    p.file(
        "cccc0003_x.py",
        "revision = 'cccc0003'\ndown_revision = get_down('aaaa0001')\n",
    );
    p.file(
        "dddd0004_x.py",
        "revision = 'dddd0004'\ndown_revision = 5\n",
    );
    let (code, json) = p.check(&[]);
    assert_eq!(code, 1);
    assert_eq!(found(&json, "missing-revision-id").len(), 1, "{json}");
    assert_eq!(found(&json, "missing-down-revision").len(), 1, "{json}");
    let nonlit = found(&json, "non-literal-identifier");
    assert_eq!(nonlit.len(), 1, "{json}");
    assert_eq!(nonlit[0].2, Some(2));
    assert_eq!(found(&json, "bad-identifier-type").len(), 1, "{json}");
}

#[test]
fn long_ids_docstring_and_file_name_disagreements_are_warnings() {
    let p = Project::new();
    p.rev("aaaa0001", "None");
    let long = "a_revision_id_that_is_longer_than_32_chars";
    p.rev(long, "'aaaa0001'");
    p.file(
        "bbbbbbbb1234_wrong.py",
        "\"\"\"x\n\nRevises: aaaa0001\n\"\"\"\nrevision = 'cccc0003'\ndown_revision = 'a_revision_id_that_is_longer_than_32_chars'\n",
    );
    let (code, json) = p.check(&[]);
    assert_eq!(code, 0, "only warnings: {json}");
    assert_eq!(found(&json, "long-revision-id")[0].1.as_deref(), Some(long));
    assert_eq!(
        found(&json, "revises-mismatch"),
        vec![("warning".into(), Some("cccc0003".into()), Some(3))]
    );
    assert_eq!(found(&json, "filename-mismatch").len(), 1, "{json}");
}

#[test]
fn a_head_only_depended_upon_is_an_effective_head() {
    let p = Project::new();
    p.rev("aaaa0001", "None")
        .rev("bbbb0002", "'aaaa0001'")
        .rev_with("cccc0003", "'aaaa0001'", "depends_on = 'bbbb0002'");
    let (_, json) = p.check(&[]);
    assert_eq!(
        found(&json, "effective-head"),
        vec![("warning".into(), Some("bbbb0002".into()), Some(10))]
    );
}

#[test]
fn unparsable_files_still_yield_their_ids_with_a_warning() {
    let p = Project::new();
    p.rev("aaaa0001", "None");
    p.file(
        "bbbb0002_new_syntax.py",
        "revision = 'bbbb0002'\ndown_revision = 'aaaa0001'\n\ndef upgrade(:\n    pass\n",
    );
    let (code, json) = p.check(&[]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(found(&json, "unparsable-file").len(), 1, "{json}");
    assert_eq!(json["heads"], serde_json::json!(["bbbb0002"]));
}

#[test]
fn conditional_assignments_and_bad_encodings_are_warnings() {
    let p = Project::new();
    p.rev("aaaa0001", "None");
    p.file(
        "bbbb0002_x.py",
        "revision = 'bbbb0002'\ndown_revision = 'aaaa0001'\nif True:\n    depends_on = 'aaaa0001'\n",
    );
    fs::write(
        p.versions().join("cccc0003_x.py"),
        b"# caf\xe9\nrevision = 'cccc0003'\ndown_revision = 'bbbb0002'\n",
    )
    .unwrap();
    let (_, json) = p.check(&[]);
    assert_eq!(found(&json, "conditional-identifier").len(), 1, "{json}");
    assert_eq!(found(&json, "not-utf8").len(), 1, "{json}");
    assert_eq!(json["heads"], serde_json::json!(["cccc0003"]));
}

#[test]
fn a_directory_listed_twice_is_loaded_once_with_a_warning() {
    let p = Project::new();
    p.rev("aaaa0001", "None");
    let v = p.versions();
    let v = v.to_str().unwrap();
    let (_, json) = run_check(p.dir.path(), &["--dir", v, "--dir", v], &[]);
    assert_eq!(found(&json, "file-loaded-twice").len(), 1, "{json}");
    assert_eq!(json["revisions"], 1);
}

#[test]
fn github_format_prints_workflow_annotations() {
    let p = Project::new();
    p.rev("aaaa0001", "None").rev("cccc0003", "'gone0002'");
    let out = Command::new(env!("CARGO_BIN_EXE_migscope"))
        .args([
            "--dir",
            p.versions().to_str().unwrap(),
            "check",
            "--format",
            "github",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("::error file="), "{text}");
    assert!(text.contains(",line=11,"), "{text}");
}

#[test]
fn missing_project_is_a_usage_error_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_migscope"))
        .current_dir(dir.path())
        .env_remove("ALEMBIC_CONFIG")
        .arg("heads")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("error:"));
}

#[test]
fn the_demo_shows_the_seeds_problems() {
    let (code, json) = run_check(Path::new(env!("CARGO_MANIFEST_DIR")), &["--demo"], &[]);
    assert_eq!(code, 1);
    assert_eq!(
        json["heads"],
        serde_json::json!(["a9b8c7d6e5f4", "add_sync_status_to_rich_menus"])
    );
    assert_eq!(json["revisions"], 11);
    let heads = found(&json, "multiple-heads");
    assert_eq!(heads.len(), 2);
    let orphan = found(&json, "orphan-base");
    assert_eq!(
        orphan,
        vec![(
            "warning".into(),
            Some("add_system_settings".into()),
            orphan[0].2
        )]
    );
    assert_eq!(json["errors"], 2, "{json}");
}
