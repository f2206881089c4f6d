#!/usr/bin/env python3
"""Peak memory of the real explorer with a database connected (issue 4: under 60 MiB at 10,000).

Usage:
    scripts/tui_memory.py [--revisions N] [--runs K] [--no-build] [--no-db] [--edit] [--cold]
                          [--stamp] [--bin PATH]

Generates a project with scripts/gen_history.py (target/bench/tui-N, --broken), a SQLite
database beside it with 50 unrelated tables, stamped at the middle of the history (so half
the revisions are applied and half pending, and the schema evidence has work to do), then
K times: starts `migscope --db sqlite:///...` in a detached tmux session (a real terminal),
waits until the header shows the database's state, waits a further second for the screen to
settle, reads the process's peak resident set size (VmHWM in /proc/PID/status), and quits
with `q`. Prints each run and the median. Needs tmux and Linux's /proc.

The first run may fill the caches (records, operations); later runs are the warm case.

--cold: each run starts from an empty cache directory (a first start: every file parsed).

--stamp: once settled, takes the doctor's suggested stamp through its preview and typed
confirmation (on a copy of the database), waits for the re-read, then reads the peak.

--edit: once settled, appends a comment to one revision file, as an editor would, waits 6 s for
the watcher's reload and the database's re-read (the explorer holds both projects until the
swap), reads the peak then, and puts the file back.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def sh(args: list[str], **kw) -> str:
    return subprocess.run(args, check=True, text=True, capture_output=True, **kw).stdout


def prepare(n: int, binary: str) -> tuple[Path, Path]:
    project = ROOT / "target" / "bench" / f"tui-{n}"
    if not (project / "alembic.ini").exists():
        sh([sys.executable, str(ROOT / "scripts" / "gen_history.py"), str(n), str(project), "--broken", "--force"])
    db = project / "bench.sqlite"
    if not db.exists():
        import sqlite3

        con = sqlite3.connect(db)
        for i in range(50):
            con.execute(f"create table bench_t{i} (id integer primary key, name text, v integer)")
        con.commit()
        con.close()
        ids = sh([binary, "history"], cwd=project).splitlines()
        middle = ids[len(ids) // 2].split()[0].rstrip(",")
        sh([binary, "stamp", "--db", f"sqlite:///{db}", middle, "--yes"], cwd=project)
    return project, db


def pane(session: str) -> str:
    return sh(["tmux", "capture-pane", "-p", "-t", session])


def one_run(
    binary: str, project: Path, db: Path | None, session: str, edit: bool, cold: bool, stamp: bool
) -> int:
    if db and stamp:
        import shutil
        import tempfile

        copy = Path(tempfile.mkdtemp(prefix="migscope-stamp-")) / "bench.sqlite"
        shutil.copy(db, copy)
        db = copy
    if db:
        args = [binary, "--db", f"sqlite:///{db}"]
    else:
        # The generated alembic.ini names a PostgreSQL URL; without it there is no database.
        ini = project / "alembic-nodb.ini"
        text = (project / "alembic.ini").read_text()
        ini.write_text("".join(l for l in text.splitlines(True) if not l.startswith("sqlalchemy.url")))
        args = [binary, "-c", str(ini)]
    env_prefix = "MIGSCOPE_DATABASE_URL= DATABASE_URL="
    if cold:
        import tempfile

        env_prefix += f" MIGSCOPE_CACHE_DIR={tempfile.mkdtemp(prefix='migscope-cold-')}"
    cmd = f"cd {project} && {env_prefix} exec " + " ".join(args)
    subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
    sh(["tmux", "new-session", "-d", "-s", session, "-x", "200", "-y", "50", cmd])
    pid = int(sh(["tmux", "display-message", "-p", "-t", session, "#{pane_pid}"]).strip())
    deadline = time.time() + 60
    want = ("pending", "applied", "behind", "ahead", "unknown") if db else ("revisions",)
    while time.time() < deadline:
        head = pane(session).splitlines()[:1]
        if head and any(w in head[0] for w in want):
            break
        time.sleep(0.1)
    else:
        sys.exit(f"the explorer did not show the database within 60 s:\n{pane(session)}")
    time.sleep(1.0)
    if stamp:
        keys = lambda *k: sh(["tmux", "send-keys", "-t", session, *k])
        keys("D")
        time.sleep(0.5)
        keys("Enter")
        time.sleep(1.5)
        keys("Enter")
        time.sleep(0.5)
        prompt = next((l for l in pane(session).splitlines() if "Type " in l), "")
        answer = prompt.split("Type ", 1)[1].split(" and Enter", 1)[0] if prompt else ""
        if not answer:
            sys.exit(f"no confirmation prompt:\n{pane(session)}")
        keys("-l", answer)
        keys("Enter")
        deadline = time.time() + 60
        while time.time() < deadline and "stamped" not in pane(session):
            time.sleep(0.1)
        time.sleep(3.0)
    if edit:
        victim = sorted((project / "migrations" / "versions").glob("*.py"))[0]
        original = victim.read_bytes()
        try:
            victim.write_bytes(original + b"\n# edited\n")
            time.sleep(6.0)
        finally:
            victim.write_bytes(original)
    status = Path(f"/proc/{pid}/status").read_text()
    hwm = next(int(l.split()[1]) for l in status.splitlines() if l.startswith("VmHWM:"))
    sh(["tmux", "send-keys", "-t", session, "q"])
    for _ in range(50):
        if subprocess.run(["tmux", "has-session", "-t", session], capture_output=True).returncode:
            break
        time.sleep(0.1)
    return hwm


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--revisions", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--no-db", action="store_true", help="the graph alone, for comparison")
    ap.add_argument("--edit", action="store_true", help="the peak through a reload after an edit")
    ap.add_argument("--cold", action="store_true", help="an empty cache each run")
    ap.add_argument("--stamp", action="store_true", help="the peak through the doctor's stamp")
    ap.add_argument("--bin", default=str(ROOT / "target" / "release" / "migscope"))
    a = ap.parse_args()
    if not a.no_build:
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    project, db = prepare(a.revisions, a.bin)
    session = f"migscope-mem-{os.getpid()}"
    runs = []
    for i in range(a.runs):
        kb = one_run(a.bin, project, None if a.no_db else db, session, a.edit, a.cold, a.stamp)
        runs.append(kb)
        print(f"run {i + 1}: peak RSS {kb / 1024:.1f} MiB")
    print(
        f"{a.revisions} revisions, {'no database' if a.no_db else 'SQLite database'}"
        f"{', through a reload after an edit' if a.edit else ''}"
        f"{', cold cache' if a.cold else ''}{', through the doctor’s stamp' if a.stamp else ''}: "
        f"median peak RSS {statistics.median(runs) / 1024:.1f} MiB (target: under 60 MiB)"
    )


if __name__ == "__main__":
    main()
