//! Running the real `migscope` binary.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use super::model::Query;

pub fn migscope_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_migscope"))
}

#[derive(Clone, Debug)]
pub struct CliOutput {
    /// `None` when killed by a signal.
    pub status: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

pub fn run(args: &[String]) -> CliOutput {
    let out = Command::new(migscope_bin())
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", migscope_bin().display()));
    CliOutput {
        status: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `--dir D [--dir D2] [--recursive]`, the project selection every
/// invocation starts with.
pub fn project_args(dirs: &[PathBuf], recursive: bool) -> Vec<String> {
    let mut args = Vec::new();
    for d in dirs {
        args.push("--dir".to_string());
        args.push(d.display().to_string());
    }
    if recursive {
        args.push("--recursive".to_string());
    }
    args
}

/// What is being compared with Alembic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// `heads` vs `RevisionMap.heads`
    Heads,
    /// `heads --resolve-dependencies` vs `RevisionMap._real_heads`
    RealHeads,
    /// `bases` vs `RevisionMap.bases`
    Bases,
    /// `history` vs `ScriptDirectory.walk_revisions()`
    History,
    /// `plan --to heads` from an empty database vs `_upgrade_revs("heads", ())`
    UpgradeHeadsFromEmpty,
    /// `plan` for the n-th query vs `_upgrade_revs` / `_downgrade_revs`
    Query(usize),
}

impl Check {
    pub fn name(self) -> &'static str {
        match self {
            Check::Heads => "heads",
            Check::RealHeads => "heads --resolve-dependencies",
            Check::Bases => "bases",
            Check::History => "history",
            Check::UpgradeHeadsFromEmpty => "plan --to heads (empty db)",
            Check::Query(_) => "plan",
        }
    }
}

/// Every check for a graph with `queries`, with its command-line arguments.
pub fn invocations(
    dirs: &[PathBuf],
    recursive: bool,
    queries: &[Query],
) -> Vec<(Check, Vec<String>)> {
    let project = project_args(dirs, recursive);
    let with = |rest: &[&str]| -> Vec<String> {
        project
            .iter()
            .cloned()
            .chain(rest.iter().map(|s| s.to_string()))
            .collect()
    };
    let mut out = vec![
        (Check::Heads, with(&["heads", "--format", "json"])),
        (
            Check::RealHeads,
            with(&["heads", "--resolve-dependencies", "--format", "json"]),
        ),
        (Check::Bases, with(&["bases", "--format", "json"])),
        (Check::History, with(&["history", "--format", "json"])),
        (
            Check::UpgradeHeadsFromEmpty,
            with(&[
                "plan",
                "--to=heads",
                "--direction",
                "upgrade",
                "--format",
                "json",
            ]),
        ),
    ];
    for (i, q) in queries.iter().enumerate() {
        let mut args = with(&["plan"]);
        args.push(format!("--to={}", q.target));
        if !q.current.is_empty() {
            args.push(format!("--from={}", q.current.join(",")));
        }
        args.extend(
            ["--direction", q.op.as_str(), "--format", "json"]
                .iter()
                .map(|s| s.to_string()),
        );
        out.push((Check::Query(i), args));
    }
    out
}

/// A shell-pasteable command line.
pub fn command_line(args: &[String]) -> String {
    let quote = |s: &str| {
        if !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_=./,@+:".contains(c))
        {
            s.to_string()
        } else {
            format!("'{}'", s.replace('\'', r"'\''"))
        }
    };
    std::iter::once("migscope".to_string())
        .chain(args.iter().map(|a| quote(a)))
        .collect::<Vec<_>>()
        .join(" ")
}
