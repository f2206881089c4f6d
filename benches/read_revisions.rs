//! Reader throughput on a generated "busy team" project. No process startup, no graph.
//!
//! Run with `cargo bench --bench read_revisions`. It needs a `[[bench]]` entry with
//! `harness = false`. Options come from the environment:
//!
//! - `MIGSCOPE_BENCH_DIR`: a `versions/` directory to read. By default the bench
//!   generates `target/bench/rust-n<N>-s1` with `scripts/gen_history.py`, or reuses it
//!   if it already exists.
//! - `MIGSCOPE_BENCH_N`: number of revisions to generate (default 10000).
//! - `MIGSCOPE_BENCH_RUNS`: timed runs per case (default 10, after one warm-up).
//!
//! For each case the bench prints the median and minimum time, the time per file and
//! the throughput. The cases are: the fast path (`read_source`), the full parser
//! (`read_source_full`), the fast path across all cores (rayon), and `read_file` from
//! a warm page cache. Before timing, it checks that the fast path and the full parser
//! return the same record for every file. The reader's documentation promises that.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use migscope::revision::read::{read_file, read_source, read_source_full};
use rayon::prelude::*;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn versions_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("MIGSCOPE_BENCH_DIR") {
        return PathBuf::from(dir);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let n = env_usize("MIGSCOPE_BENCH_N", 10_000);
    let project = root
        .join("target")
        .join("bench")
        .join(format!("rust-n{n}-s1"));
    let versions = project.join("migrations").join("versions");
    if !versions.is_dir() {
        eprintln!("generating {n} revisions into {}", project.display());
        let status = Command::new("python3")
            .arg(root.join("scripts").join("gen_history.py"))
            .arg(n.to_string())
            .arg(&project)
            .args(["--seed", "1", "--force"])
            .status()
            .expect("python3 is needed to generate the benchmark project");
        assert!(status.success(), "gen_history.py failed");
    }
    versions
}

fn load(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "py"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect()
}

fn time_case(name: &str, runs: usize, files: usize, bytes: usize, mut f: impl FnMut()) {
    f(); // warm-up
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    let median = times[times.len() / 2];
    let min = times[0];
    println!(
        "{name:<28} median {:>9.2} ms   min {:>9.2} ms   {:>7.2} µs/file   {:>7.1} MB/s",
        median.as_secs_f64() * 1e3,
        min.as_secs_f64() * 1e3,
        median.as_secs_f64() * 1e6 / files as f64,
        bytes as f64 / 1e6 / median.as_secs_f64(),
    );
}

fn main() {
    let dir = versions_dir();
    let runs = env_usize("MIGSCOPE_BENCH_RUNS", 10).max(1);
    let corpus = load(&dir);
    let bytes: usize = corpus.iter().map(|(_, b)| b.len()).sum();
    let n = corpus.len();
    assert!(n > 0, "no .py files in {}", dir.display());
    println!(
        "{} files, {:.1} MB, from {} ({runs} runs per case, rayon threads: {})",
        n,
        bytes as f64 / 1e6,
        dir.display(),
        rayon::current_num_threads()
    );

    // The fast path and the full parser must return the same record on every file.
    let mismatches: Vec<&PathBuf> = corpus
        .par_iter()
        .filter(|(p, b)| read_source(p, b) != read_source_full(p, b))
        .map(|(p, _)| p)
        .collect();
    if !mismatches.is_empty() {
        eprintln!(
            "WARNING: fast path and full parser disagree on {} file(s), e.g. {}",
            mismatches.len(),
            mismatches[0].display()
        );
    }

    time_case("read_source (fast path)", runs, n, bytes, || {
        for (p, b) in &corpus {
            black_box(read_source(p, b));
        }
    });
    time_case("read_source_full (parser)", runs, n, bytes, || {
        for (p, b) in &corpus {
            black_box(read_source_full(p, b));
        }
    });
    time_case("read_source, rayon", runs, n, bytes, || {
        corpus.par_iter().for_each(|(p, b)| {
            black_box(read_source(p, b));
        });
    });
    time_case("read_file (warm cache)", runs, n, bytes, || {
        for (p, _) in &corpus {
            black_box(read_file(p));
        }
    });
}
