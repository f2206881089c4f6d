//! Driving the real binary in tmux: a private server per test process (a user's own tmux
//! sessions are never touched), keys in with `send-keys`, the screen out with `capture-pane`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The private server's socket.
pub fn socket() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("tmux-e2e-{}", std::process::id()))
}

pub fn tmux(args: &[&str]) -> std::process::Output {
    Command::new("tmux")
        .arg("-S")
        .arg(socket())
        .args(args)
        .output()
        .expect("run tmux")
}

pub fn capture(session: &str) -> String {
    String::from_utf8_lossy(&tmux(&["capture-pane", "-p", "-t", session]).stdout).into_owned()
}

/// The screen once it shows `what`, or as it is after `timeout`.
pub fn wait_for(session: &str, what: &str, timeout: Duration) -> String {
    let start = Instant::now();
    loop {
        let screen = capture(session);
        if screen.contains(what) || start.elapsed() > timeout {
            return screen;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn tmux_available() -> bool {
    Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Whether tmux can run this test; without it the test is skipped, except under `CI=true`.
pub fn require_tmux(test: &str) -> bool {
    if tmux_available() {
        return true;
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("tmux is required under CI for the explorer's end-to-end test {test}");
    }
    eprintln!("\n!!! SKIPPED {test}: tmux is not installed !!!\n");
    false
}

/// Starts `sh -c cmd` in a detached `width`×`height` session; the server goes with the guard.
pub fn new_session(session: &str, (width, height): (u16, u16), cmd: &str) -> KillServer {
    let (w, h) = (width.to_string(), height.to_string());
    let out = tmux(&[
        "new-session",
        "-d",
        "-x",
        &w,
        "-y",
        &h,
        "-s",
        session,
        "sh",
        "-c",
        cmd,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    KillServer
}

/// `tmux send-keys` (key names as tmux spells them: `Enter`, `Escape`, or text).
pub fn send(session: &str, keys: &[&str]) {
    let mut args = vec!["send-keys", "-t", session];
    args.extend(keys);
    tmux(&args);
}

/// Kills the private server when dropped (also when the test fails).
pub struct KillServer;

impl Drop for KillServer {
    fn drop(&mut self) {
        let _ = tmux(&["kill-server"]);
        let _ = std::fs::remove_file(socket());
    }
}
