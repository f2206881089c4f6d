#!/usr/bin/env python3
"""Batch Alembic oracle for migscope's differential tests.

Answers revision-graph questions with the *real* alembic package (the version
pinned in requirements.txt): alembic's own ``ScriptDirectory`` /
``RevisionMap`` are built from the version directories and alembic's own
``_upgrade_revs``, ``_downgrade_revs``, ``walk_revisions`` and
``revision_map.heads / bases / _real_heads`` are called.

The migration modules are never imported.  Each revision file is parsed with
``ast`` and a stand-in module object that carries only what alembic reads
(``revision``, ``down_revision``, ``branch_labels``, ``depends_on``, the
docstring, dummy ``upgrade()``/``downgrade()``) is handed to alembic's real
``Script`` class.  File discovery goes through alembic's own
``Script._list_py_dir``, file-name regex and de-duplication, so the revisions
reach the ``RevisionMap`` in exactly the order a real run would use.

Protocol (one Python start-up for many graphs)
----------------------------------------------
stdin: one JSON document, either a list of cases or ``{"cases": [...],
"max_variants": N, "cpu_limit": SECONDS}``.  A case is::

    {"id": <any>, "dirs": ["/abs/versions", ...], "recursive": false,
     "queries": [{"op": "upgrade"|"downgrade"|"stamp", "current": ["rev", ...],
                  "target": "..."}]}

``stamp`` queries may also give ``"targets": [...]`` (several destinations;
default ``[target]``) and ``"purge": true``; their RESULT's ``revisions`` are
the version table's rows after the stamp, sorted.

stdout: one JSON object per line, one line per case, in input order::

    {"id": ..., "alembic_version": "1.20.1", "warnings": [...],
     # when building the map fails (cycle, missing revision, ...):
     "error": {"type", "message", ...}
     # otherwise:
     "load_order", "heads", "real_heads", "bases", "real_bases",
     "branch_labels": {label: rev}, "hash_order_sensitive": {rev: [deps]},
     "revisions": [{"id", "down_revision": [...], "dependencies": [resolved
                    ids], "branch_labels": [own labels]}, ...] (map order),
     "history": RESULT, "upgrade_heads_from_empty": RESULT,
     "queries": [RESULT, ...]}

    RESULT = {"revisions": [...]} | {"error": ERROR}
             (+ "warnings": [...] when alembic warned,
              + "variants": [RESULT, ...] when alembic can give several
                answers, see below)
    ERROR  = {"type", "message", "cause_type"?, "cause_message"?, "site",
              "key"? (KeyError only)}

``message`` is the text the alembic CLI prints after ``FAILED:``;
``type`` is ``"Timeout"`` when alembic did not finish within ``cpu_limit``
seconds of CPU time (default 1; 5x that for loading the map): alembic's
cycle detection misses cycles reachable from both a head and a base, and its
topological sort then never terminates.
``cause_message`` is the wrapped internal exception's text; ``site`` is the
name of the alembic function that raised the innermost exception (useful for
the ``AssertionError`` crashes).

Hash-order variants
-------------------
alembic stores a revision's normalized ``depends_on`` entries as
``tuple(set(...))`` (``RevisionMap._normalize_depends_on``), so when a
revision has >= 2 of them the upgrade/downgrade/history order depends on the
``str`` hash seed of the process.  Nothing caches anything derived from that
tuple (``Revision._normalized_down_revisions`` is a plain property and the
memoized ``RevisionMap`` attributes -- heads, bases, _real_heads, _real_bases,
_revision_map -- do not read it), so the oracle re-runs every order-bearing
question with each permutation of those tuples assigned on the ``Revision``
objects and reports every distinct answer in ``variants`` (the first variant
is the answer of this process's own hash order).  ``max_variants`` caps the
number of permutation combinations tried (``variants_truncated`` is set when
the cap was hit).

Run it with the interpreter of the venv that has alembic installed
(``<repo>/.venv/bin/python``); ``tests/support`` does that.
"""
from __future__ import annotations

import ast
import itertools
import json
import os
from pathlib import Path
import re
import signal
import sys
import traceback
import types
import warnings

import alembic
from alembic import util as alembic_util
from alembic.script import base as script_base
from alembic.script.base import Script
from alembic.script.base import ScriptDirectory

IDENT_NAMES = ("revision", "down_revision", "branch_labels", "depends_on")

DEFAULT_MAX_VARIANTS = 5040
DEFAULT_CPU_LIMIT = 1.0


class CpuLimitExceeded(BaseException):
    """Raised (from a SIGVTALRM handler) when alembic runs away.

    alembic's cycle detection misses a cycle that is reachable from both a
    head and a base; its topological sort then loops forever.  A
    BaseException so that no ``except Exception`` inside alembic swallows it.
    """


def _on_cpu_limit(signum, frame):
    raise CpuLimitExceeded()


class cpu_limit:
    """Interrupt the body after `seconds` of this process's CPU time (not
    wall time, so that a busy machine does not cause false timeouts)."""

    def __init__(self, seconds: float):
        self.seconds = seconds

    def __enter__(self):
        if self.seconds and hasattr(signal, "setitimer"):
            signal.signal(signal.SIGVTALRM, _on_cpu_limit)
            signal.setitimer(signal.ITIMER_VIRTUAL, self.seconds)
        return self

    def __exit__(self, *exc):
        if self.seconds and hasattr(signal, "setitimer"):
            signal.setitimer(signal.ITIMER_VIRTUAL, 0)
        return False


def _timeout_err(exc: BaseException, seconds: float) -> dict:
    # the innermost frame is the signal handler; report the interrupted one
    frames = traceback.extract_tb(exc.__traceback__)
    names = [f.name for f in frames if f.name != "_on_cpu_limit"]
    return {
        "type": "Timeout",
        "message": "alembic did not finish within %ss of CPU time "
        "(it loops forever on some cyclic graphs)" % seconds,
        "site": names[-1] if names else None,
    }


class Unevaluable(Exception):
    pass


class OracleError(Exception):
    """An error the oracle itself raises (e.g. a non-literal identifier)."""


# ---------------------------------------------------------------------------
# AST reading of a revision file
# ---------------------------------------------------------------------------


def _eval_node(node: ast.AST, env: dict):
    """Evaluate a restricted expression: literals, containers of literals and
    names of previously assigned module-level literal values."""
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        pass
    if isinstance(node, ast.Name):
        if node.id in env:
            return env[node.id]
        raise Unevaluable("name %r is not a known module-level literal" % node.id)
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        items = [_eval_node(e, env) for e in node.elts]
        if isinstance(node, ast.Tuple):
            return tuple(items)
        if isinstance(node, ast.List):
            return list(items)
        return set(items)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _eval_node(node.left, env) + _eval_node(node.right, env)
    raise Unevaluable("expression %r is not a literal" % (ast.unparse(node),))


def _bind(target: ast.AST, value, env: dict, unevaluable: dict, err):
    if isinstance(target, ast.Name):
        if err is not None:
            env.pop(target.id, None)
            unevaluable[target.id] = err
        else:
            env[target.id] = value
            unevaluable.pop(target.id, None)
    elif isinstance(target, (ast.Tuple, ast.List)):
        vals = None
        if err is None:
            try:
                vals = list(value)
            except TypeError:
                vals = None
            if vals is None or len(vals) != len(target.elts):
                err = "cannot unpack value for %s" % ast.unparse(target)
        for i, elt in enumerate(target.elts):
            _bind(elt, None if err else vals[i], env, unevaluable, err)
    # attribute / subscript targets do not bind module names: ignore


def read_revision_file(path: Path) -> dict:
    """Return {'values': {...}, 'unevaluable': {...}, 'doc': str|None}.

    Only top-level statements are considered, in order (the last binding
    wins), which is what executing the module would produce for the usual
    generated files.
    """
    tree = ast.parse(path.read_bytes(), filename=str(path))
    env: dict = {}
    unevaluable: dict = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign):
            try:
                value, err = _eval_node(stmt.value, env), None
            except Unevaluable as e:
                value, err = None, str(e)
            for tgt in stmt.targets:
                _bind(tgt, value, env, unevaluable, err)
        elif isinstance(stmt, ast.AnnAssign):
            if stmt.value is None:
                # "revision: str" without a value binds nothing at runtime
                continue
            try:
                value, err = _eval_node(stmt.value, env), None
            except Unevaluable as e:
                value, err = None, str(e)
            _bind(stmt.target, value, env, unevaluable, err)
        elif isinstance(
            stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
        ):
            env.pop(stmt.name, None)
            unevaluable.pop(stmt.name, None)
    return {
        "values": {k: env[k] for k in IDENT_NAMES if k in env},
        "unevaluable": {k: unevaluable[k] for k in IDENT_NAMES if k in unevaluable},
        "doc": ast.get_docstring(tree, clean=False),
    }


def _dummy_upgrade(**kw):
    return None


def _dummy_downgrade(**kw):
    return None


_dummy_upgrade.__name__ = "upgrade"
_dummy_downgrade.__name__ = "downgrade"


def make_script(path: Path):
    """AST-based replacement for alembic's ``Script._from_path`` (source
    files only); mirrors its decisions exactly except that the module is not
    executed."""
    dir_, filename = path.parent, path.name
    if not script_base._only_source_rev_file.match(filename):
        return None
    info = read_revision_file(path)
    if info["unevaluable"]:
        raise OracleError(
            "%s: identifier(s) not statically evaluable: %s"
            % (path, info["unevaluable"])
        )
    vals = info["values"]
    # same module name alembic's load_python_file would use
    mod = types.ModuleType(re.sub(r"\W", "_", filename))
    mod.__doc__ = info["doc"]
    mod.upgrade = _dummy_upgrade
    mod.downgrade = _dummy_downgrade
    for k in IDENT_NAMES:
        if k in vals:
            setattr(mod, k, vals[k])
    if not hasattr(mod, "revision"):
        m = script_base._legacy_rev.match(filename)
        if not m:
            raise alembic_util.CommandError(
                "Could not determine revision id from "
                f"filename {filename}. "
                "Be sure the 'revision' variable is "
                "declared inside the script (please see 'Upgrading "
                "from Alembic 0.1 to 0.2' in the documentation)."
            )
        rev_id = m.group(1)
    else:
        rev_id = mod.revision
    # Script.__init__ reads module.down_revision directly -> AttributeError
    # when it is absent, exactly like real alembic.
    return Script(mod, rev_id, dir_ / filename)


class OracleScriptDirectory(ScriptDirectory):
    def _load_revisions(self):
        # identical to ScriptDirectory._load_revisions, except that the
        # module is read with ast instead of being imported.
        paths = [vers for vers in self._version_locations if vers.exists()]
        dupes = set()
        for vers in paths:
            for file_path in Script._list_py_dir(self, vers):
                real_path = file_path.resolve()
                if real_path in dupes:
                    alembic_util.warn(
                        f"File {real_path} loaded twice! ignoring. "
                        "Please ensure version_locations is unique."
                    )
                    continue
                dupes.add(real_path)
                script = make_script(real_path)
                if script is None:
                    continue
                yield script


# ---------------------------------------------------------------------------
# answers
# ---------------------------------------------------------------------------


def _site(exc: BaseException) -> str | None:
    tb = exc.__traceback__
    if tb is None:
        return None
    while tb.tb_next is not None:
        tb = tb.tb_next
    return tb.tb_frame.f_code.co_name


def _err(exc: BaseException) -> dict:
    d = {"type": type(exc).__name__, "message": str(exc)}
    if isinstance(exc, KeyError) and exc.args:
        d["key"] = str(exc.args[0])
    cause = exc.__cause__
    if cause is not None:
        d["cause_type"] = type(cause).__name__
        d["cause_message"] = str(cause)
        d["site"] = _site(cause)
    else:
        d["site"] = _site(exc)
    if os.environ.get("ORACLE_TRACEBACK"):
        d["traceback"] = traceback.format_exception(exc)
    return d


def _run(fn, cpu_seconds: float) -> dict:
    """Run one order-bearing question; {"revisions"} or {"error"}."""
    with warnings.catch_warnings(record=True) as wlist:
        warnings.simplefilter("always")
        try:
            with cpu_limit(cpu_seconds):
                res = {"revisions": fn()}
        except CpuLimitExceeded as e:
            res = {"error": _timeout_err(e, cpu_seconds)}
        except Exception as e:  # noqa: BLE001 - alembic's own errors
            res = {"error": _err(e)}
    if wlist:
        res["warnings"] = [str(w.message) for w in wlist]
    return res


def _questions(script, queries):
    """The order-bearing questions of a case, as zero-argument callables:
    history, upgrade heads from an empty database, then each query."""

    def history():
        return [s.revision for s in script.walk_revisions()]

    def upgrade_heads_from_empty():
        return [s.revision.revision for s in script._upgrade_revs("heads", ())]

    def query(q):
        op, target = q["op"], q["target"]
        current = tuple(q.get("current") or ())
        if op == "upgrade":
            return lambda: [
                s.revision.revision for s in script._upgrade_revs(target, current)
            ]
        if op == "downgrade":
            return lambda: [
                s.revision.revision
                for s in script._downgrade_revs(target, current)
            ]
        if op == "stamp":
            targets = q.get("targets")
            if targets is None:
                targets = [target]
            purge = bool(q.get("purge"))
            return lambda: _stamp_rows(script, current, targets, purge)
        raise OracleError("unknown op %r" % (op,))

    return [history, upgrade_heads_from_empty] + [query(q) for q in queries]


def _stamp_rows(script, current, targets, purge):
    """``alembic stamp TARGETS [--purge]`` on a version table holding
    ``current``: alembic's own MigrationContext.run_migrations with the
    ``_stamp_revs`` function ``command.stamp`` installs, against an in-memory
    SQLite version table.  Returns the rows left, sorted."""
    from sqlalchemy import create_engine
    from alembic.runtime.migration import MigrationContext

    engine = create_engine("sqlite://")
    with engine.connect() as conn:
        setup = MigrationContext.configure(conn)
        if current:
            setup._ensure_version_table()
            for row in dict.fromkeys(current):
                conn.execute(setup._version.insert().values(version_num=row))
        ctx = MigrationContext.configure(
            conn,
            opts={
                "fn": lambda heads, _ctx: script._stamp_revs(
                    tuple(targets), heads
                ),
                "purge": purge,
            },
        )
        ctx.run_migrations()
        return sorted(ctx.get_current_heads())


def _variant_key(res: dict) -> str:
    return json.dumps({k: v for k, v in res.items() if k != "warnings"}, sort_keys=True)


def _map_revisions(rm):
    """The Revision objects in map order (no label aliases / None keys)."""
    revs, seen = [], set()
    for key, rev in rm._revision_map.items():
        if rev is None or key != rev.revision or id(rev) in seen:
            continue
        seen.add(id(rev))
        revs.append(rev)
    return revs


def answer_case(case: dict, max_variants: int, cpu_seconds: float) -> dict:
    dirs = [str(Path(d).absolute()) for d in case["dirs"]]
    ans: dict = {"id": case.get("id"), "alembic_version": alembic.__version__}
    script = OracleScriptDirectory(
        # ScriptDirectory only requires this to exist (env.py/templates live
        # there); the revisions come from version_locations.
        os.getcwd(),
        version_locations=dirs,
        recursive_version_locations=bool(case.get("recursive")),
    )
    rm = script.revision_map
    with warnings.catch_warnings(record=True) as wlist:
        warnings.simplefilter("always")
        try:
            with cpu_limit(cpu_seconds * 5):
                rm._revision_map
            map_error = None
        except CpuLimitExceeded as e:
            ans["warnings"] = [str(w.message) for w in wlist]
            ans["error"] = _timeout_err(e, cpu_seconds * 5)
            return ans
        except Exception as e:  # noqa: BLE001
            map_error = e
    ans["warnings"] = [str(w.message) for w in wlist]
    if map_error is not None:
        ans["error"] = _err(map_error)
        return ans

    revs = _map_revisions(rm)
    ans["load_order"] = [r.revision for r in revs]
    ans["heads"] = list(rm.heads)
    ans["real_heads"] = list(rm._real_heads)
    ans["bases"] = list(rm.bases)
    ans["real_bases"] = list(rm._real_bases)
    ans["branch_labels"] = {
        k: v.revision
        for k, v in rm._revision_map.items()
        if isinstance(k, str) and v is not None and k != v.revision
    }
    ans["revisions"] = [
        {
            "id": r.revision,
            "down_revision": list(r._versioned_down_revisions),
            "dependencies": list(r._resolved_dependencies),
            "branch_labels": list(r._orig_branch_labels),
        }
        for r in revs
    ]
    sensitive = [r for r in revs if len(r._normalized_resolved_dependencies) > 1]
    ans["hash_order_sensitive"] = {
        r.revision: list(r._normalized_resolved_dependencies) for r in sensitive
    }

    questions = _questions(script, case.get("queries") or [])
    primary = [_run(q, cpu_seconds) for q in questions]
    variants = [[p] for p in primary]
    keys = [{_variant_key(p)} for p in primary]

    if sensitive:
        originals = [r._normalized_resolved_dependencies for r in sensitive]
        combos = itertools.product(
            *[itertools.permutations(o) for o in originals]
        )
        tried = 0
        try:
            for combo in combos:
                if tried >= max_variants:
                    ans["variants_truncated"] = True
                    break
                tried += 1
                for rev, order in zip(sensitive, combo):
                    rev._normalized_resolved_dependencies = tuple(order)
                for i, q in enumerate(questions):
                    if primary[i].get("error", {}).get("type") == "Timeout":
                        continue  # do not burn the CPU limit again
                    res = _run(q, cpu_seconds)
                    k = _variant_key(res)
                    if k not in keys[i]:
                        keys[i].add(k)
                        variants[i].append(res)
        finally:
            for rev, order in zip(sensitive, originals):
                rev._normalized_resolved_dependencies = order
        ans["variant_combinations"] = tried

    results = []
    for p, vs in zip(primary, variants):
        if len(vs) > 1:
            p = dict(p, variants=vs)
        results.append(p)
    ans["history"] = results[0]
    ans["upgrade_heads_from_empty"] = results[1]
    ans["queries"] = results[2:]
    return ans


def main() -> int:
    doc = json.load(sys.stdin)
    if isinstance(doc, dict):
        cases = doc.get("cases", [])
        max_variants = int(doc.get("max_variants", DEFAULT_MAX_VARIANTS))
        cpu_seconds = float(doc.get("cpu_limit", DEFAULT_CPU_LIMIT))
    else:
        cases, max_variants = doc, DEFAULT_MAX_VARIANTS
        cpu_seconds = DEFAULT_CPU_LIMIT
    out = sys.stdout
    for case in cases:
        try:
            ans = answer_case(case, max_variants, cpu_seconds)
        except Exception:  # noqa: BLE001 - a bug in the oracle itself
            ans = {"id": case.get("id"), "oracle_failure": traceback.format_exc()}
        out.write(json.dumps(ans, ensure_ascii=False) + "\n")
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
