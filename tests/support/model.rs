//! A language-neutral description of a revision graph (what the query
//! generator needs) and the queries asked about it.

use std::collections::{BTreeMap, BTreeSet};

use rand::Rng;
use rand::seq::{IndexedRandom, SliceRandom};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Upgrade,
    Downgrade,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Upgrade => "upgrade",
            Op::Downgrade => "downgrade",
        }
    }
}

/// `alembic upgrade|downgrade <target>` against a database holding `current`.
#[derive(Clone, Debug)]
pub struct Query {
    pub op: Op,
    pub current: Vec<String>,
    pub target: String,
}

impl Query {
    pub fn new(op: Op, current: &[&str], target: &str) -> Query {
        Query {
            op,
            current: current.iter().map(|s| s.to_string()).collect(),
            target: target.to_string(),
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "op": self.op.as_str(),
            "current": self.current,
            "target": self.target,
        })
    }
}

#[derive(Clone, Debug, Default)]
pub struct RevModel {
    pub id: String,
    /// `down_revision` entries, declared order.
    pub down: Vec<String>,
    /// `depends_on` entries resolved to revision ids.
    pub deps: Vec<String>,
    /// Branch labels declared on this revision.
    pub labels: Vec<String>,
}

/// The revisions of a graph (any order; ids are unique).
#[derive(Clone, Debug, Default)]
pub struct GraphModel {
    pub revs: Vec<RevModel>,
}

impl GraphModel {
    pub fn ids(&self) -> Vec<&str> {
        self.revs.iter().map(|r| r.id.as_str()).collect()
    }

    pub fn labels(&self) -> Vec<(&str, &str)> {
        self.revs
            .iter()
            .flat_map(|r| r.labels.iter().map(move |l| (l.as_str(), r.id.as_str())))
            .collect()
    }

    /// Every key alembic may prefix-match: ids and branch labels.
    pub fn keys(&self) -> Vec<&str> {
        let mut keys = self.ids();
        keys.extend(self.labels().into_iter().map(|(l, _)| l));
        keys
    }

    /// Revisions no other revision names as `down_revision`.
    pub fn versioned_heads(&self) -> Vec<&str> {
        let parents: BTreeSet<&str> = self
            .revs
            .iter()
            .flat_map(|r| r.down.iter().map(String::as_str))
            .collect();
        self.ids()
            .into_iter()
            .filter(|id| !parents.contains(id))
            .collect()
    }

    /// Ancestors (down_revision and depends_on edges), excluding `id`.
    pub fn ancestors(&self, id: &str) -> BTreeSet<String> {
        let by_id: BTreeMap<&str, &RevModel> =
            self.revs.iter().map(|r| (r.id.as_str(), r)).collect();
        let mut seen = BTreeSet::new();
        let mut todo: Vec<&str> = vec![id];
        while let Some(cur) = todo.pop() {
            if let Some(rev) = by_id.get(cur) {
                for p in rev.down.iter().chain(&rev.deps) {
                    if seen.insert(p.clone()) {
                        todo.push(p);
                    }
                }
            }
        }
        seen.remove(id);
        seen
    }

    fn related(&self, a: &str, b: &str) -> bool {
        a == b || self.ancestors(a).contains(b) || self.ancestors(b).contains(a)
    }
}

/// Random current states and targets covering the target syntax alembic
/// accepts (and some it rejects).
pub fn random_queries(model: &GraphModel, rng: &mut impl Rng, count: usize) -> Vec<Query> {
    (0..count).map(|_| random_query(model, rng)).collect()
}

pub fn random_query(model: &GraphModel, rng: &mut impl Rng) -> Query {
    let op = if rng.random_bool(0.5) {
        Op::Upgrade
    } else {
        Op::Downgrade
    };
    let current = random_current(model, rng);
    let target = if !current.is_empty() && rng.random_bool(0.35) {
        related_target(model, &current, op, rng)
    } else {
        None
    };
    Query {
        op,
        target: target.unwrap_or_else(|| random_target(model, rng)),
        current,
    }
}

/// A target in the direction of `op` from one of the current revisions: an
/// ancestor for a downgrade, a descendant for an upgrade.
fn related_target(
    model: &GraphModel,
    current: &[String],
    op: Op,
    rng: &mut impl Rng,
) -> Option<String> {
    let from = current.choose(rng)?;
    let candidates: Vec<String> = match op {
        Op::Downgrade => model.ancestors(from).into_iter().collect(),
        Op::Upgrade => model
            .ids()
            .into_iter()
            .filter(|id| model.ancestors(id).contains(from))
            .map(str::to_string)
            .collect(),
    };
    let target = candidates.choose(rng)?;
    Some(if rng.random_bool(0.3) {
        unique_prefix(model, target, rng).unwrap_or_else(|| target.clone())
    } else {
        target.clone()
    })
}

fn pick<'a>(items: &[&'a str], rng: &mut impl Rng) -> Option<&'a str> {
    items.choose(rng).copied()
}

pub fn random_current(model: &GraphModel, rng: &mut impl Rng) -> Vec<String> {
    let ids = model.ids();
    if ids.is_empty() {
        return vec![];
    }
    let heads = model.versioned_heads();
    let roll = rng.random_range(0..100);
    let one = |s: &str| vec![s.to_string()];
    match roll {
        0..30 => vec![],
        30..50 => pick(&heads, rng).map(one).unwrap_or_default(),
        50..73 => pick(&ids, rng).map(one).unwrap_or_default(),
        73..90 => {
            // two revisions on different branches (neither an ancestor of
            // the other)
            for _ in 0..20 {
                let (a, b) = (pick(&ids, rng).unwrap(), pick(&ids, rng).unwrap());
                if !model.related(a, b) {
                    return vec![a.to_string(), b.to_string()];
                }
            }
            pick(&heads, rng).map(one).unwrap_or_default()
        }
        90..94 => {
            // a revision and one of its ancestors: alembic's "overlaps" error
            let a = pick(&ids, rng).unwrap();
            match model.ancestors(a).iter().next() {
                Some(anc) => vec![a.to_string(), anc.clone()],
                None => one(a),
            }
        }
        94..97 => {
            // database rows are resolved like targets: prefixes work
            let a = pick(&ids, rng).unwrap();
            one(&unique_prefix(model, a, rng).unwrap_or_else(|| a.to_string()))
        }
        _ => one(&unknown_id(model, rng)),
    }
}

pub fn random_target(model: &GraphModel, rng: &mut impl Rng) -> String {
    let ids = model.ids();
    let labels: Vec<&str> = model.labels().into_iter().map(|(l, _)| l).collect();
    let heads = model.versioned_heads();
    let any_id = |rng: &mut dyn rand::RngCore| -> String {
        ids.choose(rng)
            .map(|s| s.to_string())
            .unwrap_or_else(|| "heads".into())
    };
    let label_or_id = |rng: &mut dyn rand::RngCore| -> String {
        if !labels.is_empty() && rng.random_bool(0.7) {
            labels.choose(rng).unwrap().to_string()
        } else {
            ids.choose(rng)
                .map(|s| s.to_string())
                .unwrap_or_else(|| "base".into())
        }
    };
    match rng.random_range(0..100) {
        0..10 => "heads".into(),
        10..16 => "head".into(),
        16..22 => "base".into(),
        22..36 => any_id(rng),
        36..44 => {
            let id = any_id(rng);
            unique_prefix(model, &id, rng).unwrap_or(id)
        }
        44..48 => ambiguous_prefix(model, rng).unwrap_or_else(|| any_id(rng)),
        48..53 => format!("{}@head", label_or_id(rng)),
        53..55 => format!("{}@heads", label_or_id(rng)),
        55..57 => format!("{}@base", label_or_id(rng)),
        57..60 => format!(
            "{}@{}",
            pick(&heads, rng).unwrap_or("x"),
            ["head", "heads"][rng.random_range(0..2)]
        ),
        60..65 => "+1".into(),
        65..68 => "+2".into(),
        68..73 => "-1".into(),
        73..75 => "-2".into(),
        75..78 => "head-1".into(),
        78..82 => format!("{}+{}", any_id(rng), rng.random_range(1..=2)),
        82..86 => format!("{}-{}", any_id(rng), rng.random_range(1..=2)),
        86..89 => format!("{}@+{}", label_or_id(rng), rng.random_range(1..=2)),
        89..91 => format!("{}@-1", label_or_id(rng)),
        91..93 => label_or_id(rng),
        93..95 => format!("{}@{}", label_or_id(rng), any_id(rng)),
        95..96 => ["heads-1", "base+1", "head+1"][rng.random_range(0..3)].into(),
        _ => unknown_id(model, rng),
    }
}

/// A prefix of `id` that only `id` starts with among the prefix-matchable
/// keys (longer than 3 characters), and that is not itself a key.
pub fn unique_prefix(model: &GraphModel, id: &str, rng: &mut impl Rng) -> Option<String> {
    let keys = model.keys();
    let mut lengths: Vec<usize> = (1..id.len()).filter(|&n| id.is_char_boundary(n)).collect();
    // prefer 4+ characters, as users type them
    lengths.shuffle(rng);
    lengths.sort_by_key(|&n| n < 4);
    lengths.into_iter().find_map(|n| {
        let p = &id[..n];
        let matching = keys
            .iter()
            .filter(|k| k.len() > 3 && k.starts_with(p))
            .count();
        (matching == 1 && !keys.contains(&p)).then(|| p.to_string())
    })
}

/// A prefix shared by at least two prefix-matchable keys.
pub fn ambiguous_prefix(model: &GraphModel, rng: &mut impl Rng) -> Option<String> {
    let keys: Vec<&str> = model.keys().into_iter().filter(|k| k.len() > 3).collect();
    let mut best: Option<String> = None;
    for _ in 0..30 {
        let (a, b) = (keys.choose(rng)?, keys.choose(rng)?);
        if a == b {
            continue;
        }
        let common: String = a
            .chars()
            .zip(b.chars())
            .take_while(|(x, y)| x == y)
            .map(|(x, _)| x)
            .collect();
        if !common.is_empty() && !keys.contains(&common.as_str()) {
            if best.as_ref().is_none_or(|b| common.len() > b.len()) {
                best = Some(common);
            }
            if rng.random_bool(0.5) {
                break;
            }
        }
    }
    best
}

pub fn unknown_id(model: &GraphModel, rng: &mut impl Rng) -> String {
    loop {
        let candidate = match rng.random_range(0..3) {
            0 => format!("{:012x}", rng.random::<u64>() & 0xffff_ffff_ffff),
            1 => "nosuchrevision".to_string(),
            _ => format!("zz{:x}", rng.random_range(0..0xffff_u32)),
        };
        if !model
            .keys()
            .iter()
            .any(|k| k.starts_with(candidate.as_str()))
        {
            return candidate;
        }
    }
}
