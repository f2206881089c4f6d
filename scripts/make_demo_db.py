#!/usr/bin/env python3
"""Regenerate assets/demo/demo.db, the demo project's database in its broken "seed" state.

    python3 scripts/make_demo_db.py [OUTPUT]      # default: assets/demo/demo.db

Only the standard library (sqlite3). The output is deterministic: the same bytes every run
(fixed page size, no timestamps, no WAL, fixed rowids and row values).

The state it builds, as seen in the wild:

- the tables the main line creates up to ``cd2257cee794`` (users, line_channels, messages,
  reply_objects), with exactly the columns and indexes those migrations create (the DDL is
  what ``alembic upgrade cd2257cee794 --sql`` prints for SQLite);
- ``system_settings``, made by hand with the DDL of ``add_system_settings`` and its three
  seed rows, although that revision was never run;
- none of the later tables (intents, rich_menus, chat_sessions, credentials);
- ``alembic_version`` holding ``b90dd01ef204``: a revision id no file in the project defines
  (the file was deleted from the branch it lived on).
"""
from __future__ import annotations

import os
import sqlite3
import sys
from pathlib import Path

DDL = [
    """CREATE TABLE alembic_version (
    version_num VARCHAR(32) NOT NULL,
    CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
)""",
    # 3f1c9a2b7d40 create users table
    """CREATE TABLE users (
    id INTEGER NOT NULL,
    line_user_id VARCHAR(64) NOT NULL,
    display_name VARCHAR(255),
    picture_url VARCHAR(512),
    status_message TEXT,
    language VARCHAR(16),
    is_blocked BOOLEAN NOT NULL,
    created_at DATETIME NOT NULL,
    updated_at DATETIME,
    PRIMARY KEY (id)
)""",
    "CREATE UNIQUE INDEX ix_users_line_user_id ON users (line_user_id)",
    # 5b7e2d9c1a83 add line channels
    """CREATE TABLE line_channels (
    id INTEGER NOT NULL,
    channel_id VARCHAR(32) NOT NULL,
    channel_name VARCHAR(255) NOT NULL,
    channel_secret VARCHAR(64) NOT NULL,
    channel_access_token TEXT NOT NULL,
    webhook_url VARCHAR(512),
    is_active BOOLEAN NOT NULL,
    created_at DATETIME NOT NULL,
    PRIMARY KEY (id),
    UNIQUE (channel_id)
)""",
    # 9d4a6f0e2c15 create messages table
    """CREATE TABLE messages (
    id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    channel_id INTEGER NOT NULL,
    direction VARCHAR(10) NOT NULL,
    message_type VARCHAR(20) NOT NULL,
    content TEXT,
    line_message_id VARCHAR(32),
    reply_token VARCHAR(64),
    created_at DATETIME NOT NULL,
    PRIMARY KEY (id),
    FOREIGN KEY(channel_id) REFERENCES line_channels (id),
    FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
)""",
    "CREATE INDEX ix_messages_created_at ON messages (created_at)",
    "CREATE INDEX ix_messages_user_id_created_at ON messages (user_id, created_at)",
    # cd2257cee794 add reply objects
    """CREATE TABLE reply_objects (
    id INTEGER NOT NULL,
    message_id INTEGER NOT NULL,
    reply_type VARCHAR(20) NOT NULL,
    payload JSON NOT NULL,
    quick_reply JSON,
    sent_at DATETIME,
    created_at DATETIME NOT NULL,
    PRIMARY KEY (id),
    FOREIGN KEY(message_id) REFERENCES messages (id) ON DELETE CASCADE
)""",
    "CREATE INDEX ix_reply_objects_message_id ON reply_objects (message_id)",
    # made by hand, as add_system_settings would have (that revision never ran)
    """CREATE TABLE system_settings (
    id INTEGER NOT NULL,
    "key" VARCHAR(100) NOT NULL,
    value TEXT,
    description VARCHAR(255),
    updated_at DATETIME DEFAULT CURRENT_TIMESTAMP NOT NULL,
    PRIMARY KEY (id),
    UNIQUE ("key")
)""",
]

ROWS = [
    "INSERT INTO alembic_version (version_num) VALUES ('b90dd01ef204')",
    "INSERT INTO users VALUES (1, 'U4af4980629c1b2a3d4e5f60718293a4b', 'Demo User', NULL, "
    "NULL, 'en', 0, '2024-03-28 09:00:00', NULL)",
    "INSERT INTO line_channels VALUES (1, '1657012345', 'Demo channel', 'demo-secret', "
    "'demo-token', NULL, 1, '2024-02-20 10:00:00')",
    "INSERT INTO messages VALUES (1, 1, 1, 'in', 'text', 'hello', NULL, NULL, "
    "'2024-03-28 09:00:01')",
    "INSERT INTO system_settings (id, \"key\", value, description, updated_at) VALUES "
    "(1, 'maintenance_mode', 'false', 'Reply with the maintenance message to every user', "
    "'2024-07-01 10:20:44'), "
    "(2, 'default_reply', 'Sorry, I did not understand that.', "
    "'Fallback reply when no intent matches', '2024-07-01 10:20:44'), "
    "(3, 'operator_handover_keyword', 'operator', "
    "'Keyword that hands a chat session to a human', '2024-07-01 10:20:44')",
]


def build(out: Path) -> None:
    tmp = out.with_name(out.name + ".tmp")
    if tmp.exists():
        tmp.unlink()
    con = sqlite3.connect(tmp, isolation_level=None)
    try:
        con.execute("PRAGMA page_size = 4096")
        con.execute("PRAGMA journal_mode = DELETE")
        con.execute("BEGIN")
        for stmt in DDL + ROWS:
            con.execute(stmt)
        con.execute("COMMIT")
        con.execute("VACUUM")
    finally:
        con.close()
    os.replace(tmp, out)


def main() -> int:
    root = Path(__file__).resolve().parent.parent
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else root / "assets" / "demo" / "demo.db"
    build(out)
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
