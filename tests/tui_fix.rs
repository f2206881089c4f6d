//! Graph fixes from the explorer on a copy of the demo: the merge preview, the parent picker and
//! the reparent preview (TestBackend + insta snapshots), the dialog's guards (a wrong
//! confirmation, Esc, a refused plan, `--read-only`), writing and undoing a fix, restoring a
//! deleted revision from git, and the whole seed repair through the real binary in tmux.

mod support;

use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use migscope::config::ConfigOptions;
use migscope::db::{self, VersionTable};
use migscope::fix::DbCheck;
use migscope::project::Project;
use migscope::render::lanes::GlyphSet;
use migscope::tui::dialog::Stage;
use migscope::tui::jobs::{Context, Jobs};
use migscope::tui::repair::{Repair, Target};
use migscope::tui::{self, Key, State, view};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use support::sandbox::Sandbox;
use support::tmux::{self, Tmux};
use support::venv;

const ORPHAN: &str = "add_system_settings";
const ORPHAN_FILE: &str = "migrations/versions/add_system_settings_add_system_settings.py";

/// A copy of the demo project, and a state directory for the journal and backups.
struct Copy {
    sb: Sandbox,
}

impl Copy {
    fn new() -> Copy {
        Copy { sb: Sandbox::new() }
    }

    fn dir(&self) -> PathBuf {
        self.sb.tmp.path().join("demo")
    }

    /// Leaked so a state can borrow it for the whole test.
    fn project(&self) -> &'static Project {
        let mut opts = ConfigOptions::new(self.dir());
        opts.config = vec![self.dir().join("alembic.ini")];
        Box::leak(Box::new(Project::load(&opts).expect("demo copy loads")))
    }

    fn state(&self, size: (u16, u16)) -> State<'static> {
        let mut s = tui::state_for(self.project(), &[], GlyphSet::Unicode, size);
        s.project = "<project>".into();
        s.fixes.journal = Some(self.sb.state().join("journal.jsonl"));
        s
    }

    fn read(&self, rel: &str) -> Vec<u8> {
        fs::read(self.dir().join(rel)).unwrap()
    }

    fn git(&self, args: &[&str]) {
        let out = Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(args)
            .current_dir(self.dir())
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {out:?}");
    }
}

fn keys(s: &mut State, text: &str) {
    for c in text.chars() {
        s.handle_key(Key::Char(c));
    }
}

fn select(s: &mut State, id: &str) {
    let r = s.rows.iter().position(|r| r.id == id).unwrap();
    s.select_row(r);
}

fn selected_id(s: &State) -> String {
    s.rows[s.selected_row().unwrap()].id.clone()
}

fn render(s: &State) -> String {
    let mut t = Terminal::new(TestBackend::new(s.width, s.height)).unwrap();
    t.draw(|f| view::draw(f, s)).unwrap();
    t.backend().to_string()
}

/// The merge's create date is the current time: masked (same width) for the snapshot.
fn mask_date(screen: &str) -> String {
    screen
        .lines()
        .map(|l| match l.find("Create Date: ") {
            Some(i) => {
                let start = i + "Create Date: ".len();
                let end = (start + 26).min(l.len());
                format!(
                    "{}{}{}",
                    &l[..start],
                    "YYYY-MM-DD HH:MM:SS.ffffff",
                    &l[end..]
                )
            }
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn merge_preview_dialog() {
    let c = Copy::new();
    let mut s = c.state((120, 44));
    keys(&mut s, "m");
    assert_eq!(s.fixes.prompt.as_deref(), Some("merge heads"));
    // The prompt: the message is typed over a default; Esc leaves without a plan.
    s.handle_key(Key::Esc);
    assert!(s.fixes.prompt.is_none() && s.repair.dialog.is_none());

    s.status = None;
    // A chosen id, so that the file name and the diff are stable.
    s.open_merge("merge heads".into(), Some("0123456789ab".into()));
    let d = s.repair.dialog.as_ref().expect("the merge dialog");
    assert_eq!(d.expected, "merge");
    assert!(d.refusal.is_none());
    let plan = s.fixes.plan().unwrap();
    assert_eq!(plan.before.heads.len(), 2);
    assert_eq!(plan.after.heads, ["0123456789ab"]);
    insta::assert_snapshot!("merge_preview", mask_date(&render(&s)));
}

#[test]
fn parent_picker_and_reparent_preview() {
    let c = Copy::new();
    let mut s = c.state((120, 40));
    select(&mut s, ORPHAN);
    keys(&mut s, "r");
    // The orphan base: the cursor starts on the suggested parent.
    assert_eq!(selected_id(&s), "cd2257cee794");
    assert!(s.fixes.picker.as_ref().unwrap().suggestion.is_some());
    keys(&mut s, "l");
    insta::assert_snapshot!("parent_picker", render(&s));

    // Moving around keeps the picker; Space marks several parents.
    keys(&mut s, "k ");
    let marked = s.fixes.picker.as_ref().unwrap().marked.clone();
    assert_eq!(marked, [selected_id(&s)]);
    keys(&mut s, " ");
    assert!(s.fixes.picker.as_ref().unwrap().marked.is_empty());
    select(&mut s, "cd2257cee794");
    s.handle_key(Key::Enter);
    assert!(s.fixes.picker.is_none());
    let d = s.repair.dialog.as_ref().expect("the reparent dialog");
    assert_eq!(d.expected, "add_");
    assert!(d.refusal.is_none(), "{:?}", d.refusal);
    insta::assert_snapshot!("reparent_preview", render(&s));
}

#[test]
fn wrong_confirmation_and_esc_write_nothing() {
    let c = Copy::new();
    let before = c.read(ORPHAN_FILE);
    let mut s = c.state((120, 40));
    select(&mut s, ORPHAN);
    keys(&mut s, "r");
    s.handle_key(Key::Enter);
    s.handle_key(Key::Enter);
    assert_eq!(s.repair.dialog.as_ref().unwrap().stage, Stage::Confirm);
    keys(&mut s, "cd22");
    s.handle_key(Key::Enter);
    let d = s.repair.dialog.as_ref().expect("still open");
    assert!(d.wrong);
    assert!(render(&s).contains("not add_: nothing written"));
    assert_eq!(c.read(ORPHAN_FILE), before);

    s.handle_key(Key::Esc);
    assert!(s.repair.dialog.is_none());
    assert_eq!(
        s.status.as_deref(),
        Some("cancelled: nothing written"),
        "{:?}",
        s.status
    );
    assert_eq!(c.read(ORPHAN_FILE), before);
    assert!(!c.sb.state().join("journal.jsonl").exists());

    // Esc in the picker cancels it too.
    keys(&mut s, "r");
    assert!(s.fixes.picker.is_some());
    s.handle_key(Key::Esc);
    assert!(s.fixes.picker.is_none() && s.repair.dialog.is_none());
}

#[test]
fn a_refused_plan_cannot_be_confirmed() {
    let c = Copy::new();
    let before = c.read("migrations/versions/cd2257cee794_add_reply_objects.py");
    let mut s = c.state((120, 40));
    // cd2257cee794 onto its own descendant: a cycle.
    select(&mut s, "cd2257cee794");
    keys(&mut s, "r");
    select(&mut s, "a9b8c7d6e5f4");
    s.handle_key(Key::Enter);
    let d = s
        .repair
        .dialog
        .as_ref()
        .expect("the dialog shows the refusal");
    let refusal = d.refusal.clone().unwrap();
    assert!(refusal.contains("cycle"), "{refusal}");
    assert!(refusal.contains("--force"), "{refusal}");
    let screen = render(&s);
    assert!(screen.contains("cannot apply: refused"), "{screen}");
    s.handle_key(Key::Enter);
    assert_eq!(s.repair.dialog.as_ref().unwrap().stage, Stage::Preview);
    keys(&mut s, "cd22");
    s.handle_key(Key::Enter);
    assert_eq!(s.repair.dialog.as_ref().unwrap().stage, Stage::Preview);
    assert_eq!(
        c.read("migrations/versions/cd2257cee794_add_reply_objects.py"),
        before
    );
}

#[test]
fn read_only_disables_the_fixes() {
    let c = Copy::new();
    let mut s = c.state((120, 40));
    s.repair.read_only = true;
    select(&mut s, ORPHAN);
    for k in ["m", "r"] {
        keys(&mut s, k);
        assert!(s.fixes.prompt.is_none() && s.fixes.picker.is_none());
        assert!(s.repair.dialog.is_none());
        let status = s.status.clone().unwrap_or_default();
        assert!(status.contains("read-only"), "{k}: {status}");
    }
}

#[test]
fn a_written_fix_is_journaled_and_u_puts_the_file_back() {
    let c = Copy::new();
    let before = c.read(ORPHAN_FILE);
    let mut s = c.state((120, 40));
    select(&mut s, ORPHAN);
    keys(&mut s, "r");
    keys(&mut s, "l");
    s.handle_key(Key::Enter);
    s.handle_key(Key::Enter);
    keys(&mut s, "add_");
    s.handle_key(Key::Enter);
    assert!(s.repair.dialog.is_none());
    let status = s.status.clone().unwrap();
    assert!(status.starts_with("reparent: wrote"), "{status}");
    let after = String::from_utf8(c.read(ORPHAN_FILE)).unwrap();
    assert!(after.contains("= 'cd2257cee794'"), "{after}");
    let labels = after
        .lines()
        .find(|l| l.starts_with("branch_labels"))
        .unwrap();
    assert!(labels.ends_with("= None"), "{after}");

    // The reloaded project (as the watcher would give it): one base, and U reverts the fix
    // without any database configured.
    let mut s = c.state((120, 40));
    assert_eq!(s.map.ids(s.map.bases()), ["3f1c9a2b7d40"]);
    keys(&mut s, "U");
    let d = s.repair.dialog.as_ref().expect("the undo dialog");
    assert_eq!(d.expected, "undo");
    s.handle_key(Key::Enter);
    keys(&mut s, "undo");
    s.handle_key(Key::Enter);
    assert_eq!(c.read(ORPHAN_FILE), before);
    let journal = fs::read_to_string(c.sb.state().join("journal.jsonl")).unwrap();
    assert_eq!(journal.lines().count(), 2, "{journal}");
    assert!(journal.contains("(explorer)"), "{journal}");
}

#[test]
fn restore_on_a_ghost_row_from_git_history() {
    let c = Copy::new();
    let rel = "migrations/versions/cd2257cee794_add_reply_objects.py";
    let original = c.read(rel);
    c.git(&["init", "-q"]);
    c.git(&["add", "."]);
    c.git(&["commit", "-q", "-m", "the demo"]);
    fs::remove_file(c.dir().join(rel)).unwrap();
    c.git(&["commit", "-q", "-a", "-m", "lose cd2257cee794"]);

    let mut s = c.state((120, 40));
    select(&mut s, "cd2257cee794");
    assert!(
        s.rows[s.selected_row().unwrap()].rev.is_none(),
        "a ghost row"
    );
    s.handle_key(Key::Enter);
    let d = s.repair.dialog.as_ref().expect("the restore dialog");
    assert!(d.refusal.is_none(), "{:?}", d.refusal);
    assert_eq!(d.expected, "cd22");
    let screen = render(&s);
    assert!(
        screen.contains("+++ b/migrations/versions/cd2257cee794"),
        "{screen}"
    );
    s.handle_key(Key::Enter);
    keys(&mut s, "cd22");
    s.handle_key(Key::Enter);
    assert_eq!(c.read(rel), original);
}

#[test]
fn seed_repair_through_the_dialogs_in_tmux() {
    if !tmux::available("seed_repair_through_the_dialogs_in_tmux") {
        return;
    }
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_migscope"));
    let state_dir = tempfile::tempdir().unwrap();
    let marker = state_dir.path().join("done");
    // `--demo` works on its copy in the state dir, exactly as `migscope --demo fix` does.
    let cmd = format!(
        "MIGSCOPE_STATE_DIR={s} {b} --demo 2>{s}/stderr; echo EXITED $? > {m}; sleep 30",
        s = state_dir.path().display(),
        b = bin.display(),
        m = marker.display()
    );
    let t = Tmux::start("migscope-tuifix", state_dir.path(), &cmd, (140, 44));
    let wait_for = |what: &str, secs: u64| t.wait_for(what, Duration::from_secs(secs));
    // From the preview: on to the confirmation, type what it asks for, write.
    let confirm = |answer: &str| {
        t.keys(&["Enter"]);
        wait_for(&format!("Type {answer}"), 5);
        t.type_text(answer);
        t.keys(&["Enter"]);
    };
    let screen = wait_for("needs repair", 30);
    assert!(screen.contains("2 heads"), "{screen}");

    // Reparent the orphan onto cd2257cee794 (the suggested parent), dropping its label.
    t.keys(&["/"]);
    t.type_text(ORPHAN);
    t.keys(&["Enter"]);
    wait_for("id       add_system_settings", 5);
    t.keys(&["r"]);
    let screen = wait_for("reparent add_system_settings onto cd2257cee794", 5);
    assert!(screen.contains("keeping label system_settings"), "{screen}");
    t.keys(&["l"]);
    wait_for("dropping label", 5);
    t.keys(&["Enter"]);
    let screen = wait_for("+down_revision", 5);
    assert!(screen.contains("--drop-label"), "{screen}");
    confirm("add_");
    // The watcher reloads the project; the selection stays on the revision.
    let screen = wait_for("add_system_settings add system settings", 20);
    assert!(
        screen.contains("add_system_settings add system settings"),
        "label gone:\n{screen}"
    );
    assert!(screen.contains("id       add_system_settings"), "{screen}");
    // The database is read again against the reloaded project; plans wait for it.
    wait_for("press D for the doctor", 20);

    // Merge the two heads left.
    t.keys(&["m"]);
    wait_for("message: merge heads", 5);
    t.keys(&["Enter"]);
    let screen = wait_for("+Revises:", 5);
    assert!(screen.contains("_merge_heads.py"), "{screen}");
    confirm("merge");
    let screen = wait_for("· 1 head ·", 20);
    assert!(screen.contains("[merge] merge heads"), "{screen}");

    t.keys(&["q"]);
    let start = Instant::now();
    while !marker.exists() && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let stderr = fs::read_to_string(state_dir.path().join("stderr")).unwrap_or_default();
    assert_eq!(
        fs::read_to_string(&marker).unwrap_or_default().trim(),
        "EXITED 0",
        "{stderr}"
    );

    // One head, by migscope and by the real Alembic, on the work copy.
    let ini = state_dir.path().join("demo/alembic.ini");
    let out = Command::new(&bin)
        .arg("-c")
        .arg(&ini)
        .arg("heads")
        .output()
        .unwrap();
    let heads = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(heads.lines().count(), 1, "{heads}");
    let out = Command::new(venv::alembic_python())
        .args(["-m", "alembic", "-c"])
        .arg(&ini)
        .arg("heads")
        .current_dir(state_dir.path().join("demo"))
        .output()
        .unwrap();
    let alembic = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(alembic.lines().count(), 1, "{alembic}");
    assert!(
        alembic.starts_with(heads.trim()),
        "alembic: {alembic} migscope: {heads}"
    );
    // Both writes journaled as fixes from the explorer.
    let journal = fs::read_to_string(state_dir.path().join("journal.jsonl")).unwrap();
    assert_eq!(
        journal.matches("\"action\":\"fix\"").count(),
        2,
        "{journal}"
    );
}

#[test]
fn rewriting_applied_history_is_refused_with_a_database() {
    let c = Copy::new();
    let url = format!("sqlite:///{}", c.dir().join("demo.db").display());
    let out = Command::new(env!("CARGO_BIN_EXE_migscope"))
        .arg("-c")
        .arg(c.dir().join("alembic.ini"))
        .args(["stamp", "--db", &url, "--purge", "cd2257cee794", "--yes"])
        .env("MIGSCOPE_STATE_DIR", c.sb.state())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");

    // The explorer connected through the real worker, after its first read.
    let mut opts = ConfigOptions::new(c.dir());
    opts.config = vec![c.dir().join("alembic.ini")];
    let project: &'static Arc<Project> =
        Box::leak(Box::new(Arc::new(Project::load(&opts).unwrap())));
    let target = Target {
        url: db::parse_url(&url, &c.dir()).unwrap(),
        source: "--db".into(),
        table: VersionTable::default(),
        journal: Some(c.sb.state().join("journal.jsonl")),
        alembic: Err("not needed here".into()),
    };
    let jobs = Jobs::start(Context {
        project: Arc::clone(project),
        url: target.url.clone(),
        table: target.table.clone(),
        journal: target.journal.clone(),
        alembic: None,
    });
    let mut s = tui::state_for(project, &[], GlyphSet::Unicode, (120, 40));
    s.fixes.journal = target.journal.clone();
    s.repair = Repair::connect(target, false);
    let start = Instant::now();
    while s.repair.busy.is_some() {
        for r in s.repair.take_requests() {
            jobs.send(r);
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no database read"
        );
        if let Some(ev) = jobs.recv_timeout(Duration::from_millis(200)) {
            s.on_job_event(ev);
        }
    }
    assert!(s.repair.db.is_some(), "{:?}", s.repair.error);

    // 9d4a6f0e2c15 is below the database's row: moving it is refused.
    select(&mut s, "9d4a6f0e2c15");
    keys(&mut s, "r");
    select(&mut s, "3f1c9a2b7d40");
    s.handle_key(Key::Enter);
    let refusal = s.repair.dialog.as_ref().unwrap().refusal.clone().unwrap();
    assert!(refusal.contains("has applied 9d4a6f0e2c15"), "{refusal}");
    s.handle_key(Key::Esc);

    // The orphan is not applied: its reparent is checked against the rows and allowed.
    select(&mut s, ORPHAN);
    keys(&mut s, "r");
    s.handle_key(Key::Enter);
    let d = s.repair.dialog.as_ref().unwrap();
    assert!(d.refusal.is_none(), "{:?}", d.refusal);
    let plan = s.fixes.plan().unwrap();
    assert!(
        matches!(&plan.db, DbCheck::Rows { rows, .. } if rows == &["cd2257cee794"]),
        "{:?}",
        plan.db
    );
}
