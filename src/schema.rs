//! A database schema as plain data: what tables, columns and indexes exist. The `db` layer fills
//! it from a live database; `evidence` and `preflight` compare migrations' operations with it
//! without knowing where it came from (so they are tested with hand-built snapshots).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaSnapshot {
    /// The schema unqualified names resolve to (`public` on PostgreSQL, the database on MySQL,
    /// `main` on SQLite).
    pub default_schema: Option<String>,
    /// Keyed by (schema, table name) exactly as the database reports them.
    pub tables: BTreeMap<(Option<String>, String), TableInfo>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableInfo {
    pub schema: Option<String>,
    pub name: String,
    pub columns: Vec<ColumnInfo>,
    pub indexes: Vec<IndexInfo>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnInfo {
    pub name: String,
    /// As the database spells it (`character varying(32)`, `INTEGER`...).
    pub data_type: String,
    pub nullable: bool,
    /// For string types, the declared maximum length.
    pub max_length: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexInfo {
    pub name: String,
    pub columns: Vec<String>,
    pub unique: bool,
}

impl SchemaSnapshot {
    /// A table by name, in `schema` or (None) the default schema. Names compare
    /// case-insensitively, as unquoted SQL identifiers do on every supported backend.
    pub fn table(&self, schema: Option<&str>, name: &str) -> Option<&TableInfo> {
        let want_schema = schema.or(self.default_schema.as_deref());
        self.tables.values().find(|t| {
            t.name.eq_ignore_ascii_case(name)
                && match (want_schema, t.schema.as_deref()) {
                    (Some(w), Some(s)) => w.eq_ignore_ascii_case(s),
                    _ => true,
                }
        })
    }

    pub fn insert(&mut self, table: TableInfo) {
        self.tables
            .insert((table.schema.clone(), table.name.clone()), table);
    }
}

impl TableInfo {
    pub fn column(&self, name: &str) -> Option<&ColumnInfo> {
        self.columns
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name))
    }

    pub fn index(&self, name: &str) -> Option<&IndexInfo> {
        self.indexes
            .iter()
            .find(|i| i.name.eq_ignore_ascii_case(name))
    }
}
