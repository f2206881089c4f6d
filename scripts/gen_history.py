#!/usr/bin/env python3
"""Generate a synthetic "busy team" Alembic project for benchmarks and stress tests.

Usage:
    scripts/gen_history.py N OUTDIR [--seed S] [--broken] [--force]

The script writes OUTDIR/alembic.ini (script_location = %(here)s/migrations),
OUTDIR/migrations/env.py, OUTDIR/migrations/script.py.mako and N revision files in
OUTDIR/migrations/versions/.

The history imitates a team that works on short feature branches. Every branch
starts from the main line and later merges back through `alembic merge`. Most merges
have two parents and some have three. When the main line has not moved since a
branch started, the branch is fast-forwarded and no merge is needed. The history
also has a few branch labels and some `depends_on` entries. File names follow
`<rev>_<slug>.py` and revision ids are 12 hex characters. Each revision uses one of
three templates. The oldest quarter uses the old plain form, the next fifth uses the
Alembic 1.13 annotated form and the rest uses the current form. Files from the second
half of the history are formatted like black's output. Files that are not merges are
roughly 1.5 to 3 KB.

By default the history ends with one head, so `alembic heads` prints a single line.
With --broken, the last two revisions form an orphan branch: a second base with
`down_revision = None` and a branch label, plus one child. That child adds columns to
a table created on the main line without depending on it. `alembic heads` then shows
two heads, like the bundled demo project (assets/demo).

The output depends only on N, the seed and --broken. It does not depend on the clock,
the machine or the Python hash seed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import re
import shutil
import sys
from dataclasses import dataclass, field

# --------------------------------------------------------------------------------------
# Static project files
# --------------------------------------------------------------------------------------

ALEMBIC_INI = """\
# A generic, single database configuration.

[alembic]
# path to migration scripts.
# this is typically a path given in POSIX (e.g. forward slashes)
# format, relative to the token %(here)s which refers to the location of this
# ini file
script_location = %(here)s/migrations

# template used to generate migration file names; The default value is %%(rev)s_%%(slug)s
# file_template = %%(year)d_%%(month).2d_%%(day).2d_%%(hour).2d%%(minute).2d-%%(rev)s_%%(slug)s

# sys.path path, will be prepended to sys.path if present.
# defaults to the current working directory.
prepend_sys_path = .

# max length of characters to apply to the "slug" field
# truncate_slug_length = 40

# Use os.pathsep. Default configuration used for new projects.
path_separator = os

# database URL.  This is consumed by the user-maintained env.py script only.
sqlalchemy.url = postgresql://app:app@localhost/app


[post_write_hooks]
# hooks = black
# black.type = console_scripts
# black.entrypoint = black
# black.options = -l 79 REVISION_SCRIPT_FILENAME

# Logging configuration
[loggers]
keys = root,sqlalchemy,alembic

[handlers]
keys = console

[formatters]
keys = generic

[logger_root]
level = WARNING
handlers = console
qualname =

[logger_sqlalchemy]
level = WARNING
handlers =
qualname = sqlalchemy.engine

[logger_alembic]
level = INFO
handlers =
qualname = alembic

[handler_console]
class = StreamHandler
args = (sys.stderr,)
level = NOTSET
formatter = generic

[formatter_generic]
format = %(levelname)-5.5s [%(name)s] %(message)s
datefmt = %H:%M:%S
"""

ENV_PY = '''\
from logging.config import fileConfig

from sqlalchemy import engine_from_config
from sqlalchemy import pool

from alembic import context

# this is the Alembic Config object, which provides
# access to the values within the .ini file in use.
config = context.config

# Interpret the config file for Python logging.
# This line sets up loggers basically.
if config.config_file_name is not None:
    fileConfig(config.config_file_name)

# add your model's MetaData object here
# for 'autogenerate' support
# from myapp import mymodel
# target_metadata = mymodel.Base.metadata
target_metadata = None

# other values from the config, defined by the needs of env.py,
# can be acquired:
# my_important_option = config.get_main_option("my_important_option")
# ... etc.


def run_migrations_offline() -> None:
    """Run migrations in 'offline' mode.

    This configures the context with just a URL
    and not an Engine, though an Engine is acceptable
    here as well.  By skipping the Engine creation
    we don't even need a DBAPI to be available.

    Calls to context.execute() here emit the given string to the
    script output.

    """
    url = config.get_main_option("sqlalchemy.url")
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )

    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run migrations in 'online' mode.

    In this scenario we need to create an Engine
    and associate a connection with the context.

    """
    connectable = engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )

    with connectable.connect() as connection:
        context.configure(
            connection=connection, target_metadata=target_metadata
        )

        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
'''

SCRIPT_PY_MAKO = '''\
"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
${imports if imports else ""}

# revision identifiers, used by Alembic.
revision: str = ${repr(up_revision)}
down_revision: Union[str, Sequence[str], None] = ${repr(down_revision)}
branch_labels: Union[str, Sequence[str], None] = ${repr(branch_labels)}
depends_on: Union[str, Sequence[str], None] = ${repr(depends_on)}


def upgrade() -> None:
    """Upgrade schema."""
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    """Downgrade schema."""
    ${downgrades if downgrades else "pass"}
'''

# --------------------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------------------

NOUNS = """
users accounts organizations projects invoices payments subscriptions orders
order_items products inventory_items warehouses shipments customers addresses
audit_logs notifications webhooks api_keys sessions teams memberships roles
permissions tags comments attachments documents reports dashboards events jobs
schedules tickets feature_flags coupons refunds tax_rates currencies exchange_rates
plans price_tiers carts wishlists reviews categories suppliers purchase_orders
contracts leads opportunities campaigns segments email_templates sms_messages
devices locations regions stores employees shifts payroll_runs timesheets
expenses budgets ledgers journal_entries bank_accounts transfers disputes
chargebacks invitations sso_providers oauth_clients audit_exports data_exports
imports mappings workflows workflow_steps approvals integrations sync_cursors
""".split()

PREFIXES = """
billing crm analytics ops hr finance catalog fulfilment support marketing
identity platform search reporting partner
""".split()

# (name, type as autogenerate renders it, type as reflected for drop/alter)
COLUMNS = [
    ("name", "sa.String(length=255)", "sa.VARCHAR(length=255)"),
    ("title", "sa.String(length=200)", "sa.VARCHAR(length=200)"),
    ("slug", "sa.String(length=120)", "sa.VARCHAR(length=120)"),
    ("status", "sa.String(length=32)", "sa.VARCHAR(length=32)"),
    ("description", "sa.Text()", "sa.TEXT()"),
    ("notes", "sa.Text()", "sa.TEXT()"),
    ("email", "sa.String(length=320)", "sa.VARCHAR(length=320)"),
    ("phone", "sa.String(length=32)", "sa.VARCHAR(length=32)"),
    ("external_id", "sa.String(length=64)", "sa.VARCHAR(length=64)"),
    ("reference", "sa.String(length=64)", "sa.VARCHAR(length=64)"),
    ("amount", "sa.Numeric(precision=12, scale=2)", "sa.NUMERIC(precision=12, scale=2)"),
    ("total", "sa.Numeric(precision=14, scale=2)", "sa.NUMERIC(precision=14, scale=2)"),
    ("currency", "sa.String(length=3)", "sa.VARCHAR(length=3)"),
    ("quantity", "sa.Integer()", "sa.INTEGER()"),
    ("position", "sa.Integer()", "sa.INTEGER()"),
    ("priority", "sa.SmallInteger()", "sa.SMALLINT()"),
    ("retry_count", "sa.Integer()", "sa.INTEGER()"),
    ("is_active", "sa.Boolean()", "sa.BOOLEAN()"),
    ("is_archived", "sa.Boolean()", "sa.BOOLEAN()"),
    ("is_default", "sa.Boolean()", "sa.BOOLEAN()"),
    ("starts_at", "sa.DateTime(timezone=True)", "postgresql.TIMESTAMP(timezone=True)"),
    ("ends_at", "sa.DateTime(timezone=True)", "postgresql.TIMESTAMP(timezone=True)"),
    ("expires_at", "sa.DateTime(timezone=True)", "postgresql.TIMESTAMP(timezone=True)"),
    ("processed_at", "sa.DateTime(timezone=True)", "postgresql.TIMESTAMP(timezone=True)"),
    ("deleted_at", "sa.DateTime(timezone=True)", "postgresql.TIMESTAMP(timezone=True)"),
    ("due_date", "sa.Date()", "sa.DATE()"),
    ("metadata", "postgresql.JSONB(astext_type=sa.Text())", "postgresql.JSONB(astext_type=sa.Text())"),
    ("settings", "postgresql.JSONB(astext_type=sa.Text())", "postgresql.JSONB(astext_type=sa.Text())"),
    ("payload", "sa.JSON()", "sa.JSON()"),
    ("uuid", "sa.Uuid()", "sa.UUID()"),
    ("locale", "sa.String(length=16)", "sa.VARCHAR(length=16)"),
    ("timezone", "sa.String(length=64)", "sa.VARCHAR(length=64)"),
    ("source", "sa.String(length=50)", "sa.VARCHAR(length=50)"),
    ("kind", "sa.String(length=50)", "sa.VARCHAR(length=50)"),
    ("score", "sa.Float()", "sa.DOUBLE_PRECISION(precision=53)"),
    ("version", "sa.Integer()", "sa.INTEGER()"),
    ("checksum", "sa.String(length=64)", "sa.VARCHAR(length=64)"),
    ("url", "sa.String(length=2048)", "sa.VARCHAR(length=2048)"),
    ("ip_address", "postgresql.INET()", "postgresql.INET()"),
    ("error_message", "sa.Text()", "sa.TEXT()"),
]

SUFFIXES = """
history snapshots archive links settings queue staging log rollups v2
""".split()

LABEL_NAMES = """
billing search audit notifications reporting identity inventory analytics
payments partner_api
""".split()

TICKET_PREFIXES = ["PLAT", "BILL", "OPS", "CORE", "DATA"]

MERGE_MESSAGES = ["merge heads", "merge heads", "merge", "merge branches", "merge migrations"]

AUTOGEN_START = "# ### commands auto generated by Alembic - please adjust! ###"
AUTOGEN_END = "# ### end Alembic commands ###"


# --------------------------------------------------------------------------------------
# Rendering helpers
# --------------------------------------------------------------------------------------


class Style:
    """How one file is written: which template and which quoting or formatting."""

    def __init__(self, template: str, black: bool):
        self.template = template  # "plain" | "v113" | "current"
        self.black = black  # double quotes, exploded long calls, trailing commas

    def q(self, s: str) -> str:
        if self.black:
            return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"

    def lit(self, value) -> str:
        """repr() of an identifier value (None, str or tuple of str), in this quote style."""
        if value is None:
            return "None"
        if isinstance(value, str):
            return self.q(value)
        items = [self.q(v) for v in value]
        if len(items) == 1:
            return "(" + items[0] + ",)"
        return "(" + ", ".join(items) + ")"

    def fix_quotes(self, code: str) -> str:
        """Turn the single-quoted literals of hand-written snippets into double quotes."""
        if not self.black:
            return code
        return re.sub(r"'([^'\"\\]*)'", r'"\1"', code)

    def call(self, indent: str, fn: str, args: list[str]) -> list[str]:
        """`fn(args)` on one line, or black-style exploded when it is too long."""
        one = f"{indent}{fn}({', '.join(args)})"
        if not self.black or len(one) <= 88:
            return [one]
        inner = indent + "    "
        joined = f"{inner}{', '.join(args)}"
        if len(joined) <= 88:
            return [f"{indent}{fn}(", joined, f"{indent})"]
        return [f"{indent}{fn}("] + [f"{inner}{a}," for a in args] + [f"{indent})"]


def slugify(message: str, limit: int = 40) -> str:
    """Alembic's slug: words joined by '_', lower-cased, cut at a word boundary."""
    slug = "_".join(re.findall(r"\w+", message)).lower()
    if len(slug) > limit:
        slug = slug[:limit].rsplit("_", 1)[0] + "_"
    return slug


# --------------------------------------------------------------------------------------
# Schema model and operations
# --------------------------------------------------------------------------------------


@dataclass
class Op:
    up: list[str]
    down: list[str]
    message: str
    autogen: bool = True  # what `alembic revision --autogenerate` would have written
    needs_postgresql: bool = False


class Schema:
    """A rough model of the database: table names and their columns.

    It is global rather than tracked per branch. That keeps the operations plausible,
    such as add_column on an existing table without repeating a column. It does not
    try to make every branch valid by itself.
    """

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.tables: list[str] = []
        self.columns: dict[str, list[str]] = {}
        self.indexes: dict[str, set[str]] = {}
        self._free_names = list(NOUNS)
        rng.shuffle(self._free_names)
        self._serial = 0

    def new_table_name(self) -> str:
        while self._free_names:
            name = self._free_names.pop()
            if name not in self.columns:
                return name
        rng = self.rng
        for _ in range(50):
            name = f"{rng.choice(PREFIXES)}_{rng.choice(NOUNS)}"
            if name not in self.columns:
                return name
        while True:
            name = f"{rng.choice(PREFIXES)}_{rng.choice(NOUNS)}_{rng.choice(SUFFIXES)}"
            if name not in self.columns:
                return name
            self._serial += 1
            name = f"{name}_{self._serial}"
            if name not in self.columns:
                return name

    def pick_table(self) -> str:
        # Teams mostly touch recent tables.
        if self.rng.random() < 0.7:
            return self.rng.choice(self.tables[-25:])
        return self.rng.choice(self.tables)

    def new_column(self, table: str) -> tuple[str, str, str]:
        existing = set(self.columns[table])
        options = [c for c in COLUMNS if c[0] not in existing]
        if options:
            return self.rng.choice(options)
        base = self.rng.choice(COLUMNS)
        n = 2
        while f"{base[0]}_{n}" in existing:
            n += 1
        return (f"{base[0]}_{n}", base[1], base[2])

    def type_of(self, column: str) -> tuple[str, str]:
        for name, t, reflected in COLUMNS:
            if column == name or column.startswith(name + "_"):
                return t, reflected
        return "sa.Integer()", "sa.INTEGER()"

    def plain_columns(self, table: str) -> list[str]:
        return [c for c in self.columns[table] if c not in ("id", "created_at", "updated_at")]


def uses_pg(*texts: str) -> bool:
    return any("postgresql." in t for t in texts)


def op_create_table(s: Schema, st: Style) -> Op:
    rng = s.rng
    table = s.new_table_name()
    cols = [("id", "sa.Integer()", False)]
    fks = []
    if s.tables and rng.random() < 0.7:
        ref = s.pick_table()
        ref_col = (ref[:-1] if ref.endswith("s") else ref) + "_id"
        cols.append((ref_col, "sa.Integer()", False))
        fks.append((ref_col, ref))
    chosen = rng.sample(COLUMNS, rng.randint(3, 7))
    for name, t, _ in chosen:
        cols.append((name, t, rng.random() < 0.6))
    cols.append(("created_at", "sa.DateTime(timezone=True)", False))
    if rng.random() < 0.6:
        cols.append(("updated_at", "sa.DateTime(timezone=True)", True))

    q = st.q
    body = []
    for name, t, nullable in cols:
        extra = ""
        if name == "created_at" and rng.random() < 0.5:
            extra = ", server_default=sa.text('now()')"
        body.append(f"sa.Column({q(name)}, {t}{st.fix_quotes(extra)}, nullable={nullable})")
    for col, ref in fks:
        ondelete = rng.choice([None, "CASCADE", "SET NULL"])
        if ondelete:
            body.append(f"sa.ForeignKeyConstraint([{q(col)}], [{q(ref + '.id')}], ondelete={q(ondelete)})")
        elif st.black:
            body.append(f"sa.ForeignKeyConstraint([{q(col)}], [{q(ref + '.id')}])")
        else:
            # autogenerate really writes the trailing ", )" here
            body.append(f"sa.ForeignKeyConstraint([{q(col)}], [{q(ref + '.id')}], )")
    body.append(f"sa.PrimaryKeyConstraint({q('id')})")

    if st.black:
        up = [f"    op.create_table(", f"        {q(table)},"]
        up += [f"        {line}," for line in body]
        up.append("    )")
    else:
        up = [f"    op.create_table({q(table)},"]
        up += [f"    {line}," for line in body[:-1]] + [f"    {body[-1]}", "    )"]

    down = []
    index_cols = [c for c, _ in fks] + [name for name, _, _ in cols
                                        if name in ("status", "email", "external_id", "slug", "created_at")]
    for col in index_cols[:2]:
        ix = f"ix_{table}_{col}"
        unique = col in ("email", "slug", "external_id")
        up += st.call("    ", "op.create_index", [f"op.f({q(ix)})", q(table), f"[{q(col)}]", f"unique={unique}"])
        down += st.call("    ", "op.drop_index", [f"op.f({q(ix)})", f"table_name={q(table)}"])
        s.indexes.setdefault(table, set()).add(col)
    down.append(f"    op.drop_table({q(table)})")

    s.tables.append(table)
    s.columns[table] = [c[0] for c in cols]
    msg = rng.choice([f"create {table} table", f"add {table} table", f"add {table}"])
    return Op(up, down, msg, needs_postgresql=uses_pg(*up))


def op_add_column(s: Schema, st: Style) -> Op:
    table = s.pick_table()
    name, t, _ = s.new_column(table)
    s.columns[table].append(name)
    q = st.q
    col = f"sa.Column({q(name)}, {t}, nullable=True)"
    up = st.call("    ", "op.add_column", [q(table), col])
    down = st.call("    ", "op.drop_column", [q(table), q(name)])
    return Op(up, down, f"add {name} to {table}", needs_postgresql=uses_pg(t))


def op_create_index(s: Schema, st: Style) -> Op:
    table = s.pick_table()
    cols = [c for c in s.plain_columns(table) if c not in s.indexes.get(table, set())]
    if not cols:
        return op_add_column(s, st)
    col = s.rng.choice(cols)
    s.indexes.setdefault(table, set()).add(col)
    q = st.q
    ix = f"ix_{table}_{col}"
    up = st.call("    ", "op.create_index", [f"op.f({q(ix)})", q(table), f"[{q(col)}]", "unique=False"])
    down = st.call("    ", "op.drop_index", [f"op.f({q(ix)})", f"table_name={q(table)}"])
    return Op(up, down, f"add index on {table}.{col}")


def op_alter_column(s: Schema, st: Style) -> Op:
    table = s.pick_table()
    cols = s.plain_columns(table)
    if not cols:
        return op_add_column(s, st)
    col = s.rng.choice(cols)
    _, reflected = s.type_of(col)
    q = st.q
    if st.black:
        up = st.call("    ", "op.alter_column", [q(table), q(col), f"existing_type={reflected}", "nullable=False"])
        down = st.call("    ", "op.alter_column", [q(table), q(col), f"existing_type={reflected}", "nullable=True"])
    else:
        pad = " " * len("    op.alter_column(")
        up = [f"    op.alter_column({q(table)}, {q(col)},", f"{pad}existing_type={reflected},", f"{pad}nullable=False)"]
        down = [f"    op.alter_column({q(table)}, {q(col)},", f"{pad}existing_type={reflected},", f"{pad}nullable=True)"]
    return Op(up, down, f"make {table}.{col} not nullable", needs_postgresql=uses_pg(reflected))


def op_foreign_key(s: Schema, st: Style) -> Op:
    if len(s.tables) < 2:
        return op_add_column(s, st)
    table = s.pick_table()
    ref = s.pick_table()
    if ref == table:
        return op_add_column(s, st)
    col = (ref[:-1] if ref.endswith("s") else ref) + "_id"
    q = st.q
    up, down = [], []
    new_column = col not in s.columns[table]
    if new_column:
        s.columns[table].append(col)
        up += st.call("    ", "op.add_column", [q(table), f"sa.Column({q(col)}, sa.Integer(), nullable=True)"])
    fk = f"fk_{table}_{col}_{ref}"
    up += st.call("    ", "op.create_foreign_key", [q(fk), q(table), q(ref), f"[{q(col)}]", f"[{q('id')}]",
                                                    f"ondelete={q('CASCADE')}"])
    down += st.call("    ", "op.drop_constraint", [q(fk), q(table), f"type_={q('foreignkey')}"])
    if new_column:
        down += st.call("    ", "op.drop_column", [q(table), q(col)])
    return Op(up, down, f"add foreign key from {table} to {ref}")


def op_unique(s: Schema, st: Style) -> Op:
    table = s.pick_table()
    cols = s.plain_columns(table)
    if not cols:
        return op_add_column(s, st)
    col = s.rng.choice(cols)
    q = st.q
    name = f"uq_{table}_{col}"
    up = st.call("    ", "op.create_unique_constraint", [q(name), q(table), f"[{q(col)}]"])
    down = st.call("    ", "op.drop_constraint", [q(name), q(table), f"type_={q('unique')}"])
    return Op(up, down, f"add unique constraint on {table}.{col}")


def op_drop_column(s: Schema, st: Style) -> Op:
    table = s.pick_table()
    cols = [c for c in s.plain_columns(table) if c not in s.indexes.get(table, set())]
    if len(cols) < 2:
        return op_add_column(s, st)
    col = s.rng.choice(cols)
    s.columns[table].remove(col)
    _, reflected = s.type_of(col)
    q = st.q
    up = st.call("    ", "op.drop_column", [q(table), q(col)])
    down = st.call("    ", "op.add_column", [q(table), f"sa.Column({q(col)}, {reflected}, autoincrement=False, nullable=True)"])
    return Op(up, down, f"drop {col} from {table}", needs_postgresql=uses_pg(reflected))


def op_execute(s: Schema, st: Style) -> Op:
    table = s.pick_table()
    cols = s.plain_columns(table) or ["id"]
    col = s.rng.choice(cols)
    rng = s.rng
    sql = rng.choice([
        f"UPDATE {table} SET {col} = DEFAULT WHERE {col} IS NULL",
        f"DELETE FROM {table} WHERE created_at < now() - interval '2 years'",
        f"UPDATE {table} SET updated_at = created_at WHERE updated_at IS NULL",
        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_{table}_{col}_partial ON {table} ({col}) WHERE {col} IS NOT NULL",
    ])
    q = '"' if st.black or "'" in sql else "'"
    up = ["    # data migration: written by hand, not autogenerated",
          "    op.execute(",
          f"        {q}{sql}{q}",
          "    )"]
    down = ["    # irreversible data change", "    pass"] if not sql.startswith("CREATE INDEX") else [
        f"    op.execute({q}DROP INDEX IF EXISTS ix_{table}_{col}_partial{q})"]
    return Op(up, down, rng.choice([f"backfill {table}.{col}", f"clean up {table}", f"data fix for {table}"]),
              autogen=False)


def op_batch(s: Schema, st: Style) -> Op:
    table = s.pick_table()
    q = st.q
    name, t, _ = s.new_column(table)
    s.columns[table].append(name)
    up = [f"    with op.batch_alter_table({q(table)}, schema=None) as batch_op:"]
    up += st.call("        ", "batch_op.add_column", [f"sa.Column({q(name)}, {t}, nullable=True)"])
    down = [f"    with op.batch_alter_table({q(table)}, schema=None) as batch_op:"]
    cols = s.plain_columns(table)
    if len(cols) > 1 and s.rng.random() < 0.6:
        col = s.rng.choice(cols[:-1])
        _, reflected = s.type_of(col)
        up += st.call("        ", "batch_op.alter_column", [q(col), f"existing_type={reflected}", "nullable=False"])
        down += st.call("        ", "batch_op.alter_column", [q(col), f"existing_type={reflected}", "nullable=True"])
    down += st.call("        ", "batch_op.drop_column", [q(name)])
    return Op(up, down, f"alter {table} columns", needs_postgresql=uses_pg(t, *up))


OP_KINDS = [
    (op_create_table, 18),
    (op_add_column, 30),
    (op_create_index, 14),
    (op_alter_column, 10),
    (op_foreign_key, 7),
    (op_unique, 5),
    (op_drop_column, 6),
    (op_execute, 5),
    (op_batch, 5),
]


def pick_op(rng: random.Random, n_tables: int = 0):
    # Young projects create many tables; mature ones mostly change existing ones.
    kinds = [(fn, (w if n_tables < 120 else w // 4) if fn is op_create_table else w)
             for fn, w in OP_KINDS]
    total = sum(w for _, w in kinds)
    x = rng.uniform(0, total)
    for fn, w in kinds:
        x -= w
        if x <= 0:
            return fn
    return OP_KINDS[-1][0]


# --------------------------------------------------------------------------------------
# Revisions
# --------------------------------------------------------------------------------------


@dataclass
class Revision:
    rev: str
    parents: list[str]
    date: dt.datetime
    labels: list[str] = field(default_factory=list)
    depends_on: list[str] = field(default_factory=list)
    message: str = ""
    ops: list[Op] = field(default_factory=list)
    style: Style | None = None
    extra_columns_on: str | None = None  # --broken orphan child: table it alters


def render(r: Revision) -> str:
    st = r.style
    revises = ", ".join(r.parents)
    down = None if not r.parents else (r.parents[0] if len(r.parents) == 1 else tuple(r.parents))
    labels = tuple(r.labels) if r.labels else None
    if not r.depends_on:
        depends = None
    elif len(r.depends_on) == 1 and st.template == "plain":
        depends = r.depends_on[0]
    else:
        depends = tuple(r.depends_on)

    needs_pg = any(o.needs_postgresql for o in r.ops)
    imports = "from sqlalchemy.dialects import postgresql\n" if needs_pg else "\n"
    date = r.date.strftime("%Y-%m-%d %H:%M:%S.%f")

    out = [f'"""{r.message}\n\nRevision ID: {r.rev}\nRevises: {revises}\nCreate Date: {date}\n\n"""\n']
    if st.template != "plain":
        out.append("from typing import Sequence, Union\n\n")
    out.append("from alembic import op\nimport sqlalchemy as sa\n")
    out.append(imports)
    out.append("\n# revision identifiers, used by Alembic.\n")
    if st.template == "plain":
        out.append(f"revision = {st.lit(r.rev)}\n")
        out.append(f"down_revision = {st.lit(down)}\n")
        out.append(f"branch_labels = {st.lit(labels)}\n")
        out.append(f"depends_on = {st.lit(depends)}\n")
    else:
        down_ann = "Union[str, None]" if st.template == "v113" else "Union[str, Sequence[str], None]"
        out.append(f"revision: str = {st.lit(r.rev)}\n")
        out.append(f"down_revision: {down_ann} = {st.lit(down)}\n")
        out.append(f"branch_labels: Union[str, Sequence[str], None] = {st.lit(labels)}\n")
        out.append(f"depends_on: Union[str, Sequence[str], None] = {st.lit(depends)}\n")

    autogen = bool(r.ops) and all(o.autogen for o in r.ops)
    for fn in ("upgrade", "downgrade"):
        sig = f"def {fn}():" if st.template == "plain" else f"def {fn}() -> None:"
        out.append(f"\n\n{sig}\n")
        if st.template == "current":
            out.append(f'    """{fn.capitalize()} schema."""\n')
        ops = r.ops if fn == "upgrade" else list(reversed(r.ops))
        lines: list[str] = []
        for o in ops:
            lines += o.up if fn == "upgrade" else o.down
        if not lines:
            out.append("    pass\n")
            continue
        if autogen:
            lines = ["    " + AUTOGEN_START] + lines + ["    " + AUTOGEN_END]
        out.append("\n".join(lines) + "\n")
    return "".join(out)


class History:
    """Simulates a team that works on short feature branches."""

    def __init__(self, n: int, seed: int, broken: bool):
        self.n = n
        self.rng = random.Random(seed)
        self.broken = broken
        self.revs: list[Revision] = []
        self.ids: set[str] = set()
        self.schema = Schema(random.Random(seed * 7919 + 1))
        start = dt.datetime(2018, 1, 8, 9, 30) + dt.timedelta(days=self.rng.randint(0, 365))
        self.clock = start
        # About 6 years of history, but never more than ~1.5 days between revisions.
        self.mean_gap = min(36 * 3600.0, 6 * 365 * 86400.0 / max(n, 1))
        n_labels = min(len(LABEL_NAMES), max(2, n // 1500 + 1)) if n >= 20 else 0
        self.label_slots = sorted(int(n * (i + 1) / (n_labels + 1)) for i in range(n_labels))
        self.labels_left = list(LABEL_NAMES[:n_labels])

    # -- ids, dates, styles ------------------------------------------------------------

    def new_id(self) -> str:
        while True:
            rid = "%012x" % self.rng.getrandbits(48)
            if rid not in self.ids and not rid.isdigit():
                self.ids.add(rid)
                return rid

    def tick(self) -> dt.datetime:
        gap = self.rng.expovariate(1.0 / self.mean_gap) + 120
        self.clock += dt.timedelta(seconds=gap, microseconds=self.rng.randrange(1_000_000))
        return self.clock

    def style_for(self, index: int) -> Style:
        f = index / max(self.n, 1)
        template = "plain" if f < 0.25 else ("v113" if f < 0.45 else "current")
        return Style(template, black=f >= 0.5)

    # -- revisions ---------------------------------------------------------------------

    def add(self, parents: list[str], *, merge: bool = False, labels=None, depends_on=None,
            ops_kind=None) -> Revision:
        r = Revision(self.new_id(), list(parents), self.tick(), labels=list(labels or []),
                     depends_on=list(depends_on or []))
        r.style = self.style_for(len(self.revs))
        if merge:
            if self.rng.random() < 0.3:
                r.message = f"merge {' and '.join(p[:6] for p in parents)}"
            else:
                r.message = self.rng.choice(MERGE_MESSAGES)
        else:
            self.fill_ops(r, ops_kind)
        self.revs.append(r)
        return r

    def fill_ops(self, r: Revision, first=None) -> None:
        rng = self.rng
        s = self.schema
        if not s.tables:
            first = op_create_table
        target = rng.randint(1500, 2900)
        first_op = (first or pick_op(rng, len(s.tables)))(s, r.style)
        r.ops = [first_op]
        r.message = first_op.message
        if rng.random() < 0.2:
            r.message = f"{rng.choice(TICKET_PREFIXES)}-{rng.randint(100, 4999)} {r.message}"
        # Add operations until the file reaches its target size; never go past ~3 KB.
        for _ in range(12):
            size = len(render(r).encode())
            if size >= target:
                break
            fn = pick_op(rng, len(s.tables))
            if fn is op_create_table and rng.random() < 0.7:
                fn = op_add_column
            r.ops.append(fn(s, r.style))
            if len(render(r).encode()) > 3000 and len(r.ops) > 1:
                # Too big: drop the operation. The schema model keeps its effect, which
                # is harmless because the model is only a rough guide.
                r.ops.pop()
                break

    def generate(self) -> list[Revision]:
        rng = self.rng
        n_main = self.n - 2 if (self.broken and self.n >= 4) else self.n
        main_head = self.add([], ops_kind=op_create_table).rev
        branches: list[dict] = []  # {"fork", "head", "target", "count"}

        while len(self.revs) < n_main:
            remaining = n_main - len(self.revs)
            closing = remaining <= 2 * len(branches) + 1

            if closing and not branches:
                main_head = self.add([main_head]).rev
                continue

            ready = [b for b in branches if b["count"] >= b["target"]]
            if closing:
                ready = branches
            x = rng.random()
            if ready and (closing or x < 0.45):
                b = rng.choice(ready)
                others = [o for o in ready if o is not b and o["fork"] != main_head]
                if b["fork"] == main_head:
                    # Main has not moved since the branch started: fast-forward.
                    main_head = b["head"]
                    branches.remove(b)
                    continue
                group = [b]
                if others and rng.random() < 0.15:
                    group.append(rng.choice(others))
                parents = [main_head] + [g["head"] for g in group]
                rng.shuffle(parents)
                main_head = self.add(parents, merge=True).rev
                for g in group:
                    branches.remove(g)
                continue

            max_open = 4
            if not closing and len(branches) < max_open and x < 0.70:
                labels = []
                if self.labels_left and len(self.revs) >= self.label_slots[0]:
                    labels = [self.labels_left.pop(0)]
                    self.label_slots.pop(0)
                r = self.add([main_head], labels=labels)
                branches.append({"fork": main_head, "head": r.rev, "count": 1,
                                 "target": rng.choices([1, 2, 3, 4, 5, 6], [30, 28, 20, 12, 6, 4])[0]})
                continue

            if branches and x < 0.92:
                b = rng.choice(branches)
                depends = []
                if rng.random() < 0.02:
                    other = [o for o in branches if o is not b]
                    if other:
                        depends = [rng.choice(other)["head"]]
                    else:
                        depends = [rng.choice(self.revs[-60:]).rev]
                    if depends[0] == b["head"]:
                        depends = []
                r = self.add([b["head"]], depends_on=depends)
                b["head"] = r.rev
                b["count"] += 1
                continue

            main_head = self.add([main_head]).rev

        assert not branches, "generator bug: branches left open"

        if self.broken and self.n >= 4:
            # Someone ran `alembic revision --head base --branch-label ...` instead of
            # building on the head, then added a migration that depends on the main line
            # without saying so.
            label = "hotfix"
            orphan = Revision(self.new_id(), [], self.tick(), labels=[label])
            orphan.style = self.style_for(len(self.revs))
            s = self.schema
            table = s.new_table_name()
            q = orphan.style.q
            orphan.message = f"add {table} table"
            up = orphan.style.call("    ", "op.create_table", [q(table),
                                   f"sa.Column({q('id')}, sa.Integer(), nullable=False)",
                                   f"sa.Column({q('key')}, sa.String(length=100), nullable=False)",
                                   f"sa.Column({q('value')}, sa.Text(), nullable=True)",
                                   f"sa.PrimaryKeyConstraint({q('id')})"])
            orphan.ops = [Op(up, [f"    op.drop_table({q(table)})"], orphan.message)]
            s.tables.append(table)
            s.columns[table] = ["id", "key", "value"]
            self.revs.append(orphan)

            child = Revision(self.new_id(), [orphan.rev], self.tick())
            child.style = self.style_for(len(self.revs))
            main_table = s.tables[len(s.tables) // 2]
            name, t, _ = s.new_column(main_table)
            s.columns[main_table].append(name)
            cq = child.style.q
            child.message = f"add {name} to {main_table}"
            child.ops = [Op(child.style.call("    ", "op.add_column",
                                             [cq(main_table), f"sa.Column({cq(name)}, {t}, nullable=True)"]),
                            child.style.call("    ", "op.drop_column", [cq(main_table), cq(name)]),
                            child.message, needs_postgresql=uses_pg(t))]
            self.revs.append(child)
        return self.revs


# --------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------


def write_project(revs: list[Revision], outdir: str) -> None:
    versions = os.path.join(outdir, "migrations", "versions")
    os.makedirs(versions, exist_ok=True)
    with open(os.path.join(outdir, "alembic.ini"), "w") as f:
        f.write(ALEMBIC_INI)
    with open(os.path.join(outdir, "migrations", "env.py"), "w") as f:
        f.write(ENV_PY)
    with open(os.path.join(outdir, "migrations", "script.py.mako"), "w") as f:
        f.write(SCRIPT_PY_MAKO)
    with open(os.path.join(outdir, "migrations", "README"), "w") as f:
        f.write("Generic single-database configuration.\n")
    for r in revs:
        path = os.path.join(versions, f"{r.rev}_{slugify(r.message)}.py")
        with open(path, "w") as f:
            f.write(render(r))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Generate a synthetic 'busy team' Alembic project of N revisions.",
        epilog="Example: scripts/gen_history.py 10000 target/bench/n10000 --seed 1",
    )
    parser.add_argument("n", type=int, metavar="N", help="number of revision files")
    parser.add_argument("outdir", metavar="OUTDIR", help="project directory to create")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--broken", action="store_true",
                        help="end with 2 heads: the main line and an orphan branch (second base)")
    parser.add_argument("--force", action="store_true",
                        help="replace OUTDIR/migrations if OUTDIR already holds a project")
    args = parser.parse_args(argv)

    if args.n < 1:
        parser.error("N must be at least 1")
    migrations = os.path.join(args.outdir, "migrations")
    if os.path.exists(migrations) and os.listdir(migrations):
        if not args.force:
            parser.error(f"{migrations} already exists (use --force to replace it)")
        shutil.rmtree(migrations)

    revs = History(args.n, args.seed, args.broken).generate()
    write_project(revs, args.outdir)

    merges = sum(1 for r in revs if len(r.parents) > 1)
    merges3 = sum(1 for r in revs if len(r.parents) > 2)
    labels = sum(len(r.labels) for r in revs)
    deps = sum(1 for r in revs if r.depends_on)
    print(f"wrote {len(revs)} revisions to {args.outdir} "
          f"({merges} merges, {merges3} with 3 parents, {labels} branch labels, "
          f"{deps} with depends_on{', broken: 2 heads' if args.broken else ''})",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
