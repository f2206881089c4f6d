//! Building the map the way `RevisionMap._revision_map` does, step by step, recording the first
//! error Alembic would raise instead of stopping at it.

use std::sync::Arc;

use fixedbitset::FixedBitSet;
use petgraph::graph::{DiGraph, NodeIndex};
use rayon::prelude::*;

use super::{EdgeKind, IdMap, RevIdx, Revision, RevisionError, RevisionMap, Unreadable};
use crate::revision::{NormalizeError, RevisionRecord, illegal_id_chars};

impl RevisionMap {
    /// Builds the map from records in Alembic's load order.
    pub fn build(records: Vec<RevisionRecord>) -> RevisionMap {
        Self::build_shared(records.into_iter().map(Arc::new).collect())
    }

    /// [`RevisionMap::build`] from records that may be shared with another map.
    pub fn build_shared(records: Vec<Arc<RevisionRecord>>) -> RevisionMap {
        let mut b = Builder::default();
        b.load(&records);
        b.map_labels();
        b.resolve_dependencies();
        b.link();
        b.normalize_dependencies();
        if b.error.is_none() {
            b.detect_cycles();
        }
        b.propagate_labels();
        b.finish(records)
    }
}

#[derive(Default)]
struct Builder {
    revs: Vec<Revision>,
    order: Vec<usize>,
    /// Map order → the object holding that id (the last file loaded with it).
    slots: Vec<RevIdx>,
    index: IdMap<String, RevIdx>,
    labels: Vec<(String, RevIdx)>,
    label_index: IdMap<String, RevIdx>,
    unreadable: Vec<Unreadable>,
    self_loops: Vec<RevIdx>,
    /// Parents named by a branch label: Alembic links them, then fails in cycle detection.
    label_parents: Vec<String>,
    error: Option<RevisionError>,
    warnings: Vec<String>,
    heads: FixedBitSet,
    real_heads: FixedBitSet,
}

impl Builder {
    fn fail(&mut self, error: RevisionError) {
        self.error.get_or_insert(error);
    }

    /// `ScriptDirectory._load_revisions` + `Revision.__init__` for every file, in load order.
    fn load(&mut self, records: &[Arc<RevisionRecord>]) {
        // Coercing every file's identifiers is independent work: do it on all cores.
        let normalized: Vec<_> = records.par_iter().map(|r| r.normalized()).collect();
        // Exact sizes: grown by doubling, these held up to twice the 10,000 revisions' room.
        self.revs.reserve_exact(records.len());
        self.order.reserve_exact(records.len());
        self.slots.reserve_exact(records.len());
        for ((ri, record), n) in records.iter().enumerate().zip(normalized) {
            let n = match n {
                Ok(n) => n,
                Err(error) => {
                    let file = record.path.display().to_string();
                    let alembic = match &error {
                        NormalizeError::NoRevisionId { .. } => RevisionError::BadRevisionId {
                            message: error.to_string(),
                        },
                        _ => RevisionError::Unreadable {
                            file,
                            message: error.to_string(),
                        },
                    };
                    self.fail(alembic);
                    self.unreadable.push(Unreadable { record: ri, error });
                    continue;
                }
            };
            let idx = self.revs.len();
            if n.down.contains(&n.id) {
                self.fail(RevisionError::SelfLoop {
                    revision: n.id.clone(),
                });
                self.self_loops.push(idx);
            } else if n.depends_on.contains(&n.id) {
                self.fail(RevisionError::DependencySelfLoop {
                    revision: n.id.clone(),
                });
                self.self_loops.push(idx);
            }
            if let Some(chars) = illegal_id_chars(&n.id) {
                self.fail(RevisionError::BadRevisionId {
                    message: format!(
                        "Character(s) '{chars}' not allowed in revision identifier '{}'",
                        n.id
                    ),
                });
            }
            let position = match self.index.get(&n.id) {
                Some(&previous) => {
                    self.warnings
                        .push(format!("Revision {} is present more than once", n.id));
                    self.revs[previous].phantom = true;
                    let position = self.order[previous];
                    self.slots[position] = idx;
                    position
                }
                None => {
                    self.slots.push(idx);
                    self.slots.len() - 1
                }
            };
            self.index.insert(n.id.clone(), idx);
            self.order.push(position);
            let message = record
                .docstring
                .as_ref()
                .map(|d| d.message.clone())
                .unwrap_or_default();
            self.revs.push(Revision {
                labels: sorted_unique(&n.branch_labels).into(),
                id: n.id,
                down: n.down,
                depends_on: n.depends_on,
                own_labels: n.branch_labels,
                record: ri,
                phantom: false,
                message,
                parents: Vec::new(),
                missing_parents: Vec::new(),
                resolved_deps: Vec::new(),
                missing_deps: Vec::new(),
                normalized_deps: Vec::new(),
                norm_down: Vec::new(),
                all_down: Vec::new(),
                children: Vec::new(),
                all_children: Vec::new(),
            });
        }
    }

    /// `_map_branch_labels`: a label may not repeat a revision id or another label.
    fn map_labels(&mut self) {
        for idx in 0..self.revs.len() {
            for label in self.revs[idx].own_labels.clone() {
                let taken = self
                    .index
                    .get(&label)
                    .or_else(|| self.label_index.get(&label))
                    .copied();
                if let Some(other) = taken {
                    let error = RevisionError::DuplicateLabel {
                        label: label.clone(),
                        revision: self.revs[idx].id.clone(),
                        other: self.revs[other].id.clone(),
                    };
                    self.fail(error);
                    continue;
                }
                self.label_index.insert(label.clone(), idx);
                self.labels.push((label, idx));
            }
        }
    }

    fn lookup(&self, key: &str) -> Option<RevIdx> {
        self.index
            .get(key)
            .or_else(|| self.label_index.get(key))
            .copied()
    }

    /// `_add_depends_on`: dependencies may name revision ids or branch labels, exactly.
    fn resolve_dependencies(&mut self) {
        for idx in 0..self.revs.len() {
            let mut resolved = Vec::new();
            let mut missing = Vec::new();
            for dep in &self.revs[idx].depends_on {
                match self.lookup(dep) {
                    Some(d) => resolved.push(d),
                    None => missing.push(dep.clone()),
                }
            }
            if let Some(first) = missing.first() {
                let error = RevisionError::Missing {
                    missing: first.clone(),
                    referenced_from: self.describe(idx),
                };
                self.fail(error);
            }
            let rev = &mut self.revs[idx];
            rev.resolved_deps = resolved;
            rev.missing_deps = missing;
        }
    }

    /// `str(Script)` as Alembic prints it in the "referenced from" warning (flags omitted).
    fn describe(&self, idx: RevIdx) -> String {
        let rev = &self.revs[idx];
        let down = if rev.down.is_empty() {
            "<base>".to_string()
        } else {
            rev.down.join(", ")
        };
        format!("{down} -> {}, {}", rev.id, rev.message)
    }

    /// The linking loop of `_revision_map`: children, heads, and missing parents.
    fn link(&mut self) {
        let n = self.revs.len();
        self.heads = FixedBitSet::with_capacity(n);
        self.real_heads = FixedBitSet::with_capacity(n);
        self.heads.insert_range(..);
        self.real_heads.insert_range(..);
        for idx in 0..n {
            let mut parents = Vec::new();
            let mut missing = Vec::new();
            let rev = &self.revs[idx];
            for down in &rev.down {
                if *down == rev.id {
                    continue; // a self-loop, already reported
                }
                if let Some(&p) = self.index.get(down) {
                    parents.push(p);
                } else if let Some(&p) = self.label_index.get(down) {
                    self.label_parents.push(down.clone());
                    parents.push(p);
                } else {
                    missing.push(down.clone());
                }
            }
            let all_down = dedupe(parents.iter().chain(&self.revs[idx].resolved_deps).copied());
            let rev = &mut self.revs[idx];
            rev.parents = dedupe(parents.iter().copied());
            rev.all_down = all_down;
            rev.missing_parents = missing;
        }
        // Only the revision holding an id gets linked; an earlier duplicate stays a phantom.
        for position in 0..self.slots.len() {
            let idx = self.slots[position];
            if let Some(first) = self.revs[idx].missing_parents.first().cloned() {
                let from = self.describe(idx);
                self.warnings.push(format!(
                    "Revision {first} referenced from {from} is not present"
                ));
                self.fail(RevisionError::Missing {
                    missing: first,
                    referenced_from: from,
                });
            }
            for k in 0..self.revs[idx].all_down.len() {
                let p = self.revs[idx].all_down[k];
                let versioned = self.revs[idx].parents.contains(&p);
                self.revs[p].all_children.push(idx);
                self.real_heads.set(p, false);
                if versioned {
                    self.revs[p].children.push(idx);
                    self.heads.set(p, false);
                }
            }
        }
    }

    /// `_normalize_depends_on`: drop dependencies already declared by a `down_revision` ancestor.
    ///
    /// Walking every revision's ancestry is quadratic on long histories, so each revision's
    /// inherited dependencies are carried down once, parents first, as a bitmask over the few
    /// revisions anything depends on. Revisions a cycle keeps out of that order fall back to a walk.
    fn normalize_dependencies(&mut self) {
        let n = self.revs.len();
        let mut target_bit: IdMap<RevIdx, usize> = IdMap::default();
        for rev in &self.revs {
            for &d in &rev.resolved_deps {
                let next = target_bit.len();
                target_bit.entry(d).or_insert(next);
            }
        }
        if target_bit.is_empty() {
            for rev in &mut self.revs {
                rev.norm_down = rev.parents.clone();
            }
            return;
        }
        let words = target_bit.len().div_ceil(64);
        let own = |rev: &Revision, mask: &mut [u64]| {
            for d in &rev.resolved_deps {
                let bit = target_bit[d];
                mask[bit / 64] |= 1 << (bit % 64);
            }
        };
        // inherited[r]: dependencies declared by r's proper `down_revision` ancestors.
        let mut inherited = vec![0u64; n * words];
        let mut done = FixedBitSet::with_capacity(n);
        let mut waiting: Vec<usize> = self.revs.iter().map(|r| r.parents.len()).collect();
        let mut ready: Vec<RevIdx> = (0..n).filter(|&r| waiting[r] == 0).collect();
        let mut scratch = vec![0u64; words];
        while let Some(r) = ready.pop() {
            done.insert(r);
            scratch.fill(0);
            for &p in &self.revs[r].parents {
                own(&self.revs[p], &mut scratch);
                for w in 0..words {
                    scratch[w] |= inherited[p * words + w];
                }
            }
            inherited[r * words..(r + 1) * words].copy_from_slice(&scratch);
            for &c in &self.revs[r].children {
                waiting[c] -= 1;
                if waiting[c] == 0 {
                    ready.push(c);
                }
            }
        }
        for idx in 0..n {
            let rev = &self.revs[idx];
            if rev.resolved_deps.is_empty() {
                self.revs[idx].norm_down = rev.parents.clone();
                continue;
            }
            // Phantoms and revisions on a cycle were not reached in parents-first order.
            let all_parents_done = rev.parents.iter().all(|&p| done.contains(p));
            let implied = |d: RevIdx| -> bool {
                let bit = target_bit[&d];
                if done.contains(idx) || all_parents_done {
                    let mut mask = vec![0u64; words];
                    for &p in &rev.parents {
                        own(&self.revs[p], &mut mask);
                        for w in 0..words {
                            mask[w] |= inherited[p * words + w];
                        }
                    }
                    mask[bit / 64] & (1 << (bit % 64)) != 0
                } else {
                    self.declared_by_ancestor(idx, d)
                }
            };
            let normalized = dedupe(rev.resolved_deps.iter().copied().filter(|&d| !implied(d)));
            let norm_down = dedupe(rev.parents.iter().chain(&normalized).copied());
            let rev = &mut self.revs[idx];
            rev.norm_down = norm_down;
            rev.normalized_deps = normalized;
        }
    }

    /// Whether a proper `down_revision` ancestor of `idx` declares the dependency `d`.
    fn declared_by_ancestor(&self, idx: RevIdx, d: RevIdx) -> bool {
        let mut seen = FixedBitSet::with_capacity(self.revs.len());
        let mut stack = self.revs[idx].parents.clone();
        while let Some(a) = stack.pop() {
            if seen.put(a) {
                continue;
            }
            // Alembic skips the revision itself, even when a cycle leads back to it.
            if a != idx && self.revs[a].resolved_deps.contains(&d) {
                return true;
            }
            stack.extend(&self.revs[a].parents);
        }
        false
    }

    /// `_detect_cycles`: everything must lie between a head and a base, first along `down_revision`
    /// links, then along dependencies too. Set operations are on ids, as in Alembic.
    fn detect_cycles(&mut self) {
        if self.slots.is_empty() {
            return;
        }
        if let Some(label) = self.label_parents.first() {
            // Alembic links a down_revision naming a branch label, then its cycle check looks
            // the label up among revision ids only and fails with a KeyError.
            let error = RevisionError::Missing {
                missing: label.clone(),
                referenced_from: "a down_revision (branch labels are not allowed there)".into(),
            };
            self.fail(error);
            return;
        }
        let n = self.revs.len();
        let bases: Vec<RevIdx> = (0..n).filter(|&i| self.revs[i].down.is_empty()).collect();
        let real_bases: Vec<RevIdx> = bases
            .iter()
            .copied()
            .filter(|&i| self.revs[i].depends_on.is_empty())
            .collect();
        let heads: Vec<RevIdx> = self.heads.ones().collect();
        let real_heads: Vec<RevIdx> = self.real_heads.ones().collect();
        let all_ids = || {
            self.slots
                .iter()
                .map(|&i| self.revs[i].id.clone())
                .collect()
        };
        if heads.is_empty() || bases.is_empty() {
            let revisions = all_ids();
            self.fail(RevisionError::Cycle { revisions });
            return;
        }
        if let Some(revisions) = self.outside(&heads, &bases, |r| &r.parents, |r| &r.children) {
            self.fail(RevisionError::Cycle { revisions });
            return;
        }
        if real_heads.is_empty() || real_bases.is_empty() {
            let revisions = all_ids();
            self.fail(RevisionError::DependencyCycle { revisions });
            return;
        }
        if let Some(revisions) = self.outside(
            &real_heads,
            &real_bases,
            |r| &r.all_down,
            |r| &r.all_children,
        ) {
            self.fail(RevisionError::DependencyCycle { revisions });
        }
    }

    /// Ids (sorted) that are not both an ancestor of a head and a descendant of a base.
    fn outside(
        &self,
        heads: &[RevIdx],
        bases: &[RevIdx],
        down: impl Fn(&Revision) -> &Vec<RevIdx>,
        up: impl Fn(&Revision) -> &Vec<RevIdx>,
    ) -> Option<Vec<String>> {
        let reach = |starts: &[RevIdx], next: &dyn Fn(&Revision) -> &Vec<RevIdx>| {
            let mut seen = FixedBitSet::with_capacity(self.revs.len());
            let mut ids = FixedBitSet::with_capacity(self.slots.len());
            let mut stack = Vec::with_capacity(64);
            for &r in starts {
                if !seen.put(r) {
                    stack.push(r);
                }
            }
            while let Some(r) = stack.pop() {
                ids.insert(self.order[r]);
                for &x in next(&self.revs[r]) {
                    if !seen.put(x) {
                        stack.push(x);
                    }
                }
            }
            ids
        };
        let mut space = reach(heads, &down);
        space.intersect_with(&reach(bases, &up));
        let mut outside: Vec<String> = (0..self.slots.len())
            .filter(|&p| !space.contains(p))
            .map(|p| self.revs[self.slots[p]].id.clone())
            .collect();
        outside.sort();
        (!outside.is_empty()).then_some(outside)
    }

    /// `_add_branches`: labels spread to every descendant and, when the descendants form a single
    /// chain, from its tip down past the labelled revision until a real branch point or merge point.
    /// Label sets are bitmasks over the distinct labels: a label can reach thousands of revisions.
    fn propagate_labels(&mut self) {
        let mut names: Vec<String> = Vec::new();
        for rev in &self.revs {
            for l in &rev.own_labels {
                if !names.contains(l) {
                    names.push(l.clone());
                }
            }
        }
        if names.is_empty() {
            return;
        }
        let n = self.revs.len();
        let words = names.len().div_ceil(64);
        let mut masks = vec![0u64; n * words];
        for (i, rev) in self.revs.iter().enumerate() {
            for l in &rev.own_labels {
                let bit = names.iter().position(|x| x == l).unwrap_or(0);
                masks[i * words + bit / 64] |= 1 << (bit % 64);
            }
        }
        let mut seen = FixedBitSet::with_capacity(n);
        let mut walked = FixedBitSet::with_capacity(n);
        for idx in 0..n {
            if self.revs[idx].own_labels.is_empty() {
                continue;
            }
            let labels: Vec<u64> = masks[idx * words..(idx + 1) * words].to_vec();
            let mut add = |r: usize| {
                for (w, m) in labels.iter().enumerate() {
                    masks[r * words + w] |= m;
                }
            };
            seen.clear();
            let mut stack = vec![idx];
            let mut chain = true;
            let mut last = idx;
            while let Some(r) = stack.pop() {
                if seen.put(r) {
                    continue;
                }
                add(r);
                last = r;
                chain &= self.revs[r].children.len() <= 1;
                stack.extend(&self.revs[r].children);
            }
            if !chain {
                // The walk down from a leaf stops at the fork: it only touches descendants.
                continue;
            }
            walked.clear();
            let mut node = last;
            loop {
                let rev = &self.revs[node];
                if rev.all_children.len() > 1 || rev.is_merge_point() || walked.put(node) {
                    break;
                }
                add(node);
                match rev.parents.first() {
                    Some(&p) if rev.down.len() == 1 => node = p,
                    _ => break,
                }
            }
        }
        let mut interned: IdMap<&[u64], Arc<[String]>> = IdMap::default();
        for (i, rev) in self.revs.iter_mut().enumerate() {
            let mask = &masks[i * words..(i + 1) * words];
            if mask.iter().all(|w| *w == 0) {
                continue;
            }
            let labels = interned.entry(mask).or_insert_with(|| {
                let mut labels: Vec<String> = names
                    .iter()
                    .enumerate()
                    .filter(|(b, _)| mask[b / 64] & (1 << (b % 64)) != 0)
                    .map(|(_, l)| l.clone())
                    .collect();
                labels.sort();
                labels.into()
            });
            rev.labels = Arc::clone(labels);
        }
    }

    fn finish(mut self, records: Vec<Arc<RevisionRecord>>) -> RevisionMap {
        // Grown by pushes, each of these held room for four where one or two is usual: 1.4 MB
        // unused at 10,000 revisions, for as long as the map lives.
        for r in &mut self.revs {
            for v in [
                &mut r.parents,
                &mut r.resolved_deps,
                &mut r.normalized_deps,
                &mut r.norm_down,
                &mut r.all_down,
                &mut r.children,
                &mut r.all_children,
            ] {
                v.shrink_to_fit();
            }
        }
        let n = self.revs.len();
        let edges = (self.revs.iter())
            .filter(|r| !r.phantom)
            .map(|r| r.parents.len() + r.resolved_deps.len())
            .sum();
        let mut graph: DiGraph<RevIdx, EdgeKind> = DiGraph::with_capacity(n, edges);
        for i in 0..n {
            graph.add_node(i);
        }
        for (i, rev) in self.revs.iter().enumerate() {
            if rev.phantom {
                continue;
            }
            for &p in &rev.parents {
                graph.add_edge(NodeIndex::new(i), NodeIndex::new(p), EdgeKind::Down);
            }
            for &d in &rev.resolved_deps {
                graph.add_edge(NodeIndex::new(i), NodeIndex::new(d), EdgeKind::DependsOn);
            }
        }
        let bases: Vec<RevIdx> = (0..n).filter(|&i| self.revs[i].down.is_empty()).collect();
        let real_bases = bases
            .iter()
            .copied()
            .filter(|&i| self.revs[i].depends_on.is_empty())
            .collect();
        RevisionMap {
            records,
            heads: self.heads.ones().collect(),
            real_heads: self.real_heads.ones().collect(),
            bases,
            real_bases,
            revs: self.revs,
            order: self.order,
            index: self.index,
            labels: self.labels,
            label_index: self.label_index,
            unreadable: self.unreadable,
            self_loops: self.self_loops,
            alembic_error: self.error,
            warnings: self.warnings,
            graph,
        }
    }
}

fn sorted_unique(labels: &[String]) -> Vec<String> {
    let mut v = labels.to_vec();
    v.sort();
    v.dedup();
    v
}

fn dedupe(items: impl Iterator<Item = RevIdx>) -> Vec<RevIdx> {
    let mut out: Vec<RevIdx> = Vec::new();
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}
