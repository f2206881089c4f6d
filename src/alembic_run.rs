//! Running the project's real Alembic (`upgrade` / `downgrade`) and streaming its output.
//!
//! The command is always an argv vector handed to the OS, never a shell string: a project path or
//! a target with spaces or quotes must reach Alembic unchanged. Output is read from both pipes
//! on two threads and delivered in arrival order, so a caller (the CLI, or a TUI worker thread)
//! sees each line while the migration is still running. This module knows nothing of how the
//! lines are shown.

use std::ffi::{OsStr, OsString};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;

/// Environment variable naming the Alembic command when `--alembic-cmd` is not given.
pub const ALEMBIC_ENV: &str = "MIGSCOPE_ALEMBIC";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Upgrade,
    Downgrade,
}

impl Verb {
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Upgrade => "upgrade",
            Verb::Downgrade => "downgrade",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// How to invoke Alembic for one project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlembicCommand {
    /// argv prefix, e.g. `["alembic"]` or `["/p/.venv/bin/python", "-m", "alembic"]`.
    pub program: Vec<OsString>,
    /// Passed as `-c`; absolute, so it does not depend on `cwd`.
    pub config: PathBuf,
    /// Passed as `-n` when set.
    pub name: Option<String>,
    /// The ini's directory: Alembic resolves a relative `script_location` against the working
    /// directory, and users run it from there.
    pub cwd: PathBuf,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub success: bool,
    /// The exit code; `None` when the process was killed by a signal.
    pub code: Option<i32>,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0}")]
    NotFound(String),
    #[error("cannot start `{program}`: {source}; check --alembic-cmd / ${ALEMBIC_ENV}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("reading Alembic's output: {0}")]
    Io(#[from] std::io::Error),
}

impl AlembicCommand {
    /// `explicit` is `--alembic-cmd` (split into words like a shell, no shell run); else
    /// `$MIGSCOPE_ALEMBIC`;
    /// else `alembic` found on `PATH`; else [`RunError::NotFound`] saying how to point to it.
    pub fn resolve(
        explicit: Option<&str>,
        config: &Path,
        name: Option<&str>,
    ) -> Result<Self, RunError> {
        let from_env = std::env::var(ALEMBIC_ENV).ok();
        let program = match (explicit, from_env.as_deref()) {
            (Some(cmd), _) => split_command(cmd, "--alembic-cmd")?,
            (None, Some(cmd)) if !cmd.trim().is_empty() => split_command(cmd, ALEMBIC_ENV)?,
            _ => vec![find_on_path("alembic").ok_or_else(|| {
                RunError::NotFound(
                    "`alembic` is not on PATH; install it in the project's environment \
                     (pip install alembic) and activate it, or pass --alembic-cmd \
                     \"/path/to/venv/bin/python -m alembic\" (or set MIGSCOPE_ALEMBIC)"
                        .to_string(),
                )
            })?],
        };
        let config = absolute(config);
        let cwd = config
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        Ok(AlembicCommand {
            program,
            config,
            name: name.map(str::to_string),
            cwd,
        })
    }

    /// The full argv for `upgrade|downgrade TARGET [--sql]`, for display and for running.
    pub fn argv(&self, verb: Verb, target: &str, sql: bool) -> Vec<OsString> {
        let mut argv = self.program.clone();
        argv.push("-c".into());
        argv.push(self.config.clone().into_os_string());
        if let Some(name) = &self.name {
            argv.push("-n".into());
            argv.push(name.into());
        }
        argv.push(verb.as_str().into());
        argv.push(target.into());
        if sql {
            argv.push("--sql".into());
        }
        argv
    }
}

/// An argv as one line for display (arguments with spaces or quotes are quoted; display only,
/// never parsed back).
pub fn display_argv(argv: &[OsString]) -> String {
    argv.iter()
        .map(|a| {
            let s = a.to_string_lossy();
            if s.is_empty() || s.contains(|c: char| c.is_whitespace() || c == '"' || c == '\'') {
                format!("'{}'", s.replace('\'', "'\\''"))
            } else {
                s.into_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `cmd` split into words as a POSIX shell splits them, without running one: whitespace
/// separates, `'...'` is literal, `"..."` keeps `\"`, `\\`, `\$` and `` \` `` escapes, and a
/// backslash outside quotes escapes whitespace, a quote or a backslash (before anything else it
/// stays, so Windows paths need no doubling). No expansion of any kind. So a path with spaces
/// can be quoted (`"'/mnt/c/Program Files/py/python.exe' -m alembic"`), and [`display_argv`]'s
/// output splits back into the same words.
fn split_command(cmd: &str, origin: &str) -> Result<Vec<OsString>, RunError> {
    let mut words: Vec<OsString> = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = cmd.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if let Some(w) = word.take() {
                    words.push(w.into());
                }
            }
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => w.push(c),
                        None => return Err(unterminated(origin, cmd, "'")),
                    }
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(e @ ('"' | '\\' | '$' | '`')) => w.push(e),
                            Some(other) => {
                                w.push('\\');
                                w.push(other);
                            }
                            None => return Err(unterminated(origin, cmd, "\"")),
                        },
                        Some(c) => w.push(c),
                        None => return Err(unterminated(origin, cmd, "\"")),
                    }
                }
            }
            '\\' => {
                let w = word.get_or_insert_with(String::new);
                match chars.next() {
                    Some(c) if c.is_whitespace() || matches!(c, '\'' | '"' | '\\') => w.push(c),
                    // Anything else keeps its backslash: `C:\Python\python.exe` stays a path.
                    Some(c) => {
                        w.push('\\');
                        w.push(c);
                    }
                    None => {
                        return Err(RunError::NotFound(format!(
                            "{origin} ends with a lone backslash: {cmd}"
                        )));
                    }
                }
            }
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    if let Some(w) = word {
        words.push(w.into());
    }
    if words.is_empty() {
        return Err(RunError::NotFound(format!(
            "{origin} is empty; give the Alembic command, e.g. \"alembic\" or \
             \"/path/to/venv/bin/python -m alembic\""
        )));
    }
    Ok(words)
}

fn unterminated(origin: &str, cmd: &str, quote: &str) -> RunError {
    RunError::NotFound(format!(
        "{origin} has an unterminated {quote} quote: {cmd} (quote a path with spaces as a \
         shell would: '/path with spaces/python' -m alembic)"
    ))
}

fn absolute(path: &Path) -> PathBuf {
    if path.is_absolute() {
        return path.to_path_buf();
    }
    std::env::current_dir()
        .map(|d| d.join(path))
        .unwrap_or_else(|_| path.to_path_buf())
}

fn find_on_path(program: &str) -> Option<OsString> {
    let path = std::env::var_os("PATH")?;
    let names: Vec<String> = if cfg!(windows) {
        vec![format!("{program}.exe"), format!("{program}.cmd")]
    } else {
        vec![program.to_string()]
    };
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|candidate| is_executable(candidate))
        .map(PathBuf::into_os_string)
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

/// Spawns, calls `on_line` for every output line as it arrives (stdout and stderr interleaved in
/// arrival order), waits. Blocking: the TUI calls it from a worker thread.
pub fn run(
    cmd: &AlembicCommand,
    verb: Verb,
    target: &str,
    sql: bool,
    on_line: &mut dyn FnMut(Stream, &str),
) -> Result<Outcome, RunError> {
    let argv = cmd.argv(verb, target, sql);
    let (program, args) = argv.split_first().ok_or_else(|| {
        RunError::NotFound("the Alembic command is empty; give --alembic-cmd".to_string())
    })?;
    let mut child = Command::new(program)
        .args(args)
        .current_dir(&cmd.cwd)
        // Python block-buffers a piped stdout; without this the lines would arrive only at exit.
        .env("PYTHONUNBUFFERED", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| RunError::Spawn {
            program: program_display(program),
            source,
        })?;

    let (tx, rx) = mpsc::channel::<std::io::Result<(Stream, String)>>();
    let readers = [
        child
            .stdout
            .take()
            .map(|p| pump(p, Stream::Stdout, tx.clone())),
        child
            .stderr
            .take()
            .map(|p| pump(p, Stream::Stderr, tx.clone())),
    ];
    drop(tx);
    let mut failure = None;
    // Ends when both readers have hit end of file and dropped their senders.
    for message in rx {
        match message {
            Ok((stream, line)) => on_line(stream, &line),
            Err(e) => failure = failure.or(Some(e)),
        }
    }
    for reader in readers.into_iter().flatten() {
        let _ = reader.join();
    }
    let status = child.wait()?;
    if let Some(e) = failure {
        return Err(RunError::Io(e));
    }
    Ok(Outcome {
        success: status.success(),
        code: status.code(),
    })
}

fn program_display(program: &OsStr) -> String {
    program.to_string_lossy().into_owned()
}

fn pump(
    pipe: impl Read + Send + 'static,
    stream: Stream,
    tx: mpsc::Sender<std::io::Result<(Stream, String)>>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(pipe);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match reader.read_until(b'\n', &mut buf) {
                Ok(0) => return,
                Ok(_) => {
                    while matches!(buf.last(), Some(b'\n' | b'\r')) {
                        buf.pop();
                    }
                    let line = String::from_utf8_lossy(&buf).into_owned();
                    if tx.send(Ok((stream, line))).is_err() {
                        return;
                    }
                }
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn commands_split_like_a_shell_without_one() {
        let split = |cmd: &str| -> Vec<String> {
            super::split_command(cmd, "--alembic-cmd")
                .unwrap()
                .into_iter()
                .map(|w| w.into_string().unwrap())
                .collect()
        };
        assert_eq!(split("  python  -m alembic "), ["python", "-m", "alembic"]);
        assert_eq!(
            split("'/mnt/c/Program Files/py/python.exe' -m alembic"),
            ["/mnt/c/Program Files/py/python.exe", "-m", "alembic"]
        );
        assert_eq!(
            split(r#""/a b/\"q\"\$x" c\ d e''f '' """#),
            [r#"/a b/"q"$x"#, "c d", "ef", "", ""]
        );
        assert_eq!(
            split(r"C:\Python\python.exe -m alembic")[0],
            r"C:\Python\python.exe"
        );
        assert_eq!(split(r#""a\nb""#), [r"a\nb"]);
        for bad in ["'open", "\"open", "trailing\\", "   "] {
            let e = super::split_command(bad, "--alembic-cmd")
                .unwrap_err()
                .to_string();
            assert!(e.contains("--alembic-cmd"), "{bad}: {e}");
        }
        // What display_argv shows splits back into the same words.
        let argv: Vec<std::ffi::OsString> = ["/x y/python", "it's", "", "-m", "a\"b"]
            .iter()
            .map(Into::into)
            .collect();
        let shown = super::display_argv(&argv);
        assert_eq!(super::split_command(&shown, "x").unwrap(), argv, "{shown}");
    }

    use super::*;

    fn python() -> OsString {
        find_on_path("python3")
            .or_else(|| find_on_path("python"))
            .expect("python3 on PATH")
    }

    fn script_command(script: &str, dir: &Path) -> AlembicCommand {
        AlembicCommand {
            program: vec![python(), "-c".into(), script.into()],
            config: dir.join("alembic.ini"),
            name: None,
            cwd: dir.to_path_buf(),
        }
    }

    #[test]
    fn argv_puts_global_options_before_the_verb() {
        let cmd = AlembicCommand::resolve(
            Some("/venv/bin/python  -m alembic"),
            Path::new("/p/my project/alembic.ini"),
            Some("db2"),
        )
        .unwrap();
        assert_eq!(cmd.cwd, PathBuf::from("/p/my project"));
        let argv = cmd.argv(Verb::Downgrade, "-1", true);
        let expected: Vec<OsString> = [
            "/venv/bin/python",
            "-m",
            "alembic",
            "-c",
            "/p/my project/alembic.ini",
            "-n",
            "db2",
            "downgrade",
            "-1",
            "--sql",
        ]
        .iter()
        .map(OsString::from)
        .collect();
        assert_eq!(argv, expected);
        let plain = cmd.argv(Verb::Upgrade, "heads", false);
        assert_eq!(plain.last().unwrap(), "heads");
        assert_eq!(plain[plain.len() - 2], "upgrade");
        assert_eq!(display_argv(&argv[3..5]), "-c '/p/my project/alembic.ini'");
    }

    #[test]
    fn relative_config_becomes_absolute_and_empty_command_is_refused() {
        let cmd = AlembicCommand::resolve(Some("alembic"), Path::new("alembic.ini"), None).unwrap();
        assert!(cmd.config.is_absolute());
        assert_eq!(cmd.cwd, std::env::current_dir().unwrap());
        let err = AlembicCommand::resolve(Some("   "), Path::new("a.ini"), None).unwrap_err();
        assert!(matches!(err, RunError::NotFound(m) if m.contains("--alembic-cmd")));
    }

    #[test]
    fn arguments_reach_the_program_unchanged_in_its_working_directory() {
        let dir = tempfile::tempdir().unwrap();
        let cmd = script_command(
            "import os, sys; print(os.getcwd()); print('|'.join(sys.argv[1:]))",
            dir.path(),
        );
        let mut lines = Vec::new();
        let outcome = run(&cmd, Verb::Upgrade, "ab c'$(x)", false, &mut |s, l| {
            lines.push((s, l.to_string()))
        })
        .unwrap();
        assert!(outcome.success);
        let cwd = std::fs::canonicalize(dir.path()).unwrap();
        assert_eq!(
            std::fs::canonicalize(&lines[0].1).unwrap(),
            cwd,
            "{lines:?}"
        );
        let ini = dir.path().join("alembic.ini");
        assert_eq!(
            lines[1],
            (
                Stream::Stdout,
                format!("-c|{}|upgrade|ab c'$(x)", ini.display())
            )
        );
    }

    /// The program waits for a file that only the callback creates: if lines were delivered at
    /// exit rather than as they arrive, it would time out and exit 3.
    #[test]
    fn lines_arrive_while_the_program_runs_with_streams_and_exit_code() {
        let dir = tempfile::tempdir().unwrap();
        let flag = dir.path().join("seen");
        let script = format!(
            "import os, sys, time\n\
             print('first')\n\
             for _ in range(500):\n\
             \x20   if os.path.exists({flag:?}): break\n\
             \x20   time.sleep(0.01)\n\
             else:\n\
             \x20   sys.exit(3)\n\
             sys.stderr.write('oops\\r\\n'); sys.stderr.flush()\n\
             time.sleep(0.1)\n\
             print('last', end='')\n\
             sys.exit(7)\n",
            flag = flag.display().to_string()
        );
        let cmd = script_command(&script, dir.path());
        let mut lines = Vec::new();
        let outcome = run(&cmd, Verb::Upgrade, "head", false, &mut |s, l| {
            if l == "first" {
                std::fs::write(&flag, b"").unwrap();
            }
            lines.push((s, l.to_string()));
        })
        .unwrap();
        assert_eq!(
            lines,
            vec![
                (Stream::Stdout, "first".to_string()),
                (Stream::Stderr, "oops".to_string()),
                (Stream::Stdout, "last".to_string()),
            ]
        );
        assert_eq!(
            outcome,
            Outcome {
                success: false,
                code: Some(7)
            }
        );
    }

    #[test]
    fn a_missing_program_is_a_spawn_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let cmd = AlembicCommand {
            program: vec!["/nonexistent/alembic-xyz".into()],
            config: dir.path().join("alembic.ini"),
            name: None,
            cwd: dir.path().to_path_buf(),
        };
        let err = run(&cmd, Verb::Upgrade, "head", false, &mut |_, _| {}).unwrap_err();
        assert!(
            err.to_string().contains("/nonexistent/alembic-xyz"),
            "{err}"
        );
    }
}
