//! Random Alembic projects: revision DAGs written out as real-looking
//! migration files.
//!
//! A graph has 5–40 revisions, one or more bases (some carrying branch
//! labels), linear runs, branch points, merges of 2–3 parents and
//! `depends_on` links (by id and sometimes by branch label). Files get
//! random names so that the load order (sorted file names) differs from the
//! creation order, some starting with `_`; ids are mostly 12-hex like
//! alembic's, sometimes other lengths or words. Each file is written in the
//! plain or the annotated (current template) form, merges as tuple or list.
//! A small share of graphs is deliberately broken (cycle, self-loop, missing
//! parent, duplicate label, ...) to exercise the error paths.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use rand::rngs::StdRng;
use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng};

use super::model::{GraphModel, RevModel};

/// One `depends_on` entry as written in the file.
#[derive(Clone, Debug)]
pub enum Dep {
    Rev(String),
    Label(String),
}

#[derive(Clone, Debug)]
pub struct RevSpec {
    pub id: String,
    pub down: Vec<String>,
    pub deps: Vec<Dep>,
    pub labels: Vec<String>,
    pub message: String,
    /// Index into `Graph::dirs`.
    pub dir: usize,
    /// Path relative to that directory (may contain sub-directories).
    pub file: String,
    pub style: Style,
}

#[derive(Clone, Debug)]
pub struct Style {
    pub annotated: bool,
    pub quote: char,
    /// merges written as `[...]` instead of `(...)`
    pub list_merge: bool,
    /// a single parent written as `('x',)`
    pub tuple_single: bool,
    /// omit `branch_labels = None` / `depends_on = None`
    pub omit_empty: bool,
    pub create_date: String,
}

#[derive(Clone, Debug)]
pub struct Graph {
    pub seed: u64,
    /// Revisions in creation order.
    pub revs: Vec<RevSpec>,
    /// Version directory names, in `--dir` order.
    pub dirs: Vec<String>,
    pub recursive: bool,
    /// Files that are not revisions (`__init__.py`, notes), relative paths.
    pub noise: Vec<(usize, String)>,
    /// Description of the deliberate defect, if any.
    pub fault: Option<String>,
}

const WORDS: &[&str] = &[
    "users",
    "accounts",
    "orders",
    "invoices",
    "billing",
    "audit",
    "tags",
    "search",
    "network",
    "profile",
    "payments",
    "reports",
    "sessions",
    "tokens",
    "groups",
    "roles",
    "events",
    "media",
    "comments",
    "inventory",
    "shipping",
    "catalog",
    "alerts",
    "metrics",
];
const VERBS: &[&str] = &[
    "create", "add", "drop", "rename", "index", "alter", "backfill", "merge", "split", "remove",
];
const LABEL_WORDS: &[&str] = &[
    "networking",
    "auth",
    "billing_core",
    "analytics",
    "tenant",
    "legacy",
    "plugins",
    "reporting",
    "search_idx",
    "data",
];

#[derive(Clone, Copy, PartialEq)]
enum IdStyle {
    Hex12,
    Mixed,
    SharedPrefix,
}

pub fn generate(seed: u64) -> Graph {
    let mut rng = StdRng::seed_from_u64(seed);
    let n = rng.random_range(5..=40usize);
    let id_style = match rng.random_range(0..100) {
        0..70 => IdStyle::Hex12,
        70..85 => IdStyle::Mixed,
        _ => IdStyle::SharedPrefix,
    };
    let shared_prefix: String = (0..rng.random_range(1..=3))
        .map(|_| hex_char(&mut rng))
        .collect();
    let target_bases = *[1, 1, 1, 1, 2, 2, 2, 3, 3, 4].choose(&mut rng).unwrap();

    let mut used_keys: BTreeSet<String> = ["head", "heads", "base"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut revs: Vec<RevSpec> = Vec::with_capacity(n);
    let mut has_child: Vec<bool> = Vec::with_capacity(n);
    let mut bases = 0;
    let mut permutations_budget: u64 = 48;

    for i in 0..n {
        let id = new_id(&mut rng, id_style, &shared_prefix, &mut used_keys);
        let heads: Vec<usize> = (0..i).filter(|&j| !has_child[j]).collect();
        let remaining = n - i;
        let want_base = i == 0
            || (bases < target_bases
                && rng.random_bool(((target_bases - bases) as f64 / remaining as f64).min(0.9)));
        let mut down: Vec<usize> = Vec::new();
        if !want_base {
            // many open heads make merges likelier
            let merge_p = match heads.len() {
                0 | 1 => 0,
                2 => 15,
                3 => 25,
                _ => 40,
            };
            let roll = rng.random_range(0..100);
            if roll < merge_p {
                let k = if heads.len() >= 3 && rng.random_bool(0.25) {
                    3
                } else {
                    2
                };
                let mut chosen: Vec<usize> = heads.choose_multiple(&mut rng, k).copied().collect();
                chosen.shuffle(&mut rng);
                down = chosen;
            } else if roll < merge_p + (100 - merge_p) * 6 / 10 {
                down.push(i - 1); // linear run
            } else if roll < merge_p + (100 - merge_p) * 8 / 10 {
                down.push(*heads.choose(&mut rng).unwrap_or(&(i - 1)));
            } else {
                down.push(rng.random_range(0..i)); // branch point
            }
        }
        if down.is_empty() {
            bases += 1;
        }
        for &d in &down {
            has_child[d] = true;
        }

        // depends_on: earlier revisions (creation order is topological, so
        // no cycles), by id or by branch label.
        let mut deps: Vec<Dep> = Vec::new();
        if i >= 2 && rng.random_bool(0.15) {
            let mut k: u64 = *[1, 1, 1, 1, 1, 1, 1, 2, 2, 3].choose(&mut rng).unwrap();
            let fact = |k: u64| (1..=k).product::<u64>();
            while k > 1 && fact(k) > permutations_budget {
                k -= 1;
            }
            if k > 1 {
                permutations_budget /= fact(k);
            }
            let candidates: Vec<usize> = (0..i).filter(|j| !down.contains(j)).collect();
            for &j in candidates.choose_multiple(&mut rng, k as usize) {
                let target: &RevSpec = &revs[j];
                if !target.labels.is_empty() && rng.random_bool(0.4) {
                    deps.push(Dep::Label(target.labels.choose(&mut rng).unwrap().clone()));
                } else {
                    deps.push(Dep::Rev(target.id.clone()));
                }
            }
        }

        let mut labels = Vec::new();
        let label_p = if down.is_empty() { 0.5 } else { 0.05 };
        if rng.random_bool(label_p) {
            let count = if rng.random_bool(0.1) { 2 } else { 1 };
            for _ in 0..count {
                labels.push(new_label(&mut rng, &mut used_keys));
            }
        }

        let message = format!(
            "{} {}",
            VERBS.choose(&mut rng).unwrap(),
            WORDS.choose(&mut rng).unwrap()
        );
        let style = Style {
            annotated: rng.random_bool(0.5),
            quote: if rng.random_bool(0.7) { '\'' } else { '"' },
            list_merge: rng.random_bool(0.3),
            tuple_single: rng.random_bool(0.1),
            omit_empty: rng.random_bool(0.1),
            create_date: format!(
                "20{:02}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}",
                rng.random_range(19..26),
                rng.random_range(1..13),
                rng.random_range(1..29),
                rng.random_range(0..24),
                rng.random_range(0..60),
                rng.random_range(0..60),
                rng.random_range(0..1_000_000)
            ),
        };
        revs.push(RevSpec {
            id,
            down: down.iter().map(|&d| revs[d].id.clone()).collect(),
            deps,
            labels,
            message,
            dir: 0,
            file: String::new(),
            style,
        });
        has_child.push(false);
    }

    // Layout: one directory, two directories, or nested sub-directories.
    let (dirs, recursive) = match rng.random_range(0..100) {
        0..80 => (vec!["versions".to_string()], false),
        80..90 => (vec!["versions".into(), "versions_2".into()], false),
        _ => (vec!["versions".to_string()], true),
    };
    let mut names: BTreeSet<(usize, String)> = BTreeSet::new();
    for rev in revs.iter_mut() {
        rev.dir = rng.random_range(0..dirs.len());
        let mut file = file_name(&mut rng, rev);
        if recursive && rng.random_bool(0.5) {
            let sub = ["2023", "2024/01", "2024/02", "archive", "_old", "a/b/c"]
                .choose(&mut rng)
                .unwrap();
            file = format!("{sub}/{file}");
        }
        while names.contains(&(rev.dir, file.clone())) {
            file = format!("{}x.py", file.trim_end_matches(".py"));
        }
        names.insert((rev.dir, file.clone()));
        rev.file = file;
    }
    let mut noise = Vec::new();
    if rng.random_bool(0.2) {
        noise.push((0, "__init__.py".to_string()));
    }
    if rng.random_bool(0.1) {
        noise.push((0, "README.md".to_string()));
    }
    if rng.random_bool(0.05) {
        noise.push((0, "__init__helpers.py".to_string()));
    }

    let mut graph = Graph {
        seed,
        revs,
        dirs,
        recursive,
        noise,
        fault: None,
    };
    if rng.random_bool(0.05) {
        inject_fault(&mut graph, &mut rng);
    }
    graph
}

fn hex_char(rng: &mut impl Rng) -> char {
    char::from_digit(rng.random_range(0..16), 16).unwrap()
}

fn new_id(
    rng: &mut impl Rng,
    style: IdStyle,
    shared_prefix: &str,
    used: &mut BTreeSet<String>,
) -> String {
    loop {
        let hex = |rng: &mut dyn rand::RngCore, n: usize| -> String {
            (0..n)
                .map(|_| char::from_digit(rng.random_range(0..16), 16).unwrap())
                .collect()
        };
        let id = match style {
            IdStyle::Hex12 => hex(rng, 12),
            IdStyle::SharedPrefix if rng.random_bool(0.6) => {
                format!("{shared_prefix}{}", hex(rng, 12 - shared_prefix.len()))
            }
            IdStyle::SharedPrefix => hex(rng, 12),
            IdStyle::Mixed => match rng.random_range(0..6) {
                0 => hex(rng, 12),
                1 => {
                    let len = rng.random_range(3..=8);
                    hex(rng, len)
                }
                2 => hex(rng, 32),
                3 => format!("{:04}", rng.random_range(0..10000)),
                4 => format!(
                    "{}_{}",
                    VERBS.choose(rng).unwrap(),
                    WORDS.choose(rng).unwrap()
                ),
                _ => format!("v{}_{}", rng.random_range(1..30), hex(rng, 4)),
            },
        };
        // a key must not be a prefix-collision with the symbolic names and
        // must be new (labels share the key space)
        if used.insert(id.clone()) {
            return id;
        }
    }
}

fn new_label(rng: &mut impl Rng, used: &mut BTreeSet<String>) -> String {
    loop {
        let base = LABEL_WORDS.choose(rng).unwrap();
        let label = if rng.random_bool(0.5) {
            base.to_string()
        } else {
            format!("{base}{}", rng.random_range(2..99))
        };
        if used.insert(label.clone()) {
            return label;
        }
    }
}

fn slug(message: &str) -> String {
    message.replace(' ', "_")
}

fn file_name(rng: &mut impl Rng, rev: &RevSpec) -> String {
    let s = slug(&rev.message);
    match rng.random_range(0..100) {
        0..35 => format!("{}_{s}.py", rev.id),
        35..55 => format!("{:06x}_{s}.py", rng.random_range(0..0xff_ffff_u32)),
        55..70 => format!(
            "20{:02}_{:02}_{:02}_{:04}-{}_{s}.py",
            rng.random_range(19..26),
            rng.random_range(1..13),
            rng.random_range(1..29),
            rng.random_range(0..2400),
            rev.id
        ),
        70..82 => format!("_{s}_{}.py", rng.random_range(0..100)),
        82..95 => format!("{s}.py"),
        _ => format!("Z{}{s}.py", rng.random_range(0..10)),
    }
}

fn inject_fault(graph: &mut Graph, rng: &mut impl Rng) {
    let n = graph.revs.len();
    let a = rng.random_range(0..n);
    let b = rng.random_range(0..n);
    let fault = match rng.random_range(0..8) {
        0 => {
            // close a cycle: a revision gets one of its descendants as an
            // extra parent
            let model = graph.model();
            let lo_id = graph.revs[a].id.clone();
            let descendants: Vec<String> = graph
                .revs
                .iter()
                .filter(|r| model.ancestors(&r.id).contains(&lo_id))
                .map(|r| r.id.clone())
                .collect();
            let Some(hi_id) = descendants.choose(rng).cloned() else {
                return;
            };
            graph.revs[a].down.push(hi_id.clone());
            format!("cycle: {lo_id} now also revises its descendant {hi_id}")
        }
        1 => {
            let id = graph.revs[a].id.clone();
            graph.revs[a].down.push(id.clone());
            format!("self-loop on {id}")
        }
        2 => {
            let id = graph.revs[a].id.clone();
            graph.revs[a].deps.push(Dep::Rev(id.clone()));
            format!("dependency self-loop on {id}")
        }
        3 => {
            graph.revs[a].down.push("0badc0ffee00".into());
            format!("{} revises a missing revision", graph.revs[a].id)
        }
        4 => {
            graph.revs[a].deps.push(Dep::Rev("0badd00d0000".into()));
            format!("{} depends on a missing revision", graph.revs[a].id)
        }
        5 if a != b => {
            let label = "dup_label".to_string();
            graph.revs[a].labels.push(label.clone());
            graph.revs[b].labels.push(label);
            format!(
                "duplicate label on {} and {}",
                graph.revs[a].id, graph.revs[b].id
            )
        }
        6 if a != b => {
            let other = graph.revs[b].id.clone();
            graph.revs[a].labels.push(other.clone());
            format!(
                "{} has a branch label equal to revision id {other}",
                graph.revs[a].id
            )
        }
        7 => {
            // an illegal character in a revision id (and its references)
            let old = graph.revs[a].id.clone();
            let new = format!("{old}-{}", ["x", "y+z", "v2"][rng.random_range(0..3)]);
            for rev in graph.revs.iter_mut() {
                if rev.id == old {
                    rev.id = new.clone();
                }
                for d in rev.down.iter_mut().filter(|d| **d == old) {
                    *d = new.clone();
                }
                for d in rev.deps.iter_mut() {
                    if let Dep::Rev(r) = d
                        && *r == old
                    {
                        *r = new.clone();
                    }
                }
            }
            format!("illegal character in revision id {new}")
        }
        _ => return,
    };
    graph.fault = Some(fault);
}

impl Graph {
    /// Writes the project under `root`; returns the version directories in
    /// `--dir` order.
    pub fn write(&self, root: &Path) -> Vec<PathBuf> {
        let dirs: Vec<PathBuf> = self.dirs.iter().map(|d| root.join(d)).collect();
        for dir in &dirs {
            fs::create_dir_all(dir).unwrap();
        }
        for rev in &self.revs {
            let path = dirs[rev.dir].join(&rev.file);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, self.render(rev)).unwrap();
        }
        for (dir, name) in &self.noise {
            let text = if name.ends_with(".py") {
                "# not a revision file\n"
            } else {
                "Generated by migscope's differential tests.\n"
            };
            fs::write(dirs[*dir].join(name), text).unwrap();
        }
        dirs
    }

    fn render(&self, rev: &RevSpec) -> String {
        let st = &rev.style;
        let q = |s: &str| format!("{}{s}{}", st.quote, st.quote);
        let seq = |items: Vec<String>, list: bool| -> String {
            match (items.len(), list) {
                (0, _) => "None".into(),
                (1, _) if !st.tuple_single => q(&items[0]),
                (1, false) => format!("({},)", q(&items[0])),
                (_, true) => format!(
                    "[{}]",
                    items.iter().map(|s| q(s)).collect::<Vec<_>>().join(", ")
                ),
                (_, false) => format!(
                    "({})",
                    items.iter().map(|s| q(s)).collect::<Vec<_>>().join(", ")
                ),
            }
        };
        let down = seq(rev.down.clone(), st.list_merge);
        let labels = seq(rev.labels.clone(), st.list_merge);
        let deps = seq(
            rev.deps
                .iter()
                .map(|d| match d {
                    Dep::Rev(s) | Dep::Label(s) => s.clone(),
                })
                .collect(),
            st.list_merge,
        );
        let mut out = String::new();
        let _ = write!(
            out,
            "\"\"\"{}\n\nRevision ID: {}\nRevises: {}\nCreate Date: {}\n\n\"\"\"\n",
            rev.message,
            rev.id,
            rev.down.join(", "),
            st.create_date
        );
        let table = rev.message.split(' ').next_back().unwrap_or("t");
        if st.annotated {
            out.push_str("from typing import Sequence, Union\n\nfrom alembic import op\nimport sqlalchemy as sa\n\n\n");
            out.push_str("# revision identifiers, used by Alembic.\n");
            let ty = "Union[str, Sequence[str], None]";
            let _ = writeln!(out, "revision: str = {}", q(&rev.id));
            let _ = writeln!(out, "down_revision: {ty} = {down}");
            if !(st.omit_empty && rev.labels.is_empty()) {
                let _ = writeln!(out, "branch_labels: {ty} = {labels}");
            }
            if !(st.omit_empty && rev.deps.is_empty()) {
                let _ = writeln!(out, "depends_on: {ty} = {deps}");
            }
            let _ = write!(
                out,
                "\n\ndef upgrade() -> None:\n    \"\"\"Upgrade schema.\"\"\"\n    op.create_table(\n        {t},\n        sa.Column(\"id\", sa.Integer(), nullable=False),\n        sa.PrimaryKeyConstraint(\"id\"),\n    )\n\n\ndef downgrade() -> None:\n    \"\"\"Downgrade schema.\"\"\"\n    op.drop_table({t})\n",
                t = q(table)
            );
        } else {
            out.push_str("from alembic import op\nimport sqlalchemy as sa\n\n\n");
            out.push_str("# revision identifiers, used by Alembic.\n");
            let _ = writeln!(out, "revision = {}", q(&rev.id));
            let _ = writeln!(out, "down_revision = {down}");
            if !(st.omit_empty && rev.labels.is_empty()) {
                let _ = writeln!(out, "branch_labels = {labels}");
            }
            if !(st.omit_empty && rev.deps.is_empty()) {
                let _ = writeln!(out, "depends_on = {deps}");
            }
            let _ = write!(
                out,
                "\n\ndef upgrade():\n    op.add_column({t}, sa.Column(\"note\", sa.String(50)))\n\n\ndef downgrade():\n    op.drop_column({t}, \"note\")\n",
                t = q(table)
            );
        }
        out
    }

    /// The graph as the query generator sees it (depends_on labels resolved).
    pub fn model(&self) -> GraphModel {
        let label_owner: BTreeMap<&str, &str> = self
            .revs
            .iter()
            .flat_map(|r| r.labels.iter().map(move |l| (l.as_str(), r.id.as_str())))
            .collect();
        GraphModel {
            revs: self
                .revs
                .iter()
                .map(|r| RevModel {
                    id: r.id.clone(),
                    down: r.down.clone(),
                    deps: r
                        .deps
                        .iter()
                        .map(|d| match d {
                            Dep::Rev(s) => s.clone(),
                            Dep::Label(l) => label_owner.get(l.as_str()).unwrap_or(&"").to_string(),
                        })
                        .collect(),
                    labels: r.labels.clone(),
                })
                .collect(),
        }
    }

    /// A compact listing for failure reports (creation order).
    pub fn describe(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "graph seed {} — {} revisions, dirs {:?}{}{}",
            self.seed,
            self.revs.len(),
            self.dirs,
            if self.recursive { ", recursive" } else { "" },
            self.fault
                .as_ref()
                .map(|f| format!(", FAULT: {f}"))
                .unwrap_or_default()
        );
        for r in &self.revs {
            let deps: Vec<String> = r
                .deps
                .iter()
                .map(|d| match d {
                    Dep::Rev(s) => s.clone(),
                    Dep::Label(l) => format!("label:{l}"),
                })
                .collect();
            let _ = writeln!(
                out,
                "  {:<14} down={:?}{}{}  [{}/{}]",
                r.id,
                r.down,
                if deps.is_empty() {
                    String::new()
                } else {
                    format!(" depends_on={deps:?}")
                },
                if r.labels.is_empty() {
                    String::new()
                } else {
                    format!(" labels={:?}", r.labels)
                },
                self.dirs[r.dir],
                r.file
            );
        }
        out
    }
}
