//! The explorer: views rendered into ratatui's `TestBackend` (insta snapshots), key handling, and
//! an end-to-end run of the real binary inside tmux.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use migscope::config::ConfigOptions;
use migscope::project::Project;
use migscope::render::lanes::GlyphSet;
use migscope::tui::{self, Action, Key, State, View, view};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn demo() -> Project {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo");
    let mut opts = ConfigOptions::new(&root);
    opts.config = vec![root.join("alembic.ini")];
    Project::load(&opts).expect("demo loads")
}

/// A bare versions directory with revision files in the shape Alembic's template writes.
struct Temp {
    dir: tempfile::TempDir,
}

impl Temp {
    fn new() -> Temp {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("versions")).unwrap();
        Temp { dir }
    }

    /// `down` is Python source: `None`, `'a'`, `('a', 'b')`.
    fn rev(&self, id: &str, down: &str) -> &Temp {
        self.rev_as(&format!("{id}_rev.py"), id, down, "")
    }

    fn rev_as(&self, file: &str, id: &str, down: &str, extra: &str) -> &Temp {
        let body = format!(
            "\"\"\"change {id}\n\nRevision ID: {id}\nCreate Date: 2024-01-01 00:00:00\n\n\"\"\"\n\
             revision = '{id}'\ndown_revision = {down}\n{extra}\n\ndef upgrade():\n    pass\n"
        );
        fs::write(self.dir.path().join("versions").join(file), body).unwrap();
        self
    }

    fn load(&self) -> Project {
        let mut opts = ConfigOptions::new(self.dir.path());
        opts.dirs = vec![self.dir.path().join("versions")];
        Project::load(&opts).unwrap()
    }
}

fn state(project: &Project, glyphs: GlyphSet, size: (u16, u16)) -> State<'_> {
    let mut s = tui::state_for(project, &[], glyphs, size);
    // Stable headers whatever the checkout's location.
    s.project = "<project>".into();
    s
}

fn render(state: &State) -> String {
    let mut t = Terminal::new(TestBackend::new(state.width, state.height)).unwrap();
    t.draw(|f| view::draw(f, state)).unwrap();
    t.backend().to_string()
}

fn keys(state: &mut State, keys: &str) {
    for c in keys.chars() {
        state.handle_key(Key::Char(c));
    }
}

fn selected_id(s: &State) -> String {
    s.rows[s.selected_row().unwrap()].id.clone()
}

fn linear(n: usize) -> Temp {
    let t = Temp::new();
    for i in 0..n {
        let down = if i == 0 {
            "None".to_string()
        } else {
            format!("'r{:02}'", i - 1)
        };
        t.rev(&format!("r{i:02}"), &down);
    }
    t
}

#[test]
fn demo_graph_and_details() {
    let p = demo();
    let s = state(&p, GlyphSet::Unicode, (120, 30));
    insta::assert_snapshot!("demo_unicode", render(&s));
}

#[test]
fn demo_ascii_narrow() {
    let p = demo();
    let mut s = state(&p, GlyphSet::Ascii, (80, 30));
    keys(&mut s, "jjj");
    insta::assert_snapshot!("demo_ascii_narrow", render(&s));
}

#[test]
fn demo_details_of_a_problem_revision() {
    let p = demo();
    let mut s = state(&p, GlyphSet::Unicode, (120, 30));
    // The orphan base carries the problems.
    let orphan = s
        .rows
        .iter()
        .position(|r| r.id == "add_system_settings")
        .unwrap();
    s.select_row(orphan);
    insta::assert_snapshot!("demo_orphan_details", render(&s));
}

#[test]
fn linear_history() {
    let t = linear(8);
    let p = t.load();
    let s = state(&p, GlyphSet::Unicode, (100, 16));
    insta::assert_snapshot!("linear", render(&s));
}

#[test]
fn branchy_history() {
    let t = Temp::new();
    t.rev("base", "None")
        .rev("a1", "'base'")
        .rev("a2", "'a1'")
        .rev("b1", "'base'")
        .rev("b2", "'b1'")
        .rev("c1", "'a1'");
    let p = t.load();
    let s = state(&p, GlyphSet::Unicode, (100, 18));
    insta::assert_snapshot!("branchy", render(&s));
}

#[test]
fn merge_heavy_history() {
    let t = Temp::new();
    t.rev("base", "None")
        .rev("a", "'base'")
        .rev("b", "'base'")
        .rev("c", "'base'")
        .rev("m1", "('a', 'b')")
        .rev("d", "'m1'")
        .rev("m2", "('d', 'c')")
        .rev("e", "'m2'")
        .rev("f", "'m2'")
        .rev("m3", "('e', 'f')");
    let p = t.load();
    let s = state(&p, GlyphSet::Unicode, (100, 24));
    insta::assert_snapshot!("merge_heavy", render(&s));
    let s = state(&p, GlyphSet::Ascii, (100, 24));
    insta::assert_snapshot!("merge_heavy_ascii", render(&s));
}

#[test]
fn broken_history() {
    let t = Temp::new();
    t.rev("base", "None")
        .rev("a", "'base'")
        .rev("b", "'gone'")
        .rev("orphan", "None")
        .rev_as("0dup_rev.py", "a", "'base'", "")
        .rev("c", "('a', 'b')");
    let p = t.load();
    let mut s = state(&p, GlyphSet::Unicode, (110, 22));
    let ghost = s.rows.iter().position(|r| r.rev.is_none()).unwrap();
    s.select_row(ghost);
    insta::assert_snapshot!("broken", render(&s));
}

#[test]
fn help_is_the_key_table() {
    let p = demo();
    let mut s = state(&p, GlyphSet::Unicode, (100, 48));
    keys(&mut s, "?");
    assert_eq!(s.view, View::Help);
    let text = render(&s);
    // Every binding's keys appear in the help.
    for b in tui::keys::BINDINGS {
        assert!(text.contains(&b.key_names()), "{} missing", b.key_names());
    }
    insta::assert_snapshot!("help", text);
    keys(&mut s, "q");
    assert_eq!(s.view, View::Graph);
}

#[test]
fn problems_view_and_jump() {
    let p = demo();
    let mut s = state(&p, GlyphSet::Unicode, (120, 20));
    keys(&mut s, "P");
    assert_eq!(s.view, View::Problems);
    insta::assert_snapshot!("problems", render(&s));
    // Enter goes to the selected problem's revision.
    let target = (0..s.diagnostics.len())
        .find(|&i| s.diagnostics[i].revision.is_some())
        .unwrap();
    for _ in 0..target {
        s.handle_key(Key::Down);
    }
    let want = s.diagnostics[target].revision.clone().unwrap();
    s.handle_key(Key::Enter);
    assert_eq!(s.view, View::Graph);
    assert_eq!(selected_id(&s), want);
}

#[test]
fn source_view() {
    let p = demo();
    let mut s = state(&p, GlyphSet::Unicode, (100, 30));
    s.handle_key(Key::Enter);
    assert_eq!(s.view, View::Source);
    let text = render(&s);
    assert!(text.contains("15▶revision: str = 'a9b8c7d6e5f4'"), "{text}");
    assert!(text.contains("Rev: a9b8c7d6e5f4"), "{text}");
    insta::assert_snapshot!("source", text);
    s.handle_key(Key::Enter);
    assert_eq!(s.view, View::Graph);
}

#[test]
fn too_small_terminal() {
    let p = demo();
    let s = state(&p, GlyphSet::Unicode, (40, 8));
    insta::assert_snapshot!("too_small", render(&s));
    // Growing the terminal brings the views back.
    let mut s = s;
    s.resize(120, 30);
    assert!(render(&s).contains("a9b8c7d6e5f4"));
}

#[test]
fn search_and_n_n() {
    let p = demo();
    let mut s = state(&p, GlyphSet::Unicode, (120, 30));
    s.handle_key(Key::Char('/'));
    keys(&mut s, "reply");
    assert!(s.search.editing);
    let matches = s.search.matches.clone();
    assert!(!matches.is_empty());
    assert!(matches.iter().all(|&r| {
        format!("{} {}", s.rows[r].id, s.rows[r].message).contains("reply")
            || s.rows[r].rev.is_some()
    }));
    // Typing moves to the first match.
    assert_eq!(s.selected_row(), Some(matches[0]));
    s.handle_key(Key::Enter);
    assert!(!s.search.editing);
    if matches.len() > 1 {
        keys(&mut s, "n");
        assert_eq!(s.selected_row(), Some(matches[1]));
        keys(&mut s, "N");
        assert_eq!(s.selected_row(), Some(matches[0]));
    }
    // N from the first match wraps to the last.
    keys(&mut s, "N");
    assert_eq!(s.selected_row(), Some(*matches.last().unwrap()));
    insta::assert_snapshot!("search_reply", render(&s));
    // Esc clears the search, a second Esc quits.
    assert_eq!(s.handle_key(Key::Esc), tui::Outcome::Continue);
    assert!(s.search.query.is_empty());
    assert_eq!(s.handle_key(Key::Esc), tui::Outcome::Quit);
}

#[test]
fn search_esc_restores_selection_and_file_names_match() {
    let t = linear(6);
    let p = t.load();
    let mut s = state(&p, GlyphSet::Unicode, (100, 20));
    keys(&mut s, "jj");
    let before = s.selected_row();
    s.handle_key(Key::Char('/'));
    keys(&mut s, "r00_rev.py");
    assert_eq!(s.search.matches.len(), 1);
    assert_eq!(selected_id(&s), "r00");
    s.handle_key(Key::Esc);
    assert_eq!(s.selected_row(), before);
    assert!(s.search.matches.is_empty());
}

#[test]
fn g_and_big_g_and_paging() {
    let t = linear(40);
    let p = t.load();
    let mut s = state(&p, GlyphSet::Unicode, (100, 20));
    assert_eq!(selected_id(&s), "r39");
    keys(&mut s, "G");
    assert_eq!(selected_id(&s), "r00");
    assert!(s.scroll > 0, "the last row is scrolled into view");
    keys(&mut s, "g");
    assert_eq!(selected_id(&s), "r39");
    assert_eq!(s.scroll, 0);
    s.handle_key(Key::PageDown);
    let after = s.selected_row().unwrap();
    assert!(after >= 5, "page down moved {after} rows");
    s.handle_key(Key::PageUp);
    assert_eq!(s.selected_row(), Some(0));
    s.handle_key(Key::Up);
    assert_eq!(s.selected_row(), Some(0), "stops at the top");
}

#[test]
fn jump_to_head_parent_child() {
    let p = demo();
    let mut s = state(&p, GlyphSet::Unicode, (120, 30));
    assert_eq!(selected_id(&s), "a9b8c7d6e5f4");
    keys(&mut s, "h");
    assert_eq!(selected_id(&s), "add_sync_status_to_rich_menus");
    keys(&mut s, "h");
    assert_eq!(selected_id(&s), "a9b8c7d6e5f4", "wraps around");
    keys(&mut s, "p");
    assert_eq!(selected_id(&s), "157caa418be7");
    keys(&mut s, "c");
    assert_eq!(selected_id(&s), "a9b8c7d6e5f4");
    keys(&mut s, "c");
    assert_eq!(s.status.as_deref(), Some("no child"));
    // Ancestry of the head is everything it descends from.
    let anc = s.ancestry.iter().filter(|&&a| a).count();
    assert!(anc > 5);
    let orphan = s
        .rows
        .iter()
        .position(|r| r.id == "add_system_settings")
        .unwrap();
    assert!(!s.ancestry[orphan]);
}

#[test]
fn folding_linear_runs() {
    let t = linear(12);
    let p = t.load();
    let mut s = state(&p, GlyphSet::Unicode, (100, 20));
    keys(&mut s, "jjj");
    keys(&mut s, "z");
    assert_eq!(s.items.len(), 3, "head, fold, base");
    assert!(matches!(
        s.selected_item(),
        Some(tui::state::Item::Folded { .. })
    ));
    insta::assert_snapshot!("folded", render(&s));
    keys(&mut s, "z");
    assert_eq!(s.items.len(), 12);
    assert_eq!(
        selected_id(&s),
        "r10",
        "unfolding selects the run's first hidden row"
    );
    // Z folds everything; jumping into a fold opens it.
    keys(&mut s, "Z");
    assert_eq!(s.items.len(), 3);
    keys(&mut s, "G");
    assert_eq!(selected_id(&s), "r00");
    keys(&mut s, "c");
    assert_eq!(selected_id(&s), "r01");
    assert_eq!(s.items.len(), 12);
    // Short runs do not fold.
    let t = linear(3);
    let p = t.load();
    let mut s = state(&p, GlyphSet::Unicode, (100, 20));
    keys(&mut s, "z");
    assert_eq!(s.items.len(), 3);
    assert!(s.status.is_some());
}

#[test]
fn mouse_and_resize() {
    let p = demo();
    let mut s = state(&p, GlyphSet::Unicode, (120, 30));
    s.click_graph_line(2);
    assert_eq!(selected_id(&s), "157caa418be7");
    s.wheel(3);
    assert!(s.selected_row().unwrap() > 1);
    s.resize(60, 14);
    let text = render(&s);
    assert!(text.contains("details"), "{text}");
    s.apply(Action::Bottom);
    assert!(s.scroll > 0);
}

// ---------------------------------------------------------------------------------------------
// End to end in tmux.

/// A private tmux server per test run, so a user's own tmux sessions are never touched.
fn socket() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("tmux-e2e-{}", std::process::id()))
}

fn tmux(args: &[&str]) -> std::process::Output {
    Command::new("tmux")
        .arg("-S")
        .arg(socket())
        .args(args)
        .output()
        .expect("run tmux")
}

fn capture(session: &str) -> String {
    String::from_utf8_lossy(&tmux(&["capture-pane", "-p", "-t", session]).stdout).into_owned()
}

fn wait_for(session: &str, what: &str, timeout: Duration) -> String {
    let start = Instant::now();
    loop {
        let screen = capture(session);
        if screen.contains(what) || start.elapsed() > timeout {
            return screen;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn tmux_available() -> bool {
    Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn end_to_end_in_tmux() {
    if !tmux_available() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("tmux is required under CI for the explorer's end-to-end test");
        }
        eprintln!("\n!!! SKIPPED end_to_end_in_tmux: tmux is not installed !!!\n");
        return;
    }
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_migscope"));
    let session = format!("migscope-e2e-{}", std::process::id());
    let marker = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{session}.done"));
    let _ = fs::remove_file(&marker);
    // After the explorer exits the shell prints the terminal modes, proving they were restored.
    // Read-only, on the bundled demo (an empty state dir: no work copy).
    let cmd = format!(
        "MIGSCOPE_STATE_DIR={m}.state {} --demo --read-only; stty -a > {m}.stty; echo EXITED $? \
         > {m}; sleep 30",
        bin.display(),
        m = marker.display()
    );
    let out = tmux(&[
        "new-session",
        "-d",
        "-x",
        "120",
        "-y",
        "40",
        "-s",
        &session,
        "sh",
        "-c",
        &cmd,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    struct Kill;
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = tmux(&["kill-server"]);
            let _ = fs::remove_file(socket());
        }
    }
    let _guard = Kill;

    let screen = wait_for(&session, "needs repair", Duration::from_secs(20));
    assert!(screen.contains("a9b8c7d6e5f4"), "first frame:\n{screen}");
    assert!(screen.contains("details"), "first frame:\n{screen}");

    tmux(&["send-keys", "-t", &session, "/", "reply"]);
    let screen = wait_for(&session, "/reply", Duration::from_secs(5));
    assert!(screen.contains("/reply"), "search:\n{screen}");
    tmux(&["send-keys", "-t", &session, "Enter"]);
    let screen = wait_for(&session, "1/", Duration::from_secs(5));
    assert!(screen.contains("reply"), "after Enter:\n{screen}");
    // The details pane shows the match.
    assert!(screen.contains("add reply objects"), "{screen}");

    // Jump to the next head.
    tmux(&["send-keys", "-t", &session, "h"]);
    let screen = wait_for(&session, "add_sync_status", Duration::from_secs(5));
    assert!(screen.contains("add_sync_status_to_rich_menus"), "{screen}");

    tmux(&["send-keys", "-t", &session, "q"]);
    let start = Instant::now();
    while !marker.exists() && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = fs::read_to_string(&marker).unwrap_or_default();
    assert_eq!(
        status.trim(),
        "EXITED 0",
        "the explorer did not quit cleanly"
    );
    let stty = fs::read_to_string(format!("{}.stty", marker.display())).unwrap_or_default();
    // Raw mode off: canonical input and echo are back.
    let modes: Vec<&str> = stty.split_whitespace().collect();
    assert!(
        modes.contains(&"icanon") && modes.contains(&"echo"),
        "terminal modes not restored:\n{stty}"
    );
    // The alternate screen is gone: the explorer's frame is no longer on the pane.
    let screen = capture(&session);
    assert!(!screen.contains("needs repair"), "{screen}");
    let _ = fs::remove_file(&marker);
    let _ = fs::remove_file(format!("{}.stty", marker.display()));
}

// ---------------------------------------------------------------------------------------------
// Reloading when files change.

/// Rewrites revision `id`'s message in `t` (same id and parent).
fn retitle(t: &Temp, id: &str, message: &str) {
    let path = t.dir.path().join("versions").join(format!("{id}_rev.py"));
    let text = fs::read_to_string(&path).unwrap();
    fs::write(&path, text.replace(&format!("change {id}"), message)).unwrap();
}

#[test]
fn a_reload_keeps_selection_scroll_search_and_view() {
    use migscope::tui::watch::Kept;
    let t = linear(40);
    let p = t.load();
    let mut s = state(&p, GlyphSet::Unicode, (100, 20));
    s.handle_key(Key::Char('/'));
    keys(&mut s, "r2");
    s.handle_key(Key::Enter);
    keys(&mut s, "jjjjjjjjjjjjjjjj");
    let (id, scroll) = (selected_id(&s), s.scroll);
    assert!(scroll > 0);
    keys(&mut s, "J");
    let kept = Kept::of(&s);
    retitle(&t, &id, "retitled by the test");
    let p2 = t.load();
    let mut s2 = state(&p2, GlyphSet::Unicode, (100, 20));
    kept.restore(&mut s2);
    assert_eq!(selected_id(&s2), id);
    assert_eq!(s2.scroll, scroll);
    assert_eq!(s2.search.query, "r2");
    assert_eq!(s2.search.matches, s.search.matches);
    assert_eq!(s2.details_scroll, s.details_scroll);
    let r = s2.selected_row().unwrap();
    assert_eq!(s2.rows[r].message, "retitled by the test");
    assert!(render(&s2).contains("retitled by the test"));
    // The file view stays open on the same revision.
    s2.handle_key(Key::Enter);
    let kept = Kept::of(&s2);
    let mut s3 = state(&p2, GlyphSet::Unicode, (100, 20));
    kept.restore(&mut s3);
    assert_eq!(s3.view, View::Source);
    assert_eq!(selected_id(&s3), id);
}

#[test]
fn a_reload_keeps_folds_and_survives_a_deleted_selection() {
    use migscope::tui::watch::Kept;
    let t = linear(12);
    let p = t.load();
    let mut s = state(&p, GlyphSet::Unicode, (100, 20));
    keys(&mut s, "jjjz");
    assert_eq!(s.items.len(), 3);
    let kept = Kept::of(&s);
    let p2 = t.load();
    let mut s2 = state(&p2, GlyphSet::Unicode, (100, 20));
    kept.restore(&mut s2);
    assert_eq!(s2.items.len(), 3, "the fold is kept");
    assert_eq!(s2.selected, s.selected);
    // The selected revision's file is gone: the selection falls back without panicking.
    keys(&mut s2, "z");
    keys(&mut s2, "G");
    let kept = Kept::of(&s2);
    fs::remove_file(t.dir.path().join("versions/r00_rev.py")).unwrap();
    let p3 = t.load();
    let mut s3 = state(&p3, GlyphSet::Unicode, (100, 20));
    kept.restore(&mut s3);
    assert!(s3.selected_row().is_some());
}

#[test]
fn the_watcher_reloads_an_edited_file() {
    use migscope::tui::watch::{Watched, Watcher};
    let t = linear(5);
    let p = std::sync::Arc::new(t.load());
    let before = Watched::of(&p).snapshot();
    assert_eq!(before.files, 5);
    let mut opts = ConfigOptions::new(t.dir.path());
    opts.dirs = vec![t.dir.path().join("versions")];
    let w = Watcher::spawn(std::sync::Arc::clone(&p), opts, Vec::new());
    // Let the watcher take its first snapshot, then edit.
    std::thread::sleep(Duration::from_millis(100));
    retitle(&t, "r02", "edited while watched");
    assert_ne!(Watched::of(&p).snapshot(), before);
    // Each reload first asks the explorer to let go of what it replaces, once.
    let next = || {
        let start = Instant::now();
        let mut asked = 0;
        loop {
            if w.reload_coming() {
                asked += 1;
                w.ready();
            }
            if let Some(r) = w.latest() {
                assert_eq!(asked, 1, "asked once before the reload");
                break r.expect("the project loads");
            }
            assert!(
                start.elapsed() < Duration::from_secs(3),
                "no reload after an edit"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let reloaded = next();
    let map = &reloaded.project.map;
    let r02 = map.get("r02").unwrap();
    assert_eq!(map.rev(r02).message, "edited while watched");
    // A second edit reloads from the reloaded project: both edits show.
    retitle(&t, "r03", "edited again");
    let reloaded = next();
    let map = &reloaded.project.map;
    assert_eq!(
        map.rev(map.get("r02").unwrap()).message,
        "edited while watched"
    );
    assert_eq!(map.rev(map.get("r03").unwrap()).message, "edited again");
    // Nothing changes: nothing more arrives.
    std::thread::sleep(Duration::from_millis(600));
    assert!(w.latest().is_none());
}

#[test]
fn details_pane_scrolls_with_j_and_k() {
    let p = demo();
    let mut s = state(&p, GlyphSet::Unicode, (120, 16));
    // The orphan base: its problems and operations do not fit 14 lines.
    s.handle_key(Key::Char('/'));
    keys(&mut s, "add_system_settings");
    s.handle_key(Key::Enter);
    assert_eq!(selected_id(&s), "add_system_settings");
    let top = render(&s);
    assert!(top.contains("details (↓ J)"), "{top}");
    assert!(!top.contains("upgrade() operations"), "{top}");
    // J until the end: the operations list comes into view, and J stops there.
    for _ in 0..20 {
        s.handle_key(Key::Char('J'));
    }
    let end = s.details_scroll;
    assert!(end > 0);
    let text = render(&s);
    assert!(text.contains("create_table system_settings"), "{text}");
    assert!(text.contains("details (end, K ↑)"), "{text}");
    insta::assert_snapshot!("details_scrolled", text);
    s.handle_key(Key::Char('K'));
    assert_eq!(s.details_scroll, end - 3);
    // Another revision starts at the top again.
    s.handle_key(Key::Char('k'));
    assert_eq!(s.details_scroll, 0);
}

/// `/` finds a revision by a table its `upgrade()` touches, once the background job has read
/// them (no id, message or file name here says `zebra`); names read for another project are
/// ignored.
#[test]
fn search_finds_revisions_by_the_tables_they_touch() {
    use migscope::project::OpsScope;
    use migscope::tui::search::TableNames;
    let t = linear(4);
    let body = |id: &str, down: &str, op: &str| {
        format!(
            "\"\"\"change {id}\"\"\"\nfrom alembic import op\nimport sqlalchemy as sa\n\
             revision = '{id}'\ndown_revision = {down}\n\n\ndef upgrade():\n    {op}\n"
        )
    };
    let versions = t.dir.path().join("versions");
    fs::write(
        versions.join("r01_rev.py"),
        body(
            "r01",
            "'r00'",
            "op.create_table('Zebra_Stripes', sa.Column('id', sa.Integer()))",
        ),
    )
    .unwrap();
    fs::write(
        versions.join("r02_rev.py"),
        body(
            "r02",
            "'r01'",
            "op.add_column('Zebra_Stripes', sa.Column('n', sa.Integer()))",
        ),
    )
    .unwrap();
    let p = t.load();
    let mut s = state(&p, GlyphSet::Unicode, (120, 30));
    let search = |s: &mut State, q: &str| {
        s.handle_key(Key::Char('/'));
        keys(s, q);
        s.handle_key(Key::Enter);
        let ids: Vec<String> = s
            .search
            .matches
            .iter()
            .map(|&r| s.rows[r].id.clone())
            .collect();
        ids
    };
    assert!(
        search(&mut s, "zebra").is_empty(),
        "not before the names arrive"
    );
    let other = t.load();
    s.set_table_names(TableNames::of(&other.ops(OpsScope::Upgrade), &other.map));
    assert!(
        search(&mut s, "zebra").is_empty(),
        "another project's names"
    );
    s.set_table_names(TableNames::of(&p.ops(OpsScope::Upgrade), &p.map));
    assert_eq!(search(&mut s, "zebra_stripes"), ["r02", "r01"]);
    assert_eq!(selected_id(&s), "r02");
}
