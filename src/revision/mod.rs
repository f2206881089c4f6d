//! What one revision file says, as plain data.
//!
//! `read` (in `parse`/`fast`) is the only place that knows how Python is parsed; everything else in
//! migscope sees a [`RevisionRecord`]. A record keeps what the file literally binds (so diagnostics can
//! point at it); [`RevisionRecord::normalized`] applies Alembic's own coercions (`to_tuple`,
//! `tuple_rev_as_scalar`) to produce the identifiers the graph is built from.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// 1-based line and column (column counts characters) of a statement or value in its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Span {
    pub line: u32,
    pub column: u32,
}

/// A Python literal as far as migscope needs to understand one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Literal {
    None,
    Str(String),
    Tuple(Vec<Literal>),
    List(Vec<Literal>),
    /// Any other literal (a number, a bool, a set, bytes, ...), kept as its source text.
    Other(String),
}

/// The value bound to one of the identifier names at module level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Value {
    Literal {
        value: Literal,
    },
    /// Not statically evaluable (a call, an attribute, an unknown name...). `expr` is the source text.
    NonLiteral {
        expr: String,
    },
}

/// The last module-level binding of a name (Python semantics: the last assignment wins).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    pub value: Value,
    /// Where the assigned value starts.
    pub span: Span,
    /// `name: Annotation = value` rather than `name = value`.
    pub annotated: bool,
}

/// The module docstring, split the way the default `script.py.mako` template writes it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Docstring {
    /// The docstring exactly as written (not stripped).
    pub raw: String,
    pub span: Span,
    /// Alembic's `doc`: the stripped docstring up to its first blank line.
    pub message: String,
    /// The `Revises:` line's value, when present (comma-joined ids; empty for a base).
    pub revises: Option<String>,
    pub revises_line: Option<u32>,
    /// The `Create Date:` line's value, when present.
    pub create_date: Option<String>,
    /// The `Revision ID:` line's value, when present.
    pub revision_id: Option<String>,
}

/// Something about reading the file that the user should know.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ReadIssue {
    /// The full parser rejected the file; identifiers were recovered statement by statement.
    Unparsable { message: String, span: Span },
    /// The bytes were not valid UTF-8; they were decoded lossily.
    NotUtf8 { span: Span },
    /// An identifier was assigned inside a compound statement (`if`, `try`, ...). Alembic would execute
    /// it; a static reader ignores it, like Alembic's reference oracle.
    ConditionalAssignment { name: String, span: Span },
    /// The file could not be read at all.
    Io { message: String },
}

/// Everything migscope extracts from one revision file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevisionRecord {
    /// The path Alembic would store: the discovered file, symlinks resolved.
    pub path: PathBuf,
    pub revision: Option<Assignment>,
    pub down_revision: Option<Assignment>,
    pub branch_labels: Option<Assignment>,
    pub depends_on: Option<Assignment>,
    pub docstring: Option<Docstring>,
    pub issues: Vec<ReadIssue>,
}

/// The file's identifiers after Alembic's coercions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Normalized {
    pub id: String,
    /// `down_revision` as a tuple, in declared order. Empty for a base.
    pub down: Vec<String>,
    /// `depends_on` as declared (ids or branch labels).
    pub depends_on: Vec<String>,
    /// `branch_labels` in declared order.
    pub branch_labels: Vec<String>,
}

/// Why a record cannot become a revision in the graph.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NormalizeError {
    #[error(
        "Could not determine revision id from filename {file_name}. Be sure the 'revision' variable is declared inside the script (please see 'Upgrading from Alembic 0.1 to 0.2' in the documentation)."
    )]
    NoRevisionId { file_name: String },
    #[error("module has no attribute 'down_revision'")]
    NoDownRevision,
    #[error("`{name}` is not a literal: {expr}")]
    NonLiteral {
        name: String,
        expr: String,
        span: Span,
    },
    #[error("`{name}` must be a string or a sequence of strings, not {found}")]
    WrongType {
        name: String,
        found: String,
        span: Span,
    },
}

pub mod codec;
mod docstring;
mod fast;
mod normalize;
mod parse;
pub use normalize::illegal_id_chars;
pub mod ops;
pub mod read;
mod wire;

pub use read::read_file;
