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
        let id = *self.ids.0.entry(key(&s).into_boxed_slice()).or_insert(next);
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

/// The number of each object some revision changes, keyed by [`key`]: a [`Subject`] is 72 bytes
/// before its strings, and at 10,000 revisions tens of thousands of columns made this map the
/// largest thing alive while facts were numbered.
#[derive(Default)]
pub(super) struct SubjectIds(IdMap<Box<[u8]>, u32>);

impl SubjectIds {
    pub(super) fn get(&self, s: &Subject) -> Option<u32> {
        self.0.get(key(s).as_slice()).copied()
    }
}

/// The subject's kind and names in one byte string; names cannot hold NUL, which separates them.
fn key(s: &Subject) -> Vec<u8> {
    let (kind, schema, names): (u8, &Option<String>, [&str; 2]) = match s {
        Subject::Table { schema, name } => (b'T', schema, [name, ""]),
        Subject::Column {
            schema,
            table,
            column,
        } => (b'C', schema, [table, column]),
        Subject::Index { schema, name } => (b'I', schema, [name, ""]),
    };
    let mut k = Vec::with_capacity(
        3 + schema.as_ref().map_or(0, String::len) + names[0].len() + names[1].len() + 2,
    );
    k.push(kind);
    match schema {
        // None and Some("") must differ.
        None => k.push(0),
        Some(sc) => {
            k.push(1);
            k.extend_from_slice(sc.as_bytes());
        }
    }
    for n in names {
        k.push(0);
        k.extend_from_slice(n.as_bytes());
    }
    k
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
