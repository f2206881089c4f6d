//! Reads a [`SchemaSnapshot`] from the catalogs in a fixed number of queries: one for the
//! default schema, one for all columns, one for all index columns, joined on the server
//! (pg_catalog, information_schema, SQLite's table-valued pragmas), never one per table.

use crate::schema::{ColumnInfo, IndexInfo, SchemaSnapshot, TableInfo};

use super::{Backend, Db, DbError, VersionTable};

/// Which tables to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SchemaScope {
    /// Schemas to read. Empty: PostgreSQL's `current_schemas(false)` (the search path), the
    /// connected database on MySQL, `main` on SQLite.
    pub schemas: Vec<String>,
    /// The version table, left out of the snapshot (it is Alembic's, not the application's).
    pub version_table: Option<VersionTable>,
}

impl SchemaScope {
    pub fn excluding(version_table: &VersionTable) -> Self {
        SchemaScope {
            schemas: Vec::new(),
            version_table: Some(version_table.clone()),
        }
    }
}

pub(super) async fn snapshot(db: &mut Db, scope: &SchemaScope) -> Result<SchemaSnapshot, DbError> {
    match db.backend() {
        Backend::Postgres => postgres(db, scope).await,
        Backend::MySql => mysql(db, scope).await,
        Backend::Sqlite => sqlite(db, scope).await,
    }
}

/// `$first, $first+1, ...` or `?, ?, ...` for `n` values.
fn placeholders(backend: Backend, first: usize, n: usize) -> String {
    (0..n)
        .map(|i| match backend {
            Backend::Postgres => format!("${}", first + i),
            _ => "?".to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

async fn postgres(db: &mut Db, scope: &SchemaScope) -> Result<SchemaSnapshot, DbError> {
    let ctx = "reading the schema";
    let meta = db.rows(ctx, "SELECT current_schema()::text", &[]).await?;
    let default_schema = meta.first().and_then(|r| r[0].clone());

    // Parameters: the scope's schemas, then (optionally) the version table for to_regclass.
    let mut params: Vec<String> = scope.schemas.clone();
    let in_scope = if scope.schemas.is_empty() {
        "n.nspname = ANY (current_schemas(false))".to_string()
    } else {
        format!(
            "n.nspname IN ({})",
            placeholders(Backend::Postgres, 1, scope.schemas.len())
        )
    };
    let exclude = match &scope.version_table {
        Some(vt) => {
            params.push(super::version::regclass_text(vt));
            // IS DISTINCT FROM: to_regclass is NULL when the table does not exist.
            format!("AND c.oid IS DISTINCT FROM to_regclass(${})", params.len())
        }
        None => String::new(),
    };
    let p: Vec<&str> = params.iter().map(String::as_str).collect();
    let tables =
        format!("c.relkind IN ('r', 'p') AND NOT c.relispartition AND {in_scope} {exclude}");

    let columns = db
        .rows(
            ctx,
            &format!(
                "SELECT n.nspname::text, c.relname::text, a.attname::text, \
                   format_type(a.atttypid, a.atttypmod), (NOT a.attnotnull)::text, \
                   CASE WHEN a.atttypid IN (1042, 1043) AND a.atttypmod > 0 \
                        THEN (a.atttypmod - 4)::text END \
                 FROM pg_class c \
                 JOIN pg_namespace n ON n.oid = c.relnamespace \
                 JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 \
                      AND NOT a.attisdropped \
                 WHERE {tables} \
                 ORDER BY 1, 2, a.attnum"
            ),
            &p,
        )
        .await?;
    // One row per key column of each index (INCLUDE columns left out); expression parts are
    // shown as PostgreSQL prints them.
    let indexes = db
        .rows(
            ctx,
            &format!(
                "SELECT n.nspname::text, c.relname::text, i.relname::text, x.indisunique::text, \
                   COALESCE(a.attname::text, pg_get_indexdef(x.indexrelid, k.ord::int, true)) \
                 FROM pg_index x \
                 JOIN pg_class c ON c.oid = x.indrelid \
                 JOIN pg_class i ON i.oid = x.indexrelid \
                 JOIN pg_namespace n ON n.oid = c.relnamespace \
                 CROSS JOIN LATERAL unnest(x.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) \
                 LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum \
                      AND k.attnum <> 0 \
                 WHERE NOT x.indisprimary AND k.ord <= x.indnkeyatts AND {tables} \
                 ORDER BY 1, 2, 3, k.ord"
            ),
            &p,
        )
        .await?;
    Ok(assemble(
        default_schema,
        columns.into_iter().map(|r| ColumnRow {
            schema: r[0].clone(),
            table: r[1].clone().unwrap_or_default(),
            name: r[2].clone().unwrap_or_default(),
            data_type: r[3].clone().unwrap_or_default(),
            nullable: r[4].as_deref() == Some("true"),
            max_length: r[5].as_deref().and_then(|s| s.parse().ok()),
        }),
        indexes.into_iter().map(|r| IndexRow {
            schema: r[0].clone(),
            table: r[1].clone().unwrap_or_default(),
            name: r[2].clone().unwrap_or_default(),
            unique: r[3].as_deref() == Some("true"),
            column: r[4].clone().unwrap_or_default(),
        }),
        None,
    ))
}

async fn mysql(db: &mut Db, scope: &SchemaScope) -> Result<SchemaSnapshot, DbError> {
    let ctx = "reading the schema";
    let meta = db.rows(ctx, "SELECT CAST(DATABASE() AS CHAR)", &[]).await?;
    let default_schema = meta.first().and_then(|r| r[0].clone());
    let (in_scope, params): (String, Vec<&str>) = if scope.schemas.is_empty() {
        ("= DATABASE()".to_string(), Vec::new())
    } else {
        (
            format!(
                "IN ({})",
                placeholders(Backend::MySql, 1, scope.schemas.len())
            ),
            scope.schemas.iter().map(String::as_str).collect(),
        )
    };
    let columns = db
        .rows(
            ctx,
            &format!(
                "SELECT CAST(c.TABLE_SCHEMA AS CHAR), CAST(c.TABLE_NAME AS CHAR), \
                   CAST(c.COLUMN_NAME AS CHAR), CAST(c.COLUMN_TYPE AS CHAR), \
                   CAST(c.IS_NULLABLE AS CHAR), \
                   CASE WHEN c.DATA_TYPE IN ('char', 'varchar') \
                        THEN CAST(c.CHARACTER_MAXIMUM_LENGTH AS CHAR) END \
                 FROM information_schema.COLUMNS c \
                 JOIN information_schema.TABLES t \
                   ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME \
                 WHERE t.TABLE_TYPE = 'BASE TABLE' AND c.TABLE_SCHEMA {in_scope} \
                 ORDER BY c.TABLE_SCHEMA, c.TABLE_NAME, c.ORDINAL_POSITION"
            ),
            &params,
        )
        .await?;
    let indexes = db
        .rows(
            ctx,
            &format!(
                "SELECT CAST(TABLE_SCHEMA AS CHAR), CAST(TABLE_NAME AS CHAR), \
                   CAST(INDEX_NAME AS CHAR), CAST(NON_UNIQUE AS CHAR), \
                   CAST(COLUMN_NAME AS CHAR) \
                 FROM information_schema.STATISTICS \
                 WHERE INDEX_NAME <> 'PRIMARY' AND TABLE_SCHEMA {in_scope} \
                 ORDER BY TABLE_SCHEMA, TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX"
            ),
            &params,
        )
        .await?;
    let exclude = scope.version_table.as_ref().map(|vt| {
        (
            vt.schema.clone().or_else(|| default_schema.clone()),
            vt.name.clone(),
        )
    });
    Ok(assemble(
        default_schema,
        columns.into_iter().map(|r| ColumnRow {
            schema: r[0].clone(),
            table: r[1].clone().unwrap_or_default(),
            name: r[2].clone().unwrap_or_default(),
            data_type: r[3].clone().unwrap_or_default(),
            nullable: r[4].as_deref() == Some("YES"),
            max_length: r[5].as_deref().and_then(|s| s.parse().ok()),
        }),
        indexes.into_iter().map(|r| IndexRow {
            schema: r[0].clone(),
            table: r[1].clone().unwrap_or_default(),
            name: r[2].clone().unwrap_or_default(),
            unique: r[3].as_deref() == Some("0"),
            // Functional index parts (MySQL 8) have no column name.
            column: r[4].clone().unwrap_or_else(|| "(expression)".to_string()),
        }),
        exclude,
    ))
}

async fn sqlite(db: &mut Db, scope: &SchemaScope) -> Result<SchemaSnapshot, DbError> {
    let ctx = "reading the schema";
    let schemas = if scope.schemas.is_empty() {
        vec!["main".to_string()]
    } else {
        scope.schemas.clone()
    };
    let mut columns = Vec::new();
    let mut indexes = Vec::new();
    for schema in &schemas {
        // The schema name is an identifier here (`"aux".sqlite_master`), and a bound value
        // in the pragma functions.
        let master = format!(
            "{}.sqlite_master",
            super::quote_ident(Backend::Sqlite, schema)
        );
        let tables = "m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\'";
        let rows = db
            .rows(
                ctx,
                &format!(
                    "SELECT ?1, CAST(m.name AS TEXT), CAST(p.name AS TEXT), CAST(p.type AS TEXT), \
                       CAST(p.\"notnull\" = 0 AND p.pk = 0 AS TEXT) \
                     FROM {master} m JOIN pragma_table_info(m.name, ?1) p \
                     WHERE {tables} ORDER BY m.name, p.cid"
                ),
                &[schema.as_str()],
            )
            .await?;
        columns.extend(rows.into_iter().map(|r| {
            let data_type = r[3].clone().unwrap_or_default();
            ColumnRow {
                schema: r[0].clone(),
                table: r[1].clone().unwrap_or_default(),
                name: r[2].clone().unwrap_or_default(),
                max_length: declared_length(&data_type),
                data_type,
                nullable: r[4].as_deref() == Some("1"),
            }
        }));
        let rows = db
            .rows(
                ctx,
                &format!(
                    "SELECT ?1, CAST(m.name AS TEXT), CAST(il.name AS TEXT), \
                       CAST(il.\"unique\" AS TEXT), CAST(ii.name AS TEXT) \
                     FROM {master} m JOIN pragma_index_list(m.name, ?1) il \
                     JOIN pragma_index_info(il.name, ?1) ii \
                     WHERE {tables} AND il.origin <> 'pk' \
                     ORDER BY m.name, il.name, ii.seqno"
                ),
                &[schema.as_str()],
            )
            .await?;
        indexes.extend(rows.into_iter().map(|r| IndexRow {
            schema: r[0].clone(),
            table: r[1].clone().unwrap_or_default(),
            name: r[2].clone().unwrap_or_default(),
            unique: r[3].as_deref() == Some("1"),
            column: r[4].clone().unwrap_or_else(|| "(expression)".to_string()),
        }));
    }
    let exclude = scope.version_table.as_ref().map(|vt| {
        (
            Some(vt.schema.clone().unwrap_or_else(|| "main".to_string())),
            vt.name.clone(),
        )
    });
    Ok(assemble(
        Some("main".to_string()),
        columns.into_iter(),
        indexes.into_iter(),
        exclude,
    ))
}

/// `VARCHAR(32)` → 32, as SQLAlchemy reads SQLite's declared types; None without a length.
pub(super) fn declared_length(declared: &str) -> Option<u32> {
    let upper = declared.to_ascii_uppercase();
    if !(upper.contains("CHAR") || upper.contains("CLOB") || upper.contains("TEXT")) {
        return None;
    }
    let open = declared.find('(')?;
    let close = declared[open..].find(')')? + open;
    declared[open + 1..close]
        .split(',')
        .next()?
        .trim()
        .parse()
        .ok()
}

struct ColumnRow {
    schema: Option<String>,
    table: String,
    name: String,
    data_type: String,
    nullable: bool,
    max_length: Option<u32>,
}

struct IndexRow {
    schema: Option<String>,
    table: String,
    name: String,
    unique: bool,
    column: String,
}

/// Groups rows (sorted by schema, table, position) into tables. `exclude` is a
/// (schema, name) to leave out, compared as the backend compares unquoted names.
fn assemble(
    default_schema: Option<String>,
    columns: impl Iterator<Item = ColumnRow>,
    indexes: impl Iterator<Item = IndexRow>,
    exclude: Option<(Option<String>, String)>,
) -> SchemaSnapshot {
    let excluded = |schema: &Option<String>, table: &str| {
        exclude.as_ref().is_some_and(|(s, t)| {
            t.eq_ignore_ascii_case(table)
                && match (s, schema) {
                    (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
                    _ => true,
                }
        })
    };
    let mut snap = SchemaSnapshot {
        default_schema,
        ..Default::default()
    };
    for c in columns {
        if excluded(&c.schema, &c.table) {
            continue;
        }
        let t = snap
            .tables
            .entry((c.schema.clone(), c.table.clone()))
            .or_insert_with(|| TableInfo {
                schema: c.schema.clone(),
                name: c.table.clone(),
                ..Default::default()
            });
        t.columns.push(ColumnInfo {
            name: c.name,
            data_type: c.data_type,
            nullable: c.nullable,
            max_length: c.max_length,
        });
    }
    for i in indexes {
        let Some(t) = snap.tables.get_mut(&(i.schema.clone(), i.table.clone())) else {
            continue;
        };
        match t.indexes.last_mut() {
            Some(last) if last.name == i.name => last.columns.push(i.column),
            _ => t.indexes.push(IndexInfo {
                name: i.name,
                columns: vec![i.column],
                unique: i.unique,
            }),
        }
    }
    snap
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_lengths() {
        assert_eq!(declared_length("VARCHAR(32)"), Some(32));
        assert_eq!(declared_length("varchar ( 40 )"), Some(40));
        assert_eq!(declared_length("NCHAR(3)"), Some(3));
        assert_eq!(declared_length("VARCHAR"), None);
        assert_eq!(declared_length("NUMERIC(10, 2)"), None);
        assert_eq!(declared_length("INTEGER"), None);
    }

    #[test]
    fn assembles_tables_and_multi_column_indexes() {
        let col = |t: &str, n: &str| ColumnRow {
            schema: Some("s".into()),
            table: t.into(),
            name: n.into(),
            data_type: "int".into(),
            nullable: true,
            max_length: None,
        };
        let idx = |t: &str, n: &str, c: &str| IndexRow {
            schema: Some("s".into()),
            table: t.into(),
            name: n.into(),
            unique: false,
            column: c.into(),
        };
        let snap = assemble(
            Some("s".into()),
            vec![
                col("a", "x"),
                col("a", "y"),
                col("alembic_version", "version_num"),
            ]
            .into_iter(),
            vec![
                idx("a", "ix", "x"),
                idx("a", "ix", "y"),
                idx("a", "iy", "y"),
            ]
            .into_iter(),
            Some((None, "alembic_version".into())),
        );
        assert_eq!(snap.tables.len(), 1);
        let a = snap.table(None, "A").unwrap();
        assert_eq!(a.columns.len(), 2);
        assert_eq!(a.index("ix").unwrap().columns, ["x", "y"]);
        assert_eq!(a.indexes.len(), 2);
    }
}
