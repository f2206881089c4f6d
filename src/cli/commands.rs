//! One function per subcommand; each loads what it needs and writes one format.

use std::io::Write;

use anyhow::Context;
use serde_json::json;

use super::args::{CheckFormat, Command, DataFormat, DirectionArg, ExportFormat};
use super::{Cli, CmdResult, Failure, config_options};
use migscope::alembic_run::Verb;
use migscope::diagnose::{self, Diagnostic, Severity};
use migscope::graph::{RevisionError, RevisionMap};
use migscope::plan::{self, Direction, Plan};
use migscope::project::Project;
use migscope::render::{self, diagnostics, export};

pub fn run(cli: &Cli, out: &mut dyn Write, color: bool) -> CmdResult {
    // These read their own sides: the working directory's project is not loaded first.
    match &cli.command {
        Some(Command::Compare(args)) => return super::compare::run(cli, args, out, color),
        Some(Command::Check {
            format,
            against: Some(against),
            ..
        }) => return super::compare::check_against(cli, against, *format, out),
        // The database commands load the project themselves (`--demo` may use a work copy).
        Some(Command::Status(args)) => return super::db::status(cli, args, out),
        Some(Command::Stamp(args)) => return super::db::stamp_cmd(cli, args, out),
        Some(Command::Undo(args)) => return super::db::undo(cli, args, out),
        Some(Command::Upgrade(args)) => return super::run::run(cli, args, Verb::Upgrade, out),
        Some(Command::Downgrade(args)) => {
            return super::run::run(cli, args, Verb::Downgrade, out);
        }
        // Fixes load the project themselves (`--demo` uses a work copy).
        Some(Command::Fix(args)) => return super::fix::run(cli, args, out),
        _ => {}
    }
    if cli.command.is_none() && migscope::tui::available() {
        return explore(cli);
    }
    let opts = config_options(cli)?;
    let project = Project::load(&opts).map_err(|e| Failure::Usage(anyhow::Error::new(e)))?;
    // The process ends right after the command; freeing 10,000 records one by one would only
    // add to its run time.
    let project: &Project = Box::leak(Box::new(project));
    let map = &project.map;
    if cli.command.is_none() {
        // Not a terminal: the graph, and a hint.
        graph(map, cli.ascii, color, out)?;
        eprintln!("hint: run migscope in a terminal to explore the graph interactively");
        return Ok(());
    }
    match cli
        .command
        .as_ref()
        .unwrap_or(&Command::Graph { ascii: false })
    {
        Command::Graph { ascii } => graph(map, *ascii || cli.ascii, color, out),
        Command::Heads {
            resolve_dependencies,
            format,
        } => {
            loadable(map, *format)?;
            let heads = if *resolve_dependencies {
                map.real_heads()
            } else {
                map.heads()
            };
            id_list(out, "heads", &map.ids(heads), *format)
        }
        Command::Bases { format } => {
            loadable(map, *format)?;
            id_list(out, "bases", &map.ids(map.bases()), *format)
        }
        Command::History { format } => history(map, *format, out),
        Command::Show { rev, format } => show(project, rev, *format, out),
        Command::Plan {
            to,
            from,
            direction,
            format,
            db,
        } => {
            // `--from current`: the rows of the database's version table.
            let from = if from.len() == 1 && from[0] == "current" {
                super::db::current_rows(cli, db, &project.config)?
            } else {
                from.clone()
            };
            plan_cmd(map, to, &from, *direction, *format, out)
        }
        Command::Check { format, db, .. } => {
            // `--db`: the database's rows are checked too.
            let extra = match &db.db {
                Some(_) => super::db::db_diagnostics(cli, db, project)?,
                None => Vec::new(),
            };
            check(project, cli, *format, extra, out)
        }
        Command::Compare(_)
        | Command::Status(_)
        | Command::Stamp(_)
        | Command::Undo(_)
        | Command::Upgrade(_)
        | Command::Downgrade(_)
        | Command::Fix(_) => {
            unreachable!("handled above")
        }
        Command::Export { format } => export_cmd(map, *format, out),
    }
}

fn revision_failure(e: RevisionError, format: DataFormat) -> Failure {
    Failure::Revision(e, format == DataFormat::Json)
}

/// Refuses, as Alembic does, to answer about a map Alembic cannot load (`check` and `graph`
/// still show such projects).
fn loadable(map: &RevisionMap, format: DataFormat) -> CmdResult {
    map.check_loadable()
        .map_err(|e| revision_failure(e, format))
}

fn id_list(out: &mut dyn Write, key: &str, ids: &[String], format: DataFormat) -> CmdResult {
    match format {
        DataFormat::Text => {
            for id in ids {
                writeln!(out, "{id}")?;
            }
        }
        DataFormat::Json => writeln!(out, "{}", json!({ key: ids }))?,
    }
    Ok(())
}

fn history(map: &RevisionMap, format: DataFormat, out: &mut dyn Write) -> CmdResult {
    let order = plan::history(map).map_err(|e| revision_failure(e, format))?;
    match format {
        DataFormat::Text => {
            for r in order {
                writeln!(out, "{}", render::history_line(map, r))?;
            }
        }
        DataFormat::Json => {
            let revisions: Vec<_> = order.iter().map(|&r| render::summary(map, r)).collect();
            writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&json!({ "revisions": revisions })).context("JSON")?
            )?;
        }
    }
    Ok(())
}

fn show(project: &Project, rev: &str, format: DataFormat, out: &mut dyn Write) -> CmdResult {
    let map = &project.map;
    let revs = map
        .check_loadable()
        .and_then(|()| map.resolve_for_show(rev))
        .map_err(|e| revision_failure(e, format))?;
    if revs.is_empty() {
        return Err(revision_failure(
            RevisionError::Unknown {
                argument: rev.to_string(),
                detail: format!("'{rev}' names no revision (it means the empty database)"),
            },
            format,
        ));
    }
    let all = diagnose::diagnose(map, &project.expectations(&[]));
    let about = |r: usize| -> Vec<&Diagnostic> {
        all.iter()
            .filter(|d| d.revision.as_deref() == Some(map.rev(r).id.as_str()))
            .collect()
    };
    match format {
        DataFormat::Text => {
            for &r in &revs {
                writeln!(out, "{}", render::log_entry(map, r))?;
                let diags = about(r);
                if !diags.is_empty() {
                    writeln!(out, "Problems:")?;
                    for d in diags {
                        writeln!(out, "  {}[{}]: {}", d.severity.as_str(), d.code, d.message)?;
                    }
                    writeln!(out)?;
                }
            }
        }
        DataFormat::Json => {
            let entries: Vec<_> = revs
                .iter()
                .map(|&r| json!({ "revision": render::summary(map, r), "diagnostics": about(r) }))
                .collect();
            writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&json!({ "revisions": entries })).context("JSON")?
            )?;
        }
    }
    Ok(())
}

fn plan_cmd(
    map: &RevisionMap,
    to: &str,
    from: &[String],
    direction: DirectionArg,
    format: DataFormat,
    out: &mut dyn Write,
) -> CmdResult {
    let from: Vec<String> = from.iter().filter(|s| !s.is_empty()).cloned().collect();
    let result = match direction {
        DirectionArg::Upgrade => plan::upgrade(map, &from, to),
        DirectionArg::Downgrade => plan::downgrade(map, &from, to),
        DirectionArg::Auto => auto_plan(map, &from, to),
    };
    let plan = result.map_err(|e| revision_failure(e, format))?;
    for w in &plan.warnings {
        eprintln!("warning: {w}");
    }
    let ids = map.ids(&plan.revisions);
    match format {
        DataFormat::Text => {
            for id in &ids {
                writeln!(out, "{id}")?;
            }
        }
        DataFormat::Json => {
            let direction = match plan.direction {
                Direction::Upgrade => "upgrade",
                Direction::Downgrade => "downgrade",
            };
            let value = json!({ "direction": direction, "from": from, "target": to, "revisions": ids, "warnings": plan.warnings });
            writeln!(out, "{value}")?;
        }
    }
    Ok(())
}

/// An upgrade when the target is ahead, a downgrade when it is behind (see the CLI contract).
fn auto_plan(map: &RevisionMap, from: &[String], to: &str) -> Result<Plan, RevisionError> {
    let up = plan::upgrade(map, from, to);
    if matches!(&up, Ok(p) if !p.revisions.is_empty()) {
        return up;
    }
    match plan::downgrade(map, from, to) {
        Ok(down) if !down.revisions.is_empty() => Ok(down),
        // Nothing to undo, or no downgrade either: the upgrade's answer (or its error) stands.
        _ => up,
    }
}

fn check(
    project: &Project,
    cli: &Cli,
    format: CheckFormat,
    extra: Vec<Diagnostic>,
    out: &mut dyn Write,
) -> CmdResult {
    let map = &project.map;
    let mut diags = project.diagnostics(&cli.global.branches);
    // Database findings come before the discovery warnings, as they always have.
    let discovery = diags.len() - project.discovery_warnings.len();
    diags.splice(discovery..discovery, extra);
    let errors = diagnose::count(&diags, Severity::Error);
    let warnings = diagnose::count(&diags, Severity::Warning);
    match format {
        CheckFormat::Text => {
            for d in &diags {
                writeln!(out, "{}", diagnostics::text(d))?;
            }
            writeln!(
                out,
                "{}, {}, {}: {}, {}",
                plural(
                    map.revisions().iter().filter(|r| !r.phantom).count(),
                    "revision"
                ),
                plural(map.heads().len(), "head"),
                plural(map.bases().len(), "base"),
                plural(errors, "error"),
                plural(warnings, "warning"),
            )?;
        }
        CheckFormat::Json => {
            let value = json!({
                "revisions": map.revisions().iter().filter(|r| !r.phantom).count(),
                "heads": map.ids(map.heads()),
                "bases": map.ids(map.bases()),
                "errors": errors,
                "warnings": warnings,
                "diagnostics": diags,
            });
            writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&value).context("JSON")?
            )?;
        }
        CheckFormat::Github => {
            for d in &diags {
                let location = d.file.as_ref().map(|f| diagnostics::Location {
                    file: f.display().to_string(),
                    line: d.line,
                    column: d.column,
                });
                let title = format!("migscope {}", d.code);
                writeln!(out, "{}", diagnostics::github(d, location, &title))?;
            }
        }
    }
    if errors > 0 {
        Err(Failure::Findings)
    } else {
        Ok(())
    }
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

fn export_cmd(map: &RevisionMap, format: ExportFormat, out: &mut dyn Write) -> CmdResult {
    match format {
        ExportFormat::Dot => write!(out, "{}", export::dot(map))?,
        ExportFormat::Mermaid => write!(out, "{}", export::mermaid(map))?,
        ExportFormat::Json => {
            let revisions: Vec<_> = (0..map.len())
                .filter(|&r| !map.rev(r).phantom)
                .map(|r| render::summary(map, r))
                .collect();
            let value = json!({
                "heads": map.ids(map.heads()),
                "real_heads": map.ids(map.real_heads()),
                "bases": map.ids(map.bases()),
                "branch_labels": map.labels().iter().map(|(l, r)| (l.clone(), map.rev(*r).id.clone())).collect::<std::collections::BTreeMap<_, _>>(),
                "revisions": revisions,
                "alembic_error": map.alembic_error().map(RevisionError::report),
            });
            writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&value).context("JSON")?
            )?;
        }
    }
    Ok(())
}

fn graph(map: &RevisionMap, ascii: bool, color: bool, out: &mut dyn Write) -> CmdResult {
    let rows = render::rows::graph_rows(map);
    let glyphs = if ascii {
        render::lanes::GlyphSet::Ascii
    } else {
        render::lanes::GlyphSet::Unicode
    };
    for line in render::rows::render_graph(&rows, glyphs, color) {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// No command, on a terminal: the interactive explorer, with the database when one is found.
fn explore(cli: &Cli) -> CmdResult {
    use migscope::render::lanes::GlyphSet;
    let glyphs = if cli.ascii {
        GlyphSet::Ascii
    } else {
        GlyphSet::Unicode
    };
    let (project, opts, repair) = super::db::explorer(cli)?;
    let session = migscope::tui::app::Session {
        opts,
        branches: cli.global.branches.clone(),
        glyphs,
        watch: true,
    };
    migscope::tui::app::explore(project, &session, repair)?;
    Ok(())
}
