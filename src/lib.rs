//! migscope: read an Alembic project statically and answer what Alembic would.
//!
//! Data flows one way: [`config`] resolves where the revisions live, [`discover`] lists the files in
//! Alembic's load order, [`revision`] reads each file into a record, [`graph`] builds the revision map,
//! and [`diagnose`], [`plan`] and [`render`] answer questions about it.

pub mod alembic_run;
pub mod assess;
pub mod cache;
pub mod compare;
pub mod config;
pub mod db;
pub mod diagnose;
pub mod discover;
pub mod evidence;
pub mod fix;
pub mod gitsrc;
pub mod graph;
pub mod heap;
pub mod journal;
pub mod lost;
pub mod plan;
pub mod preflight;
pub mod project;
pub mod render;
pub mod revert;
pub mod revision;
pub mod schema;
pub mod stamp;
pub mod swap;
pub mod tui;
