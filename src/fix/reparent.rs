//! Point a revision at other parents: rewrite only its `down_revision` value (and, when asked,
//! its `branch_labels` value) and the docstring's `Revises:` line, in place.
//!
//! Also suggests a parent for a revision placed wrongly (typically an orphan base made with
//! `alembic revision --head base`): the newest revision, among those it does not precede, whose
//! operations touch a table it touches; else the newest branch point (where the lines it should
//! have joined split); else the newest head.

use std::collections::BTreeSet;

use crate::graph::{RevIdx, RevisionError, RevisionMap};
use crate::plan;
use crate::revision::ops::{self, OpKind, TableRef};
use crate::revision::read::read_source;

use super::source::{Source, Style, quote_in, splice};
use super::{FileWrite, FixContext, FixError, FixPlan, finish, io_error, plain_id};

/// `migscope fix reparent REV --onto PARENT[,PARENT...] [--drop-label]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReparentRequest {
    /// Any identifier Alembic resolves to one revision.
    pub rev: String,
    /// The new parents (`base` or none: make it a base). `None`: use [`suggest_parent`].
    pub onto: Option<Vec<String>>,
    /// Set `branch_labels` to `None`.
    pub drop_label: bool,
}

/// A suggested parent and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Suggestion {
    pub parent: String,
    pub reason: String,
}

/// Newest first (`alembic history` order when Alembic can load the map, else reverse load
/// order).
fn newest_first(map: &RevisionMap) -> Vec<RevIdx> {
    plan::history(map).unwrap_or_else(|_| (0..map.len()).rev().collect())
}

/// The tables an op names: its own, and a foreign key's referent.
fn op_tables(kind: &OpKind) -> Vec<&TableRef> {
    let referent = match kind {
        OpKind::CreateConstraint { referent, .. } => referent.as_ref(),
        _ => None,
    };
    crate::preflight::table_of(kind)
        .into_iter()
        .chain(referent)
        .collect()
}

/// `(schema, table)` names an upgrade touches; `created` holds those it creates.
fn touched_tables(map: &RevisionMap, r: RevIdx) -> (BTreeSet<String>, BTreeSet<String>) {
    let report = ops::read_ops_file(&map.record_of(r).path);
    let key = |t: &TableRef| {
        t.known()
            .map(|(s, n)| format!("{}{n}", s.map(|s| format!("{s}.")).unwrap_or_default()))
    };
    let mut touched = BTreeSet::new();
    let mut created = BTreeSet::new();
    for op in &report.upgrade.ops {
        if let OpKind::CreateTable { table, .. } = &op.kind
            && let Some(k) = key(table)
        {
            created.insert(k);
        }
        touched.extend(op_tables(&op.kind).into_iter().filter_map(key));
    }
    (touched, created)
}

/// The parent the revision's operations logically follow (see the module documentation).
pub fn suggest_parent(map: &RevisionMap, r: RevIdx) -> Option<Suggestion> {
    let after_it = map.descendants_with_deps(&[r]);
    let order: Vec<RevIdx> = newest_first(map)
        .into_iter()
        .filter(|&c| !after_it.contains(c) && !map.rev(c).phantom)
        .collect();
    let (touched, created) = touched_tables(map, r);
    let needed: BTreeSet<&String> = touched.difference(&created).collect();
    if !needed.is_empty() {
        for &c in &order {
            let (theirs, _) = touched_tables(map, c);
            let shared: Vec<&str> = theirs
                .iter()
                .filter(|t| needed.contains(t))
                .map(String::as_str)
                .collect();
            if !shared.is_empty() {
                return Some(Suggestion {
                    parent: map.rev(c).id.clone(),
                    reason: format!(
                        "{} is the newest revision that touches {}, which {} changes without \
                         creating",
                        map.rev(c).id,
                        shared.join(", "),
                        map.rev(r).id
                    ),
                });
            }
        }
    }
    if let Some(&c) = order.iter().find(|&&c| map.rev(c).is_branch_point()) {
        return Some(Suggestion {
            parent: map.rev(c).id.clone(),
            reason: format!(
                "{} touches no table another revision touches; {} is the newest branch point, \
                 where the other lines split",
                map.rev(r).id,
                map.rev(c).id
            ),
        });
    }
    let head = order
        .iter()
        .copied()
        .find(|&c| map.rev(c).children().is_empty())?;
    Some(Suggestion {
        parent: map.rev(head).id.clone(),
        reason: format!(
            "{} is the newest head {} does not precede",
            map.rev(head).id,
            map.rev(r).id
        ),
    })
}

/// Plans the edit of `req.rev`'s file.
pub fn plan_reparent(ctx: &FixContext, req: &ReparentRequest) -> Result<FixPlan, FixError> {
    let map = &ctx.project.map;
    let r = map
        .resolve(&req.rev)?
        .ok_or_else(|| FixError::Request(format!("`{}` names no revision to reparent", req.rev)))?;
    let id = map.rev(r).id.clone();
    let mut notes = Vec::new();
    let onto = match &req.onto {
        Some(onto) => onto.clone(),
        None => {
            let s = suggest_parent(map, r).ok_or_else(|| {
                FixError::Request(format!(
                    "no parent to suggest for {id}; name one with --onto"
                ))
            })?;
            notes.push(format!("suggested parent {}: {}", s.parent, s.reason));
            vec![s.parent]
        }
    };
    let parents = resolve_parents(map, &onto)?;

    let path = map.record_of(r).path.clone();
    let bytes = std::fs::read(&path).map_err(io_error(&path))?;
    let file = path.display().to_string();
    let record = read_source(&path, &bytes);
    let src = Source::new(&bytes, &file)?;
    let edit_error = |line: Option<u32>, message: String| FixError::Edit {
        file: file.clone(),
        line,
        message,
    };
    let down = record.down_revision.as_ref().ok_or_else(|| {
        edit_error(
            None,
            "no module-level `down_revision = ...` to rewrite; add one by hand".to_string(),
        )
    })?;
    let down_range = src.value(down.span).ok_or_else(|| {
        edit_error(
            Some(down.span.line),
            "cannot find the end of the down_revision value".to_string(),
        )
    })?;
    let fallback_quote = record
        .revision
        .as_ref()
        .and_then(|a| src.value(a.span))
        .and_then(|rg| quote_in(src.slice(rg)))
        .unwrap_or('\'');
    let style = Style::of(&down.value, src.slice(down_range.clone()), fallback_quote);
    let mut edits = vec![(down_range, style.render(&parents))];

    if req.drop_label {
        let labelled = !map.rev(r).own_labels.is_empty();
        match record.branch_labels.as_ref().filter(|_| labelled) {
            Some(labels) => {
                let range = src.value(labels.span).ok_or_else(|| {
                    edit_error(
                        Some(labels.span.line),
                        "cannot find the end of the branch_labels value".to_string(),
                    )
                })?;
                edits.push((range, "None".to_string()));
            }
            None => notes.push(format!("{id} has no branch label to drop")),
        }
    }

    if let Some(line) = record.docstring.as_ref().and_then(|d| d.revises_line)
        && let Some(range) = src.line(line)
    {
        let text = src.slice(range.clone());
        if let Some(at) = text.find("Revises:") {
            let value_start = at + "Revises:".len();
            // Keep a docstring's closing quotes if they share the line.
            let value_end = ["\"\"\"", "'''"]
                .iter()
                .filter_map(|q| text[value_start..].find(q).map(|i| value_start + i))
                .min()
                .unwrap_or(text.len());
            edits.push((
                range.start + value_start..range.start + value_end,
                format!(" {}", parents.join(", ")),
            ));
        }
    }

    let after = splice(&bytes, edits);
    if after == bytes {
        return Err(FixError::Request(format!(
            "{id} already has down_revision {}; nothing to change",
            style.render(&parents)
        )));
    }
    let summary = format!(
        "reparent {id} onto {}{}",
        if parents.is_empty() {
            "base".to_string()
        } else {
            parents.join(", ")
        },
        if req.drop_label {
            " and drop its branch label"
        } else {
            ""
        }
    );
    let writes = vec![FileWrite {
        path,
        before: Some(bytes),
        after: Some(after),
    }];
    Ok(finish(ctx, "reparent", summary, writes, notes))
}

/// Full ids of the new parents. A name no revision has is kept as written (the plan then
/// refuses it as a missing parent); `base` means no parent.
fn resolve_parents(map: &RevisionMap, onto: &[String]) -> Result<Vec<String>, FixError> {
    let mut out: Vec<String> = Vec::new();
    for p in onto.iter().map(|p| p.trim()).filter(|p| !p.is_empty()) {
        let id = match map.resolve(p) {
            Ok(Some(i)) => map.rev(i).id.clone(),
            Ok(None) => continue,
            Err(RevisionError::Unknown { .. }) if plain_id(p) => p.to_string(),
            Err(e) => return Err(e.into()),
        };
        if out.contains(&id) {
            return Err(FixError::Request(format!("{id} is named twice in --onto")));
        }
        out.push(id);
    }
    Ok(out)
}
