//! Traversals over the map and Alembic's topological sort (`RevisionMap._topological_sort`).

use fixedbitset::FixedBitSet;

use super::ancestry::Ancestry;
use super::{RevIdx, Revision, RevisionError, RevisionMap};

/// One line of Alembic's topological sort: where its ancestor set was last taken, and the set
/// itself when the graph has a cycle (then the compact sets are not the transitive closure).
struct Line {
    base: RevIdx,
    set: Option<FixedBitSet>,
}

/// Which links a traversal follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Links {
    /// `down_revision` / `nextrev` only.
    Versioned,
    /// Downwards: `_normalized_down_revisions`; upwards: `_all_nextrev`.
    WithDependencies,
}

impl RevisionMap {
    fn down_links(&self, r: RevIdx, links: Links) -> &[RevIdx] {
        let rev: &Revision = &self.revs[r];
        match links {
            Links::Versioned => &rev.parents,
            Links::WithDependencies => &rev.norm_down,
        }
    }

    fn up_links(&self, r: RevIdx, links: Links) -> &[RevIdx] {
        let rev = &self.revs[r];
        match links {
            Links::Versioned => &rev.children,
            Links::WithDependencies => &rev.all_children,
        }
    }

    /// The starts and all their ancestors.
    pub(crate) fn ancestors(&self, starts: &[RevIdx], links: Links) -> FixedBitSet {
        self.reach(starts, |r| self.down_links(r, links))
    }

    /// The starts and all their descendants.
    pub(crate) fn descendants(&self, starts: &[RevIdx], links: Links) -> FixedBitSet {
        self.reach(starts, |r| self.up_links(r, links))
    }

    fn reach<'a>(
        &'a self,
        starts: &[RevIdx],
        next: impl Fn(RevIdx) -> &'a [RevIdx],
    ) -> FixedBitSet {
        let mut seen = self.empty_set();
        let mut stack = Vec::with_capacity(64);
        for &r in starts {
            if !seen.put(r) {
                stack.push(r);
            }
        }
        while let Some(r) = stack.pop() {
            for &x in next(r) {
                if !seen.put(x) {
                    stack.push(x);
                }
            }
        }
        seen
    }

    /// Ancestors (with dependencies) of the targets, refusing targets that are ancestors of one
    /// another: `_get_ancestor_nodes(..., check=True)`, including which target Alembic names.
    pub(crate) fn ancestors_checked(
        &self,
        targets: &[RevIdx],
    ) -> Result<FixedBitSet, RevisionError> {
        let mut seen = self.empty_set();
        let mut target_set = self.empty_set();
        for &t in targets {
            target_set.insert(t);
        }
        for &t in targets {
            let mut per_target = self.empty_set();
            let mut stack = vec![t];
            while let Some(r) = stack.pop() {
                per_target.insert(r);
                if !seen.put(r) {
                    stack.extend_from_slice(&self.revs[r].norm_down);
                }
            }
            per_target.intersect_with(&target_set);
            per_target.set(t, false);
            if per_target.count_ones(..) > 0 {
                let mut others: Vec<RevIdx> = per_target.ones().collect();
                others.sort_by_key(|&o| self.order[o]);
                return Err(RevisionError::Overlap {
                    target: self.revs[t].id.clone(),
                    others: self.ids(&others),
                });
            }
        }
        Ok(seen)
    }

    /// Whether `target` is an ancestor or descendant of (or is) any of `against`.
    pub(crate) fn shares_lineage(&self, target: RevIdx, against: &[RevIdx], links: Links) -> bool {
        if against.is_empty() {
            return true;
        }
        let mut related = self.descendants(&[target], links);
        related.union_with(&self.ancestors(&[target], links));
        against.iter().any(|&a| related.contains(a))
    }

    /// The id's current holder: a phantom (an earlier duplicate) stands for the revision holding
    /// its id, as every Alembic lookup goes through the map by id.
    pub(crate) fn holder(&self, idx: RevIdx) -> RevIdx {
        self.index.get(&self.revs[idx].id).copied().unwrap_or(idx)
    }

    /// Alembic's topological sort: children before parents, walking one line at a time and
    /// switching lines exactly where Alembic does, so the order is Alembic's own.
    ///
    /// On some cyclic graphs Alembic's own cycle check passes and this walk then either finishes
    /// (an answer to reproduce), switches lines forever (Alembic hangs), or ends with revisions
    /// left over (Alembic's `AssertionError`); the last two are errors here.
    pub(crate) fn topological_sort(
        &self,
        mut todo: FixedBitSet,
        heads: &[RevIdx],
    ) -> Result<Vec<RevIdx>, RevisionError> {
        let mut current: Vec<RevIdx> = Vec::new();
        for &h in heads {
            if todo.contains(h) && !current.contains(&h) {
                current.push(h);
            }
        }
        current.sort_by_key(|&h| self.order[h]);
        // Alembic keeps, for each line, the ancestors of where the line last branched or merged
        // (minus what the line itself walked, which is never asked about again: a walked
        // revision is emitted and never a candidate after). Recomputing them at every merge was
        // O(revisions) each time, a third of `status` at 10,000 revisions; on an acyclic graph
        // the compact ancestor sets answer the same question for every line's base at once.
        let (order, acyclic) = self.run_order();
        let reach = acyclic.then(|| Ancestry::new(&order, |r| self.run_before(r)));
        let line = |base: RevIdx| Line {
            base,
            set: reach
                .is_none()
                .then(|| self.ancestors(&[base], Links::WithDependencies)),
        };
        let has = |l: &Line, c: RevIdx| match &l.set {
            Some(set) => set.contains(c),
            None => c == l.base || reach.as_ref().is_some_and(|a| a.contains(l.base, c)),
        };
        let mut ancestors: Vec<Line> = current.iter().map(|&h| line(h)).collect();
        let mut output = Vec::with_capacity(todo.count_ones(..));
        let mut i = 0;
        // A switch changes nothing but the line being walked, and always to the same line for
        // the same state: more switches in a row than there are lines means a loop.
        let mut switches = 0;
        while !current.is_empty() {
            let candidate = current[i];
            if let Some(j) = (0..ancestors.len()).find(|&j| j != i && has(&ancestors[j], candidate))
            {
                i = j;
                switches += 1;
                if switches > current.len() {
                    let mut ids: Vec<String> =
                        current.iter().map(|&c| self.revs[c].id.clone()).collect();
                    ids.sort();
                    return Err(RevisionError::UndetectedCycle { revisions: ids });
                }
                continue;
            }
            switches = 0;
            if todo.contains(candidate) {
                output.push(candidate);
                todo.set(candidate, false);
            }
            let rev = &self.revs[candidate];
            let add: Vec<RevIdx> = rev
                .norm_down
                .iter()
                .copied()
                .filter(|&r| todo.contains(r) && !current.contains(&r))
                .collect();
            if add.is_empty() {
                current.remove(i);
                ancestors.remove(i);
                i = i.saturating_sub(1);
            } else if rev.normalized_deps.is_empty() && rev.down.len() == 1 {
                current[i] = add[0];
                if let Some(set) = &mut ancestors[i].set {
                    set.set(candidate, false);
                }
            } else {
                current[i] = add[0];
                ancestors[i] = line(add[0]);
                for &extra in &add[1..] {
                    current.push(extra);
                    ancestors.push(line(extra));
                }
            }
        }
        if todo.count_ones(..) > 0 {
            let left: Vec<RevIdx> = todo.ones().collect();
            return Err(RevisionError::Crash {
                message: format!(
                    "the revisions {} cannot be ordered (they are caught in a cycle)",
                    self.ids(&left).join(", ")
                ),
            });
        }
        Ok(output)
    }
}

impl RevisionMap {
    /// `down_revision` parents and resolved `depends_on`: what must run before a revision.
    pub(crate) fn run_before(&self, r: RevIdx) -> impl Iterator<Item = RevIdx> + '_ {
        let rev = &self.revs[r];
        rev.parents
            .iter()
            .chain(&rev.resolved_deps)
            .copied()
            .filter(move |&p| p != r && p < self.revs.len())
    }

    /// Parents before children (Kahn, ties in load order), and whether that is every revision:
    /// revisions on a cycle come last, in load order, so a broken graph still yields each once.
    pub(crate) fn run_order(&self) -> (Vec<RevIdx>, bool) {
        let n = self.revs.len();
        let mut pending = vec![0usize; n];
        let mut downs: Vec<Vec<RevIdx>> = vec![Vec::new(); n];
        for (r, pending_r) in pending.iter_mut().enumerate() {
            let mut seen: Vec<RevIdx> = self.run_before(r).collect();
            seen.sort_unstable();
            seen.dedup();
            *pending_r = seen.len();
            for p in seen {
                downs[p].push(r);
            }
        }
        let mut order = Vec::with_capacity(n);
        let mut queue: std::collections::VecDeque<RevIdx> =
            (0..n).filter(|&r| pending[r] == 0).collect();
        let mut placed = FixedBitSet::with_capacity(n);
        while let Some(r) = queue.pop_front() {
            placed.insert(r);
            order.push(r);
            for &c in &downs[r] {
                pending[c] -= 1;
                if pending[c] == 0 {
                    queue.push_back(c);
                }
            }
        }
        let acyclic = order.len() == n;
        order.extend((0..n).filter(|&r| !placed.contains(r)));
        (order, acyclic)
    }

    pub(crate) fn versioned_ancestors(&self, starts: &[RevIdx]) -> FixedBitSet {
        self.ancestors(starts, Links::Versioned)
    }
    pub(crate) fn ancestors_with_deps(&self, starts: &[RevIdx]) -> FixedBitSet {
        self.ancestors(starts, Links::WithDependencies)
    }
    pub(crate) fn descendants_with_deps(&self, starts: &[RevIdx]) -> FixedBitSet {
        self.descendants(starts, Links::WithDependencies)
    }
    pub(crate) fn normalized_down(&self, r: RevIdx) -> &[RevIdx] {
        &self.revs[r].norm_down
    }
}

impl RevisionMap {
    /// How many revisions descend from `r` (itself included), following every link.
    pub fn descendants_count(&self, r: RevIdx) -> usize {
        self.descendants(&[r], Links::WithDependencies)
            .count_ones(..)
    }
}
