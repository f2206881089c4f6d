//! Everything structurally wrong with a project, each finding with a stable code, a severity, the
//! file and line to look at, and what to do about it.

use std::path::PathBuf;

use petgraph::algo::tarjan_scc;
use serde::Serialize;

use crate::graph::{IdMap, RevIdx, RevisionMap};
use crate::revision::{NormalizeError, ReadIssue, Span};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Stable, kebab-case (see the README's table).
    pub code: &'static str,
    pub severity: Severity,
    pub message: String,
    /// The revision it is about, when there is one.
    pub revision: Option<String>,
    pub file: Option<PathBuf>,
    pub line: Option<u32>,
    pub column: Option<u32>,
    /// What to do about it.
    pub fix: String,
}

/// What the project declares about itself that changes a verdict.
#[derive(Debug, Clone, Default)]
pub struct Expectations {
    /// Branch labels whose heads may coexist (an expand/contract design): `[tool.migscope] branches`.
    pub branches: Vec<String>,
}

/// Alembic's default `version_num` column is `VARCHAR(32)`.
pub const VERSION_COLUMN_LENGTH: usize = 32;

struct Collector<'a> {
    map: &'a RevisionMap,
    out: Vec<Diagnostic>,
}

impl Collector<'_> {
    fn push(
        &mut self,
        code: &'static str,
        severity: Severity,
        at: Option<(RevIdx, Option<Span>)>,
        message: String,
        fix: String,
    ) {
        let (revision, file, span) = match at {
            Some((r, span)) => (
                Some(self.map.rev(r).id.clone()),
                Some(self.map.record_of(r).path.clone()),
                span,
            ),
            None => (None, None, None),
        };
        self.out.push(Diagnostic {
            code,
            severity,
            message,
            revision,
            file,
            line: span.map(|s| s.line),
            column: span.map(|s| s.column),
            fix,
        });
    }

    fn span_of(&self, r: RevIdx, field: Field) -> Option<Span> {
        let rec = self.map.record_of(r);
        let a = match field {
            Field::Revision => &rec.revision,
            Field::Down => &rec.down_revision,
            Field::Labels => &rec.branch_labels,
            Field::Depends => &rec.depends_on,
        };
        a.as_ref()
            .map(|a| a.span)
            .or(Some(Span { line: 1, column: 1 }))
    }
}

#[derive(Clone, Copy)]
enum Field {
    Revision,
    Down,
    Labels,
    Depends,
}

/// All diagnostics for a map, most severe first, then in file order.
pub fn diagnose(map: &RevisionMap, expect: &Expectations) -> Vec<Diagnostic> {
    let mut c = Collector {
        map,
        out: Vec::new(),
    };
    read_problems(&mut c);
    duplicates(&mut c);
    missing_references(&mut c);
    cycles(&mut c);
    labels(&mut c);
    heads(&mut c, expect);
    bases(&mut c, expect);
    per_revision(&mut c);
    let mut out = c.out;
    out.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.file.cmp(&b.file))
            .then_with(|| a.line.cmp(&b.line))
            .then_with(|| a.code.cmp(b.code))
    });
    out
}

fn read_problems(c: &mut Collector) {
    for (ri, rec) in c.map.records.iter().enumerate() {
        let file = Some(rec.path.clone());
        for issue in &rec.issues {
            let (code, severity, span, message, fix) = match issue {
                ReadIssue::Unparsable { message, span } => (
                    "unparsable-file",
                    Severity::Warning,
                    Some(*span),
                    format!("Python parser rejected the file ({message}); identifiers were recovered from the literal assignments only"),
                    "Fix the syntax error, or check that the file is Python 3.11 compatible".to_string(),
                ),
                ReadIssue::NotUtf8 { span } => (
                    "not-utf8",
                    Severity::Warning,
                    Some(*span),
                    "the file is not valid UTF-8; it was decoded lossily".to_string(),
                    "Save the file as UTF-8 (Python reads source files as UTF-8 unless a coding cookie says otherwise)".to_string(),
                ),
                ReadIssue::ConditionalAssignment { name, span } => (
                    "conditional-identifier",
                    Severity::Warning,
                    Some(*span),
                    format!("`{name}` is assigned inside a compound statement; migscope reads only module-level assignments"),
                    format!("Assign `{name}` once, at module level, to a literal"),
                ),
                ReadIssue::Io { message } => (
                    "unreadable-file",
                    Severity::Error,
                    None,
                    format!("cannot read the file: {message}"),
                    "Check the file's permissions".to_string(),
                ),
            };
            c.out.push(Diagnostic {
                code,
                severity,
                message,
                revision: None,
                file: file.clone(),
                line: span.map(|s| s.line),
                column: span.map(|s| s.column),
                fix,
            });
        }
        if let Some(u) = c.map.unreadable().iter().find(|u| u.record == ri) {
            let (code, span, fix) = match &u.error {
                NormalizeError::NoRevisionId { .. } => (
                    "missing-revision-id",
                    None,
                    "Declare `revision = '<id>'` at module level (every Alembic command fails until then)".to_string(),
                ),
                NormalizeError::NoDownRevision => (
                    "missing-down-revision",
                    None,
                    "Declare `down_revision = '<parent id>'` (or None for a base); Alembic fails with AttributeError without it".to_string(),
                ),
                NormalizeError::NonLiteral { name, span, .. } => (
                    "non-literal-identifier",
                    Some(*span),
                    format!("Write `{name}` as a literal string, tuple of strings or None so the graph can be read without running code"),
                ),
                NormalizeError::WrongType { name, span, .. } => (
                    "bad-identifier-type",
                    Some(*span),
                    format!("`{name}` must be a string, a tuple/list of strings, or None"),
                ),
            };
            c.out.push(Diagnostic {
                code,
                severity: Severity::Error,
                message: u.error.to_string(),
                revision: None,
                file: file.clone(),
                line: span.map(|s| s.line),
                column: span.map(|s| s.column),
                fix,
            });
        }
    }
}

fn duplicates(c: &mut Collector) {
    let mut by_id: IdMap<&str, Vec<RevIdx>> = IdMap::default();
    for (i, r) in c.map.revisions().iter().enumerate() {
        by_id.entry(r.id.as_str()).or_default().push(i);
    }
    let mut groups: Vec<Vec<RevIdx>> = by_id.into_values().filter(|v| v.len() > 1).collect();
    groups.sort();
    for group in groups {
        let files: Vec<String> = group
            .iter()
            .map(|&r| c.map.record_of(r).path.display().to_string())
            .collect();
        for &r in &group {
            let id = c.map.rev(r).id.clone();
            let span = c.span_of(r, Field::Revision);
            c.push(
                "duplicate-revision",
                Severity::Error,
                Some((r, span)),
                format!("revision id {id} is declared by {} files: {}", group.len(), files.join(", ")),
                "Keep one file per revision id: delete the stale copy, or give the new revision a fresh id (and update down_revision in its children)".to_string(),
            );
        }
    }
}

fn missing_references(c: &mut Collector) {
    let map = c.map;
    for r in 0..map.len() {
        let rev = map.rev(r);
        for m in rev.missing_parents() {
            let is_label = map.label(m).is_some();
            let (message, fix) = if is_label {
                (
                    format!(
                        "down_revision names the branch label '{m}'; Alembic accepts only revision ids there"
                    ),
                    format!("Replace '{m}' with the id of the revision this one follows"),
                )
            } else {
                (
                    format!("down_revision names {m}, which no file defines"),
                    format!(
                        "Point down_revision at an existing revision, or restore the file that defined {m} (`migscope fix restore {m}`)"
                    ),
                )
            };
            let span = c.span_of(r, Field::Down);
            c.push(
                "missing-parent",
                Severity::Error,
                Some((r, span)),
                message,
                fix,
            );
        }
        for m in rev.missing_deps() {
            let span = c.span_of(r, Field::Depends);
            c.push(
                "missing-dependency",
                Severity::Error,
                Some((r, span)),
                format!("depends_on names {m}, which is neither a revision id nor a branch label"),
                "Fix the depends_on entry (full revision id or branch label; prefixes are not resolved there)".to_string(),
            );
        }
    }
    // A label used as a parent is linked by the build, so it is not in missing_parents.
    for r in 0..c.map.len() {
        let rev = c.map.rev(r);
        for d in rev.down.clone() {
            if c.map.get(&d).is_none()
                && c.map.label(&d).is_some()
                && !rev.missing_parents().contains(&d)
            {
                let span = c.span_of(r, Field::Down);
                c.push(
                    "label-as-parent",
                    Severity::Error,
                    Some((r, span)),
                    format!("down_revision names the branch label '{d}'; Alembic accepts only revision ids there"),
                    format!("Replace '{d}' with the id of the revision this one follows"),
                );
            }
        }
    }
}

fn cycles(c: &mut Collector) {
    for &r in c.map.self_loops() {
        let rev = c.map.rev(r);
        let (field, what) = if rev.down.contains(&rev.id) {
            (Field::Down, "down_revision")
        } else {
            (Field::Depends, "depends_on")
        };
        let span = c.span_of(r, field);
        c.push(
            "self-reference",
            Severity::Error,
            Some((r, span)),
            format!("{} names itself in {what}", rev.id),
            format!("Point {what} at the revision this one follows"),
        );
    }
    for scc in tarjan_scc(c.map.graph()) {
        if scc.len() < 2 {
            continue;
        }
        let mut members: Vec<RevIdx> = scc.iter().map(|n| n.index()).collect();
        members.sort_by_key(|&m| c.map.map_position(m));
        let ids = c.map.ids(&members).join(" -> ");
        let first = members[0];
        let span = c.span_of(first, Field::Down);
        c.push(
            "cycle",
            Severity::Error,
            Some((first, span)),
            format!("revisions form a cycle: {ids}"),
            "Break the cycle: one of these down_revision/depends_on entries must point further back".to_string(),
        );
    }
}

fn labels(c: &mut Collector) {
    let mut seen: IdMap<&str, RevIdx> = IdMap::default();
    for (r, rev) in c.map.revisions().iter().enumerate() {
        for label in &rev.own_labels {
            let span = c.span_of(r, Field::Labels);
            if let Some(&holder) = c.map.get(label).as_ref() {
                c.push(
                    "label-is-revision-id",
                    Severity::Error,
                    Some((r, span)),
                    format!(
                        "branch label '{label}' is also the id of revision {}",
                        c.map.rev(holder).id
                    ),
                    "Rename the branch label: Alembic refuses a label equal to a revision id"
                        .to_string(),
                );
            } else if let Some(&other) = seen.get(label.as_str()) {
                c.push(
                    "duplicate-label",
                    Severity::Error,
                    Some((r, span)),
                    format!(
                        "branch label '{label}' is already used by revision {}",
                        c.map.rev(other).id
                    ),
                    "Give each branch label to exactly one revision (descendants inherit it)"
                        .to_string(),
                );
            } else {
                seen.insert(label.as_str(), r);
            }
        }
    }
}

fn heads(c: &mut Collector, expect: &Expectations) {
    let heads: Vec<RevIdx> = c
        .map
        .heads()
        .iter()
        .copied()
        .filter(|&h| !c.map.rev(h).phantom)
        .collect();
    if heads.len() > 1 {
        let declared: Vec<RevIdx> = heads
            .iter()
            .copied()
            .filter(|&h| {
                c.map
                    .rev(h)
                    .labels
                    .iter()
                    .any(|l| expect.branches.contains(l))
            })
            .collect();
        let undeclared: Vec<RevIdx> = heads
            .iter()
            .copied()
            .filter(|h| !declared.contains(h))
            .collect();
        let expected = !expect.branches.is_empty() && undeclared.len() <= 1 && {
            let mut ls: Vec<&String> = declared
                .iter()
                .flat_map(|&h| {
                    c.map
                        .rev(h)
                        .labels
                        .iter()
                        .filter(|l| expect.branches.contains(l))
                })
                .collect();
            let n = ls.len();
            ls.sort();
            ls.dedup();
            ls.len() == n
        };
        let ids = c.map.ids(&heads).join(", ");
        if expected {
            c.push(
                "multiple-heads",
                Severity::Info,
                None,
                format!(
                    "{} heads ({ids}), as the declared branches expect",
                    heads.len()
                ),
                "Nothing to do; upgrade with `alembic upgrade heads`".to_string(),
            );
        } else {
            for &h in &heads {
                let span = c.span_of(h, Field::Revision);
                c.push(
                    "multiple-heads",
                    Severity::Error,
                    Some((h, span)),
                    format!("{} is one of {} heads ({ids}); `alembic upgrade head` refuses to run", c.map.rev(h).id, heads.len()),
                    format!("Merge the heads (`migscope fix merge` or `alembic merge -m \"merge heads\" {}`), or declare the expected branches in [tool.migscope] branches", heads.iter().map(|&x| c.map.rev(x).id.clone()).collect::<Vec<_>>().join(" ")),
                );
            }
        }
    }
    // A head only depended upon still counts for `upgrade head` (ALEMBIC.md: effective heads).
    let real: Vec<RevIdx> = c.map.real_heads().to_vec();
    for &h in &heads {
        if !real.contains(&h) {
            let span = c.span_of(h, Field::Revision);
            let id = c.map.rev(h).id.clone();
            c.push(
                "effective-head",
                Severity::Warning,
                Some((h, span)),
                format!("{id} has no child, only dependents (depends_on); Alembic counts it as a head for `upgrade head`"),
                "Use `alembic upgrade heads`, or give it a child revision".to_string(),
            );
        }
    }
}

fn bases(c: &mut Collector, expect: &Expectations) {
    let bases: Vec<RevIdx> = c
        .map
        .real_bases()
        .iter()
        .copied()
        .filter(|&b| !c.map.rev(b).phantom)
        .collect();
    if bases.len() < 2 {
        return;
    }
    // The main line is the base with the most descendants; the others are orphans.
    let size = |b: RevIdx| c.map.descendants_count(b);
    let main = bases
        .iter()
        .copied()
        .max_by(|&a, &b| {
            size(a)
                .cmp(&size(b))
                .then_with(|| c.map.map_position(b).cmp(&c.map.map_position(a)))
        })
        .expect("two or more bases");
    let main_id = c.map.rev(main).id.clone();
    for &b in &bases {
        if b == main {
            continue;
        }
        let rev = c.map.rev(b);
        let id = rev.id.clone();
        let span = c.span_of(b, Field::Down);
        let declared = rev.own_labels.iter().any(|l| expect.branches.contains(l));
        if declared {
            continue;
        }
        let (severity, message) = if rev.own_labels.is_empty() {
            (
                Severity::Error,
                format!(
                    "{id} has down_revision = None: a second base beside {main_id}, so it starts an independent history"
                ),
            )
        } else {
            (
                Severity::Warning,
                format!(
                    "{id} starts an independent branch ({}) with down_revision = None beside {main_id}; usually a mistake",
                    rev.own_labels.join(", ")
                ),
            )
        };
        c.push(
            "orphan-base",
            severity,
            Some((b, span)),
            message,
            format!("Set down_revision to the revision it follows (`migscope fix reparent {id} --onto <parent>`), or declare the branch in [tool.migscope] branches"),
        );
    }
}

fn per_revision(c: &mut Collector) {
    let map = c.map;
    for r in 0..map.len() {
        let rev = map.rev(r);
        let rec = map.record_of(r);
        if rev.id.chars().count() > VERSION_COLUMN_LENGTH {
            let span = c.span_of(r, Field::Revision);
            let id = rev.id.clone();
            c.push(
                "long-revision-id",
                Severity::Warning,
                Some((r, span)),
                format!("revision id {id} is {} characters; it does not fit Alembic's default VARCHAR({VERSION_COLUMN_LENGTH}) version column on PostgreSQL/MySQL", id.chars().count()),
                format!("Use an id of at most {VERSION_COLUMN_LENGTH} characters, or widen alembic_version.version_num"),
            );
        }
        if let Some(doc) = &rec.docstring
            && let Some(revises) = &doc.revises
        {
            let said = revises.split(',').map(str::trim).filter(|s| !s.is_empty());
            let agree = said.clone().count() == rev.down.len()
                && said.clone().all(|s| rev.down.iter().any(|d| d == s))
                && rev.down.iter().all(|d| said.clone().any(|s| s == d));
            if !agree {
                let line = doc.revises_line.map(|l| Span { line: l, column: 1 });
                let id = rev.id.clone();
                let down = if rev.down.is_empty() {
                    "None".to_string()
                } else {
                    rev.down.join(", ")
                };
                c.push(
                        "revises-mismatch",
                        Severity::Warning,
                        Some((r, line)),
                        format!("docstring says `Revises: {revises}` but down_revision is {down}"),
                        format!("Update the docstring of {id} to `Revises: {}` (or fix down_revision if the docstring is right)", rev.down.join(", ")),
                    );
            }
        }
        let name = rec
            .path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if let Some(prefix) = id_like_prefix(name)
            && !name.contains(rev.id.as_str())
            && prefix != rev.id
        {
            let span = c.span_of(r, Field::Revision);
            let id = rev.id.clone();
            c.push(
                    "filename-mismatch",
                    Severity::Warning,
                    Some((r, span)),
                    format!("file name starts with {prefix} but the revision id is {id}"),
                    format!("Rename the file to start with {id}_ (or fix `revision` if the file name is right)"),
                );
        }
    }
}

/// The leading `<hex>_` of a file name written with Alembic's default `%(rev)s_%(slug)s` template.
fn id_like_prefix(name: &str) -> Option<&str> {
    let stem = name.strip_suffix(".py")?;
    let prefix = stem.split('_').next()?;
    (prefix.len() >= 8
        && prefix
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()))
    .then_some(prefix)
}

/// Diagnostics as `check` counts them.
pub fn count(diags: &[Diagnostic], severity: Severity) -> usize {
    diags.iter().filter(|d| d.severity == severity).count()
}
