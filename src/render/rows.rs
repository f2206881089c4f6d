//! The rows of the graph view: which revisions, in which order, with which marks. Shared by the
//! `graph` command and the TUI, so both show the same thing.

use serde::Serialize;

use crate::graph::{EdgeKind, RevIdx, RevisionMap};
use crate::plan;

use super::lanes::{self, EdgeKind as LaneEdge, GlyphSet, LaneInput, LaneLayout};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mark {
    Head,
    /// A head only depended upon (Alembic's "effective head").
    EffectiveHead,
    MergePoint,
    BranchPoint,
    Base,
    /// A second base: an independent history beside the main one.
    Orphan,
    /// A parent no file defines (a ghost row).
    Missing,
    /// An earlier file declaring an id another file declares too.
    Duplicate,
}

impl Mark {
    pub fn label(self) -> &'static str {
        match self {
            Mark::Head => "head",
            Mark::EffectiveHead => "effective head",
            Mark::MergePoint => "merge",
            Mark::BranchPoint => "branch point",
            Mark::Base => "base",
            Mark::Orphan => "orphan",
            Mark::Missing => "missing",
            Mark::Duplicate => "duplicate",
        }
    }

    /// Marks that signal a problem (drawn in a warning colour).
    pub fn is_problem(self) -> bool {
        matches!(
            self,
            Mark::Orphan | Mark::Missing | Mark::Duplicate | Mark::EffectiveHead
        )
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct GraphRow {
    pub id: String,
    /// The revision this row shows; None for a ghost (missing) revision.
    pub rev: Option<RevIdx>,
    /// Shared with the map (thousands of rows carry the same inherited labels).
    #[serde(serialize_with = "label_list")]
    pub labels: std::sync::Arc<[String]>,
    pub marks: Vec<Mark>,
    pub message: String,
    pub parents: Vec<(String, EdgeKind)>,
}

fn label_list<S: serde::Serializer>(
    labels: &std::sync::Arc<[String]>,
    s: S,
) -> Result<S::Ok, S::Error> {
    labels.as_ref().serialize(s)
}

/// Rows newest first: Alembic's history order when Alembic can give one, else a topological
/// order that still works on broken graphs; ghost rows follow the last revision naming them.
pub fn graph_rows(map: &RevisionMap) -> Vec<GraphRow> {
    let order = plan::history(map).unwrap_or_else(|_| fallback_order(map));
    let mut placed = vec![false; map.len()];
    let mut rows: Vec<GraphRow> = Vec::with_capacity(order.len() + 4);
    let mut ghosts: Vec<(String, usize)> = Vec::new();
    let main_base = main_base(map);
    for &r in &order {
        if placed[r] {
            continue;
        }
        placed[r] = true;
        rows.push(row(map, r, main_base));
        for m in map.rev(r).missing_parents() {
            match ghosts.iter_mut().find(|(g, _)| g == m) {
                Some(g) => g.1 = rows.len(),
                None => ghosts.push((m.clone(), rows.len())),
            }
        }
    }
    // Revisions the order did not reach (phantom duplicates) go after their holder.
    let unplaced: Vec<RevIdx> = (0..map.len()).filter(|&r| !placed[r]).collect();
    for r in unplaced {
        {
            let holder = map.get(&map.rev(r).id).unwrap_or(r);
            let at = rows
                .iter()
                .position(|row| row.rev == Some(holder))
                .map_or(rows.len(), |p| p + 1);
            rows.insert(at, row(map, r, main_base));
            for g in ghosts.iter_mut() {
                if g.1 >= at {
                    g.1 += 1;
                }
            }
        }
    }
    ghosts.sort_by_key(|g| std::cmp::Reverse(g.1));
    for (id, at) in ghosts {
        rows.insert(
            at.min(rows.len()),
            GraphRow {
                id,
                rev: None,
                labels: std::sync::Arc::from([]),
                marks: vec![Mark::Missing],
                message: "(no file defines this revision)".to_string(),
                parents: Vec::new(),
            },
        );
    }
    rows
}

fn main_base(map: &RevisionMap) -> Option<RevIdx> {
    map.real_bases()
        .iter()
        .copied()
        .filter(|&b| !map.rev(b).phantom)
        .max_by(|&a, &b| {
            map.descendants_count(a)
                .cmp(&map.descendants_count(b))
                .then_with(|| map.map_position(b).cmp(&map.map_position(a)))
        })
}

fn row(map: &RevisionMap, r: RevIdx, main_base: Option<RevIdx>) -> GraphRow {
    let rev = map.rev(r);
    let mut marks = Vec::new();
    if map.real_heads().contains(&r) && !rev.phantom {
        marks.push(Mark::Head);
    } else if map.heads().contains(&r) && !rev.phantom {
        marks.push(Mark::EffectiveHead);
    }
    if rev.is_merge_point() {
        marks.push(Mark::MergePoint);
    }
    if rev.is_branch_point() {
        marks.push(Mark::BranchPoint);
    }
    if rev.is_base() {
        marks.push(Mark::Base);
        if main_base.is_some_and(|m| m != r) && rev.depends_on.is_empty() && !rev.phantom {
            marks.push(Mark::Orphan);
        }
    }
    if rev.phantom {
        marks.push(Mark::Duplicate);
    }
    let mut parents: Vec<(String, EdgeKind)> = rev
        .down
        .iter()
        .filter(|d| **d != rev.id)
        .map(|d| (d.clone(), EdgeKind::Down))
        .collect();
    for &d in rev.resolved_deps() {
        parents.push((map.rev(d).id.clone(), EdgeKind::DependsOn));
    }
    if rev.phantom {
        parents.clear();
    }
    // The explorer keeps a row per revision: the room for four left by the pushes was 0.9 MB
    // at 10,000 revisions.
    parents.shrink_to_fit();
    GraphRow {
        id: rev.id.clone(),
        rev: Some(r),
        labels: rev.labels.clone(),
        marks,
        message: rev.message.clone(),
        parents,
    }
}

/// Children before parents, heads in map order first; revisions caught in a cycle come last.
fn fallback_order(map: &RevisionMap) -> Vec<RevIdx> {
    let n = map.len();
    let mut waiting: Vec<usize> = (0..n).map(|r| map.rev(r).all_children().len()).collect();
    let mut by_position: Vec<RevIdx> = (0..n).collect();
    by_position.sort_by_key(|&r| map.map_position(r));
    let mut ready: Vec<RevIdx> = by_position
        .iter()
        .rev()
        .copied()
        .filter(|&r| waiting[r] == 0)
        .collect();
    let mut out = Vec::with_capacity(n);
    let mut done = vec![false; n];
    while let Some(r) = ready.pop() {
        if done[r] {
            continue;
        }
        done[r] = true;
        out.push(r);
        let rev = map.rev(r);
        let mut parents: Vec<RevIdx> = rev.parents().to_vec();
        parents.extend(rev.resolved_deps());
        for &p in parents.iter().rev() {
            waiting[p] = waiting[p].saturating_sub(1);
            if waiting[p] == 0 {
                ready.push(p);
            }
        }
    }
    out.extend(by_position.into_iter().filter(|&r| !done[r]));
    out
}

/// The graph as text lines: lanes, id, labels, marks, message.
pub fn render_graph(rows: &[GraphRow], glyphs: GlyphSet, color: bool) -> Vec<String> {
    let layout = layout(rows);
    let mut lines = Vec::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        let cells = layout.row(i);
        let graph_lines = lanes::render_text(&cells, glyphs);
        let mut text = describe(row, color);
        for (k, g) in graph_lines.into_iter().enumerate() {
            if k == 0 {
                lines.push(format!("{g} {text}"));
                text.clear();
            } else {
                lines.push(g.trim_end().to_string());
            }
        }
    }
    lines
}

pub fn layout(rows: &[GraphRow]) -> LaneLayout {
    let inputs: Vec<LaneInput> = rows
        .iter()
        .map(|r| LaneInput {
            id: r.id.clone(),
            parents: r
                .parents
                .iter()
                .map(|(p, k)| {
                    let kind = match k {
                        EdgeKind::Down => LaneEdge::Normal,
                        EdgeKind::DependsOn => LaneEdge::Dashed,
                    };
                    (p.clone(), kind)
                })
                .collect(),
        })
        .collect();
    lanes::layout(&inputs)
}

fn describe(row: &GraphRow, color: bool) -> String {
    let paint = |code: &str, s: &str| {
        if color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    };
    let mut s = if row.rev.is_none() {
        paint("2;31", &row.id)
    } else {
        paint("33", &row.id)
    };
    if !row.labels.is_empty() {
        s += &format!(" {}", paint("32", &format!("({})", row.labels.join(", "))));
    }
    for m in &row.marks {
        let code = if m.is_problem() { "1;31" } else { "36" };
        s += &format!(" {}", paint(code, &format!("[{}]", m.label())));
    }
    if !row.message.is_empty() {
        s += &format!(" {}", row.message);
    }
    s
}
