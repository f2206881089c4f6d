//! Which revisions change each schema object, for finding the revisions that supersede a fact.
//!
//! A map from [`Subject`] to revision lists held a 72-byte key of owned strings and a vector per
//! object: 8 MB at 10,000 revisions, alive through the whole of `graph_evidence`. Here each
//! object gets a number once ([`SubjectIds`], dropped once the facts' subjects are numbered) and
//! the lists are one flat array ([`TouchedBy`]).

use crate::graph::{IdMap, RevIdx};

use super::Subject;

/// Collects `(object, revision)` pairs, revisions in ascending order.
#[derive(Default)]
pub(super) struct Touches {
    ids: SubjectIds,
    pairs: Vec<(u32, u32)>,
}

impl Touches {
    pub(super) fn add(&mut self, s: Subject, r: RevIdx) {
        let next = self.ids.0.len() as u32;
        let id = *self.ids.0.entry(s).or_insert(next);
        if self.pairs.last() != Some(&(id, r as u32)) {
            self.pairs.push((id, r as u32));
        }
    }

    pub(super) fn finish(mut self) -> (SubjectIds, TouchedBy) {
        self.pairs.sort_unstable();
        self.pairs.dedup();
        let mut starts = Vec::with_capacity(self.ids.0.len() + 1);
        let mut revs = Vec::with_capacity(self.pairs.len());
        for (id, r) in self.pairs {
            while starts.len() <= id as usize {
                starts.push(revs.len() as u32);
            }
            revs.push(r);
        }
        starts.resize(self.ids.0.len() + 1, revs.len() as u32);
        (self.ids, TouchedBy { starts, revs })
    }
}

/// The number of each object some revision changes.
#[derive(Default)]
pub(super) struct SubjectIds(IdMap<Subject, u32>);

impl SubjectIds {
    pub(super) fn get(&self, s: &Subject) -> Option<u32> {
        self.0.get(s).copied()
    }
}

/// Object number → the revisions changing it, ascending.
pub(super) struct TouchedBy {
    starts: Vec<u32>,
    revs: Vec<u32>,
}

impl TouchedBy {
    pub(super) fn revisions(&self, id: u32) -> impl Iterator<Item = RevIdx> + '_ {
        let (a, b) = (self.starts[id as usize], self.starts[id as usize + 1]);
        self.revs[a as usize..b as usize]
            .iter()
            .map(|&r| r as RevIdx)
    }
}
