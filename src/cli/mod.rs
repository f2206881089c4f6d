//! The scriptable command line: parse flags, load the project once, print one renderer's output.

mod args;
mod commands;
mod compare;
mod db;
mod fix;
mod run;

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

pub use args::Cli;
use migscope::config::ConfigOptions;
use migscope::graph::RevisionError;

/// How a command ended, mapped to the exit status contract.
pub enum Failure {
    /// Findings or a revision error: exit 1 (the message is already printed when `printed`).
    Findings,
    Revision(RevisionError, bool),
    /// Bad input, configuration or I/O: exit 2.
    Usage(anyhow::Error),
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Self {
        Failure::Usage(e.into())
    }
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::Usage(e)
    }
}

pub type CmdResult = Result<(), Failure>;

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.command.is_none() {
        crate::return_freed_memory_at_once();
    }
    let color = !cli.global.no_color
        && std::env::var_os("NO_COLOR").is_none()
        && io::stdout().is_terminal();
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let result =
        commands::run(&cli, &mut out, color).and_then(|()| out.flush().map_err(Failure::from));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Findings) => ExitCode::from(1),
        Err(Failure::Revision(e, json)) => {
            if json {
                let report = serde_json::json!({ "error": { "code": e.code(), "message": e.message(), "detail": e.detail() } });
                let _ = writeln!(out, "{report}");
            }
            let _ = out.flush();
            eprintln!("error: {}", e.message());
            let detail = e.detail();
            if detail != e.message() {
                eprintln!("  ({detail})");
            }
            ExitCode::from(1)
        }
        Err(Failure::Usage(e)) => {
            // Output piped into `head` that closed early is not an error worth reporting.
            if let Some(io) = e.downcast_ref::<io::Error>()
                && io.kind() == io::ErrorKind::BrokenPipe
            {
                return ExitCode::SUCCESS;
            }
            let _ = out.flush();
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Where the bundled demo lives: next to the sources this binary was built from.
pub fn demo_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("assets")
        .join("demo")
}

pub fn config_options(cli: &Cli) -> anyhow::Result<ConfigOptions> {
    let cwd = std::env::current_dir()?;
    let mut config = cli.global.config.clone();
    if cli.global.demo {
        let ini = demo_dir().join("alembic.ini");
        anyhow::ensure!(
            ini.exists(),
            "the bundled demo is not at {} (it ships in the source tree: run migscope from a clone)",
            ini.display()
        );
        config = vec![ini];
    }
    Ok(ConfigOptions {
        cwd,
        config,
        name: cli.global.name.clone(),
        dirs: cli.global.dirs.clone(),
        recursive: cli.global.recursive,
        alembic_config_env: std::env::var_os("ALEMBIC_CONFIG"),
    })
}
