//! The database commands: `status` (read-only), `stamp` and `undo` (the only writes, each a
//! compare-and-swap of the version table's rows, previewed, confirmed and journaled).
//!
//! `--demo` reads the bundled `assets/demo/demo.db` for `status`; a writing command first copies
//! the demo project to a work directory next to the journal (`<state dir>/demo`) and works
//! there, so the bundled asset never changes. Later `--demo` commands use that copy until it is
//! deleted.

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use clap::Args;
use serde_json::json;

use super::args::DataFormat;
use super::{Cli, CmdResult, Failure, config_options, demo_dir};
use migscope::alembic_run::AlembicCommand;
use migscope::assess::{self, Route};
use migscope::config::{ConfigOptions, ProjectConfig};
use migscope::db::{
    self, Db, DbError, DbUrl, LocatedVersionTable, SchemaScope, SqlStep, VersionState,
};
use migscope::diagnose::{Diagnostic, Severity};
use migscope::graph::RevisionMap;
use migscope::journal::{self, Entry};
use migscope::lost;
use migscope::plan;
use migscope::project::{OpsScope, Project};
use migscope::render::route::{self, capped};
use migscope::revert;
use migscope::schema::SchemaSnapshot;
use migscope::stamp::{self, StampError};
use migscope::swap;
use migscope::tui::repair::{Repair, Target as RepairTarget};

/// Where the database is.
#[derive(Debug, Clone, Args)]
pub struct DbArgs {
    /// Database URL (SQLAlchemy form); default: $MIGSCOPE_DATABASE_URL, $DATABASE_URL, then the
    /// project's sqlalchemy.url
    #[arg(long, value_name = "URL")]
    pub db: Option<String>,
    /// Version table name (default: env.py's literal, else alembic_version)
    #[arg(long, value_name = "NAME")]
    pub version_table: Option<String>,
    /// Schema of the version table (default: env.py's literal, else the default schema)
    #[arg(long, value_name = "SCHEMA")]
    pub version_table_schema: Option<String>,
}

impl DbArgs {
    /// These flags (a subcommand's), each falling back to `outer`'s (given before the
    /// subcommand: `migscope --db URL status` must not silently use another database).
    pub fn or(&self, outer: &DbArgs) -> DbArgs {
        DbArgs {
            db: self.db.clone().or_else(|| outer.db.clone()),
            version_table: self
                .version_table
                .clone()
                .or_else(|| outer.version_table.clone()),
            version_table_schema: self
                .version_table_schema
                .clone()
                .or_else(|| outer.version_table_schema.clone()),
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub db: DbArgs,
    #[arg(long, value_enum, default_value_t = DataFormat::Text)]
    pub format: DataFormat,
}

#[derive(Debug, Clone, Args)]
pub struct StampArgs {
    /// Revisions to stamp (as `alembic stamp`: ids, prefixes, heads, label@head, base)
    #[arg(value_name = "TARGET", required = true)]
    pub targets: Vec<String>,
    /// Start from no rows (`alembic stamp --purge`): works even when the table holds ids no
    /// file defines
    #[arg(long)]
    pub purge: bool,
    /// Show the change and the SQL; write nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation (needed when stdin is not a terminal)
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// The rows the table must hold (comma-separated; empty: none). The stamp is computed from
    /// them and written only if the table still holds exactly them
    #[arg(long, value_name = "REV[,REV...]")]
    pub expect: Option<String>,
    /// json: before/after rows, SQL, whether it was executed, and the journal entry
    #[arg(long, value_enum, default_value_t = DataFormat::Text)]
    pub format: DataFormat,
    #[command(flatten)]
    pub db: DbArgs,
}

#[derive(Debug, Clone, Args)]
pub struct UndoArgs {
    /// Do not ask for confirmation
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Show the change and the SQL; write nothing
    #[arg(long)]
    pub dry_run: bool,
    /// json: before/after rows, SQL, whether it was executed, and the journal entry
    #[arg(long, value_enum, default_value_t = DataFormat::Text)]
    pub format: DataFormat,
    #[command(flatten)]
    pub db: DbArgs,
}

/// The project, the database and its version table, resolved.
pub(super) struct Target {
    pub project: &'static Project,
    pub url: DbUrl,
    pub source: String,
    pub table: LocatedVersionTable,
}

impl Target {
    /// `URL (backend, from SOURCE)`, the URL masked.
    pub(super) fn describe(&self) -> String {
        format!(
            "{} ({}, from {})",
            self.url.masked(),
            self.url.backend,
            self.source
        )
    }
}

pub(super) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

pub(super) fn db_failure(e: DbError) -> Failure {
    Failure::Usage(anyhow::Error::new(e))
}

/// The state directory (the journal's directory).
fn state_dir() -> anyhow::Result<PathBuf> {
    let path = journal::journal_path(|k| std::env::var(k).ok()).ok_or_else(|| {
        anyhow!("no state directory: set MIGSCOPE_STATE_DIR (or XDG_STATE_HOME, or HOME)")
    })?;
    Ok(path.parent().map(Path::to_path_buf).unwrap_or_default())
}

pub(super) fn journal_file() -> anyhow::Result<PathBuf> {
    journal::journal_path(|k| std::env::var(k).ok()).ok_or_else(|| {
        anyhow!("no journal location: set MIGSCOPE_STATE_DIR (or XDG_STATE_HOME, or HOME)")
    })
}

/// The demo's work copy (`<state dir>/demo`), made on first use.
pub(super) fn demo_work_copy(create: bool) -> anyhow::Result<Option<PathBuf>> {
    let dir = state_dir()?.join("demo");
    if dir.join("alembic.ini").is_file() && dir.join("demo.db").is_file() {
        return Ok(Some(dir));
    }
    if !create {
        return Ok(None);
    }
    let src = demo_dir();
    anyhow::ensure!(
        src.join("demo.db").is_file(),
        "the bundled demo database is not at {} (regenerate it with scripts/make_demo_db.py)",
        src.join("demo.db").display()
    );
    copy_dir(&src, &dir).with_context(|| format!("copying the demo to {}", dir.display()))?;
    eprintln!(
        "demo: working on a copy of the bundled demo in {} (the bundled files are never \
         written; delete that directory to start over)",
        dir.display()
    );
    Ok(Some(dir))
}

fn copy_dir(from: &Path, to: &Path) -> io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        if name == "__pycache__" {
            continue;
        }
        let ty = entry.file_type()?;
        if ty.is_dir() {
            copy_dir(&entry.path(), &to.join(&name))?;
        } else if ty.is_file() {
            std::fs::copy(entry.path(), to.join(&name))?;
        }
    }
    Ok(())
}

/// Loads the project and picks the database. `writing`: a `--demo` run works on the copy.
pub(super) fn target(cli: &Cli, args: &DbArgs, writing: bool) -> Result<Target, Failure> {
    let mut opts = config_options(cli)?;
    let demo = demo_location(cli, writing)?;
    if let Some(dir) = &demo {
        opts.config = vec![dir.join("alembic.ini")];
    }
    let project = Project::load(&opts).map_err(|e| Failure::Usage(anyhow::Error::new(e)))?;
    let project: &'static Project = Box::leak(Box::new(project));
    let (url, source, table) = locate(cli, args, &project.config, demo.as_deref())?;
    Ok(Target {
        project,
        url,
        source,
        table,
    })
}

/// With `--demo`: the demo directory to use (the work copy when writing or when it exists).
fn demo_location(cli: &Cli, writing: bool) -> Result<Option<PathBuf>, Failure> {
    if !cli.global.demo {
        return Ok(None);
    }
    let dir = match demo_work_copy(writing)? {
        Some(copy) => {
            if !writing {
                eprintln!("demo: reading the work copy in {}", copy.display());
            }
            copy
        }
        None => demo_dir(),
    };
    let file = dir.join("demo.db");
    if !file.is_file() {
        return Err(Failure::Usage(anyhow!(
            "the demo database is not at {} (regenerate it with scripts/make_demo_db.py)",
            file.display()
        )));
    }
    Ok(Some(dir))
}

/// The database URL (and where it came from) and the version table.
fn locate(
    cli: &Cli,
    args: &DbArgs,
    config: &ProjectConfig,
    demo: Option<&Path>,
) -> Result<(DbUrl, String, LocatedVersionTable), Failure> {
    let args = &args.or(&cli.db);
    let (raw, source) = match (&args.db, demo) {
        (None, Some(dir)) => (
            format!("sqlite:///{}", dir.join("demo.db").display()),
            "the bundled demo".to_string(),
        ),
        (flag, _) => {
            let (raw, source) =
                db::choose_url(flag.as_deref(), |k| std::env::var(k).ok(), Some(config))
                    .map_err(db_failure)?;
            (raw, source.to_string())
        }
    };
    let cwd = std::env::current_dir()?;
    let url = db::parse_url(&raw, &cwd).map_err(db_failure)?;
    let env_py = db::env_py_path(config);
    let table = db::locate_version_table(
        args.version_table.as_deref(),
        args.version_table_schema.as_deref(),
        env_py.as_deref(),
    );
    for note in url.notes.iter().chain(&table.notes) {
        eprintln!("note: {note}");
    }
    Ok((url, source, table))
}

/// The explorer's project (with `--demo`, the work copy unless `--read-only`) and its
/// database, found exactly as the other database commands find it. No URL anywhere: the
/// explorer shows the graph alone; a URL that cannot be used: the header says why.
pub fn explorer(cli: &Cli) -> Result<(Project, ConfigOptions, Repair), Failure> {
    let read_only = cli.read_only;
    let mut opts = config_options(cli)?;
    let demo = demo_location(cli, !read_only)?;
    if let Some(dir) = &demo {
        opts.config = vec![dir.join("alembic.ini")];
    }
    let project = Project::load(&opts).map_err(|e| Failure::Usage(anyhow::Error::new(e)))?;
    if demo.is_none()
        && let Err(DbError::NoUrl { .. }) = db::choose_url(
            cli.db.db.as_deref(),
            |k| std::env::var(k).ok(),
            Some(&project.config),
        )
    {
        // No database, but `--read-only` still holds for the graph fixes.
        let mut repair = Repair::default();
        repair.read_only = read_only;
        return Ok((project, opts, repair));
    }
    let config = project
        .config
        .ini_path
        .as_ref()
        .or(project.config.toml_path.as_ref());
    let alembic = match config {
        Some(c) => {
            AlembicCommand::resolve(cli.alembic_cmd.as_deref(), c, cli.global.name.as_deref())
                .map_err(|e| e.to_string())
        }
        None => Err(
            "no alembic.ini or pyproject.toml was read (--dir only?): Alembic needs \
                     the project's configuration; pass -c PATH"
                .to_string(),
        ),
    };
    let repair = match locate(cli, &cli.db, &project.config, demo.as_deref()) {
        Ok((url, source, table)) => Repair::connect(
            RepairTarget {
                url,
                source,
                table: table.table,
                journal: journal_file().ok(),
                alembic,
            },
            read_only,
        ),
        Err(Failure::Usage(e)) => Repair::failed(format!("{e:#}"), read_only),
        Err(_) => Repair::failed("cannot locate the database".into(), read_only),
    };
    Ok((project, opts, repair))
}

/// `plan --from current`: the version table's rows (no table: no rows).
pub fn current_rows(
    cli: &Cli,
    args: &DbArgs,
    config: &ProjectConfig,
) -> Result<Vec<String>, Failure> {
    Ok(version_rows(cli, args, config)?.1)
}

/// The masked URL of the database and its version table's rows (no table: no rows).
pub(super) fn version_rows(
    cli: &Cli,
    args: &DbArgs,
    config: &ProjectConfig,
) -> Result<(String, Vec<String>), Failure> {
    let demo = demo_location(cli, false)?;
    let (url, _, table) = locate(cli, args, config, demo.as_deref())?;
    let rt = runtime()?;
    let state = rt
        .block_on(async {
            let mut conn = Db::connect_read_only(&url).await?;
            let s = conn.read_version_state(&table.table).await;
            conn.close().await;
            s
        })
        .map_err(db_failure)?;
    Ok((url.masked(), state.rows.unwrap_or_default()))
}

/// The masked URL `undo` would use, when one is configured.
pub(super) fn masked_url(cli: &Cli, args: &DbArgs, config: &ProjectConfig) -> Option<String> {
    let demo = demo_location(cli, false).ok()?;
    locate(cli, args, config, demo.as_deref())
        .ok()
        .map(|(url, _, _)| url.masked())
}

/// Explanations of the ids no file defines, from the git history of the project's directory.
fn explain_unknown(config: &ProjectConfig, ids: &[String]) -> Vec<lost::Explanation> {
    let dir = config
        .ini_path
        .as_deref()
        .or(config.toml_path.as_deref())
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .or_else(|| config.version_locations.first().cloned())
        .unwrap_or_else(|| PathBuf::from("."));
    lost::explain(&dir, ids)
}

pub(super) fn rows_text(rows: &[String]) -> String {
    if rows.is_empty() {
        "(no rows)".to_string()
    } else {
        rows.join(" ")
    }
}

// ---- status ------------------------------------------------------------------------------

pub(super) fn route_json(map: &RevisionMap, r: &Route) -> serde_json::Value {
    json!({
        "from": r.from,
        "plan": r.plan.as_ref().map(|p| map.ids(p)).ok(),
        "error": r.plan.as_ref().err(),
        "conflicts": r.conflicts.iter().map(|c| json!({"revision": map.rev(c.rev).id, "message": c.message, "certain": c.certain})).collect::<Vec<_>>(),
        "first_failure": r.failure.as_ref().map(|c| json!({"revision": map.rev(c.rev).id, "message": c.message})),
    })
}

pub(super) fn write_route(
    out: &mut dyn Write,
    map: &RevisionMap,
    r: &Route,
    indent: &str,
    all_in: Option<&str>,
) -> io::Result<()> {
    for (_, line) in route::route_lines(map, r, indent, all_in) {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// The version table and the schema, on one read-only connection. With `MIGSCOPE_TIMING` set,
/// prints the phases and query counts on stderr (scripts/bench_status.py reads them).
pub(super) fn read_state_and_schema(t: &Target) -> Result<(VersionState, SchemaSnapshot), Failure> {
    let table = &t.table.table;
    let timing = std::env::var_os("MIGSCOPE_TIMING").is_some();
    runtime()?
        .block_on(async {
            let t0 = std::time::Instant::now();
            let mut conn = Db::connect_read_only(&t.url).await?;
            let t1 = std::time::Instant::now();
            let state = conn.read_version_state(table).await?;
            let q1 = conn.query_count();
            let t2 = std::time::Instant::now();
            let schema = conn.schema(&SchemaScope::excluding(table)).await?;
            let q2 = conn.query_count() - q1;
            let t3 = std::time::Instant::now();
            conn.close().await;
            if timing {
                eprintln!(
                    "timing: connect {:?}, version table {:?} ({q1} queries), schema {:?} \
                     ({q2} queries, {} tables)",
                    t1 - t0,
                    t2 - t1,
                    t3 - t2,
                    schema.tables.len()
                );
            }
            Ok::<_, DbError>((state, schema))
        })
        .map_err(db_failure)
}

pub fn status(cli: &Cli, args: &StatusArgs, out: &mut dyn Write) -> CmdResult {
    let t = target(cli, &args.db, false)?;
    let map = &t.project.map;
    let table = &t.table.table;
    let t_start = std::time::Instant::now();
    let (state, schema) = read_state_and_schema(&t)?;
    let t_db = std::time::Instant::now();
    // Status plans upgrades only: downgrade() bodies are not read.
    let ops = t.project.ops(OpsScope::Upgrade);
    let t_ops = std::time::Instant::now();
    let a = assess::assess(map, &state, &schema, &ops);
    let t_assess = std::time::Instant::now();
    let history = explain_unknown(&t.project.config, &a.unknown);
    let t_history = std::time::Instant::now();
    let table_exists = a.table_exists;
    let rows = &a.rows;
    let report = &a.report;
    let heads = map.heads();
    let unknown = &a.unknown;
    let too_long = &a.too_long;
    let plain = &a.upgrade;
    let suggested = a
        .suggested
        .as_ref()
        .map(|s| (&s.suggestion, &s.ids, s.purge, &s.after, &s.first_only));

    if std::env::var_os("MIGSCOPE_TIMING").is_some() {
        eprintln!(
            "timing: status database {:?}, operations {:?}, evidence and plans {:?}, \
             git history {:?}",
            t_db - t_start,
            t_ops - t_db,
            t_assess - t_ops,
            t_history - t_assess
        );
    }
    match args.format {
        DataFormat::Json => {
            let value = json!({
                "database": t.url.masked(),
                "backend": t.url.backend,
                "url_source": t.source,
                "version_table": table.to_string(),
                "version_table_exists": table_exists,
                "column_length": state.column_length,
                "rows": report.rows.iter().map(|(id, r)| json!({
                    "id": id,
                    "on_disk": r.is_some(),
                    "head": r.is_some_and(|r| heads.contains(&r)),
                })).collect::<Vec<_>>(),
                "unknown_rows": unknown,
                "unknown_history": unknown.iter().zip(&history).map(|(id, h)| json!({
                    "id": id,
                    "history": h,
                    "text": h.describe(),
                })).collect::<Vec<_>>(),
                "applied": map.ids(&report.applied),
                "overlapping_rows": report.overlapping.iter().map(|(a, b)| json!({"row": a, "ancestor_row": b})).collect::<Vec<_>>(),
                "too_long_ids": too_long,
                "upgrade_heads": route_json(map, plain),
                "suggestion": suggested.as_ref().map(|(s, ids, purge, route, main_only)| json!({
                    "targets": ids,
                    "command": assess::stamp_command(ids, *purge),
                    "reasoning": s.reasoning,
                    "inconsistent": map.ids(&s.inconsistent),
                    "upgrade_after_stamp": route_json(map, route),
                    "upgrade_after_main_line_only": main_only.as_ref().map(|r| route_json(map, r)),
                })),
            });
            writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&value).context("JSON")?
            )?;
        }
        DataFormat::Text => {
            writeln!(out, "Database:      {}", t.describe())?;
            match (&state.rows, rows.len()) {
                (None, _) => writeln!(
                    out,
                    "Version table: {table} does not exist (Alembic reads that as an empty \
                     database; `alembic upgrade` would create it)"
                )?,
                (Some(_), n) => writeln!(
                    out,
                    "Version table: {table} ({})",
                    if n == 1 {
                        "1 row".to_string()
                    } else {
                        format!("{n} rows")
                    }
                )?,
            }
            writeln!(out)?;
            writeln!(out, "Rows:")?;
            if rows.is_empty() {
                writeln!(out, "  (none)")?;
            }
            for (id, r) in &report.rows {
                let what = match r {
                    None => format!(
                        "UNKNOWN: no revision file defines it (Alembic fails: Can't locate \
                         revision identified by '{id}')"
                    ),
                    Some(r) if heads.contains(r) => "on disk, head".to_string(),
                    Some(r) => format!(
                        "on disk, not a head ({} after it)",
                        plural(map.descendants_count(*r) - 1, "revision")
                    ),
                };
                writeln!(out, "  {id}  {what}")?;
                if let Some(h) = unknown.iter().position(|u| u == id) {
                    writeln!(out, "    git history: {}", history[h].describe())?;
                }
            }
            for (a, b) in &report.overlapping {
                writeln!(
                    out,
                    "  overlap: {b} is an ancestor of {a}; Alembic rejects a table holding both"
                )?;
            }
            for id in too_long {
                writeln!(
                    out,
                    "  warning: revision id {id} is longer than {table}.version_num ({} \
                     characters)",
                    state.column_length.unwrap_or_default()
                )?;
            }
            writeln!(out)?;
            let applied_ids = map.ids(&report.applied);
            writeln!(
                out,
                "Applied ({} of {}{}): {}",
                applied_ids.len(),
                map.revisions().iter().filter(|r| !r.phantom).count(),
                if unknown.is_empty() {
                    ""
                } else {
                    ", unknown rows not counted"
                },
                if applied_ids.is_empty() {
                    "none".to_string()
                } else {
                    capped(&applied_ids, "--format json")
                }
            )?;
            writeln!(out, "alembic upgrade heads from these rows:")?;
            write_route(out, map, plain, "  ", Some(route::STATUS_JSON))?;
            writeln!(out)?;
            writeln!(out, "Schema evidence:")?;
            match &suggested {
                None => writeln!(
                    out,
                    "  no revision's operations could be checked against the schema"
                )?,
                Some((s, ids, purge, route, main_only)) => {
                    writeln!(
                        out,
                        "  suggested stamp: {}",
                        assess::stamp_targets(ids).join(" ")
                    )?;
                    for line in &s.reasoning {
                        writeln!(out, "  - {line}")?;
                    }
                    writeln!(out, "  repair: {}", assess::stamp_command(ids, *purge))?;
                    if rows.iter().all(|r| ids.contains(r)) && rows.len() == ids.len() {
                        writeln!(out, "  (the table already holds exactly these rows)")?;
                    }
                    writeln!(out, "  then alembic upgrade heads:")?;
                    write_route(out, map, route, "    ", Some(route::STATUS_JSON))?;
                    if let Some(m) = main_only {
                        writeln!(
                            out,
                            "  stamping only {} instead, alembic upgrade heads:",
                            ids[0]
                        )?;
                        write_route(out, map, m, "    ", Some(route::STATUS_JSON))?;
                    }
                }
            }
        }
    }
    Ok(())
}

pub(super) fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

// ---- writing -----------------------------------------------------------------------------

/// Asks on the terminal; refuses without one.
pub(super) fn confirm(yes: bool, question: &str) -> Result<bool, Failure> {
    if yes {
        return Ok(true);
    }
    if !io::stdin().is_terminal() {
        return Err(Failure::Usage(anyhow!(
            "refusing to write without confirmation: stdin is not a terminal; pass --yes to \
             apply (or --dry-run to only look)"
        )));
    }
    eprint!("{question} [y/N] ");
    io::stderr().flush()?;
    let mut answer = String::new();
    io::stdin().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes"))
}

pub(super) fn command_line() -> String {
    std::env::args()
        .map(|a| db::mask_all(&a))
        .collect::<Vec<_>>()
        .join(" ")
}

fn print_change(
    out: &mut dyn Write,
    t: &Target,
    before: &[String],
    after: &[String],
    steps: &[SqlStep],
) -> io::Result<()> {
    writeln!(out, "Database: {}", t.url.masked())?;
    writeln!(out, "Table:    {}", t.table.table)?;
    writeln!(out, "Before:   {}", rows_text(before))?;
    writeln!(out, "After:    {}", rows_text(after))?;
    if steps.is_empty() {
        writeln!(out, "SQL:      none (the rows are already these)")?;
    } else {
        writeln!(
            out,
            "SQL (one transaction, only if the rows are still as above):"
        )?;
        for s in steps {
            writeln!(out, "  {s};")?;
        }
    }
    Ok(())
}

/// One rewrite of the version table, as requested.
struct RowChange<'a> {
    /// What the table must still hold.
    before: &'a [String],
    after: &'a [String],
    action: &'a str,
    yes: bool,
    dry_run: bool,
    format: DataFormat,
}

/// The `--format json` answer of `stamp` and `undo`.
fn change_json(
    t: &Target,
    c: &RowChange,
    steps: &[SqlStep],
    executed: bool,
    outcome: &str,
    entry: Option<&Entry>,
) -> serde_json::Value {
    json!({
        "action": c.action,
        "database": t.url.masked(),
        "version_table": t.table.table.to_string(),
        "before": c.before,
        "after": c.after,
        "sql": steps.iter().map(|s| s.display.clone()).collect::<Vec<_>>(),
        "dry_run": c.dry_run,
        "executed": executed,
        "outcome": outcome,
        "journal": entry,
    })
}

/// Shows, confirms, swaps and journals.
fn write_rows(out: &mut dyn Write, t: &Target, state: &VersionState, c: &RowChange) -> CmdResult {
    let table = &t.table.table;
    let json = c.format == DataFormat::Json;
    let shown_before = state.rows.as_ref().map(|_| c.before);
    let steps = db::plan_sql(t.url.backend, table, shown_before, c.after).map_err(db_failure)?;
    let finish = |out: &mut dyn Write, outcome: &str, entry: Option<&Entry>, text: &str| {
        if json {
            let v = change_json(t, c, &steps, entry.is_some(), outcome, entry);
            writeln!(out, "{}", serde_json::to_string_pretty(&v).context("JSON")?)?;
        } else if !text.is_empty() {
            writeln!(out, "{text}")?;
        }
        Ok::<(), Failure>(())
    };
    if !json {
        print_change(out, t, c.before, c.after, &steps)?;
    }
    if steps.is_empty() {
        return finish(out, "unchanged", None, "");
    }
    if c.dry_run {
        return finish(out, "dry_run", None, "Dry run: nothing written.");
    }
    out.flush()?;
    if !confirm(c.yes, "Apply this change?")? {
        finish(out, "declined", None, "Not applied.")?;
        return Err(Failure::Findings);
    }
    let journal_path = journal_file()?;
    let change = swap::Change {
        before: c.before.to_vec(),
        after: c.after.to_vec(),
        action: c.action.to_string(),
        command: command_line(),
    };
    let rt = runtime()?;
    let entry = match rt.block_on(swap::write(&t.url, table, &change, &journal_path)) {
        Ok((_, entry)) => entry,
        Err(e) if e.rows_changed() => {
            finish(out, "changed_since_preview", None, "")?;
            eprintln!("error: aborted: {e}");
            return Err(Failure::Findings);
        }
        Err(e) => return Err(Failure::Usage(anyhow::Error::new(e))),
    };
    let text = format!("Applied. Journal: {}", journal_path.display());
    finish(out, "applied", entry.as_ref(), &text)
}

pub(super) fn read_state(t: &Target) -> Result<VersionState, Failure> {
    let rt = runtime()?;
    rt.block_on(async {
        // Writes open their own connection; reading never needs write access.
        let mut conn = Db::connect_read_only(&t.url).await?;
        let s = conn.read_version_state(&t.table.table).await;
        conn.close().await;
        s
    })
    .map_err(db_failure)
}

pub fn stamp_cmd(cli: &Cli, args: &StampArgs, out: &mut dyn Write) -> CmdResult {
    let t = target(cli, &args.db, !args.dry_run)?;
    let map = &t.project.map;
    let state = read_state(&t)?;
    let before: Vec<String> = match &args.expect {
        Some(e) => e
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        None => state.rows.clone().unwrap_or_default(),
    };
    let result = match stamp::stamp(map, &before, &args.targets, args.purge) {
        Ok(r) => r,
        Err(e) => {
            let unknown: Vec<String> = stamp::rows_report(map, &before)
                .rows
                .into_iter()
                .filter(|(_, r)| r.is_none())
                .map(|(id, _)| id)
                .collect();
            eprintln!("error: alembic stamp would fail: {e}");
            if !unknown.is_empty() && !args.purge {
                eprintln!(
                    "  the table holds {} no revision file defines; --purge starts from no rows \
                     (as `alembic stamp --purge`)",
                    unknown.join(", ")
                );
            }
            let _: &StampError = &e;
            return Err(Failure::Findings);
        }
    };
    let change = RowChange {
        before: &before,
        after: &result.rows,
        action: "stamp",
        yes: args.yes,
        dry_run: args.dry_run,
        format: args.format,
    };
    write_rows(out, &t, &state, &change)
}

pub fn undo(cli: &Cli, args: &UndoArgs, out: &mut dyn Write) -> CmdResult {
    // The newest journaled change to this project may be a graph fix (files, not rows).
    if super::fix::undo_files(cli, args, out)? {
        return Ok(());
    }
    let t = target(cli, &args.db, !args.dry_run)?;
    let path = journal_file()?;
    let entries = journal::read(&path).with_context(|| format!("reading {}", path.display()))?;
    let url = t.url.masked();
    let table = t.table.table.to_string();
    let Some((last, _)) = swap::undo_change(&entries, &t.url, &t.table.table, &command_line())
    else {
        return Err(Failure::Usage(anyhow!(
            "nothing to undo: {} has no entry for {url} ({table})",
            path.display()
        )));
    };
    // With --format json, stdout carries only the JSON answer.
    let mut stderr = io::stderr();
    let text_out: &mut dyn Write = if args.format == DataFormat::Json {
        &mut stderr
    } else {
        &mut *out
    };
    if matches!(last.action.as_str(), "upgrade" | "downgrade") {
        return refuse_schema_undo(text_out, &t, last, cli.global.demo);
    }
    writeln!(
        text_out,
        "Undoing the {} of {} ({})",
        last.action, last.time, last.command
    )?;
    let state = read_state(&t)?;
    let change = RowChange {
        before: &last.after,
        after: &last.before,
        action: "undo",
        yes: args.yes,
        dry_run: args.dry_run,
        format: args.format,
    };
    write_rows(out, &t, &state, &change)
}

/// The last change was Alembic running migrations: the schema moved with the rows, so putting
/// the old rows back would make the table lie about the schema. Say what reverts it instead.
fn refuse_schema_undo(out: &mut dyn Write, t: &Target, last: &Entry, demo: bool) -> CmdResult {
    let prog = if demo { "migscope --demo" } else { "migscope" };
    let back = if last.action == "upgrade" {
        "downgrade"
    } else {
        "upgrade"
    };
    let mut targets = last.before.clone();
    let mut order_note = "preview each with --dry-run";
    if back == "downgrade" && targets.len() > 1 {
        // Several downgrades: the order can decide whether they succeed.
        let (state, schema) = read_state_and_schema(t)?;
        let map = &t.project.map;
        let ops = t.project.ops(OpsScope::Both);
        let rows = state.rows.unwrap_or_default();
        match revert::downgrade_order(map, &rows, &targets, &ops, &schema) {
            Some(order) => {
                targets = order;
                order_note = "in this order, which the preflight predicts runs cleanly; preview \
                              each with --dry-run";
            }
            None => {
                order_note = "the preflight predicts a failure in every order: preview each \
                              with --dry-run"
            }
        }
    }
    writeln!(
        out,
        "The last change to this database was `alembic {}` at {} ({}): rows {} -> {}.",
        last.action,
        last.time,
        last.command,
        rows_text(&last.before),
        rows_text(&last.after)
    )?;
    writeln!(
        out,
        "It changed the schema, so undo does not rewrite the version table over it. To revert \
         it, run the migrations back ({order_note}):"
    )?;
    if targets.is_empty() {
        writeln!(out, "  {prog} {back} base")?;
    }
    for rev in &targets {
        writeln!(out, "  {prog} {back} {rev}")?;
    }
    Err(Failure::Findings)
}

// ---- check --db --------------------------------------------------------------------------

/// `check --db`: the database's rows against the project, as diagnostics.
pub fn db_diagnostics(
    cli: &Cli,
    args: &DbArgs,
    project: &Project,
) -> Result<Vec<Diagnostic>, Failure> {
    let demo = demo_location(cli, false)?;
    let (url, _, table) = locate(cli, args, &project.config, demo.as_deref())?;
    let table = table.table;
    let map = &project.map;
    let rt = runtime()?;
    let state = rt
        .block_on(async {
            let mut conn = Db::connect_read_only(&url).await?;
            let s = conn.read_version_state(&table).await;
            conn.close().await;
            s
        })
        .map_err(db_failure)?;
    let rows = state.rows.clone().unwrap_or_default();
    let report = stamp::rows_report(map, &rows);
    let at = url.masked();
    let diag = |code: &'static str,
                severity: Severity,
                message: String,
                revision: Option<String>,
                fix: String| {
        let file = revision
            .as_deref()
            .and_then(|r| map.get(r))
            .map(|r| map.record_of(r).path.clone());
        Diagnostic {
            code,
            severity,
            message,
            revision,
            file,
            line: None,
            column: None,
            fix,
        }
    };
    let unknown: Vec<String> = report
        .rows
        .iter()
        .filter(|(_, r)| r.is_none())
        .map(|(id, _)| id.clone())
        .collect();
    let history = explain_unknown(&project.config, &unknown);
    let mut out = Vec::new();
    for (id, h) in unknown.iter().zip(&history) {
        out.push(diag(
            "db-unknown-revision",
            Severity::Error,
            format!(
                "{table} in {at} holds '{id}', which no revision file defines: every `alembic \
                 upgrade` fails with Can't locate revision identified by '{id}'; git history: {}",
                h.describe()
            ),
            None,
            "Restore the missing file, or run `migscope status` and stamp the revision the \
             schema matches (`migscope stamp --purge ...`)"
                .to_string(),
        ));
    }
    for (row, ancestor) in &report.overlapping {
        out.push(diag(
            "db-overlapping-rows",
            Severity::Error,
            format!(
                "{table} in {at} holds both {row} and its ancestor {ancestor}; Alembic rejects \
                 such a table"
            ),
            Some(ancestor.clone()),
            format!(
                "Delete the row {ancestor} (`migscope stamp --purge {row}` and any other heads)"
            ),
        ));
    }
    if let Some(max) = state.column_length {
        for r in map.revisions().iter().filter(|r| !r.phantom) {
            let len = r.id.chars().count();
            if len > max as usize {
                out.push(diag(
                    "db-id-too-long",
                    Severity::Error,
                    format!(
                        "revision id {} is {len} characters long but {table}.version_num in \
                         {at} holds at most {max}: the upgrade that reaches it fails (or is \
                         truncated on non-strict MySQL)",
                        r.id
                    ),
                    Some(r.id.clone()),
                    format!("Widen the column to VARCHAR({len}) or shorten the revision id"),
                ));
            }
        }
    }
    if report.rows.iter().all(|(_, r)| r.is_some()) && report.overlapping.is_empty() {
        match plan::upgrade(map, &rows, "heads") {
            Ok(p) if !p.revisions.is_empty() => out.push(diag(
                "db-behind-heads",
                Severity::Warning,
                format!(
                    "{at} is {} behind the heads: `alembic upgrade heads` would run {}",
                    plural(p.revisions.len(), "revision"),
                    map.ids(&p.revisions).join(" ")
                ),
                None,
                "Run `alembic upgrade heads` (`migscope status` previews it against the schema)"
                    .to_string(),
            )),
            Ok(_) => {}
            Err(e) => out.push(diag(
                "db-upgrade-refused",
                Severity::Error,
                format!(
                    "`alembic upgrade heads` from the rows of {at} fails: {}",
                    e.message()
                ),
                None,
                "Run `migscope status` for the rows and a suggested stamp".to_string(),
            )),
        }
    }
    Ok(out)
}
