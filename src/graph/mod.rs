//! The revision map: Alembic's `RevisionMap`, built from statically read records.
//!
//! Building never fails. Where Alembic would refuse to load the map (a cycle, a missing parent, an
//! unreadable file...), [`RevisionMap::alembic_error`] holds the error Alembic raises, while the map
//! itself stays usable for diagnostics and drawing. Every question Alembic answers (heads, plans,
//! identifier resolution) first checks that error, so migscope never answers where Alembic refuses.
//!
//! Order matters: Alembic breaks every tie by the order the files were loaded in ("map order"), so
//! revisions are kept in load order and all lists below are in that order.

pub(crate) mod ancestry;
mod build;
mod error;
pub(crate) mod resolve;
mod walk;

use std::sync::Arc;

use fixedbitset::FixedBitSet;
use petgraph::graph::DiGraph;
use serde::Serialize;

use crate::revision::{NormalizeError, RevisionRecord};

pub use error::{ErrorReport, RevisionError};
pub use resolve::WalkPos;

/// Maps keyed by revision ids and labels. Ids are attacker-free (they come from the project's own
/// files), so a fast non-cryptographic hasher is safe; SipHash was a tenth of a cached 10,000-file load.
pub(crate) type IdMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
/// Index of a revision object in load order.
pub type RevIdx = usize;

/// A parent edge: a real `down_revision`, or a `depends_on` dependency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EdgeKind {
    Down,
    DependsOn,
}

/// One revision as Alembic sees it.
#[derive(Debug, Clone)]
pub struct Revision {
    pub id: String,
    /// `down_revision` as a tuple, declared order (may name revisions that are not present).
    pub down: Vec<String>,
    /// `depends_on` as declared (ids or branch labels).
    pub depends_on: Vec<String>,
    /// `branch_labels` as declared in this file.
    pub own_labels: Vec<String>,
    /// Branch labels after Alembic's propagation along the branch, sorted. Shared: a label reaches
    /// thousands of revisions, most of which carry the same few sets.
    pub labels: Arc<[String]>,
    /// Index of the file's record in [`RevisionMap::records`].
    pub record: usize,
    /// An earlier file with the same id: Alembic keeps it only as a phantom head/base candidate.
    pub phantom: bool,
    /// Alembic's `doc`: the docstring up to its first blank line.
    pub message: String,
    pub(crate) parents: Vec<RevIdx>,
    pub(crate) missing_parents: Vec<String>,
    pub(crate) resolved_deps: Vec<RevIdx>,
    pub(crate) missing_deps: Vec<String>,
    pub(crate) normalized_deps: Vec<RevIdx>,
    /// `_normalized_down_revisions`: parents, then dependencies not already implied by an ancestor.
    pub(crate) norm_down: Vec<RevIdx>,
    /// `_all_down_revisions`: parents, then every resolved dependency.
    pub(crate) all_down: Vec<RevIdx>,
    /// `nextrev`: revisions naming this one in `down_revision`.
    pub(crate) children: Vec<RevIdx>,
    /// `_all_nextrev`: revisions naming this one in `down_revision` or `depends_on`.
    pub(crate) all_children: Vec<RevIdx>,
}

impl Revision {
    pub fn parents(&self) -> &[RevIdx] {
        &self.parents
    }
    pub fn children(&self) -> &[RevIdx] {
        &self.children
    }
    /// Revisions depending on this one, or having it as a parent.
    pub fn all_children(&self) -> &[RevIdx] {
        &self.all_children
    }
    pub fn resolved_deps(&self) -> &[RevIdx] {
        &self.resolved_deps
    }
    pub fn missing_parents(&self) -> &[String] {
        &self.missing_parents
    }
    pub fn missing_deps(&self) -> &[String] {
        &self.missing_deps
    }
    pub fn is_base(&self) -> bool {
        self.down.is_empty()
    }
    pub fn is_merge_point(&self) -> bool {
        self.down.len() > 1
    }
    pub fn is_branch_point(&self) -> bool {
        self.children.len() > 1
    }
}

/// A file that could not become a revision.
#[derive(Debug, Clone)]
pub struct Unreadable {
    pub record: usize,
    pub error: NormalizeError,
}

#[derive(Debug, Clone)]
pub struct RevisionMap {
    /// Shared: a reload after an edit keeps the records of the files that did not change
    /// ([`crate::project::Project::reload`]).
    pub records: Vec<Arc<RevisionRecord>>,
    revs: Vec<Revision>,
    /// Map order of each object: the position of its id's first appearance.
    order: Vec<usize>,
    index: IdMap<String, RevIdx>,
    /// Branch label → the revision declaring it, in declaration (load) order.
    labels: Vec<(String, RevIdx)>,
    label_index: IdMap<String, RevIdx>,
    heads: Vec<RevIdx>,
    real_heads: Vec<RevIdx>,
    bases: Vec<RevIdx>,
    real_bases: Vec<RevIdx>,
    unreadable: Vec<Unreadable>,
    self_loops: Vec<RevIdx>,
    alembic_error: Option<RevisionError>,
    warnings: Vec<String>,
    graph: DiGraph<RevIdx, EdgeKind>,
}

impl RevisionMap {
    /// All revision objects in load order, phantoms (earlier duplicates) included.
    pub fn revisions(&self) -> &[Revision] {
        &self.revs
    }
    pub fn rev(&self, idx: RevIdx) -> &Revision {
        &self.revs[idx]
    }
    pub fn record_of(&self, idx: RevIdx) -> &RevisionRecord {
        &self.records[self.revs[idx].record]
    }
    pub fn len(&self) -> usize {
        self.revs.len()
    }
    pub fn is_empty(&self) -> bool {
        self.revs.is_empty()
    }
    /// The revision an id names (the last file loaded with that id, as in Alembic).
    pub fn get(&self, id: &str) -> Option<RevIdx> {
        self.index.get(id).copied()
    }
    /// The revision declaring a branch label.
    pub fn label(&self, label: &str) -> Option<RevIdx> {
        self.label_index.get(label).copied()
    }
    pub fn labels(&self) -> &[(String, RevIdx)] {
        &self.labels
    }
    /// Alembic's `heads`: revisions no `down_revision` names, in load order (phantoms included).
    pub fn heads(&self) -> &[RevIdx] {
        &self.heads
    }
    /// Alembic's `_real_heads`: also not named by any `depends_on`. The symbol `heads` means these.
    pub fn real_heads(&self) -> &[RevIdx] {
        &self.real_heads
    }
    /// Alembic's `bases`: `down_revision` is None.
    pub fn bases(&self) -> &[RevIdx] {
        &self.bases
    }
    pub fn real_bases(&self) -> &[RevIdx] {
        &self.real_bases
    }
    pub fn unreadable(&self) -> &[Unreadable] {
        &self.unreadable
    }
    pub fn self_loops(&self) -> &[RevIdx] {
        &self.self_loops
    }
    /// The error Alembic would raise while loading this map, if any.
    pub fn alembic_error(&self) -> Option<&RevisionError> {
        self.alembic_error.as_ref()
    }
    /// Alembic's `UserWarning`s while loading (duplicate ids, missing references).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
    /// The dependency graph: an edge from each revision to each parent and dependency.
    pub fn graph(&self) -> &DiGraph<RevIdx, EdgeKind> {
        &self.graph
    }
    /// Revisions whose upgrade position Alembic leaves to Python's string hashing (two or more
    /// normalized dependencies): Alembic itself may order them differently from run to run.
    pub fn hash_order_sensitive(&self) -> Vec<RevIdx> {
        (0..self.revs.len())
            .filter(|&i| self.revs[i].normalized_deps.len() > 1)
            .collect()
    }
    pub fn ids(&self, idxs: &[RevIdx]) -> Vec<String> {
        idxs.iter().map(|&i| self.revs[i].id.clone()).collect()
    }
    /// Map order position of a revision (ties in every Alembic algorithm are broken by it).
    pub fn map_position(&self, idx: RevIdx) -> usize {
        self.order[idx]
    }

    /// Fails with Alembic's load error, if there is one.
    pub fn check_loadable(&self) -> Result<(), RevisionError> {
        match &self.alembic_error {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    fn empty_set(&self) -> FixedBitSet {
        FixedBitSet::with_capacity(self.revs.len())
    }
}
