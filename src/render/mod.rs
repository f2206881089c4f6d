//! Pure functions from the model to text: one renderer per output format.

pub mod diagnostics;
pub mod export;
pub mod lanes;
pub mod route;
pub mod rows;

use std::path::PathBuf;

use serde::Serialize;

use crate::graph::{RevIdx, RevisionMap};

/// One revision as the JSON outputs describe it.
#[derive(Debug, Clone, Serialize)]
pub struct RevisionSummary {
    pub id: String,
    pub down_revision: Vec<String>,
    pub depends_on: Vec<String>,
    /// Labels after Alembic's propagation.
    pub branch_labels: Vec<String>,
    /// Labels declared in this file.
    pub own_branch_labels: Vec<String>,
    pub children: Vec<String>,
    pub message: String,
    pub create_date: Option<String>,
    pub path: PathBuf,
    /// Line of the `revision = ...` assignment.
    pub line: Option<u32>,
    pub is_head: bool,
    pub is_real_head: bool,
    pub is_base: bool,
    pub is_merge_point: bool,
    pub is_branch_point: bool,
}

pub fn summary(map: &RevisionMap, r: RevIdx) -> RevisionSummary {
    let rev = map.rev(r);
    let rec = map.record_of(r);
    RevisionSummary {
        id: rev.id.clone(),
        down_revision: rev.down.clone(),
        depends_on: rev.depends_on.clone(),
        branch_labels: rev.labels.to_vec(),
        own_branch_labels: rev.own_labels.clone(),
        children: map.ids(rev.children()),
        message: rev.message.clone(),
        create_date: rec.docstring.as_ref().and_then(|d| d.create_date.clone()),
        path: rec.path.clone(),
        line: rec.revision.as_ref().map(|a| a.span.line),
        is_head: map.heads().contains(&r),
        is_real_head: map.real_heads().contains(&r),
        is_base: rev.is_base(),
        is_merge_point: rev.is_merge_point(),
        is_branch_point: rev.is_branch_point(),
    }
}

fn down_text(map: &RevisionMap, r: RevIdx) -> String {
    let rev = map.rev(r);
    if rev.down.is_empty() {
        "<base>".to_string()
    } else {
        rev.down.join(", ")
    }
}

/// A line of `alembic history`: `<down> -> <rev> (labels) (head), <doc>`.
pub fn history_line(map: &RevisionMap, r: RevIdx) -> String {
    let rev = map.rev(r);
    let mut text = if rev.depends_on.is_empty() {
        format!("{} -> {}", down_text(map, r), rev.id)
    } else {
        format!(
            "{} ({}) -> {}",
            down_text(map, r),
            rev.depends_on.join(", "),
            rev.id
        )
    };
    if !rev.labels.is_empty() {
        text += &format!(" ({})", rev.labels.join(", "));
    }
    let real_head = map.real_heads().contains(&r);
    if real_head {
        text += " (head)";
    } else if map.heads().contains(&r) {
        text += " (effective head)";
    }
    if rev.is_branch_point() {
        text += " (branchpoint)";
    }
    if rev.is_merge_point() {
        text += " (mergepoint)";
    }
    text += &format!(", {}", rev.message);
    text
}

/// `alembic show`'s entry for a revision.
pub fn log_entry(map: &RevisionMap, r: RevIdx) -> String {
    let rev = map.rev(r);
    let rec = map.record_of(r);
    let mut s = format!(
        "Rev: {}{}{}{}\n",
        rev.id,
        if map.heads().contains(&r) {
            " (head)"
        } else {
            ""
        },
        if rev.is_branch_point() {
            " (branchpoint)"
        } else {
            ""
        },
        if rev.is_merge_point() {
            " (mergepoint)"
        } else {
            ""
        },
    );
    if rev.is_merge_point() {
        s += &format!("Merges: {}\n", down_text(map, r));
    } else {
        s += &format!("Parent: {}\n", down_text(map, r));
    }
    if !rev.depends_on.is_empty() {
        s += &format!("Also depends on: {}\n", rev.depends_on.join(", "));
    }
    if rev.is_branch_point() {
        s += &format!("Branches into: {}\n", map.ids(rev.children()).join(", "));
    }
    if !rev.labels.is_empty() {
        s += &format!("Branch names: {}\n", rev.labels.join(", "));
    }
    s += &format!("Path: {}\n", rec.path.display());
    let longdoc = rec
        .docstring
        .as_ref()
        .map(|d| d.raw.trim().to_string())
        .unwrap_or_default();
    s += "\n";
    for line in longdoc.lines() {
        s += &format!("    {line}\n");
    }
    s
}
