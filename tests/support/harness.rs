//! Runs many graphs through both Alembic (the oracle, in batch) and the
//! `migscope` binary (on a few threads) and collects the disagreements.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::cli::{self, Check, CliOutput};
use super::compare::{self, Mismatch};
use super::oracle::{self, Answer, Case};

/// A graph under test.
pub struct Subject {
    pub case: Case,
    /// Printed with every failure: seed, graph listing, how to reproduce.
    pub context: String,
}

pub struct Failure {
    pub subject: usize,
    pub check: Check,
    pub args: Vec<String>,
    pub mismatch: Mismatch,
}

pub struct RunResult {
    pub answers: Vec<Answer>,
    pub failures: Vec<Failure>,
    pub invocations: usize,
    pub oracle_time: Duration,
    pub elapsed: Duration,
}

/// Threads running the binary (the machine is assumed to be small).
pub fn cli_threads() -> usize {
    std::env::var("MIGSCOPE_DIFF_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map_or(2, |n| n.get())
                .clamp(2, 8)
        })
}

pub fn run(subjects: &[Subject]) -> RunResult {
    let started = Instant::now();
    let jobs: Vec<(usize, Check, Vec<String>)> = subjects
        .iter()
        .enumerate()
        .flat_map(|(i, s)| {
            cli::invocations(&s.case.dirs, s.case.recursive, &s.case.queries)
                .into_iter()
                .map(move |(check, args)| (i, check, args))
        })
        .collect();
    let outputs: Vec<Mutex<Option<CliOutput>>> = jobs.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let cases: Vec<Case> = subjects.iter().map(|s| s.case.clone()).collect();

    let (answers, oracle_time) = std::thread::scope(|s| {
        let oracle = s.spawn(|| {
            let t = Instant::now();
            let answers = oracle::ask(&cases, 2);
            (answers, t.elapsed())
        });
        for _ in 0..cli_threads() {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some((_, _, args)) = jobs.get(i) else {
                        break;
                    };
                    *outputs[i].lock().unwrap() = Some(cli::run(args));
                }
            });
        }
        oracle.join().expect("oracle thread panicked")
    });

    let mut failures = Vec::new();
    for ((subject, check, args), out) in jobs.iter().zip(outputs) {
        let out = out.into_inner().unwrap().expect("invocation did not run");
        let alts = compare::expected(*check, &answers[*subject]);
        if let Err(mismatch) = compare::compare(*check, &alts, &out) {
            failures.push(Failure {
                subject: *subject,
                check: *check,
                args: args.clone(),
                mismatch,
            });
        }
    }
    RunResult {
        answers,
        failures,
        invocations: jobs.len(),
        oracle_time,
        elapsed: started.elapsed(),
    }
}

/// A readable failure report: a summary by category, then the first
/// `detailed` failures with their graph and reproduction command.
pub fn report(subjects: &[Subject], result: &RunResult, detailed: usize) -> String {
    let mut out = String::new();
    let mut by_kind: BTreeMap<&str, usize> = BTreeMap::new();
    for f in &result.failures {
        *by_kind.entry(f.mismatch.kind.as_str()).or_default() += 1;
    }
    let failing_subjects: std::collections::BTreeSet<usize> =
        result.failures.iter().map(|f| f.subject).collect();
    let _ = writeln!(
        out,
        "{} of {} invocations disagree with Alembic, on {} of {} graphs:",
        result.failures.len(),
        result.invocations,
        failing_subjects.len(),
        subjects.len()
    );
    for (kind, n) in &by_kind {
        let _ = writeln!(out, "  {n:>6}  {kind}");
    }
    let mut shown_context = std::collections::BTreeSet::new();
    for f in result.failures.iter().take(detailed) {
        let s = &subjects[f.subject];
        let _ = writeln!(out, "\n=== {} — {}", s.case.id, f.mismatch.kind);
        if shown_context.insert(f.subject) {
            let _ = writeln!(out, "{}", s.context.trim_end());
        }
        if let Check::Query(i) = f.check {
            let q = &s.case.queries[i];
            let _ = writeln!(
                out,
                "query: alembic {} {:?} with database at {:?}",
                q.op.as_str(),
                q.target,
                q.current
            );
        }
        let _ = writeln!(out, "command: {}", cli::command_line(&f.args));
        let _ = writeln!(out, "migscope: {}", f.mismatch.ours);
        let _ = writeln!(out, "alembic:  {}", f.mismatch.alembic);
    }
    if result.failures.len() > detailed {
        let _ = writeln!(
            out,
            "\n... {} more (set MIGSCOPE_DIFF_REPORT=<n> to show more)",
            result.failures.len() - detailed
        );
    }
    out
}

pub fn detailed_failures() -> usize {
    std::env::var("MIGSCOPE_DIFF_REPORT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12)
}

/// Directory listing of the version directories, for failure contexts.
pub fn list_dirs(dirs: &[PathBuf]) -> String {
    dirs.iter()
        .map(|d| d.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
