#!/usr/bin/env bash
# Benchmark `migscope check` against `alembic heads` on generated Alembic projects.
#
# Usage: scripts/bench.sh [N...] [options]     (default N: 500 10000)
#
# Thin wrapper around scripts/bench.py. All arguments are passed through, so
# `scripts/bench.sh --help` lists every option. Examples:
#   scripts/bench.sh                        # N=500 and N=10000, K=10 (alembic: 10 / 3 runs)
#   scripts/bench.sh 2000 --runs 20
#   ALEMBIC=/path/to/alembic scripts/bench.sh 10000 --no-build
# Projects, and the alembic venv if one is needed, go to target/bench/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
command -v python3 >/dev/null || { echo "error: python3 is required" >&2; exit 2; }
exec python3 scripts/bench.py "$@"
