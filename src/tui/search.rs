//! What `/` searches: per row, the revision's id, labels, message, file name and the names of
//! the tables its `upgrade()` touches, lower-cased.
//!
//! The table names come from the operations, which the explorer does not read to draw its first
//! frame: they arrive from a background job ([`TableNames::of`]) and join the haystacks then.

use std::ops::Range;

use crate::graph::RevisionMap;
use crate::revision::ops::OpsStore;

/// Strings held in one buffer with their ends: 10,000 strings of their own were half a
/// megabyte of headers and allocator rounding, held twice during a reload.
#[derive(Debug, Clone, Default)]
pub struct Texts {
    text: String,
    ends: Vec<usize>,
}

impl Texts {
    pub fn of(items: impl Iterator<Item = String>) -> Texts {
        let mut t = Texts::default();
        for item in items {
            t.text.push_str(&item);
            t.ends.push(t.text.len());
        }
        t.text.shrink_to_fit();
        t.ends.shrink_to_fit();
        t
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Item `i`; empty past the end.
    pub fn get(&self, i: usize) -> &str {
        match self.span(i) {
            Some(r) => &self.text[r],
            None => "",
        }
    }

    fn span(&self, i: usize) -> Option<Range<usize>> {
        let end = *self.ends.get(i)?;
        let start = i.checked_sub(1).map_or(0, |p| self.ends[p]);
        Some(start..end)
    }
}

/// Per revision ([`crate::graph::RevIdx`] order), the tables its `upgrade()` touches,
/// lower-cased, one per line.
#[derive(Debug, Clone, Default)]
pub struct TableNames {
    pub texts: Texts,
    /// The map they index (its address): names read for a project the explorer has since
    /// reloaded are dropped.
    map: usize,
}

impl TableNames {
    /// From every revision's operations (decoded one at a time) of `map`'s project.
    pub fn of(ops: &OpsStore, map: &RevisionMap) -> TableNames {
        let texts = Texts::of((0..ops.len()).map(|r| {
            let mut names: Vec<String> = ops
                .get(r)
                .map(|report| {
                    (report.upgrade.ops.iter())
                        .flat_map(|op| op.kind.table_names())
                        .map(str::to_lowercase)
                        .collect()
                })
                .unwrap_or_default();
            names.sort_unstable();
            names.dedup();
            names.join("\n")
        }));
        TableNames {
            texts,
            map: map as *const RevisionMap as usize,
        }
    }

    /// Read for `map`.
    pub fn fits(&self, map: &RevisionMap) -> bool {
        self.map == map as *const RevisionMap as usize
    }
}
