//! The explorer's database side: the header, marks and details with a real SQLite copy of the
//! demo database, the doctor, the stamp preview and its confirmation, undo, `--read-only`, a
//! connection failure, and an end-to-end repair through the real binary in tmux.
//!
//! The state-level tests drive the real worker ([`tui::jobs::Jobs`]) against the copy and wait
//! for its events, as the event loop does; the views are snapshot-tested (TestBackend + insta).

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use migscope::alembic_run::AlembicCommand;
use migscope::config::ConfigOptions;
use migscope::db::{self, Db, VersionTable};
use migscope::project::Project;
use migscope::render::lanes::GlyphSet;
use migscope::tui::jobs::{Context, Jobs};
use migscope::tui::repair::{Repair, RowDb, Target};
use migscope::tui::{self, Key, State, View, view};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use support::tmux::{self, Tmux};
use support::venv;

/// A copy of the demo project and database, and a state directory for the journal.
struct Sandbox {
    tmp: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Sandbox {
        let tmp = tempfile::Builder::new()
            .prefix("migscope-tui-")
            .tempdir()
            .unwrap();
        let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo");
        let ok = Command::new("cp")
            .arg("-R")
            .arg(&demo)
            .arg(tmp.path().join("demo"))
            .status()
            .unwrap();
        assert!(ok.success(), "copying the demo");
        Sandbox { tmp }
    }

    fn dir(&self) -> PathBuf {
        self.tmp.path().join("demo")
    }

    fn url(&self) -> String {
        format!("sqlite:///{}", self.dir().join("demo.db").display())
    }

    /// Shared with the worker; leaked so the state can borrow it for the whole test.
    fn project(&self) -> &'static Arc<Project> {
        let mut opts = ConfigOptions::new(self.dir());
        opts.config = vec![self.dir().join("alembic.ini")];
        Box::leak(Box::new(Arc::new(
            Project::load(&opts).expect("demo loads"),
        )))
    }

    fn target(&self, url: &str) -> Target {
        Target {
            url: db::parse_url(url, self.tmp.path()).unwrap(),
            source: "--db".into(),
            table: VersionTable::default(),
            journal: Some(self.tmp.path().join("state/journal.jsonl")),
            // The test venv's pinned Alembic (tests/support/venv.rs). A fixed hash seed: the
            // order in which Alembic writes several version rows follows Python's set order.
            alembic: Ok(AlembicCommand {
                program: vec![
                    "env".into(),
                    "PYTHONHASHSEED=0".into(),
                    venv::alembic_python().into(),
                    "-m".into(),
                    "alembic".into(),
                ],
                config: self.dir().join("alembic.ini"),
                name: None,
                cwd: self.dir(),
            }),
        }
    }

    /// `text` with this sandbox's and the venv's paths replaced, for stable snapshots.
    fn stable(&self, text: &str) -> String {
        text.replace(&venv::alembic_python().display().to_string(), "<python>")
            .replace(&self.tmp.path().display().to_string(), "<tmp>")
    }

    /// The version table's rows, read with sqlx.
    fn rows(&self) -> Vec<String> {
        let url = db::parse_url(&self.url(), self.tmp.path()).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut conn = Db::connect(&url).await.unwrap();
            let rows = conn.version_rows(&VersionTable::default()).await.unwrap();
            conn.close().await;
            rows.unwrap_or_default()
        })
    }
}

/// The explorer on the sandbox, connected through the real worker, after the first read.
struct Session {
    state: State<'static>,
    jobs: Jobs,
}

impl Session {
    fn open(sb: &Sandbox, url: &str, read_only: bool, size: (u16, u16)) -> Session {
        let project = sb.project();
        let target = sb.target(url);
        let jobs = Jobs::start(Context {
            project: Arc::clone(project),
            url: target.url.clone(),
            table: target.table.clone(),
            journal: target.journal.clone(),
            alembic: target.alembic.clone().ok(),
        });
        let mut state = tui::state_for(project, &[], GlyphSet::Unicode, size);
        state.project = "<project>".into();
        state.repair = Repair::connect(target, read_only);
        let mut s = Session { state, jobs };
        s.settle();
        // Stable headers and dialogs whatever the temp dir is.
        s.state.repair.target.as_mut().unwrap().url =
            db::parse_url("sqlite:////demo/demo.db", Path::new("/")).unwrap();
        s
    }

    /// Hands the worker every request and applies its events until it is idle.
    fn settle(&mut self) {
        let start = Instant::now();
        loop {
            for r in self.state.repair.take_requests() {
                self.jobs.send(r);
            }
            if self.state.repair.busy.is_none() {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "the worker did not finish"
            );
            if let Some(ev) = self.jobs.recv_timeout(Duration::from_millis(200)) {
                self.state.on_job_event(ev);
            }
        }
    }

    /// The doctor's suggested stamp, through its preview and confirmation; back to the graph.
    fn doctor_stamp(&mut self) {
        self.keys("D");
        self.state.handle_key(Key::Enter);
        self.state.handle_key(Key::Enter);
        self.keys("cd22");
        self.state.handle_key(Key::Enter);
        self.settle();
        self.keys("q");
    }

    fn keys(&mut self, keys: &str) {
        for c in keys.chars() {
            self.state.handle_key(Key::Char(c));
        }
    }

    fn select(&mut self, id: &str) {
        let r = self.state.rows.iter().position(|r| r.id == id).unwrap();
        self.state.select_row(r);
    }

    fn selected_id(&self) -> String {
        self.state.rows[self.state.selected_row().unwrap()]
            .id
            .clone()
    }

    fn render(&self) -> String {
        let mut t = Terminal::new(TestBackend::new(self.state.width, self.state.height)).unwrap();
        t.draw(|f| view::draw(f, &self.state)).unwrap();
        t.backend().to_string()
    }
}

#[test]
fn header_marks_and_ghost_row_with_the_demo_database() {
    let sb = Sandbox::new();
    let mut s = Session::open(&sb, &sb.url(), false, (120, 30));
    let text = s.render();
    // The unknown row leads the graph as a ghost, distinct from the heads.
    assert_eq!(s.state.rows[0].id, "b90dd01ef204");
    assert_eq!(s.state.row_db(0), Some(RowDb::Unknown));
    assert!(text.contains("b90dd01ef204  UNKNOWN"), "{text}");
    assert!(text.contains("needs repair (D)"), "{text}");
    assert!(text.contains("[database: unknown revision]"), "{text}");
    // The selection stayed on the head it had before the database was read.
    assert_eq!(s.selected_id(), "a9b8c7d6e5f4");
    insta::assert_snapshot!("db_header_and_marks", text);
    // `@` jumps to the database's revision; the details explain the ghost.
    s.keys("@");
    assert_eq!(s.selected_id(), "b90dd01ef204");
    let text = s.render();
    assert!(text.contains("no revision file defines it"), "{text}");
    insta::assert_snapshot!("db_ghost_details", text);
    // The graph still works.
    s.state.handle_key(Key::Down);
    assert_eq!(s.selected_id(), "a9b8c7d6e5f4");
}

#[test]
fn doctor_explains_and_offers_the_suggested_stamp() {
    let sb = Sandbox::new();
    let mut s = Session::open(&sb, &sb.url(), false, (120, 48));
    s.keys("D");
    assert_eq!(s.state.view, View::Doctor);
    let text = s.render();
    for want in [
        "The database is at b90dd01ef204, which no revision file defines.",
        "migscope stamp --purge cd2257cee794 add_system_settings",
        "table system_settings already exists",
        "reply_objects",
    ] {
        assert!(text.contains(want), "missing {want:?}:\n{text}");
    }
    insta::assert_snapshot!("doctor", text);
    // Enter opens the suggested stamp's preview.
    s.state.handle_key(Key::Enter);
    let d = s.state.repair.dialog.as_ref().expect("a stamp preview");
    assert_eq!(d.after, ["cd2257cee794", "add_system_settings"]);
    let then = d.then.as_ref().unwrap();
    assert!(then.failure.is_none(), "{:?}", then.failure);
}

#[test]
fn stamp_preview_confirmation_and_undo() {
    let sb = Sandbox::new();
    let mut s = Session::open(&sb, &sb.url(), false, (120, 40));
    s.select("cd2257cee794");
    s.keys("s");
    let d = s.state.repair.dialog.as_ref().expect("a stamp preview");
    assert_eq!(d.before, ["b90dd01ef204"]);
    assert_eq!(d.after, ["cd2257cee794"]);
    assert!(d.sql.iter().any(|q| q.contains("DELETE")), "{:?}", d.sql);
    let text = s.render();
    assert!(
        text.contains("alembic stamp --purge cd2257cee794"),
        "{text}"
    );
    // Stamping the main line only leaves the hand-made table in the way.
    assert!(
        text.contains("predicted failure: add_system_settings: table system_settings already"),
        "{text}"
    );
    insta::assert_snapshot!("stamp_preview", text);

    // Typing before the confirmation does nothing; Enter moves to it.
    s.keys("cd22");
    assert!(s.state.repair.dialog.as_ref().unwrap().answer.is_empty());
    s.state.handle_key(Key::Enter);
    s.keys("cd23");
    s.state.handle_key(Key::Enter);
    // A wrong answer writes nothing and keeps the dialog open.
    assert!(s.state.repair.dialog.as_ref().unwrap().wrong);
    assert!(s.state.repair.take_requests().is_empty());
    for _ in 0..4 {
        s.state.handle_key(Key::Backspace);
    }
    s.keys("cd22");
    insta::assert_snapshot!("stamp_confirmation", s.render());
    assert_eq!(sb.rows(), ["b90dd01ef204"], "nothing written before Enter");
    s.state.handle_key(Key::Enter);
    assert!(s.state.repair.dialog.is_none());
    s.settle();
    assert_eq!(sb.rows(), ["cd2257cee794"]);
    assert_eq!(s.state.repair.ghost_rows, 0, "the ghost row is gone");
    assert!(
        s.state.status.as_deref().unwrap_or("").contains("stamped"),
        "{:?}",
        s.state.status
    );
    let journal = std::fs::read_to_string(sb.tmp.path().join("state/journal.jsonl")).unwrap();
    assert!(journal.contains(r#""after":["cd2257cee794"]"#), "{journal}");
    // The database mark moved, and `@` finds it.
    s.keys("g@");
    assert_eq!(s.selected_id(), "cd2257cee794");
    let r = s.state.selected_row().unwrap();
    assert_eq!(s.state.row_db(r), Some(RowDb::Current));

    // U undoes it, through the same confirmation.
    s.keys("U");
    let d = s.state.repair.dialog.as_ref().expect("an undo preview");
    assert_eq!(d.after, ["b90dd01ef204"]);
    s.state.handle_key(Key::Enter);
    s.keys("und");
    s.state.handle_key(Key::Enter);
    assert!(s.state.repair.dialog.is_some(), "`und` is not `undo`");
    s.keys("o");
    s.state.handle_key(Key::Enter);
    s.settle();
    assert_eq!(sb.rows(), ["b90dd01ef204"]);
    assert_eq!(s.state.rows[0].id, "b90dd01ef204", "the ghost is back");
    // The re-read after the write is not taken for the first reading (whose status points at
    // the doctor): the write's outcome stays on the status line.
    assert!(
        s.state.status.as_deref().unwrap_or("").contains("undone"),
        "{:?}",
        s.state.status
    );
}

/// A write drops the stale reading at once (the re-read does not hold two); a reload of the
/// project lets go of the reading and the worker's operations, and reads again if the reload
/// fails.
#[test]
fn stale_readings_are_let_go_before_reading_again() {
    let sb = Sandbox::new();
    let mut s = Session::open(&sb, &sb.url(), false, (120, 40));
    assert!(s.state.repair.db.is_some());
    let marks = |s: &Session| -> Vec<Option<RowDb>> {
        (0..s.state.rows.len()).map(|r| s.state.row_db(r)).collect()
    };
    let before = marks(&s);
    assert!(before.contains(&Some(RowDb::Unknown)) && before.contains(&Some(RowDb::NotApplied)));
    s.keys("R");
    assert!(s.state.repair.db.is_none(), "R drops the old reading");
    assert!(s.state.repair.busy.is_some());
    assert_eq!(marks(&s), before, "the row marks stay meanwhile");
    s.settle();
    assert!(s.state.repair.db.is_some());
    assert_eq!(marks(&s), before);

    assert!(s.state.repair.release_for_reload());
    assert!(s.state.repair.db.is_none());
    assert_eq!(marks(&s), before, "the row marks stay meanwhile");
    let requests = s.state.repair.take_requests();
    assert!(
        matches!(requests.as_slice(), [migscope::tui::jobs::Request::Forget]),
        "{requests:?}"
    );
    // Nothing to let go twice.
    assert!(!s.state.repair.release_for_reload());
    s.state.repair.reload_failed();
    s.settle();
    assert!(
        s.state.repair.db.is_some(),
        "read again after a failed reload"
    );
    assert!(s.state.repair.busy.is_none());
    // Not while a dialog is open.
    s.select("cd2257cee794");
    s.keys("s");
    assert!(!s.state.repair.release_for_reload());
    assert!(s.state.repair.db.is_some());
}

#[test]
fn esc_cancels_and_read_only_refuses() {
    let sb = Sandbox::new();
    let mut s = Session::open(&sb, &sb.url(), false, (120, 30));
    s.select("cd2257cee794");
    s.keys("s");
    s.state.handle_key(Key::Enter);
    s.keys("cd22");
    s.state.handle_key(Key::Esc);
    assert!(s.state.repair.dialog.is_none());
    assert!(s.state.repair.take_requests().is_empty());
    assert_eq!(sb.rows(), ["b90dd01ef204"]);

    let mut s = Session::open(&sb, &sb.url(), true, (120, 30));
    s.select("cd2257cee794");
    for k in ["s", "U", "u", "d"] {
        s.keys(k);
        assert!(s.state.repair.dialog.is_none(), "{k} opened a dialog");
        let status = s.state.status.clone().unwrap_or_default();
        assert!(status.contains("read-only"), "{k}: {status}");
    }
    assert!(s.render().contains("[read-only]"));
    // Reading still works.
    s.keys("D");
    assert_eq!(s.state.view, View::Doctor);
}

#[test]
fn a_connection_failure_shows_in_the_header() {
    let sb = Sandbox::new();
    // Nothing listens on port 1.
    let mut s = Session::open(
        &sb,
        "postgresql://someone:secret@127.0.0.1:1/nowhere",
        false,
        (160, 20),
    );
    assert!(s.state.repair.db.is_none());
    let error = s.state.repair.error.clone().expect("an error");
    assert!(!error.contains("secret"), "{error}");
    let text = s.render();
    assert!(
        text.contains("cannot read (R retries): connection refused"),
        "{text}"
    );
    // The graph works without the database.
    s.keys("j");
    assert_eq!(s.state.selected_row(), Some(1));
    s.keys("s");
    assert!(s.state.repair.dialog.is_none());
}

#[test]
fn repair_end_to_end_in_tmux() {
    if !tmux::available("repair_end_to_end_in_tmux") {
        return;
    }
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_migscope"));
    let state_dir = tempfile::tempdir().unwrap();
    let marker = state_dir.path().join("done");
    // `--demo` works on a copy in the state dir; the bundled database is never written.
    let cmd = format!(
        "MIGSCOPE_STATE_DIR={s} {b} --demo 2>{s}/stderr; stty -a > {m}.stty; echo EXITED $? > \
         {m}; sleep 30",
        s = state_dir.path().display(),
        b = bin.display(),
        m = marker.display()
    );
    let t = Tmux::start("migscope-repair", state_dir.path(), &cmd, (140, 44));
    let send = |keys: &[&str]| t.keys(keys);
    let wait_for = |what: &str, secs: u64| t.wait_for(what, Duration::from_secs(secs));

    let screen = wait_for("needs repair", 30);
    assert!(screen.contains("b90dd01ef204"), "first frame:\n{screen}");

    send(&["/", "reply"]);
    wait_for("/reply", 5);
    send(&["Enter"]);
    let screen = wait_for("/reply 1/1", 5);
    assert!(screen.contains("add reply objects"), "{screen}");

    // The database's revision: the ghost row, explained.
    send(&["@"]);
    let screen = wait_for("restore the file", 5);
    assert!(screen.contains("▶?○   b90dd01ef204"), "{screen}");

    // Back to the match, then stamp it.
    send(&["n"]);
    let screen = wait_for("id       cd2257cee794", 5);
    assert!(screen.contains("id       cd2257cee794"), "{screen}");
    send(&["s"]);
    let screen = wait_for("DELETE FROM", 5);
    assert!(
        screen.contains("alembic stamp --purge cd2257cee794"),
        "{screen}"
    );
    send(&["Enter"]);
    wait_for("Type cd22", 5);
    send(&["c", "d", "2", "2", "Enter"]);
    let screen = wait_for("stamped:", 20);
    assert!(screen.contains("stamped:"), "{screen}");
    let screen = wait_for("[database]", 20);
    assert!(screen.contains("cd2257cee794  behind"), "{screen}");

    send(&["q"]);
    let start = Instant::now();
    while !marker.exists() && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = std::fs::read_to_string(&marker).unwrap_or_default();
    let stderr = std::fs::read_to_string(state_dir.path().join("stderr")).unwrap_or_default();
    assert_eq!(status.trim(), "EXITED 0", "{stderr}");
    let stty = std::fs::read_to_string(format!("{}.stty", marker.display())).unwrap_or_default();
    let modes: Vec<&str> = stty.split_whitespace().collect();
    assert!(
        modes.contains(&"icanon") && modes.contains(&"echo"),
        "terminal modes not restored:\n{stty}"
    );
    assert!(!t.screen().contains("needs repair"));

    // The work copy's database now holds cd2257cee794 (read by migscope itself).
    let out = Command::new(&bin)
        .args(["--demo", "status", "--format", "json"])
        .env("MIGSCOPE_STATE_DIR", state_dir.path())
        .env_remove("DATABASE_URL")
        .env_remove("MIGSCOPE_DATABASE_URL")
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows: Vec<&str> = json["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(rows, ["cd2257cee794"], "{json}");
    let work_copy = state_dir.path().join("demo/demo.db");
    let work_copy = work_copy.to_str().unwrap().trim_start_matches('/');
    assert!(
        json["database"].as_str().unwrap().ends_with(work_copy),
        "{json}"
    );
}

#[test]
fn upgrade_plan_dialog() {
    let sb = Sandbox::new();
    let mut s = Session::open(&sb, &sb.url(), false, (120, 44));
    // From a row no file defines, Alembic cannot plan: the dialog says so and cannot go on.
    s.select("a9b8c7d6e5f4");
    s.keys("u");
    let d = s.state.repair.dialog.as_ref().expect("a plan dialog");
    let refusal = d.refusal.clone().unwrap_or_default();
    assert!(
        refusal.contains("Can't locate revision identified by 'b90dd01ef204'"),
        "{refusal}"
    );
    s.state.handle_key(Key::Enter);
    assert_eq!(
        s.state.repair.dialog.as_ref().unwrap().stage,
        migscope::tui::dialog::Stage::Preview
    );
    s.state.handle_key(Key::Esc);

    // After the doctor's stamp, the plan to the head runs the rest of the main line.
    s.doctor_stamp();
    assert_eq!(sb.rows(), ["cd2257cee794", "add_system_settings"]);
    s.select("a9b8c7d6e5f4");
    s.keys("u");
    let d = s.state.repair.dialog.as_mut().expect("a plan dialog");
    assert!(d.refusal.is_none(), "{:?}", d.refusal);
    let command = d.command.clone().expect("the Alembic command");
    assert!(command.ends_with(" upgrade a9b8c7d6e5f4"), "{command}");
    d.command = Some(sb.stable(&command));
    let d = s.state.repair.dialog.as_ref().unwrap();
    let ids: Vec<&str> = d
        .steps
        .iter()
        .map(|st| s.state.map.rev(st.rev).id.as_str())
        .collect();
    // Alembic's own order for `upgrade a9b8c7d6e5f4` from these rows.
    let want = migscope::plan::upgrade(
        s.state.map,
        &["cd2257cee794".into(), "add_system_settings".into()],
        "a9b8c7d6e5f4",
    )
    .unwrap();
    assert_eq!(ids, s.state.map.ids(&want.revisions));
    let text = s.render();
    assert!(text.contains("create_table rich_menus"), "{text}");
    insta::assert_snapshot!("upgrade_plan", text);
    // A downgrade to the base undoes everything applied, newest first.
    s.state.handle_key(Key::Esc);
    s.select("3f1c9a2b7d40");
    s.keys("d");
    let d = s.state.repair.dialog.as_ref().expect("a plan dialog");
    let first = s.state.map.rev(d.steps[0].rev).id.clone();
    assert!(
        first == "cd2257cee794" || first == "add_system_settings",
        "{first}"
    );
    // Each step shows what its downgrade() runs (read when the preview opens).
    let ops: Vec<String> = d
        .steps
        .iter()
        .flat_map(|st| st.ops(&d.ops))
        .map(|op| op.to_string())
        .collect();
    assert!(
        ops.contains(&"drop_table reply_objects".to_string()),
        "{ops:?}"
    );
}

#[test]
fn upgrade_runs_alembic_and_streams_its_log() {
    let sb = Sandbox::new();
    let mut s = Session::open(&sb, &sb.url(), false, (120, 34));
    // Repair first (the doctor's stamp), then upgrade the main line to its head.
    s.doctor_stamp();
    s.select("a9b8c7d6e5f4");
    s.keys("u");
    s.state.handle_key(Key::Enter);
    s.keys("a9b8");
    s.state.handle_key(Key::Enter);
    assert_eq!(s.state.view, View::Log, "the log opens while Alembic runs");
    // Quitting is held back while it runs.
    assert_eq!(s.state.handle_key(Key::Char('q')), tui::Outcome::Continue);
    assert_eq!(s.state.handle_key(Key::Char('q')), tui::Outcome::Continue);
    let status = s.state.status.clone().unwrap_or_default();
    assert!(status.contains("still running"), "{status}");
    s.keys("L");
    s.settle();
    let log = s.state.repair.log.join("\n");
    assert!(
        log.contains("Running upgrade cd2257cee794 -> e3f4g5h6i7j8"),
        "{log}"
    );
    assert!(log.contains("finished (exit code 0)"), "{log}");
    // Alembic moved the database; the screen was refreshed from it.
    let rows = sb.rows();
    assert!(rows.contains(&"a9b8c7d6e5f4".to_string()), "{rows:?}");
    let head = s
        .state
        .rows
        .iter()
        .position(|r| r.id == "a9b8c7d6e5f4")
        .unwrap();
    assert_eq!(s.state.row_db(head), Some(RowDb::Current));
    insta::assert_snapshot!("alembic_log", s.render());
    // The run is journaled; U does not pretend rewriting rows would undo it.
    let journal = std::fs::read_to_string(sb.tmp.path().join("state/journal.jsonl")).unwrap();
    assert!(journal.contains(r#""action":"upgrade""#), "{journal}");
    s.keys("qU");
    assert!(s.state.repair.dialog.is_none());
    let status = s.state.status.clone().unwrap_or_default();
    assert!(status.contains("alembic downgrade"), "{status}");
}

/// A schema that shows no revision ran (only the version table, at a head): the doctor
/// suggests `stamp base` and its preview opens (an empty list of targets once panicked there).
#[test]
fn a_suggestion_that_nothing_ran_is_stamp_base() {
    use sqlx::Connection;
    use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
    let sb = Sandbox::new();
    let path = sb.dir().join("empty.db");
    support::sandbox::rt().block_on(async {
        let opts = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true);
        let mut c = SqliteConnection::connect_with(&opts).await.unwrap();
        for sql in [
            "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)",
            "INSERT INTO alembic_version VALUES ('a9b8c7d6e5f4')",
        ] {
            sqlx::query(sql).execute(&mut c).await.unwrap();
        }
        c.close().await.unwrap();
    });
    let mut s = Session::open(
        &sb,
        &format!("sqlite:///{}", path.display()),
        false,
        (120, 48),
    );
    s.keys("D");
    let text = s.render();
    assert!(
        text.contains("1. Stamp base  (migscope stamp base)"),
        "{text}"
    );
    s.state.handle_key(Key::Enter);
    let d = s.state.repair.dialog.as_ref().expect("a stamp preview");
    assert!(d.refusal.is_none(), "{:?}", d.refusal);
    assert!(d.after.is_empty(), "{:?}", d.after);
    assert!(d.title.contains("stamp base"), "{}", d.title);
}

/// A long history whose every revision the schema shows applied: the doctor lists the newest
/// 40 verdicts, then says how many more there are (at 10,000 revisions it once built a line
/// for each, every frame), with each listed fact worded from the revision's operations.
#[test]
fn the_doctor_lists_forty_verdicts_and_counts_the_rest() {
    use sqlx::Connection;
    use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
    let sb = Sandbox::new();
    let versions = sb.dir().join("migrations/versions");
    std::fs::remove_dir_all(&versions).unwrap();
    std::fs::create_dir(&versions).unwrap();
    let n = 45;
    for i in 0..n {
        let down = if i == 0 {
            "None".to_string()
        } else {
            format!("'r{:03}'", i - 1)
        };
        std::fs::write(
            versions.join(format!("r{i:03}_t.py")),
            format!(
                "from alembic import op\nimport sqlalchemy as sa\n\nrevision = 'r{i:03}'\n\
                 down_revision = {down}\n\n\ndef upgrade():\n    \
                 op.create_table('t{i}', sa.Column('id', sa.Integer()))\n"
            ),
        )
        .unwrap();
    }
    let path = sb.dir().join("long.db");
    support::sandbox::rt().block_on(async {
        let opts = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true);
        let mut c = SqliteConnection::connect_with(&opts).await.unwrap();
        for i in 0..n {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "CREATE TABLE t{i} (id INTEGER)"
            )))
            .execute(&mut c)
            .await
            .unwrap();
        }
        c.close().await.unwrap();
    });
    let s = Session::open(
        &sb,
        &format!("sqlite:///{}", path.display()),
        false,
        (120, 48),
    );
    let screen = s.render();
    assert!(
        screen.contains("empty (no version row) 45 pending"),
        "{screen}"
    );
    let text: Vec<String> = tui::doctor::lines(&s.state)
        .iter()
        .map(|l| l.to_string())
        .collect();
    let listed: Vec<&String> = text.iter().filter(|l| l.contains("✓ applied")).collect();
    assert_eq!(listed.len(), 40, "{text:#?}");
    // Newest first, each with its fact.
    assert!(
        listed[0].contains("r044") && listed[0].contains("create_table t44: table exists"),
        "{}",
        listed[0]
    );
    assert!(
        text.iter()
            .any(|l| l.contains("and 5 more revisions with a verdict")),
        "{text:#?}"
    );
    // `alembic upgrade heads` from the empty table would create all 45 tables again: the
    // route's words (the doctor's and `status`'s) list 40 ids and 40 further conflicts.
    let a = &s.state.repair.db.as_ref().unwrap().assessment;
    assert_eq!(a.upgrade.conflicts.len(), 45);
    let lines: Vec<String> =
        migscope::render::route::route_lines(s.state.map, &a.upgrade, "", Some("X"))
            .into_iter()
            .map(|(_, l)| l)
            .collect();
    assert_eq!(lines.len(), 1 + 1 + 40 + 1, "{lines:#?}");
    assert!(
        lines[0].starts_with("runs 45: r000 r001")
            && lines[0].ends_with("r039 ... and 5 more (all of them: `migscope plan`)"),
        "{}",
        lines[0]
    );
    assert_eq!(lines[1], "predicted failure: r000: table t0 already exists");
    assert_eq!(lines[42], "  ... and 4 more (all of them: X)");
}
