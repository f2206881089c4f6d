//! `upgrade` / `downgrade`: preview the plan and its preflight against the live schema, then run
//! the project's real Alembic ([`migscope::alembic_run`]), stream its output and read back the
//! state it left. `--sql` only streams Alembic's offline SQL.
//!
//! migscope never runs migration code itself: Alembic (with the project's env.py) does the
//! work, so whatever Alembic would do is what happens. migscope's part is what Alembic does not
//! show: where it stands before, what it predicts, and the rows afterwards.

use std::io::{self, Write};

use anyhow::Context;
use clap::Args;

use super::db::{
    self, DbArgs, Target, command_line, confirm, journal_file, plural, read_state,
    read_state_and_schema, rows_text, write_route,
};
use super::{Cli, CmdResult, Failure, config_options};
use migscope::alembic_run::{self, AlembicCommand, Outcome, Stream, Verb};
use migscope::assess;
use migscope::db as mdb;
use migscope::graph::{RevIdx, RevisionMap};
use migscope::journal::{self, Entry};
use migscope::plan::{self, Direction};
use migscope::project::{OpsScope, Project};
use migscope::stamp;

/// Lines of Alembic's output repeated after a failure.
const TAIL_LINES: usize = 12;

#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Target, as Alembic takes it: heads, head, base, an id or prefix, label@head, +N, -N;
    /// with --sql, also FROM:TO
    #[arg(value_name = "TARGET", allow_hyphen_values = true)]
    pub target: String,
    /// Print Alembic's offline SQL (`alembic ... --sql`) instead of touching the database
    #[arg(long)]
    pub sql: bool,
    /// Show the plan, the preflight and the Alembic command; run nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation (needed when stdin is not a terminal)
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// How to run Alembic, split into words like a shell (quote paths with spaces; no shell is
    /// run), e.g. "/srv/app/.venv/bin/python -m alembic"; default: $MIGSCOPE_ALEMBIC, then
    /// `alembic` on PATH
    #[arg(long, value_name = "CMD")]
    pub alembic_cmd: Option<String>,
    #[command(flatten)]
    pub db: DbArgs,
}

fn direction(verb: Verb) -> Direction {
    match verb {
        Verb::Upgrade => Direction::Upgrade,
        Verb::Downgrade => Direction::Downgrade,
    }
}

fn alembic_command(
    cli: &Cli,
    project: &Project,
    args: &RunArgs,
) -> Result<AlembicCommand, Failure> {
    let config = project
        .config
        .ini_path
        .as_ref()
        .or(project.config.toml_path.as_ref())
        .ok_or_else(|| {
            Failure::Usage(anyhow::anyhow!(
                "no alembic.ini or pyproject.toml was read (--dir only?): Alembic needs the \
                 project's configuration; pass -c PATH"
            ))
        })?;
    AlembicCommand::resolve(
        args.alembic_cmd.as_deref(),
        config,
        cli.global.name.as_deref(),
    )
    .map_err(|e| Failure::Usage(e.into()))
}

pub fn run(cli: &Cli, args: &RunArgs, verb: Verb, out: &mut dyn Write) -> CmdResult {
    if args.sql {
        return offline_sql(cli, args, verb, out);
    }
    // `--demo` runs (and even previews) on the work copy: Alembic would at least write
    // `__pycache__` next to the bundled env.py.
    let t = db::target(cli, &args.db, !args.dry_run || cli.global.demo)?;
    let map = &t.project.map;
    // Resolved now, reported after the plan: a dry run is useful without Alembic installed.
    let cmd = alembic_command(cli, t.project, args);
    let (state, schema) = read_state_and_schema(&t)?;
    let before = state.rows.clone().unwrap_or_default();

    writeln!(out, "Database: {}", t.describe())?;
    writeln!(out, "Rows:     {}", rows_text(&before))?;
    if let Some(note) = alembic_url_note(&t) {
        writeln!(out, "note: {note}")?;
    }
    let ops = match verb {
        Verb::Upgrade => t.project.ops(OpsScope::Upgrade),
        Verb::Downgrade => t.project.ops(OpsScope::Both),
    };
    let route = assess::route_to(map, &before, direction(verb), &args.target, &ops, &schema);
    writeln!(out, "alembic {} {}:", verb.as_str(), args.target)?;
    write_route(out, map, &route, "  ", None)?;
    let plan = match &route.plan {
        Err(_) => {
            writeln!(
                out,
                "Alembic would refuse, so it is not run. `migscope status` shows the rows and a \
                 stamp that repairs them."
            )?;
            return Err(Failure::Findings);
        }
        Ok(p) if p.is_empty() => return Ok(()),
        Ok(p) => p.clone(),
    };
    let cmd = match (cmd, args.dry_run) {
        (Ok(cmd), _) => cmd,
        (Err(Failure::Usage(e)), true) => {
            writeln!(out, "Command:  none: {e:#}")?;
            writeln!(out, "Dry run: Alembic not run.")?;
            return Ok(());
        }
        (Err(e), _) => return Err(e),
    };
    let argv = cmd.argv(verb, &args.target, false);
    writeln!(out, "Command:  {}", alembic_run::display_argv(&argv))?;
    writeln!(out, "          (in {})", cmd.cwd.display())?;
    if args.dry_run {
        writeln!(out, "Dry run: Alembic not run.")?;
        return Ok(());
    }
    out.flush()?;
    let question = match &route.failure {
        Some(c) => format!(
            "The preflight predicts a failure at {}. Run Alembic anyway?",
            map.rev(c.rev).id
        ),
        None => "Run Alembic?".to_string(),
    };
    if !confirm(args.yes, &question)? {
        writeln!(out, "Not run.")?;
        return Err(Failure::Findings);
    }

    writeln!(out)?;
    let (outcome, captured) = stream(&cmd, verb, &args.target, false, out)?;
    writeln!(out)?;

    let after_state = read_state(&t)?;
    let after = after_state.rows.clone().unwrap_or_default();
    if after != before {
        record(&t, verb, &before, &after)?;
    }
    report(out, map, verb, &plan, &before, &after, outcome, &captured)?;
    if outcome.success {
        Ok(())
    } else {
        Err(Failure::Findings)
    }
}

/// `--sql`: Alembic's offline SQL on stdout, its log on stderr; no database is opened.
fn offline_sql(cli: &Cli, args: &RunArgs, verb: Verb, out: &mut dyn Write) -> CmdResult {
    let mut opts = config_options(cli)?;
    if cli.global.demo {
        let copy = db::demo_work_copy(true)?.context("the demo work copy")?;
        opts.config = vec![copy.join("alembic.ini")];
    }
    let project = Project::load(&opts).map_err(|e| Failure::Usage(anyhow::Error::new(e)))?;
    let cmd = alembic_command(cli, &project, args)?;
    let argv = cmd.argv(verb, &args.target, true);
    eprintln!("running: {}", alembic_run::display_argv(&argv));
    let mut failure: Option<io::Error> = None;
    let outcome = alembic_run::run(&cmd, verb, &args.target, true, &mut |s, line| match s {
        Stream::Stdout => {
            if failure.is_none()
                && let Err(e) = writeln!(out, "{line}")
            {
                failure = Some(e);
            }
        }
        Stream::Stderr => eprintln!("{line}"),
    })
    .map_err(|e| Failure::Usage(e.into()))?;
    if let Some(e) = failure {
        return Err(e.into());
    }
    if outcome.success {
        Ok(())
    } else {
        eprintln!("error: Alembic failed ({})", exit_text(outcome));
        Err(Failure::Findings)
    }
}

/// Runs Alembic, echoing each line as it arrives; returns the last [`TAIL_LINES`] lines.
fn stream(
    cmd: &AlembicCommand,
    verb: Verb,
    target: &str,
    sql: bool,
    out: &mut dyn Write,
) -> Result<(Outcome, Captured), Failure> {
    let mut tail: Vec<String> = Vec::new();
    let mut error: Option<String> = None;
    let mut failure: Option<io::Error> = None;
    let outcome = alembic_run::run(cmd, verb, target, sql, &mut |_, line| {
        if tail.len() == TAIL_LINES {
            tail.remove(0);
        }
        tail.push(line.to_string());
        if is_error_line(line) {
            error = Some(line.to_string());
        }
        let shown = writeln!(out, "  | {}", mdb::mask_all(line)).and_then(|()| out.flush());
        if let Err(e) = shown {
            failure.get_or_insert(e);
        }
    })
    .map_err(|e| Failure::Usage(e.into()))?;
    if let Some(e) = failure {
        return Err(e.into());
    }
    Ok((outcome, Captured { error, tail }))
}

/// What a failure report repeats of Alembic's output.
struct Captured {
    /// The last error line: after a traceback, the last lines are often the failing SQL.
    error: Option<String>,
    tail: Vec<String>,
}

/// The line a Python traceback ends with (`sqlalchemy.exc.OperationalError: ...`) or Alembic's
/// own `FAILED: ...` message.
fn is_error_line(line: &str) -> bool {
    let Some((head, _)) = line.split_once(": ") else {
        return false;
    };
    head == "FAILED"
        || (!head.starts_with(char::is_whitespace)
            && !head.contains(' ')
            && (head.ends_with("Error") || head.ends_with("Exception")))
}

fn exit_text(outcome: Outcome) -> String {
    match outcome.code {
        Some(c) => format!("exit code {c}"),
        None => "killed by a signal".to_string(),
    }
}

/// What happened, read back from the database.
#[allow(clippy::too_many_arguments)]
fn report(
    out: &mut dyn Write,
    map: &RevisionMap,
    verb: Verb,
    plan: &[RevIdx],
    before: &[String],
    after: &[String],
    outcome: Outcome,
    captured: &Captured,
) -> io::Result<()> {
    let applied = stamp::rows_report(map, after).applied;
    // Upgrade: the plan's revisions now applied; downgrade: the ones no longer applied.
    let done: Vec<&str> = plan
        .iter()
        .filter(|r| applied.contains(r) == (verb == Verb::Upgrade))
        .map(|&r| map.rev(r).id.as_str())
        .collect();
    if outcome.success {
        writeln!(out, "Alembic finished ({}).", exit_text(outcome))?;
    } else {
        writeln!(out, "Alembic FAILED ({}).", exit_text(outcome))?;
        if let Some(e) = &captured.error {
            writeln!(out, "Error: {}", mdb::mask_all(e))?;
        }
        writeln!(out, "Its last lines:")?;
        for line in &captured.tail {
            writeln!(out, "  | {}", mdb::mask_all(line))?;
        }
    }
    writeln!(out, "Rows before: {}", rows_text(before))?;
    writeln!(out, "Rows now:    {}", rows_text(after))?;
    let verb_done = match verb {
        Verb::Upgrade => "applied",
        Verb::Downgrade => "undone",
    };
    writeln!(
        out,
        "{} of the plan's {} {verb_done}{}",
        done.len(),
        plural(plan.len(), "revision"),
        if done.is_empty() {
            String::new()
        } else {
            format!(": {}", done.join(" "))
        }
    )?;
    if !outcome.success && after == before {
        writeln!(
            out,
            "The version table is unchanged (the failed run was rolled back, or failed \
             before writing it); tables created outside a transaction may remain: \
             `migscope status` compares the schema."
        )?;
    }
    match plan::upgrade(map, after, "heads") {
        Ok(p) if p.revisions.is_empty() => writeln!(out, "Still pending: none (at the heads)")?,
        Ok(p) => writeln!(
            out,
            "Still pending ({}): {}",
            p.revisions.len(),
            map.ids(&p.revisions).join(" ")
        )?,
        Err(e) => writeln!(out, "Still pending: unknown ({})", e.message())?,
    }
    Ok(())
}

/// Journals the rows Alembic changed, so `undo` can name what happened (it refuses to rewrite
/// rows over a schema Alembic changed, and says which downgrade reverts it).
fn record(t: &Target, verb: Verb, before: &[String], after: &[String]) -> CmdResult {
    let path = journal_file()?;
    let entry = Entry {
        time: journal::now_utc(),
        action: verb.as_str().to_string(),
        url: t.url.masked(),
        version_table: t.table.table.to_string(),
        before: before.to_vec(),
        after: after.to_vec(),
        command: command_line(),
    };
    journal::append(&path, &entry)
        .with_context(|| format!("journaling Alembic's change to {}", path.display()))?;
    Ok(())
}

/// Alembic connects through env.py, not through migscope's URL: say so when they may differ.
fn alembic_url_note(t: &Target) -> Option<String> {
    let config = &t.project.config;
    let ini = config
        .ini_path
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "the project config".to_string());
    let Some(raw) = config.sqlalchemy_url.as_deref() else {
        return Some(format!(
            "{ini} has no sqlalchemy.url: Alembic connects wherever the project's env.py \
             says, which migscope cannot see; it read {} (from {})",
            t.url.masked(),
            t.source
        ));
    };
    let cwd = std::env::current_dir().ok()?;
    match mdb::parse_url(raw, &cwd) {
        Ok(u) if u.expose_sqlx_url() == t.url.expose_sqlx_url() => None,
        _ => Some(format!(
            "migscope read {} (from {}), but Alembic connects through the project's env.py, \
             which uses sqlalchemy.url = {} from {ini} unless it reads the environment itself. \
             Make sure both mean the same database before running.",
            t.url.masked(),
            t.source,
            mdb::mask_all(raw)
        )),
    }
}
