//! `migscope fix merge|reparent|restore`: plan a graph fix in the library, show it (diff, graph
//! before and after, refusals), ask, apply; and the file side of `migscope undo`.
//!
//! `--demo` works on the demo's work copy (`<state dir>/demo`), like `stamp`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::anyhow;
use clap::{Args, Subcommand};

use super::args::DataFormat;
use super::db::{self, DbArgs, UndoArgs};
use super::{Cli, CmdResult, Failure, config_options};
use migscope::diagnose::Expectations;
use migscope::fix::{
    self, ApplyOptions, DbCheck, FixContext, FixError, FixPlan, GraphSummary, MergeRequest,
    ReparentRequest,
};
use migscope::journal;
use migscope::project::Project;

#[derive(Debug, Args)]
pub struct FixArgs {
    #[command(subcommand)]
    pub action: FixAction,
}

#[derive(Debug, Subcommand)]
pub enum FixAction {
    /// Write a merge revision over the given heads (default: all heads), as `alembic merge`
    Merge {
        /// Heads to merge (ids, prefixes, label@head; default: heads)
        #[arg(value_name = "HEAD")]
        heads: Vec<String>,
        /// The revision's message (default: `empty message`, as Alembic)
        #[arg(short = 'm', long)]
        message: Option<String>,
        /// A branch label for the merge revision
        #[arg(long, value_name = "LABEL")]
        branch_label: Option<String>,
        /// Use this revision id instead of a random one
        #[arg(long, value_name = "ID")]
        rev_id: Option<String>,
        #[command(flatten)]
        common: FixCommon,
    },
    /// Rewrite REV's down_revision (and docstring `Revises:`) in place; without --onto, the
    /// suggested parent
    Reparent {
        #[arg(value_name = "REV")]
        rev: String,
        /// The new parent(s); `base` makes REV a base
        #[arg(long, value_name = "PARENT[,PARENT...]", value_delimiter = ',')]
        onto: Option<Vec<String>>,
        /// Also set REV's branch_labels to None
        #[arg(long)]
        drop_label: bool,
        #[command(flatten)]
        common: FixCommon,
    },
    /// Write back a referenced but missing revision file from its last version in git history
    Restore {
        #[arg(value_name = "REV")]
        rev: String,
        #[command(flatten)]
        common: FixCommon,
    },
}

#[derive(Debug, Args)]
pub struct FixCommon {
    /// Do not ask for confirmation (needed when stdin is not a terminal)
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Show the fix; write nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Write even when the fix creates a cycle, a missing parent, or rewrites applied history
    #[arg(long)]
    pub force: bool,
    #[arg(long, value_enum, default_value_t = DataFormat::Text)]
    pub format: DataFormat,
    /// The database whose applied revisions must keep their history
    #[command(flatten)]
    pub db: DbArgs,
}

/// The project, from the demo's work copy with `--demo`. `writing`: make that copy if needed.
fn load(cli: &Cli, writing: bool) -> Result<&'static Project, Failure> {
    let mut opts = config_options(cli)?;
    if cli.global.demo
        && let Some(dir) = db::demo_work_copy(writing)?
    {
        opts.config = vec![dir.join("alembic.ini")];
    }
    let project = Project::load(&opts).map_err(|e| Failure::Usage(anyhow::Error::new(e)))?;
    Ok(Box::leak(Box::new(project)))
}

/// The database's rows, or why they could not be read. A database named with `--db` that
/// cannot be read is an error; the configured one is only skipped.
fn db_check(cli: &Cli, args: &DbArgs, project: &Project) -> Result<DbCheck, Failure> {
    match db::version_rows(cli, args, &project.config) {
        Ok((database, rows)) => Ok(DbCheck::Rows { database, rows }),
        Err(e) if args.or(&cli.db).db.is_some() => Err(e),
        Err(Failure::Usage(e)) => Ok(DbCheck::Skipped {
            reason: format!("{e:#}"),
        }),
        Err(_) => Ok(DbCheck::Skipped {
            reason: "the database could not be read".to_string(),
        }),
    }
}

/// Exit 1 for what the request or the graph is about, 2 for configuration and I/O. In JSON,
/// the error is also printed as data (a revision error by the caller, as everywhere).
fn failure(e: FixError, format: DataFormat, out: &mut dyn Write) -> Failure {
    if format == DataFormat::Json && !matches!(e, FixError::Revision(_)) {
        let report = serde_json::json!({ "error": { "code": e.code(), "message": e.to_string() } });
        let _ = writeln!(out, "{report}");
    }
    match e {
        FixError::Revision(e) => Failure::Revision(e, format == DataFormat::Json),
        FixError::Request(_)
        | FixError::Refused(_)
        | FixError::Stale(_)
        | FixError::Unpredicted(_) => {
            eprintln!("error: {e}");
            Failure::Findings
        }
        other => Failure::Usage(anyhow::Error::new(other)),
    }
}

pub fn run(cli: &Cli, args: &FixArgs, out: &mut dyn Write) -> CmdResult {
    let common = match &args.action {
        FixAction::Merge { common, .. }
        | FixAction::Reparent { common, .. }
        | FixAction::Restore { common, .. } => common,
    };
    let project = load(cli, !common.dry_run)?;
    let ctx = FixContext {
        project,
        expect: project.expectations(&cli.global.branches),
        db: db_check(cli, &common.db, project)?,
    };
    let plan = match &args.action {
        FixAction::Merge {
            heads,
            message,
            branch_label,
            rev_id,
            ..
        } => fix::plan_merge(
            &ctx,
            &MergeRequest {
                heads: heads.clone(),
                message: message.clone(),
                branch_label: branch_label.clone(),
                rev_id: rev_id.clone(),
                date: None,
            },
        ),
        FixAction::Reparent {
            rev,
            onto,
            drop_label,
            ..
        } => fix::plan_reparent(
            &ctx,
            &ReparentRequest {
                rev: rev.clone(),
                onto: onto.clone(),
                drop_label: *drop_label,
            },
        ),
        FixAction::Restore { rev, .. } => fix::plan_restore(&ctx, rev),
    }
    .map_err(|e| failure(e, common.format, out))?;
    let flags = Flags {
        yes: common.yes,
        dry_run: common.dry_run,
        force: common.force,
        format: common.format,
    };
    preview_and_apply(&plan, &ctx.expect, &flags, out)?;
    if cli.global.demo
        && !common.dry_run
        && let Some(ini) = &project.config.ini_path
    {
        // Read-only `--demo` commands (graph, heads, check) show the bundled demo, not the copy.
        eprintln!(
            "demo: the fixed project is the work copy; read it with `migscope -c {} graph`",
            ini.display()
        );
    }
    Ok(())
}

struct Flags {
    yes: bool,
    dry_run: bool,
    force: bool,
    format: DataFormat,
}

fn write_summary(out: &mut dyn Write, label: &str, s: &GraphSummary) -> std::io::Result<()> {
    writeln!(out, "{label}")?;
    writeln!(out, "  heads: {}", s.heads.join(" "))?;
    writeln!(out, "  bases: {}", s.bases.join(" "))?;
    writeln!(
        out,
        "  problems: {} errors, {} warnings{}",
        s.errors,
        s.warnings,
        if s.problems.is_empty() {
            String::new()
        } else {
            format!(" ({})", s.problems.join(", "))
        }
    )?;
    if let Some(e) = &s.load_error {
        writeln!(out, "  Alembic cannot load it: {e}")?;
    }
    Ok(())
}

/// Shows the plan, then (unless refused, a dry run, or not confirmed) applies it.
fn preview_and_apply(
    plan: &FixPlan,
    expect: &Expectations,
    flags: &Flags,
    out: &mut dyn Write,
) -> CmdResult {
    let json = flags.format == DataFormat::Json;
    if json {
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(plan).map_err(anyhow::Error::new)?
        )?;
    } else {
        writeln!(out, "Fix: {}", plan.summary)?;
        for n in &plan.notes {
            writeln!(out, "note: {n}")?;
        }
        writeln!(out)?;
        write!(out, "{}", plan.diff)?;
        writeln!(out)?;
        write_summary(out, "Before:", &plan.before)?;
        write_summary(out, "After:", &plan.after)?;
        for r in &plan.refusals {
            writeln!(out, "refused ({}): {}", r.code, r.message)?;
        }
    }
    if !plan.refusals.is_empty() {
        if !flags.force {
            out.flush()?;
            eprintln!(
                "error: refusing to write this fix: {}; pass --force to write it anyway",
                plan.refusals
                    .iter()
                    .map(|r| r.message.as_str())
                    .collect::<Vec<_>>()
                    .join("; ")
            );
            return Err(Failure::Findings);
        }
        eprintln!("warning: --force: writing despite the refusals above");
    }
    if flags.dry_run {
        if !json {
            writeln!(out, "Dry run: nothing written.")?;
        }
        return Ok(());
    }
    out.flush()?;
    if !db::confirm(flags.yes, "write these changes?")? {
        writeln!(out, "Not written.")?;
        return Err(Failure::Findings);
    }
    let opts = ApplyOptions::from_env(flags.force, db::command_line()).ok_or_else(|| {
        anyhow!(
            "no state directory for backups: set MIGSCOPE_STATE_DIR (or XDG_STATE_HOME, or HOME)"
        )
    })?;
    let journal = opts.journal.clone();
    let applied = fix::apply(plan, &opts, expect).map_err(|e| failure(e, flags.format, out))?;
    if json {
        writeln!(
            out,
            "{}",
            serde_json::json!({ "applied": applied, "journal": journal })
        )?;
        return Ok(());
    }
    writeln!(out, "Written:")?;
    for f in &applied.files {
        writeln!(
            out,
            "  {}{}",
            f.path.display(),
            f.before
                .as_ref()
                .map(|b| format!(" (previous content kept in {})", b.display()))
                .unwrap_or_default()
        )?;
    }
    write_summary(out, "Read back from disk:", &applied.after)?;
    writeln!(
        out,
        "Journal: {} (`migscope undo` puts the files back)",
        journal.display()
    )?;
    Ok(())
}

/// `migscope undo` when the newest journaled change to this project is a graph fix: puts the
/// files back. `false`: not a fix (the database undo runs).
pub fn undo_files(cli: &Cli, args: &UndoArgs, out: &mut dyn Write) -> Result<bool, Failure> {
    let mut opts = config_options(cli)?;
    if cli.global.demo {
        match db::demo_work_copy(false)? {
            Some(dir) => opts.config = vec![dir.join("alembic.ini")],
            None => return Ok(false),
        }
    }
    let Ok(project) = Project::load(&opts) else {
        return Ok(false);
    };
    let project: &'static Project = Box::leak(Box::new(project));
    let path = db::journal_file()?;
    let lines = journal::read_lines(&path)
        .map_err(|e| Failure::Usage(anyhow!("reading {}: {e}", path.display())))?;
    let key: PathBuf = fix::project_key(&project.config);
    let url = db::masked_url(cli, &args.db, &project.config);
    let Some(entry) = fix::undoable_fix(&lines, &key, url.as_deref()) else {
        return Ok(false);
    };
    writeln!(
        out,
        "Undoing the {} of {} ({})",
        entry.action, entry.time, entry.command
    )?;
    let ctx = FixContext {
        project,
        expect: project.expectations(&cli.global.branches),
        db: db_check(cli, &args.db, project)?,
    };
    let plan = fix::plan_undo(&ctx, &entry).map_err(|e| failure(e, DataFormat::Text, out))?;
    let flags = Flags {
        yes: args.yes,
        dry_run: args.dry_run,
        force: false,
        format: DataFormat::Text,
    };
    preview_and_apply(&plan, &ctx.expect, &flags, out)?;
    Ok(true)
}
