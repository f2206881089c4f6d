//! The schema objects an operation changes, normalized so that two revisions' operations on
//! the same object meet.

use serde::Serialize;

use crate::revision::ops::{Name, Op, OpKind, TableRef};
use crate::schema::SchemaSnapshot;

/// A schema object, normalized for comparison (lower case; schema None: the default schema).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Subject {
    Table {
        schema: Option<String>,
        name: String,
    },
    Column {
        schema: Option<String>,
        table: String,
        column: String,
    },
    Index {
        schema: Option<String>,
        name: String,
    },
}

/// Lower-cased `(schema, name)` of a table reference, the schema defaulted; None when not literal.
pub(super) fn table_key(t: &TableRef, schema: &SchemaSnapshot) -> Option<(Option<String>, String)> {
    let (s, name) = t.known()?;
    let s = s.or(schema.default_schema.as_deref());
    Some((s.map(str::to_lowercase), name.to_lowercase()))
}

pub(super) fn table_subject(t: &TableRef, schema: &SchemaSnapshot) -> Option<Subject> {
    let (schema, name) = table_key(t, schema)?;
    Some(Subject::Table { schema, name })
}

pub(super) fn column_subject(
    t: &TableRef,
    column: &Name,
    schema: &SchemaSnapshot,
) -> Option<Subject> {
    let (schema, table) = table_key(t, schema)?;
    Some(Subject::Column {
        schema,
        table,
        column: column.literal()?.to_lowercase(),
    })
}

/// Indexes are looked up in their table's schema (index names are per schema on PostgreSQL).
pub(super) fn index_subject(
    name: &Name,
    t: Option<&TableRef>,
    schema: &SchemaSnapshot,
) -> Option<Subject> {
    let s = match t {
        Some(t) => table_key(t, schema)?.0,
        None => schema.default_schema.as_deref().map(str::to_lowercase),
    };
    Some(Subject::Index {
        schema: s,
        name: name.literal()?.to_lowercase(),
    })
}

/// The objects an operation changes (literal names only).
pub(super) fn touches(op: &Op, schema: &SchemaSnapshot) -> Vec<Subject> {
    let subjects = match &op.kind {
        OpKind::CreateTable { table, .. } | OpKind::DropTable { table } => {
            vec![table_subject(table, schema)]
        }
        OpKind::RenameTable { table, new_name } => {
            let renamed = TableRef {
                name: new_name.clone(),
                schema: table.schema.clone(),
            };
            vec![
                table_subject(table, schema),
                table_subject(&renamed, schema),
            ]
        }
        OpKind::AddColumn { table, column } => vec![column_subject(table, &column.name, schema)],
        OpKind::DropColumn { table, column } => vec![column_subject(table, column, schema)],
        OpKind::AlterColumn {
            table,
            column,
            new_name,
            ..
        } => vec![
            column_subject(table, column, schema),
            new_name
                .as_ref()
                .and_then(|n| column_subject(table, n, schema)),
        ],
        OpKind::CreateIndex { name, table, .. } => vec![index_subject(name, Some(table), schema)],
        OpKind::DropIndex { name, table } => vec![index_subject(name, table.as_ref(), schema)],
        OpKind::CreateConstraint { .. }
        | OpKind::DropConstraint { .. }
        | OpKind::Execute { .. }
        | OpKind::BulkInsert { .. }
        | OpKind::Unknown { .. } => Vec::new(),
    };
    subjects.into_iter().flatten().collect()
}

/// The changes that make a fact about `subject` stale: a change to the object itself, or to
/// the table a column belongs to (dropping or renaming the table takes the column along).
pub(super) fn maskers_of(subject: &Subject) -> Vec<Subject> {
    match subject {
        Subject::Column { schema, table, .. } => vec![
            subject.clone(),
            Subject::Table {
                schema: schema.clone(),
                name: table.clone(),
            },
        ],
        _ => vec![subject.clone()],
    }
}
