//! The version table: where it is, and the SQL that rewrites it.
//!
//! Everything here is pure (no connection), so the preview a user approves and the statements
//! the executor runs come from the same function, [`plan_sql`].

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::config::ProjectConfig;

use super::env_py::{Setting, scan_env_py};
use super::{Backend, DbError};

/// Alembic's default version table name.
pub const DEFAULT_VERSION_TABLE: &str = "alembic_version";
/// The width Alembic gives `version_num` when it creates the table.
pub const ALEMBIC_VERSION_LENGTH: u32 = 32;

/// Where Alembic keeps the applied revisions.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VersionTable {
    pub name: String,
    /// `version_table_schema`; None: unqualified (PostgreSQL: the search path; MySQL: the
    /// connected database; SQLite: `main`).
    pub schema: Option<String>,
}

impl Default for VersionTable {
    fn default() -> Self {
        VersionTable {
            name: DEFAULT_VERSION_TABLE.to_string(),
            schema: None,
        }
    }
}

impl fmt::Display for VersionTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.schema {
            Some(s) => write!(f, "{s}.{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// Where each half of a [`VersionTable`] came from, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Flag,
    EnvPy(PathBuf),
    Default,
}

/// The located table, with provenance and anything the user should know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocatedVersionTable {
    pub table: VersionTable,
    pub name_origin: Origin,
    pub schema_origin: Origin,
    pub notes: Vec<String>,
}

/// The project's `env.py` (in the script directory), if the project has one.
pub fn env_py_path(config: &ProjectConfig) -> Option<PathBuf> {
    config
        .script_location
        .as_ref()
        .map(|d| d.join("env.py"))
        .filter(|p| p.is_file())
}

/// `--version-table` / `--version-table-schema`, else literals in env.py's
/// `context.configure(...)`, else Alembic's defaults. Each half is decided separately.
pub fn locate_version_table(
    flag_name: Option<&str>,
    flag_schema: Option<&str>,
    env_py: Option<&Path>,
) -> LocatedVersionTable {
    let mut notes = Vec::new();
    let scanned = env_py.and_then(|p| match std::fs::read(p) {
        Ok(bytes) => Some((p, scan_env_py(&String::from_utf8_lossy(&bytes)))),
        Err(e) => {
            notes.push(format!("could not read {}: {e}", p.display()));
            None
        }
    });
    let mut pick = |flag: Option<&str>, which: &str, setting: Option<(&Path, &Setting)>| {
        if let Some(v) = flag {
            return (Some(v.to_string()), Origin::Flag);
        }
        match setting {
            Some((p, Setting::Literal(v))) => (Some(v.clone()), Origin::EnvPy(p.to_path_buf())),
            Some((p, Setting::Computed(expr))) => {
                notes.push(format!(
                    "{} sets {which} to an expression ({expr}) migscope cannot evaluate; \
                     assuming the default. Pass --{} if it differs",
                    p.display(),
                    which.replace('_', "-")
                ));
                (None, Origin::Default)
            }
            _ => (None, Origin::Default),
        }
    };
    let (name, name_origin) = pick(
        flag_name,
        "version_table",
        scanned.as_ref().map(|(p, s)| (*p, &s.version_table)),
    );
    let (schema, schema_origin) = pick(
        flag_schema,
        "version_table_schema",
        scanned.as_ref().map(|(p, s)| (*p, &s.version_table_schema)),
    );
    if let Some((p, s)) = &scanned {
        notes.extend(s.notes.iter().map(|n| format!("{}: {n}", p.display())));
    }
    LocatedVersionTable {
        table: VersionTable {
            name: name.unwrap_or_else(|| DEFAULT_VERSION_TABLE.to_string()),
            schema: schema.filter(|s| !s.is_empty()),
        },
        name_origin,
        schema_origin,
        notes,
    }
}

/// One statement: what is shown, and what is run (the same text with bind parameters in place
/// of the literals, so no revision id is ever spliced into SQL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlStep {
    /// For display: literals inlined, as `alembic --sql` would print it.
    pub display: String,
    pub(crate) sql: String,
    pub(crate) params: Vec<String>,
}

impl fmt::Display for SqlStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display)
    }
}

/// The statements that turn the version table's rows `before` (None: the table does not exist)
/// into `after`: `CREATE TABLE` with Alembic's DDL when needed, then a `DELETE` per revision
/// that goes, then an `INSERT` per revision that comes. Rows are compared as multisets; a
/// duplicated row (possible only in a table without Alembic's primary key) is deleted and
/// inserted once. Empty when nothing changes. `after` must not repeat an id.
pub fn plan_sql(
    backend: Backend,
    table: &VersionTable,
    before: Option<&[String]>,
    after: &[String],
) -> Result<Vec<SqlStep>, DbError> {
    let mut seen = HashMap::new();
    for id in after {
        if id.is_empty() {
            return Err(DbError::Invalid(
                "an empty revision id cannot be stamped".to_string(),
            ));
        }
        if seen.insert(id.as_str(), ()).is_some() {
            return Err(DbError::Invalid(format!(
                "revision '{id}' is listed twice in the target state"
            )));
        }
    }
    let q = qualified(backend, table);
    let mut steps = Vec::new();
    let before = match before {
        Some(rows) => rows,
        None if after.is_empty() => return Ok(steps),
        None => {
            steps.push(create_table_step(backend, table));
            &[]
        }
    };
    let mut count: HashMap<&str, usize> = HashMap::new();
    for id in before {
        *count.entry(id).or_default() += 1;
    }
    let mut deleted = Vec::new();
    for id in before {
        let n = count[id.as_str()];
        let keep = seen.contains_key(id.as_str()) && n == 1;
        if !keep && !deleted.contains(&id) {
            deleted.push(id);
            steps.push(SqlStep {
                display: format!(
                    "DELETE FROM {q} WHERE version_num = {}",
                    literal(backend, id)
                ),
                sql: format!(
                    "DELETE FROM {q} WHERE version_num = {}",
                    placeholder(backend, 1)
                ),
                params: vec![id.clone()],
            });
        }
    }
    for id in after {
        if count.get(id.as_str()) != Some(&1) {
            steps.push(SqlStep {
                display: format!(
                    "INSERT INTO {q} (version_num) VALUES ({})",
                    literal(backend, id)
                ),
                sql: format!(
                    "INSERT INTO {q} (version_num) VALUES ({})",
                    placeholder(backend, 1)
                ),
                params: vec![id.clone()],
            });
        }
    }
    Ok(steps)
}

/// Alembic's version table DDL (`MigrationContext._version`), as SQLAlchemy renders it.
pub fn create_table_step(backend: Backend, table: &VersionTable) -> SqlStep {
    let pkc = quote_ident(backend, &format!("{}_pkc", table.name));
    let sql = format!(
        "CREATE TABLE {} (version_num VARCHAR({ALEMBIC_VERSION_LENGTH}) NOT NULL, \
         CONSTRAINT {pkc} PRIMARY KEY (version_num))",
        qualified(backend, table)
    );
    SqlStep {
        display: sql.clone(),
        sql,
        params: Vec::new(),
    }
}

/// `schema.name`, each part quoted only when SQLAlchemy would quote it.
pub fn qualified(backend: Backend, table: &VersionTable) -> String {
    match &table.schema {
        Some(s) => format!(
            "{}.{}",
            quote_ident(backend, s),
            quote_ident(backend, &table.name)
        ),
        None => quote_ident(backend, &table.name),
    }
}

/// SQLAlchemy's rule: lower-case names made of letters, digits, `_` and `$` that are not
/// reserved words stay bare (and so fold case as they do in Alembic's own SQL); anything else
/// is quoted, which makes it case-sensitive, exactly as Alembic's quoting does.
pub fn quote_ident(backend: Backend, name: &str) -> String {
    let bare = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '$')
        && !RESERVED.contains(&name);
    if bare {
        return name.to_string();
    }
    match backend {
        Backend::MySql => format!("`{}`", name.replace('`', "``")),
        _ => format!("\"{}\"", name.replace('"', "\"\"")),
    }
}

/// The identifier as a string literal of the given quoting (for catalog lookups such as
/// `to_regclass`, which parse a possibly quoted name).
pub(crate) fn regclass_text(table: &VersionTable) -> String {
    // to_regclass parses the text like SQL: always quote, keeping the exact case, which is
    // what an unquoted lower-case name means too.
    let q = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    match &table.schema {
        Some(s) => format!("{}.{}", q(s), q(&table.name)),
        None => q(&table.name),
    }
}

/// Words reserved on at least one backend that plausibly name a table or schema.
const RESERVED: &[&str] = &[
    "all",
    "and",
    "any",
    "as",
    "asc",
    "between",
    "by",
    "case",
    "check",
    "column",
    "constraint",
    "create",
    "cross",
    "current",
    "default",
    "delete",
    "desc",
    "distinct",
    "drop",
    "else",
    "end",
    "except",
    "exists",
    "false",
    "for",
    "foreign",
    "from",
    "full",
    "grant",
    "group",
    "having",
    "in",
    "index",
    "inner",
    "insert",
    "intersect",
    "into",
    "is",
    "join",
    "key",
    "left",
    "like",
    "limit",
    "not",
    "null",
    "offset",
    "on",
    "or",
    "order",
    "outer",
    "primary",
    "references",
    "right",
    "select",
    "session",
    "set",
    "table",
    "then",
    "to",
    "true",
    "union",
    "unique",
    "update",
    "user",
    "using",
    "values",
    "version",
    "when",
    "where",
    "with",
];

fn literal(backend: Backend, s: &str) -> String {
    let mut v = s.replace('\'', "''");
    if backend == Backend::MySql {
        // MySQL treats backslash as an escape in string literals by default.
        v = v.replace('\\', "\\\\");
    }
    format!("'{v}'")
}

fn placeholder(backend: Backend, n: usize) -> String {
    match backend {
        Backend::Postgres => format!("${n}"),
        _ => "?".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn shown(steps: &[SqlStep]) -> Vec<&str> {
        steps.iter().map(|s| s.display.as_str()).collect()
    }

    #[test]
    fn plan_from_nothing_creates_the_table() {
        let t = VersionTable::default();
        let steps = plan_sql(Backend::Postgres, &t, None, &ids(&["a1"])).unwrap();
        assert_eq!(
            shown(&steps),
            [
                "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, CONSTRAINT \
                 alembic_version_pkc PRIMARY KEY (version_num))",
                "INSERT INTO alembic_version (version_num) VALUES ('a1')",
            ]
        );
        assert_eq!(
            steps[1].sql,
            "INSERT INTO alembic_version (version_num) VALUES ($1)"
        );
        assert!(
            plan_sql(Backend::Postgres, &t, None, &[])
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn plan_moves_heads_and_keeps_the_rest() {
        let t = VersionTable {
            name: "Versions".into(),
            schema: Some("meta".into()),
        };
        let steps = plan_sql(
            Backend::MySql,
            &t,
            Some(&ids(&["a", "b", "c", "c"])),
            &ids(&["b", "c", "d'x"]),
        )
        .unwrap();
        assert_eq!(
            shown(&steps),
            [
                "DELETE FROM meta.`Versions` WHERE version_num = 'a'",
                "DELETE FROM meta.`Versions` WHERE version_num = 'c'",
                "INSERT INTO meta.`Versions` (version_num) VALUES ('c')",
                "INSERT INTO meta.`Versions` (version_num) VALUES ('d''x')",
            ]
        );
        assert_eq!(
            steps[0].sql,
            "DELETE FROM meta.`Versions` WHERE version_num = ?"
        );
        let same = plan_sql(
            Backend::Sqlite,
            &t,
            Some(&ids(&["b", "a"])),
            &ids(&["a", "b"]),
        );
        assert!(same.unwrap().is_empty());
    }

    #[test]
    fn plan_rejects_repeated_targets() {
        let t = VersionTable::default();
        assert!(matches!(
            plan_sql(Backend::Sqlite, &t, None, &ids(&["a", "a"])),
            Err(DbError::Invalid(_))
        ));
    }

    #[test]
    fn quoting_follows_sqlalchemy() {
        assert_eq!(
            quote_ident(Backend::Postgres, "alembic_version"),
            "alembic_version"
        );
        assert_eq!(quote_ident(Backend::Postgres, "Alembic"), "\"Alembic\"");
        assert_eq!(quote_ident(Backend::Postgres, "user"), "\"user\"");
        assert_eq!(quote_ident(Backend::Postgres, "a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_ident(Backend::MySql, "my-table"), "`my-table`");
        assert_eq!(quote_ident(Backend::Sqlite, "9lives"), "\"9lives\"");
        let t = VersionTable {
            name: "V".into(),
            schema: Some("s".into()),
        };
        assert_eq!(regclass_text(&t), "\"s\".\"V\"");
        let ddl = create_table_step(Backend::Postgres, &t).display;
        assert!(ddl.starts_with("CREATE TABLE s.\"V\" ("), "{ddl}");
        assert!(ddl.contains("CONSTRAINT \"V_pkc\" PRIMARY KEY"), "{ddl}");
    }

    #[test]
    fn locate_prefers_flags_then_env_py_then_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let env = dir.path().join("env.py");
        std::fs::write(
            &env,
            "context.configure(connection=c, version_table='app_v', \
             version_table_schema=cfg.schema)\n",
        )
        .unwrap();
        let l = locate_version_table(None, None, Some(&env));
        assert_eq!(l.table.name, "app_v");
        assert_eq!(l.table.schema, None);
        assert_eq!(l.name_origin, Origin::EnvPy(env.clone()));
        assert_eq!(l.schema_origin, Origin::Default);
        assert!(l.notes[0].contains("cfg.schema"), "{:?}", l.notes);
        assert!(
            l.notes[0].contains("--version-table-schema"),
            "{:?}",
            l.notes
        );

        let l = locate_version_table(None, Some("meta"), Some(&env));
        assert_eq!(
            l.table,
            VersionTable {
                name: "app_v".into(),
                schema: Some("meta".into())
            }
        );
        let l = locate_version_table(Some("x"), None, None);
        assert_eq!(l.table.name, "x");
        assert_eq!(l.name_origin, Origin::Flag);
        let l = locate_version_table(None, None, None);
        assert_eq!(l.table, VersionTable::default());
        assert!(l.notes.is_empty());
    }
}
