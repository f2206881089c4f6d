//! Shared helpers for migscope's integration tests.
//!
//! * [`venv`]: the project-local `.venv` with the pinned alembic
//!   ([`venv::alembic_python`]).
//! * [`oracle`]: batch runner for `tests/alembic/oracle.py` (real alembic).
//! * [`generator`]: random revision graphs written as migration files.
//! * [`model`]: graph description and random upgrade/downgrade queries.
//! * [`cli`]: running the `migscope` binary.
//! * [`process`]: running any command to completion, copying project trees.
//! * [`compare`]: migscope output vs Alembic answers, error-code mapping.
//! * [`sandbox`]: a copy of the demo project and database, and `migscope` run on it.
//! * [`harness`]: many graphs through both sides, failure reports.
//! * [`tmux`]: the real binary in a private tmux server.

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

pub mod cli;
pub mod compare;
pub mod generator;
pub mod harness;
pub mod model;
pub mod oracle;
pub mod process;
pub mod sandbox;
pub mod tmux;
pub mod venv;
