//! The explorer's live features, driving the real binary in tmux: an edited revision file shows on
//! screen within about a second (selection kept), and compare mode, opened from the command line
//! or from the explorer.

mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use support::tmux::{self, Tmux};

const SIZE: (u16, u16) = (120, 40);

/// A copy of the demo project's ini and revision files in `dir`.
fn demo_copy(dir: &Path) -> PathBuf {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo");
    let versions = dir.join("migrations/versions");
    fs::create_dir_all(&versions).unwrap();
    fs::copy(demo.join("alembic.ini"), dir.join("alembic.ini")).unwrap();
    for e in fs::read_dir(demo.join("migrations/versions")).unwrap() {
        let e = e.unwrap();
        if e.file_name().to_string_lossy().ends_with(".py") {
            fs::copy(e.path(), versions.join(e.file_name())).unwrap();
        }
    }
    versions
}

fn bin() -> String {
    env!("CARGO_BIN_EXE_migscope").to_string()
}

const HEAD_FILE: &str = "a9b8c7d6e5f4_add_operator_name_to_chat_sessions.py";

#[test]
fn an_edited_file_updates_the_screen_within_a_second() {
    if !tmux::available("an_edited_file_updates_the_screen_within_a_second") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let versions = demo_copy(tmp.path());
    let cmd = format!("cd {} && {}; sleep 30", tmp.path().display(), bin());
    let t = Tmux::start("migscope-watch", tmp.path(), &cmd, SIZE);
    let screen = t.wait_for("add operator name", Duration::from_secs(20));
    assert!(screen.contains("a9b8c7d6e5f4"), "first frame:\n{screen}");
    // Another revision selected first: the reload must keep it.
    t.keys(&["j", "j"]);
    let screen = t.wait_for("graph 3/", Duration::from_secs(5));
    assert!(screen.contains("graph 3/"), "{screen}");
    let file = versions.join(HEAD_FILE);
    let text = fs::read_to_string(&file).unwrap();
    fs::write(
        &file,
        text.replace("add operator name", "watched edit shows"),
    )
    .unwrap();
    let start = Instant::now();
    let screen = t.wait_for("watched edit shows", Duration::from_secs(5));
    let took = start.elapsed();
    assert!(
        screen.contains("watched edit shows"),
        "no reload:\n{screen}"
    );
    assert!(screen.contains("graph 3/"), "selection lost:\n{screen}");
    eprintln!("edit to screen: {took:?}");
    assert!(
        took < Duration::from_millis(1500),
        "the reload took {took:?}"
    );
}

#[test]
fn compare_mode_from_the_command_line_and_from_the_explorer() {
    if !tmux::available("compare_mode_from_the_command_line_and_from_the_explorer") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (left, right) = (tmp.path().join("left"), tmp.path().join("right"));
    demo_copy(&left);
    let rv = demo_copy(&right);
    fs::remove_file(rv.join(HEAD_FILE)).unwrap();
    let marker = tmp.path().join("done");
    let cmd = format!(
        "{} compare {} {}; echo EXITED $? > {}; sleep 30",
        bin(),
        left.display(),
        right.display(),
        marker.display()
    );
    let t = Tmux::start("migscope-cmp", tmp.path(), &cmd, SIZE);
    // Wait for the last part asserted: a capture may catch a frame half written.
    let screen = t.wait_for("1 left only", Duration::from_secs(20));
    assert!(screen.contains("migscope compare"), "{screen}");
    assert!(screen.contains("1 left only"), "{screen}");
    // The first difference is selected; Enter shows it against nothing on the right.
    t.keys(&["Enter"]);
    let screen = t.wait_for("(not on RIGHT)", Duration::from_secs(5));
    assert!(screen.contains("(not on RIGHT)"), "{screen}");
    t.keys(&["q"]);
    t.wait_for("union graph", Duration::from_secs(5));
    t.keys(&["q"]);
    let start = Instant::now();
    while !marker.exists() && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        fs::read_to_string(&marker).unwrap_or_default().trim(),
        "EXITED 0"
    );
    drop(t);

    // From the explorer: C asks for the other side; q comes back.
    let cmd = format!("cd {} && {}; sleep 30", left.display(), bin());
    let t = Tmux::start("migscope-cmpx", tmp.path(), &cmd, SIZE);
    t.wait_for("a9b8c7d6e5f4", Duration::from_secs(20));
    t.keys(&["C"]);
    let screen = t.wait_for("compare with", Duration::from_secs(5));
    assert!(
        screen.contains("compare with (a path or git:REF)"),
        "{screen}"
    );
    t.type_text(&right.display().to_string());
    t.keys(&["Enter"]);
    // Wait for the last part asserted: a capture may catch a frame half written.
    let screen = t.wait_for("1 left only", Duration::from_secs(20));
    assert!(screen.contains("1 left only"), "{screen}");
    assert!(screen.contains("a9b8c7d6e5f4"), "{screen}");
    t.keys(&["q"]);
    let screen = t.wait_for("┌ graph ", Duration::from_secs(5));
    assert!(!screen.contains("union graph"), "{screen}");
}
