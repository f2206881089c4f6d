//! Graph fixes (`migscope fix merge|reparent|restore`, and `undo` of them) through the real
//! binary on temporary copies, each result read back by the real Alembic from the test venv.

mod db_support;
mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use support::cli::migscope_bin;
use support::process::{Out, copy_dir, output};
use support::venv;

/// A project in a temp dir (`proj/alembic.ini`, `proj/migrations/versions`) and a state dir.
struct MergedPair {
    ours_path: PathBuf,
    theirs_path: PathBuf,
    ours: BTreeMap<PathBuf, Vec<u8>>,
    theirs: BTreeMap<PathBuf, Vec<u8>>,
}

struct Sandbox {
    tmp: tempfile::TempDir,
    /// `TZ` for both tools: dates in new files are local time.
    tz: &'static str,
}

impl Sandbox {
    fn empty() -> Sandbox {
        let tmp = tempfile::Builder::new()
            .prefix("migscope-fix-")
            .tempdir()
            .unwrap();
        Sandbox { tmp, tz: "UTC" }
    }

    /// A copy of the bundled demo (project files and database).
    fn demo() -> Sandbox {
        let sb = Sandbox::empty();
        copy_dir(&venv::repo_root().join("assets/demo"), &sb.proj());
        sb
    }

    /// A minimal Alembic project holding `files` (name, bytes) as its revisions.
    fn with_files(files: &[(&str, &[u8])]) -> Sandbox {
        let sb = Sandbox::empty();
        std::fs::create_dir_all(sb.versions()).unwrap();
        std::fs::write(
            sb.ini(),
            "[alembic]\nscript_location = %(here)s/migrations\n",
        )
        .unwrap();
        for (name, bytes) in files {
            std::fs::write(sb.versions().join(name), bytes).unwrap();
        }
        sb
    }

    fn proj(&self) -> PathBuf {
        self.tmp.path().join("proj")
    }
    fn ini(&self) -> PathBuf {
        self.proj().join("alembic.ini")
    }
    fn versions(&self) -> PathBuf {
        self.proj().join("migrations/versions")
    }
    fn state(&self) -> PathBuf {
        self.tmp.path().join("state")
    }

    fn migscope(&self, args: &[&str]) -> Out {
        output(
            Command::new(migscope_bin())
                .arg("-c")
                .arg(self.ini())
                .args(args)
                .env("NO_COLOR", "1")
                .env("MIGSCOPE_STATE_DIR", self.state())
                .env("TZ", self.tz)
                .env_remove("DATABASE_URL")
                .env_remove("MIGSCOPE_DATABASE_URL")
                .current_dir(self.tmp.path()),
        )
    }

    /// Adds `lines` to alembic.ini's `[alembic]` section.
    fn add_options(&self, lines: &str) {
        let ini = std::fs::read_to_string(self.ini()).unwrap();
        let ini = ini.replacen("[alembic]\n", &format!("[alembic]\n{lines}"), 1);
        std::fs::write(self.ini(), ini).unwrap();
    }

    /// `fix merge` here and `alembic merge` in `theirs` (a copy), with the same message and
    /// id: the file each wrote, and the two projects afterwards.
    fn merge_beside(&self, theirs: &Sandbox, message: &str) -> MergedPair {
        let before = self.snapshot();
        let id = "0a1b2c3d4e5f";
        self.ok(&["fix", "merge", "-m", message, "--rev-id", id, "--yes"]);
        let out = theirs.alembic(&["merge", "-m", message, "--rev-id", id, "heads"]);
        assert_eq!(out.code, Some(0), "alembic merge: {out:?}");
        let (ours, theirs) = (self.snapshot(), theirs.snapshot());
        MergedPair {
            ours_path: new_file(&before, &ours),
            theirs_path: new_file(&before, &theirs),
            ours,
            theirs,
        }
    }

    /// Succeeds or panics with the output.
    fn ok(&self, args: &[&str]) -> Out {
        let out = self.migscope(args);
        assert_eq!(out.code, Some(0), "migscope {args:?}: {out:?}");
        out
    }

    /// `fix reparent REV --onto ONTO --yes EXTRA...`.
    fn reparent(&self, rev: &str, onto: &str, extra: &[&str]) -> Out {
        let mut args = vec!["fix", "reparent", rev, "--onto", onto, "--yes"];
        args.extend(extra);
        self.migscope(&args)
    }

    fn alembic(&self, args: &[&str]) -> Out {
        output(
            Command::new(venv::alembic_python())
                .args(["-m", "alembic", "-c"])
                .arg(self.ini())
                .args(args)
                .env("PYTHONDONTWRITEBYTECODE", "1")
                .env("TZ", self.tz)
                .current_dir(self.tmp.path()),
        )
    }

    /// Every file under the project, by relative path.
    fn snapshot(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        let mut out = BTreeMap::new();
        snapshot_into(&self.proj(), &self.proj(), &mut out);
        out
    }

    fn journal_actions(&self) -> Vec<String> {
        std::fs::read_to_string(self.state().join("journal.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                v["action"].as_str().unwrap().to_string()
            })
            .collect()
    }
}

fn snapshot_into(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let path = entry.path();
        if entry.file_name() == "__pycache__" {
            continue;
        }
        if entry.file_type().unwrap().is_dir() {
            snapshot_into(root, &path, out);
        } else {
            let rel = path.strip_prefix(root).unwrap().to_path_buf();
            out.insert(rel, std::fs::read(&path).unwrap());
        }
    }
}

/// The ids `alembic heads` prints, in its order.
fn alembic_heads(sb: &Sandbox) -> Vec<String> {
    let out = sb.alembic(&["heads"]);
    assert_eq!(out.code, Some(0), "alembic heads: {out:?}");
    out.stdout
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

/// Succeeds or panics with the output.
fn ok(out: Out) -> Out {
    assert_eq!(out.code, Some(0), "{out:?}");
    out
}

/// migscope and the real Alembic agree on heads and on `history`, line for line.
fn assert_alembic_agrees(sb: &Sandbox) -> Vec<String> {
    let heads = alembic_heads(sb);
    let ours: Vec<String> = sb
        .ok(&["heads"])
        .stdout
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(ours, heads, "heads");
    let theirs = sb.alembic(&["history"]);
    assert_eq!(theirs.code, Some(0), "alembic history: {theirs:?}");
    assert_eq!(sb.ok(&["history"]).stdout, theirs.stdout, "history");
    heads
}

/// The revisions `alembic upgrade heads --sql` runs, in order (its `-- Running upgrade` lines).
fn alembic_upgrade_order(sb: &Sandbox) -> Vec<String> {
    let out = sb.alembic(&["upgrade", "heads", "--sql"]);
    assert_eq!(out.code, Some(0), "alembic upgrade --sql: {out:?}");
    out.stdout
        .lines()
        .filter_map(|l| l.strip_prefix("-- Running upgrade "))
        .map(|l| l.rsplit(" -> ").next().unwrap().trim().to_string())
        .collect()
}

// ---- the seed's repair -----------------------------------------------------------------------

#[test]
fn seed_repair_through_migscope_commands_alone() {
    let sb = Sandbox::demo();
    let before = sb.snapshot();

    let out = ok(sb.reparent("add_system_settings", "cd2257cee794", &["--drop-label"]));
    for needle in [
        "-down_revision: Union[str, Sequence[str], None] = None",
        "+down_revision: Union[str, Sequence[str], None] = 'cd2257cee794'",
        "-branch_labels: Union[str, Sequence[str], None] = ('system_settings',)",
        "+branch_labels: Union[str, Sequence[str], None] = None",
        "+Revises: cd2257cee794",
        "Before:\n  heads: a9b8c7d6e5f4 add_sync_status_to_rich_menus",
        "Written:",
    ] {
        assert!(out.stdout.contains(needle), "missing {needle:?}: {out:?}");
    }
    // The database (the demo's, holding an unknown row) was consulted.
    assert!(out.stdout.contains("b90dd01ef204"), "{out:?}");

    ok(sb.reparent("add_sync_status_to_rich_menus", "f1a2b3c4d5e6", &[]));
    let out = sb.ok(&["fix", "merge", "-m", "merge heads", "--yes"]);
    assert!(out.stdout.contains("Read back from disk:"), "{out:?}");

    let heads = assert_alembic_agrees(&sb);
    assert_eq!(heads.len(), 1, "one head: {heads:?}");
    let merge = &heads[0];
    let show: serde_json::Value =
        serde_json::from_str(&sb.ok(&["show", merge, "--format", "json"]).stdout).unwrap();
    let mut down: Vec<String> =
        serde_json::from_value(show["revisions"][0]["revision"]["down_revision"].clone()).unwrap();
    down.sort();
    assert_eq!(
        down,
        [
            "a9b8c7d6e5f4",
            "add_sync_status_to_rich_menus",
            "add_system_settings"
        ],
        "{show}"
    );
    let bases = sb.ok(&["bases"]).stdout;
    assert_eq!(bases.trim(), "3f1c9a2b7d40");
    let check = sb.migscope(&["check"]);
    assert_eq!(check.code, Some(0), "{check:?}");

    // Alembic now creates rich_menus before altering it, and runs what migscope plans.
    let order = alembic_upgrade_order(&sb);
    let ours: Vec<String> = sb
        .ok(&["plan", "--to", "heads"])
        .stdout
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(ours, order);
    let pos = |id: &str| order.iter().position(|r| r == id).unwrap();
    assert!(pos("e3f4g5h6i7j8") < pos("add_sync_status_to_rich_menus"));
    assert!(pos("cd2257cee794") < pos("add_system_settings"));

    // Only the three files changed or appeared.
    let after = sb.snapshot();
    let changed: Vec<&PathBuf> = after
        .iter()
        .filter(|(p, b)| before.get(*p) != Some(*b))
        .map(|(p, _)| p)
        .collect();
    assert_eq!(changed.len(), 3, "{changed:?}");
    assert_eq!(sb.journal_actions(), ["fix", "fix", "fix"]);
}

/// Fails with the paths that differ (not the bytes).
fn assert_same(a: &BTreeMap<PathBuf, Vec<u8>>, b: &BTreeMap<PathBuf, Vec<u8>>, what: &str) {
    let differ: Vec<&PathBuf> = a
        .keys()
        .chain(b.keys())
        .filter(|k| a.get(*k) != b.get(*k))
        .collect();
    assert!(differ.is_empty(), "{what}: {differ:?} differ");
}

#[test]
fn undo_puts_every_file_back_exactly_and_redoes() {
    let sb = Sandbox::demo();
    let before = sb.snapshot();
    ok(sb.reparent("add_system_settings", "cd2257cee794", &["--drop-label"]));
    let reparented = sb.snapshot();
    let out = sb.ok(&["undo", "--yes"]);
    assert!(out.stdout.contains("Undoing the fix"), "{out:?}");
    assert_same(&sb.snapshot(), &before, "undo of the reparent");
    // Undoing the undo redoes, as for database changes.
    sb.ok(&["undo", "--yes"]);
    assert_same(&sb.snapshot(), &reparented, "redo of the reparent");

    sb.ok(&["fix", "merge", "--yes"]);
    assert_eq!(sb.snapshot().len(), before.len() + 1);
    sb.ok(&["undo", "--yes"]);
    assert_same(
        &sb.snapshot(),
        &reparented,
        "undo of the merge removes its file",
    );
    assert_eq!(sb.journal_actions(), ["fix", "undo", "undo", "fix", "undo"]);
    assert_alembic_agrees(&sb);

    // A file edited since the fix is not overwritten.
    sb.ok(&["undo", "--yes"]);
    let merge_file = new_file(&reparented, &sb.snapshot());
    std::fs::write(sb.proj().join(&merge_file), "# edited by hand\n").unwrap();
    let out = sb.migscope(&["undo", "--yes"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stderr.contains("changed since"), "{out:?}");
}

#[test]
fn demo_flag_works_on_a_copy() {
    let sb = Sandbox::empty();
    let bundled = venv::repo_root().join("assets/demo");
    let run = |args: &[&str]| {
        output(
            Command::new(migscope_bin())
                .arg("--demo")
                .args(args)
                .env("NO_COLOR", "1")
                .env("MIGSCOPE_STATE_DIR", sb.state())
                .current_dir(sb.tmp.path()),
        )
    };
    let out = run(&["fix", "merge", "--dry-run", "--format", "json"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let plan: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(plan["action"], "merge");
    assert_eq!(plan["after"]["heads"].as_array().unwrap().len(), 1);
    assert_eq!(plan["writes"][0]["change"], "create");
    assert!(
        !sb.state().join("demo").exists(),
        "a dry run copies nothing"
    );

    let out = run(&["fix", "merge", "--yes"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let copy = sb.state().join("demo/migrations/versions");
    assert_eq!(
        std::fs::read_dir(&copy).unwrap().count(),
        std::fs::read_dir(bundled.join("migrations/versions"))
            .unwrap()
            .filter(|e| e.as_ref().unwrap().file_name() != "__pycache__")
            .count()
            + 1
    );
    let out = run(&["heads"]);
    assert_eq!(
        out.stdout.lines().count(),
        2,
        "the bundled demo is unchanged"
    );
}

// ---- merge as `alembic merge` writes it ------------------------------------------------------

fn without_create_date(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .lines()
        .filter(|l| !l.starts_with("Create Date:"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The only file in `dir` that `before` does not list.
fn new_file(before: &BTreeMap<PathBuf, Vec<u8>>, after: &BTreeMap<PathBuf, Vec<u8>>) -> PathBuf {
    let added: Vec<&PathBuf> = after.keys().filter(|k| !before.contains_key(*k)).collect();
    assert_eq!(added.len(), 1, "{added:?}");
    added[0].clone()
}

#[test]
fn merge_writes_the_file_alembic_merge_writes() {
    let message = "Merge the intents branch with the system settings branch, finally!";
    for (template, slug_length) in [(None, None), (Some("%%(rev)s-%%(slug)s_m"), Some(20))] {
        let ours = Sandbox::demo();
        let theirs = Sandbox::demo();
        for sb in [&ours, &theirs] {
            let mut extra = String::new();
            if let Some(t) = template {
                extra.push_str(&format!("file_template = {t}\n"));
            }
            if let Some(n) = slug_length {
                extra.push_str(&format!("truncate_slug_length = {n}\n"));
            }
            sb.add_options(&extra);
        }
        let m = ours.merge_beside(&theirs, message);
        assert_eq!(m.ours_path, m.theirs_path, "file name ({template:?})");
        assert_eq!(
            without_create_date(&m.ours[&m.ours_path]),
            without_create_date(&m.theirs[&m.theirs_path]),
            "content"
        );
        assert_alembic_agrees(&ours);
    }
}

/// The `Create Date:` line's time (seconds since the epoch, in the line's own frame) and
/// whatever follows the seconds' fraction (the offset, when there is one).
fn create_date(bytes: &[u8]) -> (i64, String) {
    let text = String::from_utf8_lossy(bytes);
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("Create Date: "))
        .expect("a Create Date line");
    let num = |r: std::ops::Range<usize>| line[r].parse::<i64>().unwrap();
    let (y, mo, d) = (num(0..4), num(5..7), num(8..10));
    let (h, mi, sec) = (num(11..13), num(14..16), num(17..19));
    // Days from civil (proleptic Gregorian), enough to compare two nearby times.
    let (y2, m2) = if mo <= 2 {
        (y - 1, mo + 9)
    } else {
        (y, mo - 3)
    };
    let days = 365 * y2 + y2 / 4 - y2 / 100 + y2 / 400 + (153 * m2 + 2) / 5 + d;
    let rest = line[19..].trim_start_matches(|c: char| c == '.' || c.is_ascii_digit());
    (((days * 24 + h) * 60 + mi) * 60 + sec, rest.to_string())
}

/// Dates in new files as `alembic merge` writes them: local time (`TZ`), or the `timezone`
/// option's zone with its offset; file names take their date tokens from the same time. An
/// unknown zone is refused by both.
#[test]
fn merge_dates_follow_the_local_zone_or_the_configured_timezone() {
    let template = "%%(year)d%%(month).2d%%(day).2d_%%(rev)s";
    for (tz, timezone) in [
        ("Asia/Kolkata", None),
        ("UTC", Some("America/New_York")),
        ("Asia/Kolkata", Some("utc")),
    ] {
        let [mut ours, mut theirs] = [Sandbox::demo(), Sandbox::demo()];
        for sb in [&mut ours, &mut theirs] {
            sb.tz = tz;
            let mut extra = format!("file_template = {template}\n");
            if let Some(z) = timezone {
                extra.push_str(&format!("timezone = {z}\n"));
            }
            sb.add_options(&extra);
        }
        let m = ours.merge_beside(&theirs, "m");
        assert_eq!(m.ours_path, m.theirs_path, "file name ({tz}, {timezone:?})");
        let ours_date = create_date(&m.ours[&m.ours_path]);
        let theirs_date = create_date(&m.theirs[&m.theirs_path]);
        assert_eq!(ours_date.1, theirs_date.1, "offset ({tz}, {timezone:?})");
        assert!(
            (ours_date.0 - theirs_date.0).abs() < 120,
            "the same moment in the same frame ({tz}, {timezone:?}): {ours_date:?} {theirs_date:?}"
        );
    }
    let ours = Sandbox::demo();
    let theirs = Sandbox::demo();
    for sb in [&ours, &theirs] {
        sb.add_options("timezone = Nope/Zone\n");
    }
    let out = theirs.alembic(&["merge", "-m", "m", "heads"]);
    assert_ne!(out.code, Some(0), "{out:?}");
    assert!(
        out.stdout.contains("Can't locate timezone: Nope/Zone"),
        "{out:?}"
    );
    let out = ours.migscope(&["fix", "merge", "-m", "m", "--yes"]);
    assert_ne!(out.code, Some(0), "{out:?}");
    assert!(
        out.stderr.contains("Can't locate timezone: Nope/Zone"),
        "{out:?}"
    );
}

#[test]
fn merge_without_a_template_uses_alembics_layout() {
    let sb = Sandbox::demo();
    std::fs::remove_file(sb.proj().join("migrations/script.py.mako")).unwrap();
    let before = sb.snapshot();
    let out = sb.ok(&["fix", "merge", "a9b8c7d6e5f4", "add_sync", "--yes"]);
    assert!(out.stdout.contains("default layout"), "{out:?}");
    let path = new_file(&before, &sb.snapshot());
    let text = std::fs::read_to_string(sb.proj().join(&path)).unwrap();
    assert!(
        text.contains(
            "down_revision: Union[str, Sequence[str], None] = ('a9b8c7d6e5f4', \
             'add_sync_status_to_rich_menus')"
        ),
        "{text}"
    );
    assert!(text.starts_with("\"\"\"empty message\n"), "{text}");
    assert_eq!(assert_alembic_agrees(&sb).len(), 1);
}

// ---- byte-for-byte reparent ------------------------------------------------------------------

const BASE: &[u8] = b"revision = 'aaaa0001'\ndown_revision = None\n";
const OTHER: &[u8] = b"revision = 'bbbb0002'\ndown_revision = 'aaaa0001'\n";
/// CRLF, double quotes, a list, comments and annotations.
const CRLF_LIST: &[u8] = b"\"\"\"add c\r\n\r\nRevision ID: cccc0003\r\nRevises: aaaa0001\r\nCreate Date: 2024-01-01 00:00:00\r\n\r\n\"\"\"\r\nfrom typing import Sequence, Union\r\n\r\n# revision identifiers\r\nrevision: str = \"cccc0003\"  # keep me\r\ndown_revision: Union[str, Sequence[str], None] = [\"aaaa0001\"]  # the parent\r\nbranch_labels = None\r\n\r\n\r\ndef upgrade():\r\n    pass  # nothing\r\n";
/// A multi-line tuple, a label, the plain template.
const TUPLE: &[u8] = b"\"\"\"merge\n\nRevision ID: dddd0004\nRevises: bbbb0002, cccc0003\nCreate Date: 2024-01-02\n\n\"\"\"\nrevision = 'dddd0004'\ndown_revision = (\n    'bbbb0002',  # left\n    'cccc0003',\n)\nbranch_labels = ('side',)\ndepends_on = None\n";

#[test]
fn reparent_keeps_every_byte_outside_the_edit() {
    let sb = Sandbox::with_files(&[
        ("a.py", BASE),
        ("b.py", OTHER),
        ("c.py", CRLF_LIST),
        ("d.py", TUPLE),
    ]);
    ok(sb.reparent("cccc0003", "bbbb0002", &[]));
    let expected = String::from_utf8(CRLF_LIST.to_vec())
        .unwrap()
        .replace("[\"aaaa0001\"]", "[\"bbbb0002\"]")
        .replace("Revises: aaaa0001", "Revises: bbbb0002");
    assert_eq!(
        String::from_utf8(std::fs::read(sb.versions().join("c.py")).unwrap()).unwrap(),
        expected
    );

    ok(sb.reparent("dddd0004", "cccc0003,aaaa0001", &["--drop-label"]));
    let expected = String::from_utf8(TUPLE.to_vec())
        .unwrap()
        .replace(
            "(\n    'bbbb0002',  # left\n    'cccc0003',\n)",
            "('cccc0003', 'aaaa0001')",
        )
        .replace("('side',)", "None")
        .replace("Revises: bbbb0002, cccc0003", "Revises: cccc0003, aaaa0001");
    assert_eq!(
        String::from_utf8(std::fs::read(sb.versions().join("d.py")).unwrap()).unwrap(),
        expected
    );
    assert_alembic_agrees(&sb);
}

// ---- refusals --------------------------------------------------------------------------------

#[test]
fn refuses_cycles_and_missing_parents() {
    let sb = Sandbox::demo();
    let before = sb.snapshot();
    let out = sb.reparent("cd2257cee794", "a9b8c7d6e5f4", &[]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stdout.contains("refused (cycle)"), "{out:?}");
    assert!(out.stderr.contains("--force"), "{out:?}");
    let out = sb.reparent("add_system_settings", "0123deadbeef", &[]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stdout.contains("refused (missing-parent)"), "{out:?}");
    // Requests that make no sense, as JSON errors.
    for (args, code) in [
        (
            &["fix", "merge", "3f1c9a2b7d40", "a9b8c7d6e5f4"][..],
            "fix_request",
        ),
        (
            &["fix", "reparent", "nosuch", "--onto", "base"][..],
            "unknown_revision",
        ),
    ] {
        let out = sb.migscope(&[args, &["--format", "json", "--dry-run"][..]].concat());
        assert_eq!(out.code, Some(1), "{out:?}");
        let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        assert_eq!(v["error"]["code"], code, "{out:?}");
    }
    assert_same(&sb.snapshot(), &before, "nothing written");
    assert!(sb.journal_actions().is_empty());
}

on_each_backend!(refuses_to_rewrite_history_the_database_applied);

/// With `--db` on a fresh database of each backend: once a revision is stamped as applied, its
/// parents are not rewritten without `--force`; revisions not applied yet still are.
async fn refuses_to_rewrite_history_the_database_applied(t: db_support::TestDb) {
    let sb = Sandbox::demo();
    let url = match t.sqlite_path() {
        Some(p) => format!("sqlite:///{}", p.display()),
        None => t.url.expose_sqlx_url(),
    };
    let db = ["--db", url.as_str()];
    let stamp = ["stamp", "cd2257cee794", "add_system_settings", "--yes"];
    ok(sb.migscope(&[&stamp[..], &db[..]].concat()));
    let before = sb.snapshot();
    let out = sb.reparent(
        "add_system_settings",
        "cd2257cee794",
        &["--drop-label", db[0], db[1]],
    );
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stdout.contains("refused (applied-history)"), "{out:?}");
    assert!(out.stdout.contains(&t.url.masked()), "{out:?}");
    assert_same(&sb.snapshot(), &before, "refused");

    // Not applied yet: allowed.
    ok(sb.reparent(
        "add_sync_status_to_rich_menus",
        "f1a2b3c4d5e6",
        &["--dry-run", db[0], db[1]],
    ));

    let out = ok(sb.reparent(
        "add_system_settings",
        "cd2257cee794",
        &["--drop-label", "--force", db[0], db[1]],
    ));
    assert!(out.stderr.contains("warning: --force"), "{out:?}");
    assert_ne!(sb.snapshot(), before);
}

#[test]
fn reparent_without_onto_suggests_the_parent() {
    let sb = Sandbox::demo();
    // The orphan touches no other revision's table: the newest branch point.
    let out = ok(sb.migscope(&["fix", "reparent", "add_system_settings", "--dry-run"]));
    assert!(
        out.stdout
            .contains("note: suggested parent cd2257cee794: add_system_settings touches no table"),
        "{out:?}"
    );
    // Its child alters rich_menus, which only e3f4g5h6i7j8 creates.
    let out = ok(sb.migscope(&[
        "fix",
        "reparent",
        "add_sync_status_to_rich_menus",
        "--dry-run",
        "--format",
        "json",
    ]));
    let plan: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert!(
        plan["notes"][0]
            .as_str()
            .unwrap()
            .starts_with("suggested parent e3f4g5h6i7j8: e3f4g5h6i7j8 is the newest revision that touches rich_menus"),
        "{plan}"
    );
    assert!(
        plan["diff"]
            .as_str()
            .unwrap()
            .contains("+Revises: e3f4g5h6i7j8")
    );
}

#[test]
fn a_fix_that_does_not_read_back_as_predicted_is_rolled_back() {
    // Alembic writes the file into a sub-directory its non-recursive loader never reads.
    let sb = Sandbox::demo();
    let ini = std::fs::read_to_string(sb.ini()).unwrap().replacen(
        "[alembic]\n",
        "[alembic]\nfile_template = sub/%%(rev)s_%%(slug)s\n",
        1,
    );
    std::fs::write(sb.ini(), ini).unwrap();
    let before = sb.snapshot();
    let out = sb.migscope(&["fix", "merge", "--yes"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        out.stderr.contains("did not read as predicted") && out.stderr.contains("put back"),
        "{out:?}"
    );
    assert_same(&sb.snapshot(), &before, "rolled back");
    assert!(
        !sb.versions().join("sub").exists(),
        "the directory made for it is gone"
    );
    assert!(sb.journal_actions().is_empty());
}

// ---- restore ---------------------------------------------------------------------------------

fn git(dir: &Path, args: &[&str]) {
    let out = output(
        Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(args)
            .current_dir(dir),
    );
    assert_eq!(out.code, Some(0), "git {args:?}: {out:?}");
}

#[test]
fn restore_brings_a_deleted_file_back_from_git() {
    let sb = Sandbox::with_files(&[("a.py", BASE), ("b.py", OTHER)]);
    let c = b"revision = 'cccc0003'\r\ndown_revision = 'bbbb0002'  # after b\r\n";
    std::fs::write(sb.versions().join("c.py"), c).unwrap();
    git(&sb.proj(), &["init", "-q"]);
    git(&sb.proj(), &["add", "."]);
    git(&sb.proj(), &["commit", "-q", "-m", "three revisions"]);
    std::fs::remove_file(sb.versions().join("b.py")).unwrap();
    git(&sb.proj(), &["commit", "-q", "-a", "-m", "lose b"]);

    let out = sb.migscope(&["check"]);
    assert!(out.stdout.contains("missing-parent"), "{out:?}");
    let out = sb.ok(&["fix", "restore", "bbbb0002", "--yes"]);
    assert!(out.stdout.contains("referenced by cccc0003"), "{out:?}");
    assert_eq!(std::fs::read(sb.versions().join("b.py")).unwrap(), OTHER);
    assert_eq!(assert_alembic_agrees(&sb), ["cccc0003"]);

    // Referenced only by the database's row.
    std::fs::write(sb.tmp.path().join("app.db"), b"").unwrap();
    let db = format!("sqlite:///{}", sb.tmp.path().join("app.db").display());
    ok(sb.migscope(&["stamp", "cccc0003", "--db", &db, "--yes"]));
    std::fs::remove_file(sb.versions().join("c.py")).unwrap();
    git(&sb.proj(), &["commit", "-q", "-a", "-m", "lose c"]);
    let out = ok(sb.migscope(&["fix", "restore", "cccc0003", "--dry-run"]));
    assert!(
        out.stdout.contains("no revision file and no database row"),
        "{out:?}"
    );
    let out = ok(sb.migscope(&["fix", "restore", "cccc0003", "--db", &db, "--yes"]));
    assert!(!out.stdout.contains("no database row"), "{out:?}");
    assert_eq!(std::fs::read(sb.versions().join("c.py")).unwrap(), c);

    let out = sb.migscope(&["fix", "restore", "ffff9999", "--yes"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stderr.contains("git history"), "{out:?}");
}
