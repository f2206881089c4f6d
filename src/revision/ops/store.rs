//! Every revision's operations, held encoded ([`super::codec`]) and decoded one revision at a
//! time. At 10,000 revisions the decoded reports (`Op` is 200 bytes before its strings) were the
//! largest thing the explorer held with a database connected; encoded they are a few megabytes,
//! and decoding one revision costs about a microsecond.

use super::{OpsReport, codec};
use crate::graph::RevIdx;

#[derive(Debug, Clone, Default)]
pub struct OpsStore {
    bytes: Vec<u8>,
    /// Where each revision's encoding ends in `bytes`; an empty span: not read.
    ends: Vec<usize>,
}

impl OpsStore {
    /// From each revision's report ([`RevIdx`] order; None: not read).
    pub fn from_reports<'a>(reports: impl IntoIterator<Item = Option<&'a OpsReport>>) -> OpsStore {
        let mut store = OpsStore::default();
        for r in reports {
            if let Some(r) = r {
                codec::encode(r, &mut store.bytes);
            }
            store.ends.push(store.bytes.len());
        }
        store.bytes.shrink_to_fit();
        store
    }

    /// From each revision's encoding as [`codec::encode`] wrote it, in [`RevIdx`] order (the
    /// operations cache's entries, which it has checked by decoding each once).
    pub fn from_encoded<'a>(entries: impl Iterator<Item = &'a [u8]> + Clone) -> OpsStore {
        let (mut total, mut count) = (0, 0);
        for e in entries.clone() {
            total += e.len();
            count += 1;
        }
        let mut store = OpsStore {
            bytes: Vec::with_capacity(total),
            ends: Vec::with_capacity(count),
        };
        for e in entries {
            store.bytes.extend_from_slice(e);
            store.ends.push(store.bytes.len());
        }
        store
    }

    /// Revisions covered (read or not).
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    fn raw(&self, rev: RevIdx) -> &[u8] {
        let Some(&end) = self.ends.get(rev) else {
            return &[];
        };
        let start = rev.checked_sub(1).map_or(0, |p| self.ends[p]);
        &self.bytes[start..end]
    }

    /// The revision's operations, decoded; None when they were not read (or `rev` is out of
    /// range).
    pub fn get(&self, rev: RevIdx) -> Option<OpsReport> {
        match self.raw(rev) {
            [] => None,
            raw => codec::decode(raw),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_revision_decodes_to_what_was_stored() {
        let a = super::super::ops("def upgrade():\n    op.drop_table('a')\n");
        let b = super::super::ops("def upgrade():\n    pass\n");
        let store = OpsStore::from_reports([Some(&a), None, Some(&b)]);
        assert_eq!(store.len(), 3);
        assert_eq!(store.get(0), Some(a.clone()));
        assert_eq!(store.get(1), None);
        assert_eq!(store.get(2), Some(b.clone()));
        assert_eq!(store.get(3), None);
        let encoded: Vec<Vec<u8>> = [&a, &b]
            .iter()
            .map(|r| {
                let mut v = Vec::new();
                codec::encode(r, &mut v);
                v
            })
            .collect();
        let again = OpsStore::from_encoded(encoded.iter().map(Vec::as_slice));
        assert_eq!((again.get(0), again.get(1)), (Some(a), Some(b)));
    }
}
