//! What a revision's `upgrade()` and `downgrade()` do to the schema, read statically.
//!
//! The functions are never run: their bodies are walked for calls through Alembic's `op` proxy
//! (under any alias), through `with op.batch_alter_table(...) as batch_op:` blocks and through
//! connections from `op.get_bind()`, and each call becomes an [`Op`] in source order. Helpers
//! defined in the same file and called from `upgrade()` are followed. Names that are not
//! literals (a loop variable, a computed string) are kept as their source text, so a consumer can
//! tell "drops some table" from "drops `users`". `op.execute` keeps its SQL when literal, and the
//! DDL in that SQL is recognised as best effort ([`Op::inferred`]).
//!
//! This is the only place besides `parse`/`fast` that knows the Python parser; everything else
//! sees the plain data below.

pub mod codec;
mod extract;
mod sql;
mod store;
pub use store::OpsStore;
#[cfg(test)]
mod tests;

use std::path::Path;

use serde::{Deserialize, Serialize};

/// What one revision file's migration functions do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpsReport {
    pub upgrade: FunctionOps,
    pub downgrade: FunctionOps,
    /// The full parser rejected the file. The top-level statements that parse on their own are
    /// still read, so a syntax error outside a function does not hide its operations.
    pub parse_error: Option<ParseFailure>,
}

/// A syntax error, as the parser reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParseFailure {
    pub message: String,
    pub line: u32,
}

/// One of the two migration functions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionOps {
    pub body: Body,
    /// Line of the `def` (of the last definition, which is the one Python keeps).
    pub line: Option<u32>,
    /// Operations in execution order (as written; loops are not unrolled).
    pub ops: Vec<Op>,
}

/// The shape of a migration function's body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Body {
    /// No function of that name at module level.
    Missing,
    /// Only `pass`, `...` and/or a docstring: a merge revision, or an empty one.
    Empty,
    /// Anything else (which may still contain no recognised operation).
    Code,
    /// The function's own text does not parse; nothing is known about it.
    Unparsable,
}

/// A name as written: a literal (or something statically resolvable to one, like `op.f("ix")`
/// or a module-level string constant), or the source text of an expression.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Name {
    Literal(String),
    Expr(String),
}

impl Name {
    /// The name, when statically known.
    pub fn literal(&self) -> Option<&str> {
        match self {
            Name::Literal(s) => Some(s),
            Name::Expr(_) => None,
        }
    }
}

impl std::fmt::Display for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Name::Literal(s) => f.write_str(s),
            Name::Expr(e) => write!(f, "<{e}>"),
        }
    }
}

/// A table an operation names, with its `schema=` argument (None: the default schema).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableRef {
    pub name: Name,
    pub schema: Option<Name>,
}

impl TableRef {
    /// `(schema, name)` when both are statically known (schema None: the default schema).
    pub fn known(&self) -> Option<(Option<&str>, &str)> {
        let name = self.name.literal()?;
        match &self.schema {
            None => Some((None, name)),
            Some(s) => Some((Some(s.literal()?), name)),
        }
    }
}

impl std::fmt::Display for TableRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.schema {
            Some(s) => write!(f, "{s}.{}", self.name),
            None => write!(f, "{}", self.name),
        }
    }
}

/// A `sa.Column(...)` (or a column recognised in `CREATE TABLE` / `ADD COLUMN` SQL).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnDef {
    pub name: Name,
    /// The type's source text (`sa.String(length=64)`), when given.
    pub type_: Option<String>,
    /// `nullable=` when given as a literal.
    pub nullable: Option<bool>,
    pub primary_key: bool,
}

impl ColumnDef {
    /// SQLAlchemy's default: nullable unless part of the primary key.
    pub fn effective_nullable(&self) -> bool {
        self.nullable.unwrap_or(!self.primary_key)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConstraintKind {
    Unique,
    PrimaryKey,
    ForeignKey,
    Check,
    Exclude,
}

/// What an operation does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum OpKind {
    CreateTable {
        table: TableRef,
        columns: Vec<ColumnDef>,
    },
    DropTable {
        table: TableRef,
    },
    RenameTable {
        table: TableRef,
        new_name: Name,
    },
    AddColumn {
        table: TableRef,
        column: ColumnDef,
    },
    DropColumn {
        table: TableRef,
        column: Name,
    },
    AlterColumn {
        table: TableRef,
        column: Name,
        new_name: Option<Name>,
        nullable: Option<bool>,
        /// `type_=` source text.
        type_: Option<String>,
    },
    CreateIndex {
        name: Name,
        table: TableRef,
        /// Column names, or expressions (`sa.text("lower(email)")`) as source text.
        columns: Vec<Name>,
        unique: bool,
    },
    DropIndex {
        name: Name,
        /// `table_name=`, or the batch table; Alembic does not require it.
        table: Option<TableRef>,
    },
    CreateConstraint {
        kind: ConstraintKind,
        /// None for `None` (the naming convention decides).
        name: Option<Name>,
        table: TableRef,
        /// Local columns (empty for check constraints).
        columns: Vec<Name>,
        /// The referenced table of a foreign key.
        referent: Option<TableRef>,
    },
    DropConstraint {
        name: Name,
        table: TableRef,
        /// `type_=` as written (`"foreignkey"`, `"unique"`...).
        type_: Option<String>,
    },
    /// `op.execute(...)` (or `conn.execute(...)` on `op.get_bind()`): opaque. DDL recognised in
    /// its SQL follows as separate ops with [`Op::inferred`] set.
    Execute {
        /// The SQL text when it is a literal (or `sa.text(<literal>)`).
        sql: Option<String>,
        /// The argument's source text.
        expr: String,
    },
    /// `op.bulk_insert(table, rows)`: data only.
    BulkInsert {
        table: Name,
    },
    /// Any other call through `op` / `batch_op` (`create_sequence`, `invoke`...).
    Unknown {
        /// The callee as written, e.g. `op.create_sequence`.
        call: String,
    },
}

/// One operation, where it is written, and how sure its effect is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Op {
    #[serde(flatten)]
    pub kind: OpKind,
    pub line: u32,
    /// Inside an `if`, a loop, an `except`/`else` block or a `match` case: it may not run (or may
    /// run several times).
    pub conditional: bool,
    /// `if_exists=True` / `if_not_exists=True`, or SQL `IF [NOT] EXISTS`: no error when the
    /// object is already in the target state.
    pub guarded: bool,
    /// Recognised in the SQL of the preceding `Execute` rather than written as an Alembic call.
    pub inferred: bool,
}

impl Op {
    /// Data-only or opaque: the op says nothing checkable about the schema.
    pub fn is_opaque(&self) -> bool {
        matches!(
            self.kind,
            OpKind::Execute { .. } | OpKind::BulkInsert { .. } | OpKind::Unknown { .. }
        )
    }
}

impl FunctionOps {
    fn missing() -> FunctionOps {
        FunctionOps {
            body: Body::Missing,
            line: None,
            ops: Vec::new(),
        }
    }
}

/// Both migration functions of decoded, newline-normalized source text, from one parse.
pub fn ops(source: &str) -> OpsReport {
    extract::read(source)
}

/// Like [`ops`], from the file's bytes: decoded as Python would (BOM, PEP 263 cookie, newlines).
pub fn read_ops(bytes: &[u8]) -> OpsReport {
    let (text, _) = super::read::decode(bytes);
    extract::read(&text)
}

/// Like [`read_ops`] but only `upgrade()` is read: `downgrade()` is reported
/// [`Body::Missing`]. The parser dominates the cost of reading operations and `downgrade()` is
/// often a third of a file, so `status`, which only plans upgrades, blanks its lines (keeping
/// line numbers) before parsing. Should the blanked text not parse (a string inside
/// `downgrade()` with text at column 0 makes the cut land wrong), the whole file is read.
pub fn read_upgrade_ops(bytes: &[u8]) -> OpsReport {
    let (text, _) = super::read::decode(bytes);
    if let Some(cut) = without_downgrade(&text) {
        let report = extract::read(&cut);
        if report.parse_error.is_none() {
            return report;
        }
    }
    let mut report = extract::read(&text);
    report.downgrade = FunctionOps::missing();
    report
}

/// The text with the top-level `def downgrade` (up to the next line that starts at column 0
/// with code) replaced by empty lines; None when there is no such function.
fn without_downgrade(text: &str) -> Option<String> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let start = lines
        .iter()
        .position(|l| l.starts_with("def downgrade(") || l.starts_with("async def downgrade("))?;
    let end = lines[start + 1..]
        .iter()
        .position(|l| {
            let t = l.trim_end();
            !t.is_empty() && !l.starts_with([' ', '\t', '#', ')'])
        })
        .map_or(lines.len(), |i| start + 1 + i);
    let mut out = String::with_capacity(text.len());
    for (i, l) in lines.iter().enumerate() {
        if (start..end).contains(&i) {
            out.push('\n');
        } else {
            out.push_str(l);
        }
    }
    Some(out)
}

/// Like [`read_ops`], from a file. An unreadable file has both functions [`Body::Unparsable`].
pub fn read_ops_file(path: &Path) -> OpsReport {
    read_file_with(path, read_ops)
}

/// [`read_upgrade_ops`] from a file.
pub fn read_upgrade_ops_file(path: &Path) -> OpsReport {
    read_file_with(path, read_upgrade_ops)
}

fn read_file_with(path: &Path, read: fn(&[u8]) -> OpsReport) -> OpsReport {
    match std::fs::read(path) {
        Ok(bytes) => read(&bytes),
        Err(e) => OpsReport {
            upgrade: FunctionOps {
                body: Body::Unparsable,
                ..FunctionOps::missing()
            },
            downgrade: FunctionOps {
                body: Body::Unparsable,
                ..FunctionOps::missing()
            },
            parse_error: Some(ParseFailure {
                message: e.to_string(),
                line: 0,
            }),
        },
    }
}

/// What `upgrade()` does.
pub fn upgrade_ops(source: &str) -> FunctionOps {
    ops(source).upgrade
}

/// What `downgrade()` does.
pub fn downgrade_ops(source: &str) -> FunctionOps {
    ops(source).downgrade
}

/// One line, as Alembic spells the operation: `create_index ix_users_email on users(email) unique`.
impl OpKind {
    /// The literal names of the tables the operation changes or refers to (a rename's both
    /// names, a foreign key's referent), as written.
    pub fn table_names(&self) -> Vec<&str> {
        let names: Vec<Option<&str>> = match self {
            OpKind::CreateTable { table, .. }
            | OpKind::DropTable { table }
            | OpKind::AddColumn { table, .. }
            | OpKind::DropColumn { table, .. }
            | OpKind::AlterColumn { table, .. }
            | OpKind::CreateIndex { table, .. }
            | OpKind::DropConstraint { table, .. } => vec![table.name.literal()],
            OpKind::RenameTable { table, new_name } => {
                vec![table.name.literal(), new_name.literal()]
            }
            OpKind::DropIndex { table, .. } => vec![table.as_ref().and_then(|t| t.name.literal())],
            OpKind::CreateConstraint {
                table, referent, ..
            } => vec![
                table.name.literal(),
                referent.as_ref().and_then(|t| t.name.literal()),
            ],
            OpKind::BulkInsert { table } => vec![table.literal()],
            OpKind::Execute { .. } | OpKind::Unknown { .. } => Vec::new(),
        };
        names.into_iter().flatten().collect()
    }
}

impl std::fmt::Display for OpKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let list = |names: &[Name]| {
            names
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self {
            OpKind::CreateTable { table, columns } => {
                let cols: Vec<Name> = columns.iter().map(|c| c.name.clone()).collect();
                write!(f, "create_table {table}({})", list(&cols))
            }
            OpKind::DropTable { table } => write!(f, "drop_table {table}"),
            OpKind::RenameTable { table, new_name } => {
                write!(f, "rename_table {table} -> {new_name}")
            }
            OpKind::AddColumn { table, column } => {
                write!(f, "add_column {table}.{}", column.name)
            }
            OpKind::DropColumn { table, column } => write!(f, "drop_column {table}.{column}"),
            OpKind::AlterColumn {
                table,
                column,
                new_name,
                nullable,
                type_,
            } => {
                write!(f, "alter_column {table}.{column}")?;
                if let Some(n) = new_name {
                    write!(f, " -> {n}")?;
                }
                if let Some(n) = nullable {
                    write!(f, " nullable={n}")?;
                }
                if let Some(t) = type_ {
                    write!(f, " type={t}")?;
                }
                Ok(())
            }
            OpKind::CreateIndex {
                name,
                table,
                columns,
                unique,
            } => {
                write!(f, "create_index {name} on {table}({})", list(columns))?;
                if *unique {
                    f.write_str(" unique")?;
                }
                Ok(())
            }
            OpKind::DropIndex { name, table } => {
                write!(f, "drop_index {name}")?;
                if let Some(t) = table {
                    write!(f, " on {t}")?;
                }
                Ok(())
            }
            OpKind::CreateConstraint {
                kind,
                name,
                table,
                columns,
                referent,
            } => {
                let what = match kind {
                    ConstraintKind::Unique => "create_unique_constraint",
                    ConstraintKind::PrimaryKey => "create_primary_key",
                    ConstraintKind::ForeignKey => "create_foreign_key",
                    ConstraintKind::Check => "create_check_constraint",
                    ConstraintKind::Exclude => "create_exclude_constraint",
                };
                let name = name
                    .as_ref()
                    .map_or("None".to_string(), ToString::to_string);
                write!(f, "{what} {name} on {table}({})", list(columns))?;
                if let Some(r) = referent {
                    write!(f, " -> {r}")?;
                }
                Ok(())
            }
            OpKind::DropConstraint { name, table, type_ } => {
                write!(f, "drop_constraint {name} on {table}")?;
                if let Some(t) = type_ {
                    write!(f, " type={t}")?;
                }
                Ok(())
            }
            OpKind::Execute { sql, expr } => match sql {
                Some(sql) => write!(f, "execute {:?}", first_line(sql)),
                None => write!(f, "execute <{expr}>"),
            },
            OpKind::BulkInsert { table } => write!(f, "bulk_insert {table}"),
            OpKind::Unknown { call } => write!(f, "{call}(...)"),
        }
    }
}

/// The first non-blank line of some SQL, shortened: enough to recognise it in a report.
fn first_line(sql: &str) -> String {
    let line = sql
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let mut out: String = line.chars().take(60).collect();
    if out.len() < line.len() || sql.trim().lines().count() > 1 {
        out.push_str("...");
    }
    out
}

impl std::fmt::Display for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.kind)?;
        for (set, flag) in [
            (self.conditional, " [conditional]"),
            (self.guarded, " [guarded]"),
            (self.inferred, " [from SQL]"),
        ] {
            if set {
                f.write_str(flag)?;
            }
        }
        Ok(())
    }
}
