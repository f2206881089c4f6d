//! Is each revision applied, according to the live schema?
//!
//! Each operation of a revision's `upgrade()` ([`crate::revision::ops`]) predicts something about
//! the schema once the revision has run: `create_table users` predicts that `users` exists. A
//! [`Fact`] compares one prediction with a [`SchemaSnapshot`] and says whether it supports
//! "applied" or "not applied", and how strongly: the presence of a created object is strong
//! evidence, the absence of a dropped one is weak (it may never have existed), indexes are weak
//! (backends reflect them unevenly), ops recognised in raw SQL are weak.
//!
//! Along the graph ([`graph_evidence`]), a fact only counts when no other revision that may have
//! run *after* this one (a descendant, or one on an unrelated branch) changes the same object
//! again — unless that revision is itself shown not to have run. A table created in A and
//! dropped in a later B is absent even if A ran: A's "table missing" fact is then superseded by
//! B, not held against A.
//!
//! [`suggest_stamp`] turns the verdicts into the `alembic_version` rows that describe the schema.

mod check;
mod fact;
mod subject;
mod suggest;
#[cfg(test)]
mod tests;
mod touched;

use std::collections::HashMap;

use fixedbitset::FixedBitSet;
use rayon::prelude::*;
use serde::Serialize;

use crate::graph::ancestry::Ancestry;
use crate::graph::{RevIdx, RevisionMap};
use crate::revision::ops::{self, Body, Op, OpsReport, OpsStore};
use crate::schema::SchemaSnapshot;
use check::Checker;
use fact::CHANGED_LATER;
pub use fact::{Fact, Finding, upgrade_ops};
pub use subject::Subject;
use subject::{maskers_of, touches};
pub use suggest::{Suggestion, suggest_stamp};
use touched::{SubjectIds, Touches};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Applied,
    NotApplied,
    /// Some facts say applied, others not: a partly applied revision (non-transactional DDL), or
    /// objects made by hand.
    Mixed,
    /// Nothing checkable (an empty merge revision, data-only or opaque SQL, non-literal names).
    Unknown,
}

/// Which way a fact points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Support {
    Applied,
    NotApplied,
    /// Says nothing either way (kept to explain an `Unknown` verdict).
    Neutral,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Strength {
    Weak,
    Strong,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    pub verdict: Verdict,
    pub facts: Vec<Fact>,
    /// `upgrade()` is empty (`pass`, a docstring): running it changes nothing.
    pub empty_upgrade: bool,
}

impl Evidence {
    /// Counted facts pointing `support`'s way.
    pub fn facts_for(&self, support: Support) -> impl Iterator<Item = &Fact> {
        self.facts
            .iter()
            .filter(move |f| f.counts() && f.support == support)
    }

    /// The fact that best explains the verdict: the first counted one pointing its way (for
    /// `Mixed`, a missing object), else the first.
    pub fn headline(&self) -> Option<&Fact> {
        let support = match self.verdict {
            Verdict::Applied => Support::Applied,
            Verdict::NotApplied | Verdict::Mixed => Support::NotApplied,
            Verdict::Unknown => Support::Neutral,
        };
        self.facts_for(support)
            .next()
            .or_else(|| self.facts.first())
    }

    fn unknown(finding: Finding) -> Evidence {
        Evidence {
            verdict: Verdict::Unknown,
            facts: vec![Fact {
                op: None,
                line: None,
                finding,
                support: Support::Neutral,
                strength: Strength::Weak,
                opaque: false,
                notes: 0,
                superseded_by: Box::default(),
            }],
            empty_upgrade: false,
        }
    }

    fn recompute(&mut self) {
        self.verdict = verdict(&self.facts);
    }
}

/// The strongest counted facts decide: all one way gives that verdict, both ways `Mixed`.
fn verdict(facts: &[Fact]) -> Verdict {
    let counted = || facts.iter().filter(|f| f.counts());
    let Some(strength) = counted().map(|f| f.strength).max() else {
        return Verdict::Unknown;
    };
    let (mut applied, mut not) = (false, false);
    for f in counted().filter(|f| f.strength == strength) {
        match f.support {
            Support::Applied => applied = true,
            Support::NotApplied => not = true,
            Support::Neutral => {}
        }
    }
    match (applied, not) {
        (true, true) => Verdict::Mixed,
        (true, false) => Verdict::Applied,
        (false, true) => Verdict::NotApplied,
        (false, false) => Verdict::Unknown,
    }
}

/// Evidence from one revision's upgrade ops alone.
pub fn revision_evidence(ops: &[Op], schema: &SchemaSnapshot) -> Evidence {
    revision_facts(ops, schema).0
}

/// [`revision_evidence`], with the objects each fact is about, in fact order.
fn revision_facts(ops: &[Op], schema: &SchemaSnapshot) -> (Evidence, Vec<Vec<Subject>>) {
    // An object changed again by a later op of the same revision: only the last op's
    // prediction holds.
    let mut last_touch: HashMap<Subject, usize> = HashMap::new();
    for (i, op) in ops.iter().enumerate() {
        for s in touches(op, schema) {
            last_touch.insert(s, i);
        }
    }
    let (mut facts, mut subjects) = (Vec::new(), Vec::new());
    for (i, op) in ops.iter().enumerate() {
        let mut checker = Checker {
            schema,
            op,
            index: i as u32,
            facts: Vec::new(),
        };
        checker.check();
        for (mut fact, about) in checker.facts {
            let later = about
                .iter()
                .flat_map(maskers_of)
                .any(|s| last_touch.get(&s).is_some_and(|&j| j > i));
            if later && fact.support != Support::Neutral {
                fact.support = Support::Neutral;
                fact.notes |= CHANGED_LATER;
            }
            facts.push(fact);
            subjects.push(about);
        }
    }
    // Kept for every revision of the graph: no room to spare.
    facts.shrink_to_fit();
    let mut evidence = Evidence {
        verdict: Verdict::Unknown,
        facts,
        empty_upgrade: false,
    };
    evidence.recompute();
    (evidence, subjects)
}

/// Evidence from an [`OpsReport`], explaining missing, empty and unparsable functions.
pub fn report_evidence(report: Option<&OpsReport>, schema: &SchemaSnapshot) -> Evidence {
    report_facts(report, schema).0
}

/// [`report_evidence`], with the objects each fact is about.
fn report_facts(
    report: Option<&OpsReport>,
    schema: &SchemaSnapshot,
) -> (Evidence, Vec<Vec<Subject>>) {
    let unknown = |finding| (Evidence::unknown(finding), vec![Vec::new()]);
    let Some(report) = report else {
        return unknown(Finding::OpsNotRead);
    };
    match report.upgrade.body {
        Body::Missing => unknown(Finding::NoUpgrade),
        Body::Empty => {
            let (mut e, subjects) = unknown(Finding::EmptyUpgrade);
            e.empty_upgrade = true;
            (e, subjects)
        }
        Body::Unparsable => unknown(Finding::UpgradeUnparsable),
        Body::Code if report.upgrade.ops.is_empty() => unknown(Finding::NoRecognisedOp),
        Body::Code => revision_facts(&report.upgrade.ops, schema),
    }
}

/// Reads every revision's operations, in parallel (index: [`RevIdx`]).
pub fn load_ops(map: &RevisionMap) -> OpsStore {
    load_with(map, ops::read_ops_file)
}

/// [`load_ops`] for `upgrade()` only (downgrades reported missing): what evidence and upgrade
/// preflights need, for about two thirds of the parsing.
pub fn load_upgrade_ops(map: &RevisionMap) -> OpsStore {
    load_with(map, ops::read_upgrade_ops_file)
}

fn load_with(map: &RevisionMap, read: fn(&std::path::Path) -> OpsReport) -> OpsStore {
    let encoded: Vec<Vec<u8>> = (0..map.len())
        .into_par_iter()
        .map(|i| ops::codec::to_vec(&read(&map.record_of(i).path)))
        .collect();
    OpsStore::from_encoded(encoded.iter().map(Vec::as_slice))
}

/// Evidence for every revision, with facts superseded by revisions that may have run later.
///
/// Revisions are visited children first. A fact of revision R about object O is superseded by
/// each revision D that changes O (or, for a column or index, its table), may run after R (D is
/// not R or an ancestor of R) and is not itself shown not applied: D's final verdict when D
/// descends from R (already computed), its own-ops verdict when D is on an unrelated branch
/// (whose order relative to R the graph does not fix).
pub fn graph_evidence(
    map: &RevisionMap,
    ops_by_rev: &OpsStore,
    schema: &SchemaSnapshot,
) -> Vec<Evidence> {
    let n = map.len();
    let mut touched_by = Touches::default();
    for r in 0..n {
        let Some(report) = ops_by_rev.get(r) else {
            continue;
        };
        for op in &report.upgrade.ops {
            for s in touches(op, schema) {
                touched_by.add(s, r);
            }
        }
    }
    let (ids, touched_by) = touched_by.finish();
    // Facts trade their subjects for object numbers as soon as they exist, so the subjects'
    // strings are never all alive at once.
    let (mut evidence, mut maskers): (Vec<Evidence>, Vec<Vec<u32>>) = (0..n)
        .into_par_iter()
        .map(|i| {
            let (e, subjects) = report_facts(ops_by_rev.get(i).as_ref(), schema);
            (e, take_maskers(subjects, &ids))
        })
        .unzip();
    drop(ids);
    let local: Vec<Verdict> = evidence.iter().map(|e| e.verdict).collect();

    let order = map.run_order().0;
    let ancestors = Ancestry::new(&order, |r| map.run_before(r));
    let mut verdicts = local.clone();
    // One set for every fact, emptied through the ids it collected: allocating and zeroing n
    // bits per fact was most of this loop at 10,000 revisions.
    let mut seen = FixedBitSet::with_capacity(n);
    let mut seen_ids: Vec<RevIdx> = Vec::new();
    for &r in order.iter().rev() {
        let mut facts = std::mem::take(&mut evidence[r].facts);
        let maskers = std::mem::take(&mut maskers[r]);
        let mut rest = maskers.as_slice();
        for fact in facts.iter_mut() {
            let (&count, after) = rest.split_first().expect("a count for every fact");
            let (objects, after) = after.split_at(count as usize);
            rest = after;
            if fact.support == Support::Neutral {
                continue;
            }
            let mut by: Vec<RevIdx> = Vec::new();
            for d in seen_ids.drain(..) {
                seen.set(d, false);
            }
            for d in objects.iter().flat_map(|&o| touched_by.revisions(o)) {
                if d == r || ancestors.contains(r, d) || seen.put(d) {
                    continue;
                }
                seen_ids.push(d);
                // Descendants are final already (children first); an unrelated branch is
                // judged on its own ops, since neither side's order is fixed.
                let v = if ancestors.contains(d, r) {
                    verdicts[d]
                } else {
                    local[d]
                };
                if v != Verdict::NotApplied {
                    by.push(d);
                }
            }
            by.sort_unstable();
            fact.superseded_by = by.into_boxed_slice();
        }
        evidence[r].facts = facts;
        evidence[r].recompute();
        verdicts[r] = evidence[r].verdict;
    }
    evidence
}

/// Per fact in order, a count and that many numbers of the objects whose changes supersede the
/// fact (those of [`maskers_of`] that some revision changes).
fn take_maskers(subjects: Vec<Vec<Subject>>, ids: &SubjectIds) -> Vec<u32> {
    let mut out = Vec::new();
    for about in subjects {
        let at = out.len();
        out.push(0);
        for s in about.iter().flat_map(maskers_of) {
            out.extend(ids.get(&s));
        }
        out[at] = (out.len() - at - 1) as u32;
    }
    out.shrink_to_fit();
    out
}
