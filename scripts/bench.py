#!/usr/bin/env python3
"""Time `migscope check` against `alembic heads` on generated projects.

Usage:
    scripts/bench.py [N ...] [--runs K] [--alembic-runs KA] [--seed S] [--no-build]
                     [--alembic PATH] [--workdir DIR] [--no-pyc] [--json PATH]

For each N (default: 500 and 10000) the script does the following:

1. It generates a project with scripts/gen_history.py into <workdir>/n<N>-s<S>/
   (default workdir: target/bench). An existing project is reused when it was made
   by the same generator with the same N and seed.
2. It runs each tool once as a warm-up and checks the results. `alembic heads` must
   succeed. `migscope check` must not fail with a usage or I/O error (exit code 2).
   It also compares `migscope heads` with `alembic heads` and warns when the head
   sets differ.
3. It times warm runs, alternating the two tools so that machine noise hits both
   alike. By default migscope runs K=10 times and alembic runs 10 times, or 3 times
   when N > 2000. Both commands run with cwd set to the project directory and
   `--config <dir>/alembic.ini` (alembic's `-c`).
   migscope is timed twice per round: with its record cache (kept in <workdir>/cache;
   the warm-up run fills it) and with MIGSCOPE_NO_CACHE=1, reading every file.
4. It prints the median and minimum wall time of each tool and the alembic/migscope
   ratios, with and without the cache.

migscope comes from `cargo build --release` (skipped with --no-build) and is
expected at $CARGO_TARGET_DIR/release/migscope, by default target/release/migscope.
The script looks for alembic in this order: --alembic, $ALEMBIC, .venv/bin/alembic in
the repository, then <workdir>/venv/bin/alembic. If none exists, it creates that last
venv with `pip install alembic==1.20.1`.

Python bytecode caching: by default alembic may write and reuse __pycache__ next to
the revision files, as on a normal developer machine. The warm-up run fills the
cache. With --no-pyc the cache is deleted and PYTHONDONTWRITEBYTECODE=1 is set, so
alembic compiles every file on every run. Its time then roughly doubles at 10k
revisions.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
GEN = REPO / "scripts" / "gen_history.py"
ALEMBIC_VERSION = "1.20.1"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def fmt_s(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.1f} ms"
    return f"{seconds:.2f} s"


# ------------------------------------------------------------------------------------
# Setup
# ------------------------------------------------------------------------------------


def build_migscope(no_build: bool) -> Path:
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    exe = target / "release" / ("migscope.exe" if os.name == "nt" else "migscope")
    if not no_build:
        log("+ cargo build --release")
        if subprocess.run(["cargo", "build", "--release"], cwd=REPO).returncode != 0:
            sys.exit("error: `cargo build --release` failed (use --no-build to time an existing binary)")
    if not exe.exists():
        sys.exit(f"error: {exe} does not exist (build failed, or run without --no-build)")
    return exe


def find_alembic(explicit: str | None, workdir: Path) -> Path:
    candidates = []
    if explicit:
        candidates.append(Path(explicit))
    if os.environ.get("ALEMBIC"):
        candidates.append(Path(os.environ["ALEMBIC"]))
    candidates += [REPO / ".venv" / "bin" / "alembic", workdir / "venv" / "bin" / "alembic"]
    for c in candidates:
        if c.exists():
            return c
    if explicit or os.environ.get("ALEMBIC"):
        sys.exit(f"error: alembic not found at {candidates[0]}")
    venv = workdir / "venv"
    log(f"+ creating {venv} with alembic=={ALEMBIC_VERSION}")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", f"alembic=={ALEMBIC_VERSION}"],
                   check=True)
    return venv / "bin" / "alembic"


def generate(n: int, seed: int, workdir: Path) -> Path:
    proj = workdir / f"n{n}-s{seed}"
    stamp = proj / ".gen-stamp"
    want = f"{n} {seed} {hashlib.sha256(GEN.read_bytes()).hexdigest()}\n"
    if stamp.exists() and stamp.read_text() == want:
        return proj
    if proj.exists():
        shutil.rmtree(proj)
    log(f"+ gen_history.py {n} {proj} --seed {seed}")
    subprocess.run([sys.executable, str(GEN), str(n), str(proj), "--seed", str(seed)], check=True)
    stamp.write_text(want)
    return proj


def project_stats(proj: Path) -> tuple[int, int]:
    files = list((proj / "migrations" / "versions").glob("*.py"))
    return len(files), sum(f.stat().st_size for f in files)


# ------------------------------------------------------------------------------------
# Running and timing
# ------------------------------------------------------------------------------------


def run_capture(cmd: list[str], cwd: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)


def timed(cmd: list[str], cwd: Path, env: dict) -> tuple[float, int]:
    t0 = time.perf_counter()
    p = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0, p.returncode


def head_ids(text: str) -> set[str]:
    # alembic: "<id> (labels) (head)"; migscope: "<id>"
    return {line.split()[0] for line in text.splitlines() if line.strip()}


def bench_one(n: int, args, exe: Path, alembic: Path, workdir: Path) -> dict:
    proj = generate(n, args.seed, workdir)
    ini = str(proj / "alembic.ini")
    nfiles, nbytes = project_stats(proj)

    env = dict(os.environ)
    if args.no_pyc:
        shutil.rmtree(proj / "migrations" / "versions" / "__pycache__", ignore_errors=True)
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    else:
        env.pop("PYTHONDONTWRITEBYTECODE", None)

    # The record cache (used from 1,000 files) lives in the work dir, and is timed both ways.
    env["MIGSCOPE_CACHE_DIR"] = str(workdir / "cache")
    env.pop("MIGSCOPE_NO_CACHE", None)
    cold_env = dict(env, MIGSCOPE_NO_CACHE="1")
    mig_cmd = [str(exe), "check", "--config", ini]
    ale_cmd = [str(alembic), "-c", ini, "heads"]
    k_mig = args.runs
    k_ale = args.alembic_runs if args.alembic_runs is not None else (10 if n <= 2000 else 3)

    log(f"\n== N={n}: {nfiles} revision files, {nbytes / 1e6:.1f} MB in {proj}")

    # Warm-up runs, which also check that both tools work on this tree.
    a = run_capture(ale_cmd, proj, env)
    if a.returncode != 0:
        sys.exit(f"error: alembic heads failed (exit {a.returncode}):\n{a.stderr[-2000:]}")
    m = run_capture(mig_cmd, proj, env)
    if m.returncode == 2 or m.returncode < 0:
        sys.exit(f"error: `{' '.join(mig_cmd)}` failed (exit {m.returncode}):\n{m.stderr[-2000:]}")
    if m.returncode == 1:
        log("note: migscope check reported error-level diagnostics (exit 1); timing anyway")
    mh = run_capture([str(exe), "heads", "--config", ini], proj, env)
    if mh.returncode != 0 or head_ids(mh.stdout) != head_ids(a.stdout):
        log("WARNING: `migscope heads` does not agree with `alembic heads`:\n"
            f"  alembic : {sorted(head_ids(a.stdout))}\n"
            f"  migscope: {sorted(head_ids(mh.stdout))} (exit {mh.returncode})\n"
            "  The migscope timing may not reflect a full read of the project.")

    mig_times, cold_times, ale_times = [], [], []
    for i in range(max(k_mig, k_ale)):
        # Alternate which tool goes first so neither one always follows the other.
        order = [("m", mig_cmd), ("c", mig_cmd), ("a", ale_cmd)]
        if i % 2:
            order.reverse()
        for tag, cmd in order:
            if tag == "m" and i < k_mig:
                t, _ = timed(cmd, proj, env)
                mig_times.append(t)
            elif tag == "c" and i < k_mig:
                t, _ = timed(cmd, proj, cold_env)
                cold_times.append(t)
            elif tag == "a" and i < k_ale:
                t, rc = timed(cmd, proj, env)
                if rc != 0:
                    sys.exit(f"error: alembic heads exited {rc} during timing")
                ale_times.append(t)
                log(f"  alembic run {len(ale_times)}/{k_ale}: {fmt_s(t)}")

    res = {
        "n": n, "files": nfiles, "bytes": nbytes, "project": str(proj),
        "migscope": {"runs": len(mig_times), "median": statistics.median(mig_times),
                     "min": min(mig_times), "exit": m.returncode, "times": mig_times},
        "migscope_nocache": {"runs": len(cold_times), "median": statistics.median(cold_times),
                             "min": min(cold_times), "times": cold_times},
        "alembic": {"runs": len(ale_times), "median": statistics.median(ale_times),
                    "min": min(ale_times), "times": ale_times},
    }
    res["ratio_median"] = res["alembic"]["median"] / res["migscope"]["median"]
    res["ratio_min"] = res["alembic"]["min"] / res["migscope"]["min"]
    res["ratio_nocache_median"] = res["alembic"]["median"] / res["migscope_nocache"]["median"]
    return res


def report(results: list[dict], args, alembic: Path) -> None:
    print()
    load = f" | load {os.getloadavg()[0]:.2f}" if hasattr(os, "getloadavg") else ""
    print(f"alembic: {alembic} | bytecode cache: {'off' if args.no_pyc else 'on'} | "
          f"python {platform.python_version()} | {platform.machine()} | cpus {os.cpu_count()}{load}")
    header = f"{'N':>7}  {'tool':<16} {'runs':>4} {'median':>10} {'min':>10}"
    print(header)
    print("-" * len(header))
    for r in results:
        tools = (("migscope", "migscope check"), ("migscope_nocache", "  (no cache)"),
                 ("alembic", "alembic heads"))
        for name, label in tools:
            s = r[name]
            print(f"{r['n']:>7}  {label:<16} {s['runs']:>4} {fmt_s(s['median']):>10} {fmt_s(s['min']):>10}")
        print(f"{'':>7}  {'ratio alembic/migscope':<27}  median {r['ratio_median']:.1f}x, "
              f"min {r['ratio_min']:.1f}x; without the cache median "
              f"{r['ratio_nocache_median']:.1f}x")


def main() -> int:
    p = argparse.ArgumentParser(description="Time `migscope check` against `alembic heads` on "
                                            "generated projects (see the module docstring).")
    p.add_argument("sizes", metavar="N", type=int, nargs="*", default=[500, 10000],
                   help="numbers of revisions (default: 500 10000)")
    p.add_argument("--runs", type=int, default=10, help="timed migscope runs (default 10)")
    p.add_argument("--alembic-runs", type=int, default=None,
                   help="timed alembic runs (default 10, or 3 when N > 2000)")
    p.add_argument("--seed", type=int, default=1, help="generator seed (default 1)")
    p.add_argument("--workdir", type=Path, default=REPO / "target" / "bench",
                   help="where projects and the venv go (default target/bench)")
    p.add_argument("--alembic", help="alembic executable (default: $ALEMBIC, .venv, or a new venv)")
    p.add_argument("--no-build", action="store_true", help="skip `cargo build --release`")
    p.add_argument("--no-pyc", action="store_true",
                   help="make alembic compile every revision file on every run")
    p.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    args = p.parse_args()
    if args.runs < 1 or (args.alembic_runs is not None and args.alembic_runs < 1):
        p.error("run counts must be at least 1")

    args.workdir.mkdir(parents=True, exist_ok=True)
    exe = build_migscope(args.no_build)
    alembic = find_alembic(args.alembic, args.workdir)
    log(f"migscope: {exe}\nalembic : {alembic}")

    results = [bench_one(n, args, exe, alembic, args.workdir) for n in args.sizes]
    report(results, args, alembic)
    if args.json:
        args.json.write_text(json.dumps({"results": results, "no_pyc": args.no_pyc,
                                         "alembic": str(alembic)}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
