//! The explorer's first frame and key-press-to-frame times (a benchmark, not a timed test).
//!
//! Run with `cargo bench --bench tui`. Projects come from `MIGSCOPE_BENCH_TUI` (comma-separated
//! project directories holding an `alembic.ini`); by default `/tmp/t500` and `/tmp/t10k`, generated
//! with `scripts/gen_history.py 500 /tmp/t500` and `scripts/gen_history.py 10000 /tmp/t10k` when
//! missing. Frames are drawn into ratatui's `TestBackend` at 120×40 (the terminal's own output
//! is not included).
//!
//! `MIGSCOPE_BENCH_TUI_DB=URL` connects the explorer to that database first (e.g. an empty
//! SQLite file: every revision pending), to measure keys with the database side drawn.
//!
//! First frame = load the project (discover, read, build the map) + the explorer's state (rows,
//! lanes, diagnostics, search index) + one draw. Key press = `handle_key` + one draw.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use migscope::config::ConfigOptions;
use migscope::project::{OpsScope, Project};
use migscope::render::lanes::GlyphSet;
use migscope::tui::jobs::{Context, Jobs};
use migscope::tui::repair::{Repair, Target};
use migscope::tui::search::TableNames;
use migscope::tui::{self, Key, State, view};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const SIZE: (u16, u16) = (120, 40);

fn ensure(dir: &Path) {
    if dir.join("alembic.ini").exists() {
        return;
    }
    let n = dir
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| {
            n.trim_start_matches('t')
                .replace('k', "000")
                .parse::<usize>()
                .ok()
        })
        .unwrap_or(10_000);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/gen_history.py");
    let ok = Command::new("python3")
        .arg(script)
        .arg(n.to_string())
        .arg(dir)
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "could not generate {}", dir.display());
}

fn load(dir: &Path) -> Project {
    let mut opts = ConfigOptions::new(dir);
    opts.config = vec![dir.join("alembic.ini")];
    Project::load(&opts).expect("project loads")
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn stats(mut v: Vec<Duration>) -> (Duration, Duration, Duration) {
    v.sort();
    (v[v.len() / 2], v[v.len() * 99 / 100], v[v.len() - 1])
}

fn draw(t: &mut Terminal<TestBackend>, s: &State) {
    t.draw(|f| view::draw(f, s)).unwrap();
    black_box(t.backend().buffer());
}

/// Connects the explorer to `url` through its worker and waits for the first read, so the keys
/// below are measured with the database's marks, header and details drawn too.
fn with_database(state: &mut State, project: &Arc<Project>, url: &str) -> Jobs {
    let url = migscope::db::parse_url(url, Path::new(".")).expect("MIGSCOPE_BENCH_TUI_DB");
    let table = migscope::db::VersionTable::default();
    let jobs = Jobs::start(Context {
        project: Arc::clone(project),
        url: url.clone(),
        table: table.clone(),
        journal: None,
        alembic: None,
    });
    let target = Target {
        url,
        source: "MIGSCOPE_BENCH_TUI_DB".into(),
        table,
        journal: None,
        alembic: Err("not needed here".into()),
    };
    state.repair = Repair::connect(target, true);
    let t = Instant::now();
    while state.repair.busy.is_some() {
        for r in state.repair.take_requests() {
            jobs.send(r);
        }
        if let Some(ev) = jobs.recv_timeout(Duration::from_millis(100)) {
            state.on_job_event(ev);
        }
    }
    let rows = state.repair.db.as_ref().map(|l| l.assessment.rows.len());
    println!(
        "  database read and assessed off the UI thread in {} ({rows:?} version rows; error: {:?})",
        ms(t.elapsed()),
        state.repair.error
    );
    jobs
}

fn bench(dir: &Path) {
    ensure(dir);
    // Warm the page cache once, as a user's second start would be.
    drop(load(dir));

    let t0 = Instant::now();
    let project: &'static Arc<Project> = Box::leak(Box::new(Arc::new(load(dir))));
    let t1 = Instant::now();
    let mut state = tui::state_for(project, &[], GlyphSet::Unicode, SIZE);
    let t2 = Instant::now();
    let _jobs = std::env::var("MIGSCOPE_BENCH_TUI_DB")
        .ok()
        .map(|url| with_database(&mut state, project, &url));
    let mut term = Terminal::new(TestBackend::new(SIZE.0, SIZE.1)).unwrap();
    draw(&mut term, &state);
    let t3 = Instant::now();
    // What the background job adds after the first frame: searching them costs per key.
    let tables = TableNames::of(&project.ops(OpsScope::Upgrade), &project.map);
    state.set_table_names(tables);
    println!(
        "{}: {} revisions, {} lanes wide, {} lines",
        dir.display(),
        project.map.len(),
        state.layout.width(),
        state.layout.total_lines()
    );
    println!(
        "  first frame {} = load {} + state {} + draw {}",
        ms(t3 - t0),
        ms(t1 - t0),
        ms(t2 - t1),
        ms(t3 - t2)
    );

    println!("  peak RSS so far (VmHWM) {}", vm_hwm());
    // One poll of the file watcher (stat every revision file), warm.
    let watched = tui::watch::Watched::of(project);
    let polls: Vec<Duration> = (0..20)
        .map(|_| {
            let t = Instant::now();
            black_box(watched.snapshot());
            t.elapsed()
        })
        .collect();
    let (med, _, max) = stats(polls);
    let sweep = watched.snapshot();
    let quick: Vec<Duration> = (0..20)
        .map(|_| {
            let t = Instant::now();
            black_box(watched.quick(&sweep));
            t.elapsed()
        })
        .collect();
    let (qmed, _, qmax) = stats(quick);
    println!(
        "  watcher: full sweep ({} files) median {} max {}; quick check median {} max {}",
        sweep.files,
        ms(med),
        ms(max),
        ms(qmed),
        ms(qmax)
    );

    // Where the state's time goes.
    let a = Instant::now();
    let rows = migscope::render::rows::graph_rows(&project.map);
    let b = Instant::now();
    black_box(migscope::render::rows::layout(&rows));
    let c = Instant::now();
    black_box(tui::diagnostics(project, &[]));
    let d = Instant::now();
    println!(
        "  state: rows {} + lanes {} + diagnostics {} (+ indexes)",
        ms(b - a),
        ms(c - b),
        ms(d - c)
    );

    // Key press → frame, per kind of key.
    let cases: &[(&str, &[Key])] = &[
        ("j (down)", &[Key::Char('j')]),
        ("k (up)", &[Key::Char('k')]),
        ("PgDn", &[Key::PageDown]),
        ("G / g", &[Key::Char('G'), Key::Char('g')]),
        ("h (next head)", &[Key::Char('h')]),
        ("p (parent)", &[Key::Char('p')]),
        ("c (child)", &[Key::Char('c')]),
        ("n (next match)", &[Key::Char('n')]),
        ("z (fold/unfold)", &[Key::Char('z')]),
        ("Z (fold all/unfold)", &[Key::Char('Z')]),
        ("? / q (help)", &[Key::Char('?'), Key::Char('q')]),
    ];
    // A search to make n meaningful; typing a character re-scans every row.
    let mut typing = Vec::new();
    state.handle_key(Key::Char('/'));
    for c in "add".chars() {
        let t = Instant::now();
        state.handle_key(Key::Char(c));
        draw(&mut term, &state);
        typing.push(t.elapsed());
    }
    state.handle_key(Key::Enter);
    let (med, _, max) = stats(typing);
    println!(
        "  {:<22} median {:>9}  max {:>9}  ({} matches)",
        "search typing",
        ms(med),
        ms(max),
        state.search.matches.len()
    );
    // Start in the middle, where the ancestry is largest.
    for _ in 0..state.rows.len() / 2 {
        state.handle_key(Key::Char('j'));
    }
    for (name, keys) in cases {
        let runs = if name.starts_with('Z') { 20 } else { 200 };
        let mut times = Vec::with_capacity(runs * keys.len());
        for i in 0..runs {
            for &k in keys.iter() {
                let t = Instant::now();
                state.handle_key(k);
                draw(&mut term, &state);
                times.push(t.elapsed());
            }
            // Wander back so j/k/PgDn keep working on the middle rows.
            if *name == "PgDn" && i % 10 == 9 {
                state.handle_key(Key::Char('g'));
                for _ in 0..state.rows.len() / 2 {
                    state.handle_key(Key::Char('j'));
                }
            }
        }
        let (med, p99, max) = stats(times);
        println!(
            "  {name:<22} median {:>9}  p99 {:>9}  max {:>9}",
            ms(med),
            ms(p99),
            ms(max)
        );
    }
}

/// The process's peak resident memory, from /proc (Linux).
fn vm_hwm() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l["VmHWM:".len()..].trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

fn main() {
    let dirs: Vec<PathBuf> = std::env::var("MIGSCOPE_BENCH_TUI")
        .map(|v| v.split(',').map(PathBuf::from).collect())
        .unwrap_or_else(|_| vec![PathBuf::from("/tmp/t500"), PathBuf::from("/tmp/t10k")]);
    for d in dirs {
        bench(&d);
    }
}
