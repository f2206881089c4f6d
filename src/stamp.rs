//! What `alembic stamp TARGET... [--purge]` leaves in the version table, exactly as Alembic 1.20
//! computes it (`ScriptDirectory._stamp_revs`, then `HeadMaintainer.update_to_step` for each
//! `StampStep`). Pure: the caller reads the rows and writes the result.
//!
//! In short: with `--purge` Alembic starts from no rows; otherwise the current rows are resolved
//! (a row no file defines makes Alembic fail with "Can't locate revision identified by ..."). The
//! rows related to each destination (sharing lineage, dependencies included) are moved down or
//! up to it, a destination on an unrelated line is inserted as a new row, and `base` deletes the
//! related rows. Several destinations are each handled against the same list of related rows.
//! Where Alembic itself fails part-way (an `AssertionError` or a `KeyError` in the head
//! bookkeeping, a row matched twice), [`stamp`] fails too, and nothing is written.

use std::collections::HashMap;
use std::fmt;

use fixedbitset::FixedBitSet;
use serde::Serialize;

use crate::graph::{RevIdx, RevisionError, RevisionMap, WalkPos};

/// One `StampStep`, with Alembic's flags.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StampStep {
    /// Rows the step moves from (full revision ids).
    pub from: Vec<String>,
    /// The destination (None: `base`, the step deletes its row).
    pub to: Option<String>,
    pub is_upgrade: bool,
    pub branch_move: bool,
}

/// Why the stamp cannot be computed (Alembic fails the same way).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StampError {
    /// Resolving the rows or the destinations failed (`CommandError` in Alembic).
    Revision(RevisionError),
    /// Alembic fails while applying the steps: `message` is what it says.
    Alembic { message: String },
}

impl fmt::Display for StampError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StampError::Revision(e) => f.write_str(&e.message()),
            StampError::Alembic { message } => f.write_str(message),
        }
    }
}

impl std::error::Error for StampError {}

impl From<RevisionError> for StampError {
    fn from(e: RevisionError) -> Self {
        // `_stamp_revs` narrows the multiple-heads message.
        StampError::Revision(match e {
            RevisionError::MultipleHeads {
                argument,
                heads,
                shown,
                ..
            } => RevisionError::MultipleHeads {
                argument,
                heads,
                stamp: true,
                shown,
            },
            other => other,
        })
    }
}

impl StampError {
    /// A stable code for JSON output.
    pub fn code(&self) -> &'static str {
        match self {
            StampError::Revision(e) => e.code(),
            StampError::Alembic { .. } => "alembic_crash",
        }
    }
}

/// The result of a stamp.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StampResult {
    /// The rows after the stamp: kept rows in their order, moved rows in place, new rows last.
    pub rows: Vec<String>,
    pub steps: Vec<StampStep>,
}

/// The rows `alembic stamp targets... [--purge]` leaves when the version table holds `current`.
pub fn stamp(
    map: &RevisionMap,
    current: &[String],
    targets: &[String],
    purge: bool,
) -> Result<StampResult, StampError> {
    map.check_loadable()?;
    let start: Vec<String> = if purge { Vec::new() } else { current.to_vec() };
    let steps = stamp_steps(map, &start, targets)?;
    let rows = apply_steps(&start, &steps)?;
    Ok(StampResult { rows, steps })
}

/// `ScriptDirectory._stamp_revs(targets, heads)`.
pub fn stamp_steps(
    map: &RevisionMap,
    heads: &[String],
    targets: &[String],
) -> Result<Vec<StampStep>, StampError> {
    let heads_revs = map.resolve_many(heads)?;
    let revision: Vec<String> = if targets.is_empty() {
        vec!["base".to_string()]
    } else {
        targets.to_vec()
    };
    let mut filtered: Vec<RevIdx> = Vec::new();
    for rev in revision.iter().filter(|r| !r.is_empty()) {
        for r in filter_for_lineage_with_deps(map, &heads_revs, rev)? {
            if !filtered.contains(&r) {
                filtered.push(r);
            }
        }
    }
    // `get_revisions(revision) or [None]`; a relative `-N` walked past a base yields Alembic's
    // pseudo-revision "base" (WalkPos::Base), which `_stamp_revs` cannot handle.
    let mut dests: Vec<WalkPos> = Vec::new();
    for rev in &revision {
        dests.extend(map.resolve_all(rev)?);
    }
    if dests.is_empty() {
        dests.push(WalkPos::Start);
    }
    let ids = |v: &[RevIdx]| map.ids(v);
    let mut steps = Vec::new();
    for dest in dests {
        let dest = match dest {
            WalkPos::Rev(r) => Some(r),
            WalkPos::Start => None,
            WalkPos::Base => {
                return Err(StampError::Alembic {
                    message: "AssertionError in _stamp_revs: the destination walks past a base \
                              to Alembic's pseudo-revision 'base', which is not a revision"
                        .to_string(),
                });
            }
        };
        let Some(dest) = dest else {
            steps.extend(filtered.iter().map(|&h| StampStep {
                from: vec![map.rev(h).id.clone()],
                to: None,
                is_upgrade: false,
                branch_move: true,
            }));
            continue;
        };
        if filtered.contains(&dest) {
            continue;
        }
        let descendants = map.descendants_with_deps(&[dest]);
        let ancestors = map.ancestors_with_deps(&[dest]);
        let meets = |set: &FixedBitSet| filtered.iter().any(|&h| set.contains(h));
        let to = Some(map.rev(dest).id.clone());
        if meets(&descendants) {
            if meets(&ancestors) {
                return Err(StampError::Alembic {
                    message: format!(
                        "AssertionError in _stamp_revs: the rows related to {} hold both \
                         ancestors and descendants of it",
                        map.rev(dest).id
                    ),
                });
            }
            steps.push(StampStep {
                from: ids(&filtered),
                to,
                is_upgrade: false,
                branch_move: false,
            });
        } else if meets(&ancestors) {
            steps.push(StampStep {
                from: ids(&filtered),
                to,
                is_upgrade: true,
                branch_move: false,
            });
        } else {
            steps.push(StampStep {
                from: Vec::new(),
                to,
                is_upgrade: true,
                branch_move: true,
            });
        }
    }
    Ok(steps)
}

/// `filter_for_lineage(targets, check_against, include_dependencies=True)`.
fn filter_for_lineage_with_deps(
    map: &RevisionMap,
    targets: &[RevIdx],
    check_against: &str,
) -> Result<Vec<RevIdx>, RevisionError> {
    // `_resolve_revision_number`
    let (branch, rest) = match check_against.split_once('@') {
        Some((b, r)) => (Some(b).filter(|b| !b.is_empty()), r),
        None => (None, check_against),
    };
    let ids: Vec<String> = match rest {
        "heads" => match branch {
            Some(b) => map.ids(&map.filter_for_lineage(map.heads(), b)?),
            None => map.ids(map.real_heads()),
        },
        "head" => map
            .current_head(branch)?
            .map(|h| vec![map.rev(h).id.clone()])
            .unwrap_or_default(),
        "base" => Vec::new(),
        other => vec![other.to_string()],
    };
    // `_shares_lineage` resolves the identifiers per target: with no target, nothing is
    // resolved (and nothing can fail).
    if targets.is_empty() {
        return Ok(Vec::new());
    }
    let mut shares = Vec::new();
    for s in branch.map(str::to_string).into_iter().chain(ids) {
        if let Some(r) = map.resolve(&s)? {
            shares.push(r);
        }
    }
    if shares.is_empty() {
        return Ok(targets.to_vec());
    }
    Ok(targets
        .iter()
        .copied()
        .filter(|&t| {
            let mut related = map.descendants_with_deps(&[t]);
            related.union_with(&map.ancestors_with_deps(&[t]));
            shares.iter().any(|&s| related.contains(s))
        })
        .collect())
}

/// What the version table's rows say about each revision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowsReport {
    /// Each row: its revision, if a file defines it (None: unknown to the project).
    pub rows: Vec<(String, Option<RevIdx>)>,
    /// The known rows and their ancestors (dependencies included), load order.
    pub applied: Vec<RevIdx>,
    /// Pairs (row, ancestor row): both are in the table although one is applied with the other.
    pub overlapping: Vec<(String, String)>,
}

/// Reads the rows against the map without failing on unknown rows (Alembic would).
pub fn rows_report(map: &RevisionMap, rows: &[String]) -> RowsReport {
    let resolved: Vec<(String, Option<RevIdx>)> = rows
        .iter()
        .map(|r| (r.clone(), map.resolve(r).ok().flatten()))
        .collect();
    let known: Vec<RevIdx> = resolved.iter().filter_map(|(_, r)| *r).collect();
    let mut applied: Vec<RevIdx> = map.ancestors_with_deps(&known).ones().collect();
    applied.sort_by_key(|&r| map.map_position(r));
    let mut overlapping = Vec::new();
    for (id, r) in &resolved {
        let Some(r) = *r else { continue };
        let mut below = map.ancestors_with_deps(&[r]);
        below.set(r, false);
        for (other, o) in &resolved {
            if let Some(o) = *o
                && below.contains(o)
            {
                overlapping.push((id.clone(), other.clone()));
            }
        }
    }
    RowsReport {
        rows: resolved,
        applied,
        overlapping,
    }
}

/// `HeadMaintainer.update_to_step` for each step, starting from the rows `start`.
pub fn apply_steps(start: &[String], steps: &[StampStep]) -> Result<Vec<String>, StampError> {
    let mut heads = Heads::new(start);
    for step in steps {
        let to: Vec<String> = step.to.iter().cloned().collect();
        let from_missing = step.from.iter().any(|f| !heads.contains(f));
        let to_missing = to.iter().any(|t| !heads.contains(t));
        if !step.is_upgrade && step.branch_move {
            heads.delete(&step.from[0])?;
        } else if step.is_upgrade && (step.branch_move || from_missing) && to_missing {
            heads.insert(&to[0]);
        } else if step.from.len() > 1 {
            let (last, rest) = step.from.split_last().expect("len > 1");
            for d in rest {
                heads.delete(d)?;
            }
            heads.update(last, &to[0])?;
        } else {
            if step.from.len() != 1 || to.len() != 1 {
                return Err(StampError::Alembic {
                    message: format!(
                        "AssertionError in StampStep.update_version_num: a stamp step from \
                         ({}) to ({}) (the destination is already in the version table)",
                        step.from.join(", "),
                        to.join(", ")
                    ),
                });
            }
            heads.update(&step.from[0], &to[0])?;
        }
    }
    Ok(heads.rows)
}

/// `HeadMaintainer.heads` (a set) next to the table's actual rows (which may repeat an id in a
/// table without Alembic's primary key: Alembic's row count check then fails).
struct Heads {
    rows: Vec<String>,
    count: HashMap<String, usize>,
}

impl Heads {
    fn new(start: &[String]) -> Heads {
        let mut rows: Vec<String> = Vec::new();
        let mut count = HashMap::new();
        for r in start {
            *count.entry(r.clone()).or_insert(0) += 1;
            if !rows.contains(r) {
                rows.push(r.clone());
            }
        }
        Heads { rows, count }
    }

    fn contains(&self, id: &str) -> bool {
        self.rows.iter().any(|r| r == id)
    }

    fn key_error(id: &str) -> StampError {
        StampError::Alembic {
            message: format!(
                "KeyError: '{id}' (Alembic's stamp tries to move the row '{id}', which is not \
                 in the version table)"
            ),
        }
    }

    fn rowcount(&self, what: String, id: &str) -> Result<(), StampError> {
        let n = self.count.get(id).copied().unwrap_or(0);
        if n == 1 {
            Ok(())
        } else {
            Err(StampError::Alembic {
                message: format!(
                    "Online migration expected to match one row when {what} in the version \
                     table; {n} found"
                ),
            })
        }
    }

    fn delete(&mut self, id: &str) -> Result<(), StampError> {
        let Some(at) = self.rows.iter().position(|r| r == id) else {
            return Err(Self::key_error(id));
        };
        self.rows.remove(at);
        self.rowcount(format!("deleting '{id}'"), id)?;
        self.count.remove(id);
        Ok(())
    }

    fn insert(&mut self, id: &str) {
        self.rows.push(id.to_string());
        *self.count.entry(id.to_string()).or_insert(0) += 1;
    }

    fn update(&mut self, from: &str, to: &str) -> Result<(), StampError> {
        if self.contains(to) {
            return Err(StampError::Alembic {
                message: format!(
                    "AssertionError in HeadMaintainer._update_version: '{to}' is already in the \
                     version table"
                ),
            });
        }
        let Some(at) = self.rows.iter().position(|r| r == from) else {
            return Err(Self::key_error(from));
        };
        self.rows[at] = to.to_string();
        self.rowcount(format!("updating '{from}' to '{to}'"), from)?;
        self.count.remove(from);
        *self.count.entry(to.to_string()).or_insert(0) += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    fn step(from: &[&str], to: Option<&str>, up: bool, bm: bool) -> StampStep {
        StampStep {
            from: s(from),
            to: to.map(str::to_string),
            is_upgrade: up,
            branch_move: bm,
        }
    }

    #[test]
    fn head_maintainer_moves_rows_like_alembic() {
        // Merge: delete all but the last, update the last.
        let rows = apply_steps(
            &s(&["a", "b", "c"]),
            &[step(&["a", "b"], Some("m"), true, false)],
        )
        .unwrap();
        assert_eq!(rows, s(&["m", "c"]));
        // New branch.
        let rows = apply_steps(&s(&["a"]), &[step(&[], Some("x"), true, true)]).unwrap();
        assert_eq!(rows, s(&["a", "x"]));
        // Base deletes.
        let rows = apply_steps(&s(&["a", "x"]), &[step(&["x"], None, false, true)]).unwrap();
        assert_eq!(rows, s(&["a"]));
        // An upgrade step whose from rows are gone inserts instead.
        let rows = apply_steps(
            &s(&["a"]),
            &[
                step(&["a"], None, false, true),
                step(&["a"], Some("b"), true, false),
            ],
        )
        .unwrap();
        assert_eq!(rows, s(&["b"]));
        // The same destination twice: Alembic's assertion.
        let err = apply_steps(
            &[],
            &[
                step(&[], Some("a"), true, true),
                step(&[], Some("a"), true, true),
            ],
        )
        .unwrap_err();
        assert!(matches!(err, StampError::Alembic { .. }));
        // A duplicated row cannot be updated (row count 2).
        let err =
            apply_steps(&s(&["a", "a"]), &[step(&["a"], Some("b"), true, false)]).unwrap_err();
        assert!(err.to_string().contains("2 found"), "{err}");
    }
}
