//! Differential tests: migscope must answer exactly like Alembic.
//!
//! The expected answers always come from the real alembic (the version pinned
//! in `tests/alembic/requirements.txt`, installed into `<repo>/.venv` on first
//! use) through `tests/alembic/oracle.py`; nothing here hard-codes what
//! Alembic says. Every comparison runs the real `migscope` binary with
//! `--dir <versions dir>`.
//!
//! Environment knobs:
//! * `MIGSCOPE_DIFF_SEED`: base seed of the random graphs (decimal, `0x` hex,
//!   or `random`); graph *i* uses seed `base + i`, so a failing graph is
//!   reproduced with `MIGSCOPE_DIFF_SEED=<its seed> MIGSCOPE_DIFF_GRAPHS=1`.
//! * `MIGSCOPE_DIFF_GRAPHS`: number of random graphs (default 500).
//! * `MIGSCOPE_DIFF_THREADS`: threads running the binary.
//! * `MIGSCOPE_DIFF_REPORT`: how many failures to describe in detail.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use rand::SeedableRng;
use rand::rngs::StdRng;

use support::compare::{self, error_code};
use support::generator;
use support::harness::{self, Subject};
use support::model::{self, GraphModel, Op, Query};
use support::oracle::{self, Answer, Case};
use support::venv;

const DEFAULT_BASE_SEED: u64 = 0x6d69_6773_0000;
const DEFAULT_GRAPHS: usize = 500;
const QUERIES_PER_GRAPH: usize = 6;
const QUERY_SEED_SALT: u64 = 0x9e37_79b9_7f4a_7c15;

fn base_seed() -> u64 {
    match std::env::var("MIGSCOPE_DIFF_SEED") {
        Err(_) => DEFAULT_BASE_SEED,
        Ok(v) if v.trim() == "random" => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(DEFAULT_BASE_SEED),
        Ok(v) => {
            let v = v.trim();
            let parsed = match v.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => v.parse(),
            };
            parsed.unwrap_or_else(|e| panic!("MIGSCOPE_DIFF_SEED={v:?}: {e}"))
        }
    }
}

fn graph_count() -> usize {
    std::env::var("MIGSCOPE_DIFF_GRAPHS")
        .ok()
        .map(|v| {
            v.trim()
                .parse()
                .unwrap_or_else(|e| panic!("MIGSCOPE_DIFF_GRAPHS={v:?}: {e}"))
        })
        .unwrap_or(DEFAULT_GRAPHS)
}

fn fixtures_root() -> PathBuf {
    venv::repo_root().join("tests/fixtures/graphs")
}

#[test]
fn oracle_runs_the_pinned_alembic() {
    let pin = venv::pinned_alembic_version();
    let fixture = fixtures_root().join("linear/versions");
    let answers = oracle::ask(
        &[Case {
            id: "linear".into(),
            dirs: vec![fixture],
            recursive: false,
            queries: vec![],
        }],
        1,
    );
    assert_eq!(answers[0].alembic_version.as_deref(), Some(pin.as_str()));
    assert!(answers[0].error.is_none(), "{:?}", answers[0].error);
    assert!(!answers[0].heads.is_empty());
}

#[test]
fn random_graphs_match_alembic() {
    let base = base_seed();
    let count = graph_count();
    let tmp = tempfile::Builder::new()
        .prefix("migscope-differential-")
        .tempdir()
        .expect("cannot create a temporary directory");

    let started = std::time::Instant::now();
    let mut subjects = Vec::with_capacity(count);
    let mut faults = 0;
    for i in 0..count {
        let seed = base.wrapping_add(i as u64);
        let graph = generator::generate(seed);
        faults += usize::from(graph.fault.is_some());
        let root = tmp.path().join(format!("seed-{seed}"));
        let dirs = graph.write(&root);
        let mut rng = StdRng::seed_from_u64(seed ^ QUERY_SEED_SALT);
        let queries = model::random_queries(&graph.model(), &mut rng, QUERIES_PER_GRAPH);
        subjects.push(Subject {
            case: Case {
                id: format!("seed {seed}"),
                dirs,
                recursive: graph.recursive,
                queries,
            },
            context: format!(
                "{}project: {}\nreproduce: MIGSCOPE_DIFF_SEED={seed} MIGSCOPE_DIFF_GRAPHS=1 \
                 cargo test --test differential random_graphs_match_alembic",
                graph.describe(),
                root.display()
            ),
        });
    }

    let generated = started.elapsed();
    let result = harness::run(&subjects);
    let stats = coverage(&result.answers);
    eprintln!(
        "random graphs: base seed {base}, {count} graphs ({faults} deliberately broken) \
         generated in {generated:.1?}; {} migscope invocations; oracle {:.1?}; \
         comparison {:.1?}\n{stats}",
        result.invocations, result.oracle_time, result.elapsed
    );

    if !result.failures.is_empty() {
        let kept = tmp.keep();
        panic!(
            "{}\n(base seed {base}; generated projects kept in {})",
            harness::report(&subjects, &result, harness::detailed_failures()),
            kept.display()
        );
    }
    if count >= 200 {
        // guard against a generator that silently stopped producing
        // interesting graphs
        assert!(
            stats.loaded * 10 >= count * 8,
            "too few graphs load in Alembic:\n{stats}"
        );
        assert!(
            stats.plans_ok > 0 && stats.plan_errors.len() >= 5,
            "{stats}"
        );
        assert!(stats.hash_sensitive > 0, "{stats}");
    }
}

struct Coverage {
    graphs: usize,
    loaded: usize,
    map_errors: BTreeMap<String, usize>,
    hash_sensitive: usize,
    plans_ok: usize,
    plan_errors: BTreeMap<String, usize>,
}

impl std::fmt::Display for Coverage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "  {} graphs, {} load in Alembic, {} with hash-order dependent plans",
            self.graphs, self.loaded, self.hash_sensitive
        )?;
        writeln!(f, "  load errors: {:?}", self.map_errors)?;
        write!(
            f,
            "  plans: {} succeed; errors: {:?}",
            self.plans_ok, self.plan_errors
        )
    }
}

fn coverage(answers: &[Answer]) -> Coverage {
    let code = |e: &oracle::AlembicError| {
        error_code(e)
            .map(str::to_string)
            .unwrap_or_else(|| format!("unmapped {}", e.inner().0))
    };
    let mut c = Coverage {
        graphs: answers.len(),
        loaded: 0,
        map_errors: BTreeMap::new(),
        hash_sensitive: 0,
        plans_ok: 0,
        plan_errors: BTreeMap::new(),
    };
    for a in answers {
        if let Some(e) = &a.error {
            *c.map_errors.entry(code(e)).or_default() += 1;
            continue;
        }
        c.loaded += 1;
        c.hash_sensitive += usize::from(!a.hash_order_sensitive.is_empty());
        for q in &a.queries {
            match &q.error {
                None => c.plans_ok += 1,
                Some(e) => *c.plan_errors.entry(code(e)).or_default() += 1,
            }
        }
    }
    c
}

// ---------------------------------------------------------------------------
// hand-made fixtures (tests/fixtures/graphs/<name>/versions*)
// ---------------------------------------------------------------------------

/// A fixture's version directories: `versions`, then `versions_2`, ... in
/// name order; fixtures whose name starts with `recursive` are read with
/// `--recursive`.
fn fixture_case(name: &str) -> Case {
    let root = fixtures_root().join(name);
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", root.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.is_dir()
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("versions"))
        })
        .collect();
    dirs.sort();
    assert!(!dirs.is_empty(), "fixture {name} has no versions directory");
    Case {
        id: name.to_string(),
        dirs,
        recursive: name.starts_with("recursive"),
        queries: vec![],
    }
}

fn fixture_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(fixtures_root())
        .expect("tests/fixtures/graphs is missing")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Queries for a fixture, built from the graph Alembic loaded: the usual
/// symbolic targets from an empty database and from each head, the 4-char
/// prefix of every id, every label's head, plus random ones.
fn fixture_queries(name: &str, graph: &GraphModel) -> Vec<Query> {
    let mut queries = Vec::new();
    let ids = graph.ids();
    let heads = graph.versioned_heads();
    let mut currents: Vec<Vec<&str>> = vec![vec![]];
    currents.extend(heads.iter().map(|h| vec![*h]));
    if let Some(first) = ids.first() {
        currents.push(vec![*first]);
    }
    for current in &currents {
        for target in ["heads", "head", "base", "+1", "-1"] {
            for op in [Op::Upgrade, Op::Downgrade] {
                queries.push(Query::new(op, current, target));
            }
        }
    }
    let mut prefixes = BTreeSet::new();
    for id in &ids {
        let prefix: String = id.chars().take(4).collect();
        if prefixes.insert(prefix.clone()) {
            queries.push(Query::new(Op::Upgrade, &[], &prefix));
        }
    }
    for (label, _) in graph.labels() {
        queries.push(Query::new(Op::Upgrade, &[], &format!("{label}@head")));
        if let Some(h) = heads.first() {
            queries.push(Query::new(Op::Downgrade, &[h], &format!("{label}@base")));
        }
    }
    let seed = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    let mut rng = StdRng::seed_from_u64(seed);
    queries.extend(model::random_queries(graph, &mut rng, 30));
    queries
}

/// Runs the named fixtures through Alembic and migscope and panics with a
/// report on any disagreement. Returns Alembic's answers.
fn check_fixtures(names: &[String]) -> Vec<Answer> {
    // Ask Alembic what each fixture contains first, so that the queries can
    // name its revisions and labels without hard-coding them here.
    let bare: Vec<Case> = names.iter().map(|n| fixture_case(n)).collect();
    let loaded = oracle::ask(&bare, 1);
    let subjects: Vec<Subject> = bare
        .into_iter()
        .zip(&loaded)
        .map(|(mut case, answer)| {
            case.queries = fixture_queries(&case.id, &answer.model());
            let context = format!(
                "fixture {} ({}), load order {:?}",
                case.id,
                harness::list_dirs(&case.dirs),
                answer.load_order
            );
            Subject { case, context }
        })
        .collect();
    let result = harness::run(&subjects);
    eprintln!(
        "fixtures: {} graphs, {} migscope invocations, {:.1?}",
        subjects.len(),
        result.invocations,
        result.elapsed
    );
    if !result.failures.is_empty() {
        panic!(
            "{}",
            harness::report(&subjects, &result, harness::detailed_failures())
        );
    }
    result.answers
}

/// (well-formed, broken): whether Alembic can load each fixture.
fn partition_fixtures() -> (Vec<String>, Vec<String>) {
    let names = fixture_names();
    let cases: Vec<Case> = names.iter().map(|n| fixture_case(n)).collect();
    let answers = oracle::ask(&cases, 1);
    let (good, broken): (Vec<_>, Vec<_>) = names
        .into_iter()
        .zip(answers)
        .partition(|(_, a)| a.error.is_none());
    (
        good.into_iter().map(|(n, _)| n).collect(),
        broken.into_iter().map(|(n, _)| n).collect(),
    )
}

#[test]
fn well_formed_fixture_graphs_match_alembic() {
    let (good, _) = partition_fixtures();
    assert!(
        good.len() >= 8,
        "expected the well-formed fixtures, got {good:?}"
    );
    let answers = check_fixtures(&good);
    // The ambiguous-prefix fixture must actually exercise that error.
    let codes: BTreeSet<&str> = answers
        .iter()
        .flat_map(|a| &a.queries)
        .filter_map(|q| q.error.as_ref())
        .filter_map(error_code)
        .collect();
    for code in ["ambiguous_revision", "unknown_revision", "multiple_heads"] {
        assert!(
            codes.contains(code),
            "no fixture query produced {code}: {codes:?}"
        );
    }
}

#[test]
fn broken_fixture_graphs_fail_with_alembics_error_code() {
    let (_, broken) = partition_fixtures();
    let answers = check_fixtures(&broken);
    let codes: BTreeSet<&str> = answers
        .iter()
        .filter_map(|a| a.error.as_ref())
        .filter_map(error_code)
        .collect();
    for code in [
        "cycle",
        "self_loop",
        "dependency_cycle",
        "missing_revision",
        "duplicate_label",
    ] {
        assert!(
            codes.contains(code),
            "no broken fixture makes Alembic report {code}: {codes:?}"
        );
    }
}

#[test]
fn error_messages_are_compared_with_alembics_wording() {
    // The comparison itself: an Alembic error is only matched by migscope's
    // error with the contract's code and Alembic's text.
    let answers = oracle::ask(&[fixture_case("missing_parent")], 1);
    let err = answers[0].error.as_ref().expect("missing_parent must fail");
    assert_eq!(error_code(err), Some("missing_revision"));
    let key = err
        .key
        .as_deref()
        .expect("KeyError names the missing revision");
    assert!(compare::message_matches(
        err,
        &format!("revision {key} is missing")
    ));
    assert!(!compare::message_matches(err, "something else"));
}
