//! Driving the real binary in tmux: one private tmux server per session (its own socket), so tests
//! running in parallel never kill each other's panes, and a user's own tmux is never touched.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

pub struct Tmux {
    socket: PathBuf,
    pub session: String,
}

/// Whether tmux can run here; under `CI=true` its absence is a failure.
pub fn available(test: &str) -> bool {
    let ok = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("tmux is required under CI for {test}");
        }
        eprintln!("\n!!! SKIPPED {test}: tmux is not installed !!!\n");
    }
    ok
}

impl Tmux {
    /// Starts `sh -c command` in a detached `width`×`height` session named after `name`.
    pub fn start(
        name: &str,
        dir: &std::path::Path,
        command: &str,
        (width, height): (u16, u16),
    ) -> Tmux {
        let session = format!("{name}-{}", std::process::id());
        let t = Tmux {
            socket: dir.join(format!("{session}.sock")),
            session,
        };
        let (w, h) = (width.to_string(), height.to_string());
        let out = t.run(&[
            "new-session",
            "-d",
            "-x",
            &w,
            "-y",
            &h,
            "-s",
            &t.session,
            "sh",
            "-c",
            command,
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        t
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("run tmux")
    }

    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", &self.session];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    /// Types `text` literally.
    pub fn type_text(&self, text: &str) {
        self.run(&["send-keys", "-t", &self.session, "-l", text]);
    }

    pub fn screen(&self) -> String {
        String::from_utf8_lossy(
            &self
                .run(&["capture-pane", "-p", "-t", &self.session])
                .stdout,
        )
        .into_owned()
    }

    /// The screen once it shows `what`, or after `timeout` (the caller asserts).
    pub fn wait_for(&self, what: &str, timeout: Duration) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if screen.contains(what) || start.elapsed() > timeout {
                return screen;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
        let _ = std::fs::remove_file(&self.socket);
    }
}
