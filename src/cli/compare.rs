//! `migscope compare LEFT RIGHT` and `migscope check --against LEFT`.

use std::io::{self, BufRead, IsTerminal, Write};
use std::path::Path;

use anyhow::{Context, anyhow};
use clap::Args;
use serde_json::json;

use super::args::{CheckFormat, DataFormat};
use super::{Cli, CmdResult, Failure, config_options};
use migscope::compare::sync::{self, SyncPlan};
use migscope::compare::{self, Comparison, RevisionDiff, Side, SideSpec, Source, Status, Which};
use migscope::diagnose::{Diagnostic, Severity};
use migscope::render::diagnostics;

/// Longest list printed per section in text output (JSON has everything).
const TEXT_LIST_LIMIT: usize = 50;

#[derive(Debug, Args)]
#[command(
    after_help = "Each side is a project directory (alembic.ini or pyproject.toml found \
    as usual), a bare versions directory, an alembic.ini / pyproject.toml file, or git:REF (the \
    working directory's project at a commit, read from git objects, nothing checked out). \
    Windows paths (D:\\app\\backend) work under WSL.\n\nExit status: 0 the sides hold the same \
    revisions (line-ending differences and renames aside), 1 they differ (or conflicts remain \
    after --apply), 2 usage or I/O error."
)]
pub struct CompareArgs {
    /// Left side: directory, versions directory, config file, or git:REF
    #[arg(value_name = "LEFT")]
    pub left: String,
    /// Right side: directory, versions directory, config file, or git:REF
    #[arg(value_name = "RIGHT")]
    pub right: String,
    /// Output format; without it (and without --diff/--apply), a terminal opens compare mode
    #[arg(long, value_enum)]
    pub format: Option<DataFormat>,
    /// Show unified diffs of differing files: all of them, or only REV's (`--diff=REV`, or put
    /// `--diff REV` after LEFT and RIGHT)
    #[arg(long, value_name = "REV", num_args = 0..=1, default_missing_value = "")]
    pub diff: Option<String>,
    /// Copy files so both sides hold the same revisions (directories only; backs up what it
    /// replaces; asks first)
    #[arg(long)]
    pub apply: bool,
    /// With --apply: do not ask for confirmation (for scripts)
    #[arg(long, requires = "apply")]
    pub yes: bool,
    /// Also sync files that differ only by line endings/BOM/whitespace (LEFT's copy wins)
    #[arg(long)]
    pub include_eol: bool,
}

fn usage(e: impl std::fmt::Display) -> Failure {
    Failure::Usage(anyhow!("{e}"))
}

/// `migscope compare`.
pub fn run(cli: &Cli, args: &CompareArgs, out: &mut dyn Write, _color: bool) -> CmdResult {
    if cli.global.demo {
        return Err(usage(
            "compare takes its two sides as arguments; --demo does not apply",
        ));
    }
    let opts = config_options(cli)?;
    let (left_spec, right_spec) = (SideSpec::parse(&args.left), SideSpec::parse(&args.right));
    if !cli.global.config.is_empty() || !cli.global.dirs.is_empty() {
        // -c/--dir describe the working directory's project: they only make sense for git sides.
        if !left_spec.is_git() && !right_spec.is_git() {
            return Err(usage(
                "-c/--config and --dir describe the working directory's project, which \
                 compare only reads for git:REF sides; give LEFT and RIGHT as directories or \
                 config files instead",
            ));
        }
    }
    if args.apply && (left_spec.is_git() || right_spec.is_git()) {
        return Err(usage(
            "--apply writes only to directories, and a git:REF side is read-only; check the \
             commit out into a directory (git worktree add) to sync it",
        ));
    }
    let pair =
        compare::load_pair(&left_spec, &right_spec, &opts, &cli.global.branches).map_err(usage)?;
    // On a terminal, with no output asked for: compare mode. Piped, or with --format, --diff or
    // --apply, the report below.
    let interactive =
        args.format.is_none() && args.diff.is_none() && !args.apply && migscope::tui::available();
    if interactive {
        let glyphs = if cli.ascii {
            migscope::render::lanes::GlyphSet::Ascii
        } else {
            migscope::render::lanes::GlyphSet::Unicode
        };
        migscope::tui::app::compare(pair, glyphs)?;
        return Ok(());
    }
    let result = report(args, &pair, out);
    // The process ends right after this: freeing three maps of thousands of revisions, one
    // allocation at a time, would cost about a tenth of the whole run.
    std::mem::forget(pair);
    result
}

fn report(args: &CompareArgs, pair: &compare::Pair, out: &mut dyn Write) -> CmdResult {
    let cmp = compare::compare(pair);
    let (left, right) = (&pair.left, &pair.right);
    let plan = sync::plan(&cmp, left, right, args.include_eol);
    let diffs = collect_diffs(&cmp, left, right, args.diff.as_deref())?;
    match args.format.unwrap_or(DataFormat::Text) {
        DataFormat::Text => write_text(out, &cmp, &plan, &diffs, left, right, args)?,
        DataFormat::Json => {
            let mut value = json!({
                "left": cmp.left,
                "right": cmp.right,
                "counts": cmp.counts,
                "revisions": cmp.revisions,
                "union": cmp.union,
                "unknown_to_right": cmp.unknown_to_right,
                "unknown_to_left": cmp.unknown_to_left,
                "sync": plan,
            });
            if args.diff.is_some() {
                value["diffs"] = json!(
                    diffs
                        .iter()
                        .map(|(rev, text)| (rev.clone(), json!(text)))
                        .collect::<serde_json::Map<_, _>>()
                );
            }
            if args.apply {
                let applied = apply(out, &plan, left, right, args)?;
                value["applied"] = json!(applied);
            }
            writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&value).context("JSON")?
            )?;
            return exit_status(&cmp, &plan, args.apply);
        }
    }
    if args.apply {
        apply(out, &plan, left, right, args)?;
    }
    exit_status(&cmp, &plan, args.apply)
}

fn exit_status(cmp: &Comparison, plan: &SyncPlan, applied: bool) -> CmdResult {
    let settled = if applied {
        plan.conflicts.is_empty()
    } else {
        cmp.is_equivalent()
    };
    if settled {
        Ok(())
    } else {
        Err(Failure::Findings)
    }
}

/// The diffs asked for with `--diff` / `--diff REV`: (revision, unified diff or a note).
fn collect_diffs(
    cmp: &Comparison,
    left: &Side,
    right: &Side,
    which: Option<&str>,
) -> Result<Vec<(String, String)>, Failure> {
    let Some(which) = which else {
        return Ok(Vec::new());
    };
    let chosen: Vec<&RevisionDiff> = if which.is_empty() {
        cmp.revisions
            .iter()
            .filter(|d| matches!(d.status, Status::ContentDiffers | Status::GraphDiffers))
            .collect()
    } else {
        let found = cmp.find(which);
        match found.len() {
            0 if left.map.get(which).is_some() || right.map.get(which).is_some() => {
                return Ok(vec![(
                    which.to_string(),
                    "identical on both sides\n".to_string(),
                )]);
            }
            0 => {
                return Err(usage(format!(
                    "--diff {which}: no revision {which} on either side"
                )));
            }
            1 => found,
            _ => {
                return Err(usage(format!(
                    "--diff {which}: ambiguous prefix ({}); give more characters",
                    found
                        .iter()
                        .map(|d| d.revision.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        }
    };
    Ok(chosen
        .into_iter()
        .map(|d| {
            let text = match d.status {
                Status::OnlyLeft => "only on LEFT: nothing to diff\n".to_string(),
                Status::OnlyRight => "only on RIGHT: nothing to diff\n".to_string(),
                Status::Identical => "identical content (renamed)\n".to_string(),
                _ => {
                    let (l, r) = (
                        d.left.as_ref().expect("both"),
                        d.right.as_ref().expect("both"),
                    );
                    let (a, b) = (left.bytes(l.index), right.bytes(r.index));
                    match (a, b) {
                        (Ok(a), Ok(b)) => {
                            let mut text = compare::diff::unified(
                                &a,
                                &b,
                                &l.path.display().to_string(),
                                &r.path.display().to_string(),
                                3,
                            );
                            let kinds = compare::diff::encoding_differences(&a, &b);
                            if !kinds.is_empty() {
                                text.push_str(&format!(
                                    "(the files also differ by: {})\n",
                                    kinds
                                        .iter()
                                        .map(|c| c.describe())
                                        .collect::<Vec<_>>()
                                        .join(", ")
                                ));
                            }
                            text
                        }
                        (Err(e), _) | (_, Err(e)) => format!("cannot read the files again: {e}\n"),
                    }
                }
            };
            (d.revision.clone(), text)
        })
        .collect())
}

fn cosmetic_list(d: &RevisionDiff) -> String {
    d.cosmetic
        .iter()
        .map(|c| c.describe())
        .collect::<Vec<_>>()
        .join(", ")
}

fn side_header(which: Which, s: &compare::SideSummary) -> String {
    let origin = match &s.source {
        Source::Directory {
            config: Some(cfg), ..
        } => format!("project, {}", cfg.display()),
        Source::Directory { config: None, .. } => "versions directory".to_string(),
        Source::Git { commit, .. } => format!("commit {}", &commit[..commit.len().min(12)]),
    };
    let list = |v: &[String]| {
        if v.is_empty() {
            "none".to_string()
        } else {
            v.join(", ")
        }
    };
    format!(
        "{:<6}{} ({origin})\n      {} revisions; heads: {}; bases: {}",
        which.name(),
        s.label,
        s.revisions,
        list(&s.heads),
        list(&s.bases)
    )
}

fn file_name(f: &Option<compare::FileRef>) -> String {
    f.as_ref()
        .map(|f| f.name.display().to_string())
        .unwrap_or_default()
}

fn write_list<T>(
    out: &mut dyn Write,
    title: &str,
    items: &[T],
    line: impl Fn(&T) -> String,
) -> io::Result<()> {
    if items.is_empty() {
        return Ok(());
    }
    writeln!(out, "\n{title}:")?;
    for item in items.iter().take(TEXT_LIST_LIMIT) {
        writeln!(out, "  {}", line(item))?;
    }
    if items.len() > TEXT_LIST_LIMIT {
        writeln!(
            out,
            "  ... and {} more (--format json lists all)",
            items.len() - TEXT_LIST_LIMIT
        )?;
    }
    Ok(())
}

fn write_text(
    out: &mut dyn Write,
    cmp: &Comparison,
    plan: &SyncPlan,
    diffs: &[(String, String)],
    left: &Side,
    right: &Side,
    args: &CompareArgs,
) -> CmdResult {
    writeln!(out, "{}", side_header(Which::Left, &cmp.left))?;
    writeln!(out, "{}", side_header(Which::Right, &cmp.right))?;
    for (which, s) in [(Which::Left, &cmp.left), (Which::Right, &cmp.right)] {
        for w in &s.warnings {
            writeln!(out, "warning ({}): {w}", which.name())?;
        }
        if let Some(e) = &s.alembic_error {
            writeln!(
                out,
                "note: Alembic cannot load {} on its own: {}",
                which.name(),
                e.message
            )?;
        }
    }
    let c = &cmp.counts;
    let mut parts = vec![format!("{} identical", c.identical)];
    for (n, what) in [
        (c.eol_only, "line endings/whitespace only"),
        (c.content_differs, "content differs"),
        (c.graph_differs, "graph differs"),
        (c.only_left, "only on LEFT"),
        (c.only_right, "only on RIGHT"),
        (c.renamed, "renamed"),
    ] {
        if n > 0 {
            parts.push(format!("{n} {what}"));
        }
    }
    writeln!(out, "\nRevisions: {}", parts.join(", "))?;

    let of = |s: Status| -> Vec<&RevisionDiff> {
        cmp.revisions.iter().filter(|d| d.status == s).collect()
    };
    let with_message = |d: &RevisionDiff, f: &Option<compare::FileRef>| {
        if d.message.is_empty() {
            format!("{}  {}", d.revision, file_name(f))
        } else {
            format!("{}  {}  ({})", d.revision, d.message, file_name(f))
        }
    };
    write_list(
        out,
        "Only on LEFT (unknown to RIGHT)",
        &of(Status::OnlyLeft),
        |d| with_message(d, &d.left),
    )?;
    write_list(
        out,
        "Only on RIGHT (unknown to LEFT)",
        &of(Status::OnlyRight),
        |d| with_message(d, &d.right),
    )?;
    write_list(
        out,
        "Graph differs (the sides disagree where this revision sits)",
        &of(Status::GraphDiffers),
        |d| {
            let changes: Vec<String> = d
                .graph
                .iter()
                .map(|g| {
                    format!(
                        "{} ({}) on LEFT, ({}) on RIGHT",
                        g.field,
                        g.left.join(", "),
                        g.right.join(", ")
                    )
                })
                .collect();
            format!(
                "{}  {}  ({})",
                d.revision,
                changes.join("; "),
                file_name(&d.left)
            )
        },
    )?;
    write_list(out, "Content differs", &of(Status::ContentDiffers), |d| {
        format!("{}  ({})", d.revision, file_name(&d.left))
    })?;
    write_list(
        out,
        "Line endings / BOM / whitespace only (harmless: the WSL/Windows case)",
        &of(Status::EolOnly),
        |d| {
            format!(
                "{}  {}  ({})",
                d.revision,
                cosmetic_list(d),
                file_name(&d.left)
            )
        },
    )?;
    let renamed: Vec<&RevisionDiff> = cmp.revisions.iter().filter(|d| d.renamed).collect();
    write_list(out, "Same revision, different file name", &renamed, |d| {
        format!(
            "{}  {} on LEFT, {} on RIGHT",
            d.revision,
            file_name(&d.left),
            file_name(&d.right)
        )
    })?;

    let u = &cmp.union;
    writeln!(
        out,
        "\nUnion (LEFT's files plus the revisions only RIGHT has): {} revisions; heads: {}; bases: {}",
        u.revisions,
        if u.heads.is_empty() {
            "none".to_string()
        } else {
            u.heads.join(", ")
        },
        u.bases.join(", ")
    )?;
    let problems: Vec<&Diagnostic> = u
        .diagnostics
        .iter()
        .filter(|d| d.severity >= Severity::Warning)
        .collect();
    for d in problems.iter().take(TEXT_LIST_LIMIT) {
        writeln!(out, "  {}[{}]: {}", d.severity.as_str(), d.code, d.message)?;
    }
    if problems.len() > TEXT_LIST_LIMIT {
        writeln!(out, "  ... and {} more", problems.len() - TEXT_LIST_LIMIT)?;
    }
    if u.is_clean() {
        writeln!(out, "  merging the two sides is clean")?;
    } else if u.heads.len() > 1
        && u.diagnostics
            .iter()
            .any(|d| d.code == "multiple-heads" && d.severity == Severity::Error)
    {
        writeln!(
            out,
            "  merging the two sides leaves {} heads: add a merge revision (alembic merge -m \"merge\" {})",
            u.heads.len(),
            u.heads.join(" ")
        )?;
    }
    for (ids, from, to) in [
        (&cmp.unknown_to_right, "LEFT", "RIGHT"),
        (&cmp.unknown_to_left, "RIGHT", "LEFT"),
    ] {
        if ids.is_empty() {
            continue;
        }
        let shown: Vec<&str> = ids.iter().take(10).map(String::as_str).collect();
        let more = if ids.len() > 10 {
            format!(" and {} more", ids.len() - 10)
        } else {
            String::new()
        };
        writeln!(
            out,
            "\nA database upgraded with {from} to {}{more} is unknown to {to} (Alembic: \"Can't locate revision identified by '{}'\").",
            shown.join(", "),
            shown[0]
        )?;
    }

    writeln!(out, "\nSync plan:")?;
    if plan.actions.is_empty() && plan.conflicts.is_empty() {
        writeln!(out, "  nothing to copy")?;
    }
    for a in plan.actions.iter().take(TEXT_LIST_LIMIT) {
        let dir = match a.to {
            Which::Right => "LEFT -> RIGHT",
            Which::Left => "RIGHT -> LEFT",
        };
        let verb = if a.replaces { "replace" } else { "copy" };
        writeln!(
            out,
            "  {verb} {dir}  {}  {} -> {}",
            a.revision,
            a.source.display(),
            a.target.display()
        )?;
    }
    if plan.actions.len() > TEXT_LIST_LIMIT {
        writeln!(
            out,
            "  ... and {} more copies",
            plan.actions.len() - TEXT_LIST_LIMIT
        )?;
    }
    for k in plan.conflicts.iter().take(TEXT_LIST_LIMIT) {
        writeln!(out, "  conflict  {}: {}", k.revision, k.reason)?;
    }
    if plan.conflicts.len() > TEXT_LIST_LIMIT {
        writeln!(
            out,
            "  ... and {} more conflicts",
            plan.conflicts.len() - TEXT_LIST_LIMIT
        )?;
    }
    for h in plan.harmless.iter().take(TEXT_LIST_LIMIT) {
        writeln!(out, "  harmless  {}: {}", h.revision, h.reason)?;
    }
    if !plan.actions.is_empty() && !args.apply {
        if left.is_git() || right.is_git() {
            writeln!(
                out,
                "  (a git side cannot be written: `git show REF:PATH > PATH` copies one file out)"
            )?;
        } else {
            writeln!(out, "  (dry run: add --apply to copy)")?;
        }
    }
    for (rev, text) in diffs {
        writeln!(out, "\ndiff {rev}:")?;
        write!(out, "{text}")?;
    }
    Ok(())
}

/// Confirms and applies the plan; prints (text) or returns (JSON) what was done.
fn apply(
    out: &mut dyn Write,
    plan: &SyncPlan,
    left: &Side,
    right: &Side,
    args: &CompareArgs,
) -> Result<Option<sync::Applied>, Failure> {
    let text = args.format != Some(DataFormat::Json);
    if plan.actions.is_empty() {
        if text {
            writeln!(out, "\nNothing to apply.")?;
        }
        return Ok(None);
    }
    if !args.yes {
        let stdin = io::stdin();
        if !stdin.is_terminal() {
            return Err(usage(
                "--apply needs confirmation, and stdin is not a terminal; review the plan and \
                 add --yes to apply it non-interactively (nothing was changed)",
            ));
        }
        out.flush()?;
        let replacing = plan.actions.iter().filter(|a| a.replaces).count();
        eprint!(
            "Copy {} file(s){}? [y/N] ",
            plan.actions.len(),
            if replacing > 0 {
                format!(" ({replacing} replacing a file, which is backed up first)")
            } else {
                String::new()
            }
        );
        let mut answer = String::new();
        stdin.lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes") {
            eprintln!("Not applied; nothing was changed.");
            return Err(Failure::Findings);
        }
    }
    let stamp = sync::timestamp(std::time::SystemTime::now());
    let applied = sync::apply(plan, left, right, &stamp).map_err(usage)?;
    if text {
        writeln!(out, "\nApplied:")?;
        for p in &applied.written {
            writeln!(out, "  wrote {}", p.display())?;
        }
        for b in &applied.backups {
            writeln!(out, "  backup {}", b.display())?;
        }
    }
    Ok(Some(applied))
}

/// `migscope check --against LEFT`: would merging this checkout with LEFT be clean? Exit 1 when
/// the union has an error-level finding (several heads, unless declared branches; a missing
/// parent; a duplicate id...).
pub fn check_against(
    cli: &Cli,
    against: &str,
    format: CheckFormat,
    out: &mut dyn Write,
) -> CmdResult {
    let opts = config_options(cli)?;
    let spec = SideSpec::parse(against);
    if let SideSpec::Path { path, .. } = &spec
        && !path.exists()
        && !against.contains(['/', '\\'])
    {
        return Err(usage(format!(
            "--against {against}: no such directory; for a branch or commit write git:{against}"
        )));
    }
    let here = opts.cwd.display().to_string();
    let pair = compare::load_against(&spec, &opts, &here, &cli.global.branches).map_err(usage)?;
    let result = report_against(against, format, &pair, out);
    // As in `run`: the process ends here, skip freeing the maps.
    std::mem::forget(pair);
    result
}

fn report_against(
    against: &str,
    format: CheckFormat,
    pair: &compare::Pair,
    out: &mut dyn Write,
) -> CmdResult {
    let cmp = compare::compare(pair);
    let left = &pair.left;
    let u = &cmp.union;
    let mut diags = u.diagnostics.clone();
    // The union keeps LEFT's copy of a revision both sides have; an edit to its place in the
    // graph made here would silently not count, so say so.
    for d in cmp
        .revisions
        .iter()
        .filter(|d| d.status == Status::GraphDiffers)
    {
        let changes: Vec<String> = d
            .graph
            .iter()
            .map(|g| {
                format!(
                    "{} is ({}) here but ({}) in {against}",
                    g.field,
                    g.right.join(", "),
                    g.left.join(", ")
                )
            })
            .collect();
        diags.push(Diagnostic {
            code: "revision-changed",
            severity: Severity::Warning,
            message: format!(
                "{} exists in {against} with a different place in the graph: {}",
                d.revision,
                changes.join("; ")
            ),
            revision: Some(d.revision.clone()),
            file: d.right.as_ref().map(|f| f.path.clone()),
            line: None,
            column: None,
            fix: "Do not rewrite a revision that is already merged: revert the change and add a new revision".into(),
        });
    }
    let errors = diags
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    let warnings = diags
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .count();
    match format {
        CheckFormat::Text => {
            for d in &diags {
                writeln!(out, "{}", diagnostics::text(d))?;
            }
            if !cmp.unknown_to_left.is_empty() {
                writeln!(
                    out,
                    "this checkout adds {} revision(s) {against} does not have: {}",
                    cmp.unknown_to_left.len(),
                    short_list(&cmp.unknown_to_left)
                )?;
            }
            writeln!(
                out,
                "merged with {against}: {} revisions, {} heads, {} bases: {errors} errors, {warnings} warnings",
                u.revisions,
                u.heads.len(),
                u.bases.len()
            )?;
        }
        CheckFormat::Json => {
            let value = json!({
                "against": left.label,
                "revisions": u.revisions,
                "heads": u.heads,
                "bases": u.bases,
                "errors": errors,
                "warnings": warnings,
                "diagnostics": diags,
                "only_here": cmp.unknown_to_left,
                "only_there": cmp.unknown_to_right,
            });
            writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&value).context("JSON")?
            )?;
        }
        CheckFormat::Github => {
            for d in &diags {
                // A file of the other side (`REF:path`) is not in the checkout: no location.
                let location =
                    d.file
                        .as_deref()
                        .filter(|f| f.exists())
                        .map(|f| diagnostics::Location {
                            file: rel_display(f),
                            line: d.line,
                            column: None,
                        });
                let title = format!("migscope {} (merged with {against})", d.code);
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

fn short_list(ids: &[String]) -> String {
    let mut s = ids.iter().take(10).cloned().collect::<Vec<_>>().join(", ");
    if ids.len() > 10 {
        s.push_str(&format!(" and {} more", ids.len() - 10));
    }
    s
}

/// GitHub resolves annotation paths against the workspace: prefer a relative path.
fn rel_display(f: &Path) -> String {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| f.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| f.to_path_buf())
        .display()
        .to_string()
}
