//! Which revisions must run before which, stored in about the space the history needs.
//!
//! One n-bit set per revision is n² bits: 12.6 MB at 10,000 revisions, 50 MB at 20,000, and
//! evidence held it twice. But with revisions numbered in a depth-first order from the longest
//! line (parents before children), a revision's ancestors are nearly one run of numbers: in a
//! history of short branches merged back, everything older than the oldest branch still open when
//! it was written. So each set is kept as a run of 64-number words that are all in it, then the
//! bits of a small window after the run; nothing outside. Separate roots are numbered one after
//! the other, so a second line's sets are a run too. A window is never longer than a dense set.
//!
//! The sets are the single pass over the topological order that the dense sets were: a
//! revision's set is the union of its parents and their sets as computed so far. On the acyclic
//! part that is the transitive closure; revisions on or after a cycle (last in that order) get
//! whatever the pass gives them, parents not yet visited contributing only themselves. The
//! numbering only decides how compact the sets are, never what they hold.

use fixedbitset::FixedBitSet;

use crate::graph::RevIdx;

const BITS: usize = u64::BITS as usize;

/// For each revision, every revision that must run before it.
pub(crate) struct Ancestry {
    /// Revision → its number.
    label: Vec<u32>,
    /// Number → revision.
    at: Vec<u32>,
    /// By revision.
    sets: Vec<Set>,
    words: Vec<u64>,
}

/// Words `run_start..run_end` are full, then `len` words from `words[offset]`; the rest empty.
#[derive(Clone, Copy, Default)]
struct Set {
    run_start: u32,
    run_end: u32,
    len: u32,
    offset: usize,
}

impl Set {
    fn end(&self) -> usize {
        self.run_end as usize + self.len as usize
    }
}

/// Parents as numbers: `up[starts[r]..starts[r + 1]]`.
struct Parents {
    starts: Vec<u32>,
    up: Vec<u32>,
}

impl Parents {
    fn of(&self, r: RevIdx) -> &[u32] {
        &self.up[self.starts[r] as usize..self.starts[r + 1] as usize]
    }
}

impl Ancestry {
    /// `order` holds every revision once, parents before children except on cycles; `ups` gives a
    /// revision's parents (repeats allowed, not the revision itself).
    pub(crate) fn new<I>(order: &[RevIdx], ups: impl Fn(RevIdx) -> I) -> Ancestry
    where
        I: IntoIterator<Item = RevIdx>,
    {
        let n = order.len();
        let mut parents = Parents {
            starts: Vec::with_capacity(n + 1),
            up: Vec::with_capacity(n + n / 4),
        };
        parents.starts.push(0);
        for r in 0..n {
            parents.up.extend(ups(r).into_iter().map(|q| q as u32));
            parents.starts.push(parents.up.len() as u32);
        }
        let label = numbering(order, &parents);
        let mut a = Ancestry {
            at: {
                let mut at = vec![0u32; n];
                for (r, &l) in label.iter().enumerate() {
                    at[l as usize] = r as u32;
                }
                at
            },
            label,
            sets: vec![Set::default(); n],
            words: Vec::new(),
        };
        let mut runs: Vec<(usize, usize)> = Vec::new();
        let mut window: Vec<u64> = Vec::new();
        for &r in order {
            let ps = parents.of(r);
            // Parents not visited yet (on a cycle) still have an empty set: they add only
            // themselves.
            let sets = || {
                ps.iter()
                    .map(|&q| a.sets[q as usize])
                    .filter(|s| s.end() > s.run_start as usize)
            };
            let own = || ps.iter().map(|&q| a.label[q as usize] as usize);
            let first = sets()
                .map(|s| s.run_start as usize)
                .chain(own().map(|l| l / BITS))
                .min()
                .unwrap_or(0);
            // The parents' runs merged from `first` are full without looking at a bit.
            runs.clear();
            runs.extend(
                sets()
                    .filter(|s| s.run_start < s.run_end)
                    .map(|s| (s.run_start as usize, s.run_end as usize)),
            );
            runs.sort_unstable();
            let mut full_to = first;
            for &(s, e) in &runs {
                if s <= full_to {
                    full_to = full_to.max(e);
                }
            }
            let hi = sets()
                .map(|s| s.end())
                .chain(own().map(|l| l / BITS + 1))
                .max()
                .unwrap_or(0)
                .max(full_to);
            window.clear();
            window.resize(hi - full_to, 0);
            for s in sets() {
                for w in full_to.max(s.run_start as usize)..s.run_end as usize {
                    window[w - full_to] = !0;
                }
                let bits = &a.words[s.offset..s.offset + s.len as usize];
                for (w, &word) in (s.run_end as usize..).zip(bits) {
                    if w >= full_to {
                        window[w - full_to] |= word;
                    }
                }
            }
            for l in own().filter(|l| l / BITS >= full_to) {
                window[l / BITS - full_to] |= 1 << (l % BITS);
            }
            // No merged run: the run starts at the first full word, past any empty ones.
            let (run_start, zeros) = if full_to > first {
                (first, 0)
            } else {
                let zeros = window.iter().take_while(|&&w| w == 0).count();
                (full_to + zeros, zeros)
            };
            let full = window[zeros..].iter().take_while(|&&w| w == !0).count();
            let kept = &window[zeros + full..];
            let len = kept.iter().rposition(|&w| w != 0).map_or(0, |i| i + 1);
            a.sets[r] = Set {
                run_start: run_start as u32,
                run_end: (full_to + zeros + full) as u32,
                len: len as u32,
                offset: a.words.len(),
            };
            a.words.extend_from_slice(&kept[..len]);
        }
        a.words.shrink_to_fit();
        a
    }

    /// Word `w` of `r`'s set.
    fn word(&self, r: RevIdx, w: usize) -> u64 {
        let s = self.sets[r];
        if w < s.run_start as usize {
            0
        } else if w < s.run_end as usize {
            !0
        } else {
            self.window(r)
                .get(w - s.run_end as usize)
                .copied()
                .unwrap_or(0)
        }
    }

    fn window(&self, r: RevIdx) -> &[u64] {
        let s = self.sets[r];
        &self.words[s.offset..s.offset + s.len as usize]
    }

    /// The numbers in `r`'s set.
    fn numbers(&self, r: RevIdx) -> impl Iterator<Item = usize> + '_ {
        let s = self.sets[r];
        (s.run_start as usize * BITS..s.run_end as usize * BITS).chain(self.window_numbers(r))
    }

    /// The numbers in `r`'s set past its run.
    fn window_numbers(&self, r: RevIdx) -> impl Iterator<Item = usize> + '_ {
        let from = self.sets[r].run_end as usize;
        self.window(r).iter().enumerate().flat_map(move |(i, &w)| {
            let at = (from + i) * BITS;
            let mut w = w;
            std::iter::from_fn(move || {
                (w != 0).then(|| {
                    let b = w.trailing_zeros() as usize;
                    w &= w - 1;
                    at + b
                })
            })
        })
    }

    /// `d` must run before `r`.
    pub(crate) fn contains(&self, r: RevIdx, d: RevIdx) -> bool {
        let l = self.label[d] as usize;
        self.word(r, l / BITS) >> (l % BITS) & 1 == 1
    }

    /// How many revisions must run before `r`.
    pub(crate) fn count(&self, r: RevIdx) -> usize {
        let s = self.sets[r];
        let ones: u32 = self.window(r).iter().map(|w| w.count_ones()).sum();
        BITS * (s.run_end - s.run_start) as usize + ones as usize
    }

    /// The revisions that must run before `r`, in no useful order.
    pub(crate) fn ancestors(&self, r: RevIdx) -> impl Iterator<Item = RevIdx> + '_ {
        self.numbers(r).map(|l| self.at[l] as RevIdx)
    }

    /// Some revision must run before both `a` and `b`.
    pub(crate) fn intersects(&self, a: RevIdx, b: RevIdx) -> bool {
        let (x, y) = (self.sets[a], self.sets[b]);
        let from = x.run_start.max(y.run_start) as usize;
        (from..x.end().min(y.end())).any(|w| self.word(a, w) & self.word(b, w) != 0)
    }

    /// The seeds and their ancestors. Precisely, visiting revisions in reverse `order` (as given
    /// to [`Ancestry::new`]): a revision is marked when `seeds` holds it, and a marked revision
    /// marks its ancestors (which, but on cycles, come later in the visit).
    pub(crate) fn with_ancestors(&self, order: &[RevIdx], seeds: &FixedBitSet) -> FixedBitSet {
        let n = self.at.len();
        let mut marked = FixedBitSet::with_capacity(n);
        for &r in order.iter().rev() {
            let l = self.label[r] as usize;
            if seeds.contains(r) {
                marked.insert(l);
            }
            if !marked.contains(l) {
                continue;
            }
            let s = self.sets[r];
            marked.insert_range(s.run_start as usize * BITS..s.run_end as usize * BITS);
            marked.extend(self.window_numbers(r));
        }
        let mut by_rev = FixedBitSet::with_capacity(n);
        by_rev.extend(marked.ones().map(|l| self.at[l] as RevIdx));
        by_rev
    }

    /// Words of window kept, for measuring.
    #[cfg(test)]
    pub(crate) fn window_words(&self) -> usize {
        self.words.len()
    }
}

/// Numbers revisions parents first, depth-first from the heads, deepest head first: each line's
/// revisions get consecutive numbers, and a branch merged back only interleaves with the stretch
/// of main line written while it was open.
fn numbering(order: &[RevIdx], parents: &Parents) -> Vec<u32> {
    let n = order.len();
    let mut depth = vec![0u32; n];
    let mut has_child = FixedBitSet::with_capacity(n);
    for &r in order {
        let ps = parents.of(r);
        depth[r] = 1 + ps.iter().map(|&q| depth[q as usize]).max().unwrap_or(0);
        has_child.extend(ps.iter().map(|&q| q as usize));
    }
    let mut starts: Vec<RevIdx> = order
        .iter()
        .copied()
        .filter(|&r| !has_child.contains(r))
        .collect();
    starts.sort_by_key(|&r| std::cmp::Reverse(depth[r]));
    let mut label = vec![u32::MAX; n];
    let mut entered = FixedBitSet::with_capacity(n);
    let mut next = 0u32;
    let mut stack: Vec<(RevIdx, usize)> = Vec::new();
    // Revisions no head reaches (on a cycle) follow, in order.
    for &start in starts.iter().chain(order) {
        if entered.put(start) {
            continue;
        }
        stack.push((start, 0));
        while let Some((r, i)) = stack.last_mut() {
            let r = *r;
            if let Some(&q) = parents.of(r).get(*i) {
                *i += 1;
                if !entered.put(q as usize) {
                    stack.push((q as usize, 0));
                }
            } else {
                stack.pop();
                label[r] = next;
                next += 1;
            }
        }
    }
    label
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::RevisionMap;
    use crate::revision::read::read_source;
    use rand::rngs::StdRng;
    use rand::seq::SliceRandom;
    use rand::{Rng, SeedableRng};

    /// What evidence kept before: one n-bit set per revision, filled in the same single pass.
    fn naive<I>(order: &[RevIdx], ups: impl Fn(RevIdx) -> I) -> Vec<FixedBitSet>
    where
        I: IntoIterator<Item = RevIdx>,
    {
        let n = order.len();
        let mut anc = vec![FixedBitSet::with_capacity(n); n];
        for &r in order {
            let mut set = FixedBitSet::with_capacity(n);
            for p in ups(r) {
                set.union_with(&anc[p]);
                set.insert(p);
            }
            anc[r] = set;
        }
        anc
    }

    fn tuple(ids: &[String]) -> String {
        if ids.is_empty() {
            return "None".into();
        }
        let items: String = ids.iter().map(|d| format!("'{d}', ")).collect();
        format!("({items})")
    }

    /// How [`random_map`] draws parents.
    #[derive(Clone, Copy, PartialEq)]
    enum Shape {
        /// Anywhere before.
        Tangle,
        /// Short branches off a main line merged back into it, as teams work, and a second root
        /// a third of the way with a line of its own.
        Team,
        /// Up to eight roots, each a line, now and then merging some revision of another:
        /// sets of several runs.
        Lines,
    }

    /// `n` revisions, shuffled into load order, with some depends_on. `noisy` adds further roots,
    /// parents that come later (cycles), missing parents, self-dependencies and repeated ids.
    fn random_map(rng: &mut StdRng, n: usize, shape: Shape, noisy: bool) -> RevisionMap {
        let id = |i: usize| format!("r{i}");
        let mut lines: Vec<usize> = vec![0];
        // Lines: every revision of each.
        let mut members: Vec<Vec<usize>> = vec![vec![0]];
        // (line, tip)
        let mut open: Vec<(usize, usize)> = Vec::new();
        let mut sources = Vec::new();
        for i in 0..n {
            let mut down: Vec<String> = Vec::new();
            let root = i == 0
                || (shape == Shape::Team && i == n / 3)
                || (noisy && rng.random_range(0..12) == 0);
            if root {
                if shape == Shape::Team && i == n / 3 {
                    lines.push(i);
                }
            } else if shape == Shape::Tangle {
                for _ in 0..rng.random_range(1..4) {
                    down.push(id(rng.random_range(0..i)));
                }
            } else if shape == Shape::Lines {
                let k = rng.random_range(0..members.len());
                if members.len() < 8 && rng.random_range(0..40) == 0 {
                    members.push(vec![i]);
                } else {
                    down.push(id(*members[k].last().expect("a root")));
                    if rng.random_range(0..15) == 0 {
                        let other = &members[rng.random_range(0..members.len())];
                        down.push(id(other[rng.random_range(0..other.len())]));
                    }
                    members[k].push(i);
                }
            } else {
                let k = if rng.random_range(0..5) == 0 {
                    rng.random_range(0..lines.len())
                } else {
                    0
                };
                let mine: Vec<usize> = (0..open.len()).filter(|&b| open[b].0 == k).collect();
                match rng.random_range(0..10) {
                    4..=5 if !mine.is_empty() => {
                        let (_, tip) = open.swap_remove(mine[rng.random_range(0..mine.len())]);
                        down.extend([id(lines[k]), id(tip)]);
                        lines[k] = i;
                    }
                    6..=8 if !open.is_empty() => {
                        let b = rng.random_range(0..open.len());
                        down.push(id(open[b].1));
                        open[b].1 = i;
                    }
                    9 => {
                        down.push(id(lines[k]));
                        open.push((k, i));
                    }
                    _ => {
                        down.push(id(lines[k]));
                        lines[k] = i;
                    }
                }
            }
            let mut deps: Vec<String> = Vec::new();
            if i > 0 && rng.random_range(0..20) == 0 {
                deps.push(id(rng.random_range(0..i)));
            }
            match rng.random_range(0..60) {
                _ if !noisy => {}
                0 => down.push(id(rng.random_range(i..n))),
                1 => deps.push(id(rng.random_range(i..n))),
                2 => down.push("ghost".into()),
                3 => deps.push(id(i)),
                _ => {}
            }
            let rev = if noisy && rng.random_range(0..80) == 0 && i > 0 {
                id(rng.random_range(0..i))
            } else {
                id(i)
            };
            sources.push(format!(
                "revision = '{rev}'\ndown_revision = {}\ndepends_on = {}\n",
                tuple(&down),
                tuple(&deps)
            ));
        }
        sources.shuffle(rng);
        let records = sources
            .iter()
            .enumerate()
            .map(|(k, s)| read_source(std::path::Path::new(&format!("v/{k}.py")), s.as_bytes()))
            .collect();
        RevisionMap::build(records)
    }

    /// Every question [`Ancestry`] answers, against the dense sets; `contains` for `pairs` random
    /// pairs per revision, or all.
    fn check<I>(order: &[RevIdx], ups: impl Fn(RevIdx) -> I + Copy, pairs: usize, rng: &mut StdRng)
    where
        I: IntoIterator<Item = RevIdx>,
    {
        let n = order.len();
        let dense = naive(order, ups);
        let a = Ancestry::new(order, ups);
        for (r, set) in dense.iter().enumerate() {
            if pairs >= n {
                for d in 0..n {
                    assert_eq!(a.contains(r, d), set.contains(d), "{d} before {r}");
                }
            } else {
                for d in (0..pairs).map(|_| rng.random_range(0..n)) {
                    assert_eq!(a.contains(r, d), set.contains(d), "{d} before {r}");
                }
            }
            assert_eq!(a.count(r), set.count_ones(..), "count {r}");
            let mut listed: Vec<RevIdx> = a.ancestors(r).collect();
            listed.sort_unstable();
            assert_eq!(listed, set.ones().collect::<Vec<_>>(), "ancestors {r}");
        }
        for _ in 0..n.min(200) {
            let (x, y) = (rng.random_range(0..n), rng.random_range(0..n));
            let both = dense[x].intersection(&dense[y]).next().is_some();
            assert_eq!(a.intersects(x, y), both, "{x} and {y}");
        }
        for _ in 0..3 {
            let seeds: FixedBitSet = (0..n).filter(|_| rng.random_range(0..8) == 0).collect();
            let mut marked = FixedBitSet::with_capacity(n);
            for &r in order.iter().rev() {
                if seeds.contains(r) {
                    marked.insert(r);
                }
                if marked.contains(r) {
                    marked.union_with(&dense[r]);
                }
            }
            assert_eq!(a.with_ancestors(order, &seeds), marked);
        }
    }

    #[test]
    fn answers_as_dense_sets_do_on_random_graphs() {
        let mut rng = StdRng::seed_from_u64(0xa4c);
        let mut seen = [0; 4];
        for round in 0..300 {
            let n = if round % 10 < 2 {
                rng.random_range(100..700)
            } else {
                rng.random_range(1..60)
            };
            let shape = [Shape::Team, Shape::Tangle, Shape::Lines][round % 3];
            let map = random_map(&mut rng, n, shape, round % 4 != 0);
            let order = map.run_order().0;
            let pairs = if n > 200 { 64 } else { usize::MAX };
            check(&order, |r| map.run_before(r), pairs, &mut rng);
            let revs = map.revisions();
            seen[0] += revs.iter().any(|r| r.parents().len() > 1) as usize;
            seen[1] += revs.iter().any(|r| !r.resolved_deps().is_empty()) as usize;
            seen[2] += (revs.iter().filter(|r| r.parents().is_empty()).count() > 1) as usize;
            let mut pos = vec![0; map.len()];
            for (p, &r) in order.iter().enumerate() {
                pos[r] = p;
            }
            seen[3] += (0..map.len()).any(|r| map.run_before(r).any(|p| pos[p] > pos[r])) as usize;
        }
        // Merges, depends_on, several roots, cycles.
        assert!(seen.iter().all(|&k| k > 30), "{seen:?}");
    }

    /// Two lines of 128 merged, the merge's line longest: numbered 0..128 and 128..256. A second
    /// merge of the first line's next-to-last revision with the second line's last has the runs
    /// of words 0 and 2 but not all of word 1 (127 is missing), which random graphs hardly ever
    /// give.
    #[test]
    fn runs_a_word_apart_keep_the_word_between() {
        let ups = |r: RevIdx| -> Vec<RevIdx> {
            match r {
                0 | 128 => vec![],
                256 => vec![127, 255],
                357 => vec![126, 255],
                _ => vec![r - 1],
            }
        };
        let order: Vec<RevIdx> = (0..358).collect();
        check(&order, ups, usize::MAX, &mut StdRng::seed_from_u64(1));
    }

    /// Numbered in topological order instead, windows reach back to the second root: half the
    /// dense size. The second line here depends on the first, so its sets are two runs apart and
    /// the window spans the gap: 18 times smaller than dense (128 times on `gen_history.py`'s).
    #[test]
    fn a_history_of_short_branches_needs_small_windows() {
        let mut rng = StdRng::seed_from_u64(3);
        let map = random_map(&mut rng, 3000, Shape::Team, false);
        let order = map.run_order().0;
        let a = Ancestry::new(&order, |r| map.run_before(r));
        let dense_words = map.len() * map.len().div_ceil(BITS);
        assert!(
            a.window_words() * 10 < dense_words,
            "{} of {dense_words} words",
            a.window_words()
        );
    }
}
