//! [`suggest_stamp`]: the `alembic_version` rows that describe the schema, and why.

use fixedbitset::FixedBitSet;
use serde::Serialize;

use super::{Evidence, Support, Verdict, upgrade_ops};
use crate::graph::ancestry::Ancestry;
use crate::graph::{RevIdx, RevisionMap};
use crate::revision::ops::OpsStore;

/// The `alembic_version` rows that describe the schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Suggestion {
    /// Revisions to stamp (usually one; one per independent line that is applied), load order.
    pub targets: Vec<RevIdx>,
    /// Every revision the stamp marks as applied (the targets and their ancestors), load order.
    pub applied: Vec<RevIdx>,
    /// Revisions whose schema changes are present although an ancestor's are not: objects made
    /// by hand or by another branch. `alembic upgrade` will fail creating them again.
    pub inconsistent: Vec<RevIdx>,
    pub reasoning: Vec<String>,
}

/// The latest stamp consistent with the evidence, or None when no revision has any evidence.
///
/// Precisely: let *clean* be the revisions with no `NotApplied` or `Mixed` revision among
/// themselves and their ancestors (the largest downward-closed set free of contrary evidence).
/// The stamp marks the ancestors-or-self of every clean revision whose verdict is `Applied`,
/// plus clean revisions with an empty `upgrade()` (merges) whose parents are all marked. The
/// targets are the marked revisions no marked revision descends from. Clean revisions with no
/// evidence above the stamp are left for `alembic upgrade` to run rather than assumed to have
/// run. An applied, clean revision on an independent line (another root, as the demo's orphan
/// `add_system_settings`) is stamped as an extra row: its objects exist, so not stamping it
/// would make `upgrade` create them again and fail.
///
/// `ops`: the operations the evidence was found in, to word its facts.
pub fn suggest_stamp(
    map: &RevisionMap,
    ops: &OpsStore,
    evidence: &[Evidence],
) -> Option<Suggestion> {
    let n = map.len();
    let verdict = |r: RevIdx| evidence.get(r).map_or(Verdict::Unknown, |e| e.verdict);
    if (0..n).all(|r| verdict(r) == Verdict::Unknown) {
        return None;
    }
    let blocked = |r: RevIdx| matches!(verdict(r), Verdict::NotApplied | Verdict::Mixed);
    let order = map.run_order().0;
    let ancestors = Ancestry::new(&order, |r| map.run_before(r));

    let mut clean = FixedBitSet::with_capacity(n);
    for &r in &order {
        if !map.rev(r).phantom && !blocked(r) && map.run_before(r).all(|p| clean.contains(p)) {
            clean.insert(r);
        }
    }
    let mut seeds = FixedBitSet::with_capacity(n);
    seeds.extend(clean.ones().filter(|&r| verdict(r) == Verdict::Applied));
    let mut marked = ancestors.with_ancestors(&order, &seeds);
    for &r in &order {
        let empty = evidence.get(r).is_some_and(|e| e.empty_upgrade);
        let mut parents = map.run_before(r).peekable();
        if clean.contains(r)
            && !marked.contains(r)
            && empty
            && parents.peek().is_some()
            && parents.all(|p| marked.contains(p))
        {
            marked.insert(r);
        }
    }
    let mut below_tip = FixedBitSet::with_capacity(n);
    for r in marked.ones() {
        for p in map.run_before(r) {
            below_tip.insert(p);
        }
    }
    let by_position = |v: &mut Vec<RevIdx>| v.sort_by_key(|&r| map.map_position(r));
    let mut targets: Vec<RevIdx> = marked.ones().filter(|&r| !below_tip.contains(r)).collect();
    // The main line (the longest history) first, then load order.
    targets.sort_by_key(|&r| (usize::MAX - ancestors.count(r), map.map_position(r)));
    let mut applied: Vec<RevIdx> = marked.ones().collect();
    by_position(&mut applied);
    let mut inconsistent: Vec<RevIdx> = (0..n)
        .filter(|&r| verdict(r) == Verdict::Applied && !clean.contains(r) && !map.rev(r).phantom)
        .collect();
    by_position(&mut inconsistent);

    let ctx = Explain { map, ops, evidence };
    let mut reasoning = Vec::new();
    if targets.is_empty() {
        reasoning.push(
            "stamp base: no revision's schema changes are present (or every one is contradicted \
             by an earlier revision that is not applied)"
                .to_string(),
        );
    } else {
        let ids = map.ids(&targets).join(" ");
        reasoning.push(format!(
            "stamp {ids}: the newest revisions whose schema changes are present, with every \
             ancestor's (`alembic stamp --purge {ids}` replaces whatever alembic_version holds, \
             even ids no file defines)"
        ));
    }
    for &t in &targets {
        reasoning.push(ctx.applied_line(t));
    }
    if let Some((&first, rest)) = targets.split_first() {
        for &t in rest {
            let shared = ancestors.intersects(t, first)
                || ancestors.contains(t, first)
                || ancestors.contains(first, t);
            if !shared {
                reasoning.push(format!(
                    "{} is on a line of its own (no common ancestor with {}): its objects \
                     exist, so it is stamped as a second alembic_version row; otherwise \
                     `alembic upgrade` would create them again and fail (if they were made by \
                     hand, check they match the migration)",
                    ctx.name(t),
                    map.rev(first).id
                ));
            }
        }
    }
    // The first revisions `upgrade` will run after the stamp, and why they are not applied.
    for r in order.iter().copied() {
        if blocked(r) && !map.rev(r).phantom && map.run_before(r).all(|p| clean.contains(p)) {
            reasoning.push(ctx.blocked_line(r));
        }
    }
    for &r in &inconsistent {
        let mut culprits: Vec<RevIdx> = ancestors
            .ancestors(r)
            .filter(|&a| blocked(a) && map.run_before(a).all(|p| clean.contains(p)))
            .collect();
        culprits.sort_unstable();
        reasoning.push(format!(
            "{} looks applied ({}) but its ancestor {} is not: these objects were made another \
             way, and `alembic upgrade` will fail creating them again",
            ctx.name(r),
            ctx.fact_texts(r, Support::Applied),
            map.ids(&culprits).join(", ")
        ));
    }
    let unproven: Vec<RevIdx> = applied
        .iter()
        .copied()
        .filter(|&r| verdict(r) == Verdict::Unknown && !ctx.is_empty(r))
        .collect();
    if !unproven.is_empty() {
        reasoning.push(format!(
            "{} without schema evidence {} included because later revisions are applied: {}",
            plural(unproven.len(), "revision"),
            if unproven.len() == 1 { "is" } else { "are" },
            ctx.some_ids(&unproven)
        ));
    }
    // Worded for the first few only: at 10,000 revisions thousands of statements are skipped.
    const SHOWN: usize = 5;
    let (mut skipped, mut total) = (Vec::new(), 0);
    for &r in &applied {
        let facts = evidence.get(r).map_or(&[][..], |e| e.facts.as_slice());
        let opaque: Vec<_> = facts.iter().filter(|f| f.opaque).collect();
        total += opaque.len();
        let room = SHOWN - skipped.len();
        if opaque.is_empty() || room == 0 {
            continue;
        }
        let ops = upgrade_ops(ctx.ops, r);
        skipped.extend(opaque.iter().take(room).map(|f| {
            let line = f.line.unwrap_or(0);
            format!("{} line {line}: {}", map.rev(r).id, f.text(&ops))
        }));
    }
    let more = total - skipped.len();
    if !skipped.is_empty() {
        let mut line = format!(
            "the stamp assumes these unchecked statements ran: {}",
            skipped.join("; ")
        );
        if more > 0 {
            line.push_str(&format!("; and {more} more"));
        }
        reasoning.push(line);
    }
    let left: Vec<RevIdx> = order
        .iter()
        .copied()
        .filter(|&r| clean.contains(r) && !marked.contains(r))
        .collect();
    if !left.is_empty() {
        reasoning.push(format!(
            "left for `alembic upgrade` (no evidence either way): {}",
            ctx.some_ids(&left)
        ));
    }
    Some(Suggestion {
        targets,
        applied,
        inconsistent,
        reasoning,
    })
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// Wording for the suggestion's reasoning.
struct Explain<'a> {
    map: &'a RevisionMap,
    ops: &'a OpsStore,
    evidence: &'a [Evidence],
}

impl Explain<'_> {
    fn name(&self, r: RevIdx) -> String {
        let rev = self.map.rev(r);
        if rev.message.is_empty() {
            rev.id.clone()
        } else {
            format!("{} ({})", rev.id, rev.message)
        }
    }

    fn is_empty(&self, r: RevIdx) -> bool {
        self.evidence.get(r).is_some_and(|e| e.empty_upgrade)
    }

    /// Up to three counted facts pointing `support`'s way.
    fn fact_texts(&self, r: RevIdx, support: Support) -> String {
        let Some(e) = self.evidence.get(r) else {
            return String::new();
        };
        let ops = upgrade_ops(self.ops, r);
        let mut facts = e.facts_for(support);
        let texts: Vec<String> = facts.by_ref().take(3).map(|f| f.text(&ops)).collect();
        let mut out = texts.join("; ");
        let more = facts.count();
        if more > 0 {
            out.push_str(&format!("; and {more} more"));
        }
        out
    }

    fn applied_line(&self, r: RevIdx) -> String {
        let facts = self.fact_texts(r, Support::Applied);
        if facts.is_empty() {
            format!("{}: empty upgrade; its parents are stamped", self.name(r))
        } else {
            format!("{}: applied: {facts}", self.name(r))
        }
    }

    fn blocked_line(&self, r: RevIdx) -> String {
        let verdict = self.evidence.get(r).map(|e| e.verdict);
        let not = self.fact_texts(r, Support::NotApplied);
        if verdict == Some(Verdict::Mixed) {
            format!(
                "{}: partly applied (present: {}; missing: {not}): repair by hand before \
                 upgrading",
                self.name(r),
                self.fact_texts(r, Support::Applied)
            )
        } else {
            format!("{}: not applied: {not}", self.name(r))
        }
    }

    /// Ids, at most five, then a count.
    fn some_ids(&self, revs: &[RevIdx]) -> String {
        let mut out = self.map.ids(&revs[..revs.len().min(5)]).join(", ");
        if revs.len() > 5 {
            out.push_str(&format!(" and {} more", revs.len() - 5));
        }
        out
    }
}
