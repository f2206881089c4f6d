//! What `alembic upgrade`, `alembic downgrade` and `alembic history` would run, in Alembic's order
//! (`ScriptDirectory._upgrade_revs`, `_downgrade_revs`, `walk_revisions`).

use fixedbitset::FixedBitSet;
use serde::Serialize;

use crate::graph::resolve::Relative;
use crate::graph::{RevIdx, RevisionError, RevisionMap, WalkPos};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Upgrade,
    Downgrade,
}

/// An ordered list of revisions to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub direction: Direction,
    /// Execution order.
    pub revisions: Vec<RevIdx>,
    /// Alembic's warnings while planning (e.g. an ambiguous `downgrade -1`).
    pub warnings: Vec<String>,
}

fn crash(what: &str) -> RevisionError {
    RevisionError::Crash {
        message: what.to_string(),
    }
}

/// The revisions `alembic upgrade <target>` runs with the version table holding `current`.
pub fn upgrade(map: &RevisionMap, current: &[String], target: &str) -> Result<Plan, RevisionError> {
    map.check_loadable()?;
    let wrap = |e: RevisionError| wrap_for(e, target, Direction::Upgrade);
    let targets = upgrade_targets(map, current, target).map_err(wrap)?;
    let mut required = map.ancestors_checked(&targets).map_err(wrap)?;
    for &t in &targets {
        required.insert(t);
    }
    let have_revs = map.resolve_many(current).map_err(wrap)?;
    let have = map.ancestors_checked(&have_revs).map_err(wrap)?;
    let mut needs = required;
    needs.difference_with(&have);
    let mut revisions = map.topological_sort(needs, &targets).map_err(wrap)?;
    revisions.reverse();
    Ok(Plan {
        direction: Direction::Upgrade,
        revisions,
        warnings: Vec::new(),
    })
}

/// The revisions `alembic downgrade <target>` undoes, in order, from `current`.
pub fn downgrade(
    map: &RevisionMap,
    current: &[String],
    target: &str,
) -> Result<Plan, RevisionError> {
    map.check_loadable()?;
    let mut warnings = Vec::new();
    let wrap = |e: RevisionError| wrap_for(e, target, Direction::Downgrade);
    let (branch, target_rev) =
        downgrade_target(map, current, target, &mut warnings).map_err(wrap)?;
    let mut roots: Vec<RevIdx> = match target_rev {
        None => {
            // Every map value with no down_revision; a labelled revision is a value once per key.
            let mut roots = Vec::new();
            for (i, rev) in map.revisions().iter().enumerate() {
                if rev.is_base() && !rev.phantom {
                    roots.push(i);
                    roots.extend(map.labels().iter().filter(|(_, r)| *r == i).map(|_| i));
                }
            }
            roots
        }
        Some(t) => map
            .resolve_many(&map.ids(map.rev(t).children()))
            .map_err(wrap)?,
    };
    if let Some(b) = branch.as_deref().filter(|_| roots.len() > 1) {
        let branch_rev = map.resolve_branch_pub(b).map_err(wrap)?;
        let ancestors = map.versioned_ancestors(branch_rev.as_slice());
        roots.retain(|&r| ancestors.contains(r));
        roots.dedup();
        if roots.is_empty() {
            return Err(RevisionError::NotATarget {
                message: "Not a valid downgrade target from current heads".into(),
                detail: "Not a valid downgrade target from current heads".into(),
            });
        }
    }
    let heads = map.resolve_many(current).map_err(wrap)?;
    let mut drop = map.descendants_with_deps(&roots);
    drop.intersect_with(&map.ancestors_with_deps(&heads));
    if let Some(t) = target_rev
        && drop.count_ones(..) == 0
        && !heads.contains(&t)
    {
        return Err(RevisionError::NotATarget {
            message: format!(
                "Destination {target} is not a valid downgrade target from current head(s)"
            ),
            detail: format!(
                "Revision Nothing to drop is not an ancestor of revision {}",
                py_tuple(current)
            ),
        });
    }
    Ok(Plan {
        direction: Direction::Downgrade,
        revisions: map.topological_sort(drop, &heads).map_err(wrap)?,
        warnings,
    })
}

/// Every revision in `alembic history` order (newest first).
pub fn history(map: &RevisionMap) -> Result<Vec<RevIdx>, RevisionError> {
    map.check_loadable()?;
    let targets = map.resolve_many(&["heads".to_string()])?;
    let mut needs = map.ancestors_checked(&targets)?;
    for &t in &targets {
        needs.insert(t);
    }
    map.topological_sort(needs, &targets)
}

/// `_catch_revision_errors` as the upgrade/downgrade commands set it up.
fn wrap_for(e: RevisionError, target: &str, direction: Direction) -> RevisionError {
    match e {
        e @ RevisionError::MultipleHeads { .. } => e.with_head_argument(target),
        RevisionError::NotATarget { message, detail } if message.starts_with("Revision ") => {
            let what = match direction {
                Direction::Upgrade => "upgrade",
                Direction::Downgrade => "downgrade",
            };
            RevisionError::NotATarget {
                message: format!(
                    "Destination {target} is not a valid {what} target from current head(s)"
                ),
                detail,
            }
        }
        other => other,
    }
}

/// Python's `repr()` of a tuple of strings, or `base` for an empty one (as Alembic formats it).
fn py_tuple(items: &[String]) -> String {
    match items {
        [] => "base".to_string(),
        [one] => format!("('{one}',)"),
        many => format!(
            "({})",
            many.iter()
                .map(|s| format!("'{s}'"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// `_parse_upgrade_target`, then the assertion that every target is a revision.
fn upgrade_targets(
    map: &RevisionMap,
    current: &[String],
    target: &str,
) -> Result<Vec<RevIdx>, RevisionError> {
    let positions =
        match Relative::parse(target) {
            None => map.resolve_all(target)?,
            Some(rel) if rel.steps > 0 => {
                let branch = rel.branch.as_deref().filter(|b| !b.is_empty());
                let start =
                    match &rel.symbol {
                        Some(symbol) => {
                            let start = map.resolve(symbol)?.map_or(WalkPos::Start, WalkPos::Rev);
                            let walked = map.walk(start, rel.steps, branch, true)?;
                            return walked.and_then(WalkPos::rev).map(|r| vec![r]).ok_or_else(
                                || crash(&format!("`{target}` walks past the end of the history")),
                            );
                        }
                        None => upgrade_start(map, current, branch)?,
                    };
                match map.walk(start, rel.steps, branch, true)? {
                    Some(pos) => vec![pos],
                    None => {
                        return Err(RevisionError::RelativeOverwalk {
                            message: format!(
                                "Relative revision {} didn't produce {} migrations",
                                rel.text,
                                rel.steps.unsigned_abs()
                            ),
                        });
                    }
                }
            }
            Some(rel) => {
                let Some(symbol) = &rel.symbol else {
                    return Err(RevisionError::RelativeOverwalk {
                        message: format!(
                            "Relative revision {} didn't produce {} migrations",
                            rel.steps,
                            rel.steps.unsigned_abs()
                        ),
                    });
                };
                let start = match rel.branch.as_deref().filter(|b| !b.is_empty()) {
                    Some(b) => map.resolve(&format!("{b}@{symbol}"))?,
                    None => map.resolve(symbol)?,
                };
                let walked = map.walk(
                    start.map_or(WalkPos::Start, WalkPos::Rev),
                    rel.steps,
                    None,
                    true,
                )?;
                vec![walked.unwrap_or(WalkPos::Start)]
            }
        };
    positions
        .into_iter()
        .map(|p| {
            p.rev()
                .ok_or_else(|| crash(&format!("`{target}` does not name a revision")))
        })
        .collect()
}

/// Where `upgrade +N` starts from: the single current revision (on the branch, if one is given).
fn upgrade_start(
    map: &RevisionMap,
    current: &[String],
    branch: Option<&str>,
) -> Result<WalkPos, RevisionError> {
    let starts: Vec<WalkPos> = match branch {
        None if current.is_empty() => vec![WalkPos::Start],
        None => {
            if current.len() > 1 {
                return Err(ambiguous_upgrade());
            }
            return Ok(map
                .resolve(&current[0])?
                .map_or(WalkPos::Start, WalkPos::Rev));
        }
        Some(b) => {
            let revs = map.resolve_many(current)?;
            let on_branch = map.filter_for_lineage(&revs, b)?;
            if !on_branch.is_empty() {
                on_branch.into_iter().map(WalkPos::Rev).collect()
            } else {
                // Back up to the tips of the branch's revisions among what is applied.
                let applied: Vec<RevIdx> = map.ancestors_with_deps(&revs).ones().collect();
                let active = map.filter_for_lineage(&applied, b)?;
                let mut below = FixedBitSet::with_capacity(map.len());
                for &a in &active {
                    for &d in map.normalized_down(a) {
                        below.insert(d);
                    }
                }
                let mut tips: Vec<RevIdx> =
                    active.into_iter().filter(|&a| !below.contains(a)).collect();
                tips.dedup();
                if tips.is_empty() {
                    vec![WalkPos::Start]
                } else {
                    tips.into_iter().map(WalkPos::Rev).collect()
                }
            }
        }
    };
    match starts.as_slice() {
        [one] => Ok(*one),
        _ => Err(ambiguous_upgrade()),
    }
}

fn ambiguous_upgrade() -> RevisionError {
    RevisionError::AmbiguousWalk {
        message: "Ambiguous upgrade from multiple current revisions".into(),
    }
}

/// `_parse_downgrade_target`: the branch it names and the revision to go down to (None = base).
fn downgrade_target(
    map: &RevisionMap,
    current: &[String],
    target: &str,
    warnings: &mut Vec<String>,
) -> Result<(Option<String>, Option<RevIdx>), RevisionError> {
    let Some(rel) = Relative::parse(target) else {
        let (branch, symbol) = match target.rsplit_once('@') {
            Some((b, s)) => (Some(b.to_string()).filter(|b| !b.is_empty()), s),
            None => (None, target),
        };
        return Ok((branch, map.resolve(symbol)?));
    };
    let mut branch = rel.branch.clone().filter(|b| !b.is_empty());
    let overwalk = |relative_to_current: bool| {
        if relative_to_current {
            RevisionError::RelativeOverwalk {
                message: format!(
                    "Relative revision {} didn't produce {} migrations",
                    rel.text,
                    rel.steps.unsigned_abs()
                ),
            }
        } else {
            RevisionError::RelativeOverwalk {
                message: "Walked too far".into(),
            }
        }
    };
    if rel.steps >= 0 {
        let Some(symbol) = &rel.symbol else {
            return Err(overwalk(true));
        };
        let start = map.resolve(symbol)?.map_or(WalkPos::Start, WalkPos::Rev);
        let pos = map
            .walk(start, rel.steps, branch.as_deref(), true)?
            .ok_or_else(|| overwalk(false))?;
        return Ok((branch, pos.rev()));
    }
    let relative_to_current = rel.symbol.is_none();
    let symbol = match &rel.symbol {
        Some(s) => s.clone(),
        None => match &branch {
            Some(b) => {
                let revs = map.resolve_many(current)?;
                let mut on_branch = map.filter_for_lineage(&revs, b)?;
                if on_branch.is_empty() {
                    let all = map.all_current(current)?;
                    on_branch = map.filter_for_lineage(&all, b)?;
                }
                match on_branch.as_slice() {
                    [one] => map.rev(*one).id.clone(),
                    _ => {
                        return Err(crash(&format!(
                            "no single current revision on branch '{b}'"
                        )));
                    }
                }
            }
            None => {
                let Some(first) = current.first() else {
                    return Err(overwalk(true));
                };
                if current.iter().any(|c| c != first) {
                    warnings.push(
                        "downgrade -1 from multiple heads is ambiguous; this usage will be \
                         disallowed in a future release."
                            .into(),
                    );
                }
                branch = Some(first.clone());
                first.clone()
            }
        },
    };
    let start = match &branch {
        Some(b) => map.resolve(&format!("{b}@{symbol}"))?,
        None => map.resolve(&symbol)?,
    };
    let pos = map
        .walk(
            start.map_or(WalkPos::Start, WalkPos::Rev),
            rel.steps,
            None,
            true,
        )?
        .ok_or_else(|| overwalk(relative_to_current))?;
    Ok((branch, pos.rev()))
}
