//! What will a plan do to the schema, and what will fail?
//!
//! The plan's revisions are simulated in execution order on a working copy of a
//! [`SchemaSnapshot`]: each operation ([`crate::revision::ops`]) first checks what the database
//! would check (the table exists, the column does not yet...), reporting a [`Conflict`] when it
//! would fail, then changes the copy. After a conflict the simulation goes on as if the step had
//! succeeded, so one report lists every problem; the real run stops at the first certain one
//! ([`first_failure`]).

use std::collections::HashMap;

use serde::Serialize;

use crate::graph::{RevIdx, RevisionMap};
use crate::plan::{Direction, Plan};
use crate::revision::ops::{Body, ColumnDef, ConstraintKind, Name, Op, OpKind, OpsStore, TableRef};
use crate::schema::{ColumnInfo, IndexInfo, SchemaSnapshot, TableInfo};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConflictKind {
    TableExists,
    TableMissing,
    ColumnExists,
    ColumnMissing,
    IndexExists,
    IndexMissing,
    /// A foreign key names a table that does not exist.
    ReferencedTableMissing,
}

/// An operation that would fail at its point in the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Conflict {
    /// Index of the operation in the step's ops.
    pub op: usize,
    pub line: u32,
    pub kind: ConflictKind,
    pub message: String,
    /// The operation is an unconditional Alembic call: the migration fails here. False inside
    /// `if`/loops (may not run) and for DDL recognised in raw SQL (may be misread).
    pub certain: bool,
}

/// One revision of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepReport {
    pub rev: RevIdx,
    /// Which function runs. Its operations are not copied here ([`StepReport::ops`]): a plan
    /// from base at 10,000 revisions would hold every operation twice.
    pub direction: Direction,
    /// The shape of the function run (None: its operations were not read).
    pub body: Option<Body>,
    pub conflicts: Vec<Conflict>,
    /// Operations whose effect could not be simulated (opaque SQL, non-literal names, unknown
    /// calls): later steps may see a schema that differs from the real one.
    pub unchecked: Vec<usize>,
}

impl StepReport {
    /// The operations run, in order, from the `ops_by_rev` the step was simulated with.
    pub fn ops(&self, ops_by_rev: &OpsStore) -> Vec<Op> {
        ops_by_rev
            .get(self.rev)
            .map(|r| match self.direction {
                Direction::Upgrade => r.upgrade.ops,
                Direction::Downgrade => r.downgrade.ops,
            })
            .unwrap_or_default()
    }
}

/// Simulates `plan_revisions` (in execution order) from `schema`. `ops_by_rev` is indexed by
/// [`RevIdx`]; a revision with no entry gets a step with `body: None` and no checks.
pub fn preflight(
    map: &RevisionMap,
    plan_revisions: &[RevIdx],
    direction: Direction,
    ops_by_rev: &OpsStore,
    schema: &SchemaSnapshot,
) -> Vec<StepReport> {
    steps(map, plan_revisions, direction, ops_by_rev, schema).collect()
}

/// [`preflight`] one step at a time, for callers that keep only part of each step: a plan of
/// thousands of revisions need not be held whole.
pub fn steps<'a>(
    map: &'a RevisionMap,
    plan_revisions: &'a [RevIdx],
    direction: Direction,
    ops_by_rev: &'a OpsStore,
    schema: &SchemaSnapshot,
) -> impl Iterator<Item = StepReport> + 'a {
    let mut sim = Sim::new(map, schema.clone());
    plan_revisions.iter().map(move |&rev| {
        let report = ops_by_rev.get(rev);
        let function = report.as_ref().map(|r| match direction {
            Direction::Upgrade => &r.upgrade,
            Direction::Downgrade => &r.downgrade,
        });
        let ops = function.map_or(&[][..], |f| &f.ops);
        sim.rev = Some(rev);
        let (conflicts, unchecked) = sim.run(ops);
        StepReport {
            rev,
            direction,
            body: function.map(|f| f.body),
            conflicts,
            unchecked,
        }
    })
}

/// [`preflight`] of a [`Plan`], in its direction.
pub fn preflight_plan(
    map: &RevisionMap,
    plan: &Plan,
    ops_by_rev: &OpsStore,
    schema: &SchemaSnapshot,
) -> Vec<StepReport> {
    preflight(map, &plan.revisions, plan.direction, ops_by_rev, schema)
}

/// The first certain conflict: where the real run would stop. (step index, conflict)
pub fn first_failure(steps: &[StepReport]) -> Option<(usize, &Conflict)> {
    steps
        .iter()
        .enumerate()
        .find_map(|(i, s)| s.conflicts.iter().find(|c| c.certain).map(|c| (i, c)))
}

/// Applies `ops` to `schema` in place. Returns the conflicts and the unchecked op indexes.
pub fn simulate(schema: &mut SchemaSnapshot, ops: &[Op]) -> (Vec<Conflict>, Vec<usize>) {
    let mut sim = Sim {
        map: None,
        schema: std::mem::take(schema),
        created_by: HashMap::new(),
        rev: None,
        step: 0,
    };
    let out = sim.run(ops);
    *schema = sim.schema;
    out
}

type TableKey = (Option<String>, String);

struct Sim<'a> {
    map: Option<&'a RevisionMap>,
    schema: SchemaSnapshot,
    /// Tables created during the simulation (lower-cased name): by which step and revision,
    /// for messages.
    created_by: HashMap<String, (usize, Option<RevIdx>)>,
    rev: Option<RevIdx>,
    /// How many op lists (steps) have been run.
    step: usize,
}

/// What went wrong with one op, before it is placed.
type Problem = (ConflictKind, String);

enum Outcome {
    Done,
    Unchecked,
    Failed(Vec<Problem>),
}

impl<'a> Sim<'a> {
    fn new(map: &'a RevisionMap, schema: SchemaSnapshot) -> Self {
        Sim {
            map: Some(map),
            schema,
            created_by: HashMap::new(),
            rev: None,
            step: 0,
        }
    }

    fn run(&mut self, ops: &[Op]) -> (Vec<Conflict>, Vec<usize>) {
        self.step += 1;
        let mut conflicts = Vec::new();
        let mut unchecked = Vec::new();
        for (i, op) in ops.iter().enumerate() {
            match self.apply(op) {
                Outcome::Done => {}
                Outcome::Unchecked => unchecked.push(i),
                Outcome::Failed(problems) => {
                    conflicts.extend(problems.into_iter().map(|(kind, message)| Conflict {
                        op: i,
                        line: op.line,
                        kind,
                        message,
                        certain: !op.conditional && !op.inferred,
                    }));
                }
            }
        }
        (conflicts, unchecked)
    }

    fn key(&self, t: &TableRef) -> Option<TableKey> {
        let (schema, name) = t.known()?;
        let info = self.schema.table(schema, name)?;
        self.schema
            .tables
            .iter()
            .find(|(_, v)| std::ptr::eq(*v, info))
            .map(|(k, _)| k.clone())
    }

    fn table_mut(&mut self, key: &TableKey) -> Option<&mut TableInfo> {
        self.schema.tables.get_mut(key)
    }

    /// ` (created by <rev>)` when an earlier step of this plan made the table.
    fn origin(&self, name: &str) -> String {
        match (self.map, self.created_by.get(&name.to_lowercase())) {
            (_, Some(&(step, _))) if step == self.step => {
                " (created earlier in this revision)".to_string()
            }
            (Some(map), Some(&(_, Some(r)))) if r < map.len() => {
                format!(" (created by {})", map.rev(r).id)
            }
            (_, Some(_)) => " (created earlier in the plan)".to_string(),
            _ => String::new(),
        }
    }

    fn missing_table(&self, t: &TableRef) -> Problem {
        (
            ConflictKind::TableMissing,
            format!("table {t} does not exist"),
        )
    }

    fn apply(&mut self, op: &Op) -> Outcome {
        let guarded = op.guarded;
        let fail = |kind: ConflictKind, message: String| {
            if guarded {
                Outcome::Done
            } else {
                Outcome::Failed(vec![(kind, message)])
            }
        };
        // Ops naming a table the simulation cannot identify change nothing we can follow.
        let Some(table) = table_of(&op.kind) else {
            return match &op.kind {
                OpKind::DropIndex { table: None, name } => self.drop_index_anywhere(name, guarded),
                _ => Outcome::Unchecked,
            };
        };
        if table.known().is_none() {
            return Outcome::Unchecked;
        }
        let key = self.key(table);
        if let OpKind::CreateTable { columns, .. } = &op.kind {
            return match key {
                Some(k) => fail(
                    ConflictKind::TableExists,
                    format!("table {} already exists{}", k.1, self.origin(&k.1)),
                ),
                None => {
                    self.create_table(table, columns);
                    Outcome::Done
                }
            };
        }
        let Some(key) = key else {
            // `if_exists` on a drop tolerates the table being gone too.
            let dropping = matches!(
                op.kind,
                OpKind::DropTable { .. }
                    | OpKind::DropIndex { .. }
                    | OpKind::DropColumn { .. }
                    | OpKind::DropConstraint { .. }
            );
            if guarded && dropping {
                return Outcome::Done;
            }
            return Outcome::Failed(vec![self.missing_table(table)]);
        };
        match &op.kind {
            OpKind::DropTable { .. } => {
                self.schema.tables.remove(&key);
                Outcome::Done
            }
            OpKind::RenameTable { new_name, .. } => {
                let renamed = TableRef {
                    name: new_name.clone(),
                    schema: table.schema.clone(),
                };
                let Some(new) = new_name.literal() else {
                    return Outcome::Unchecked;
                };
                if let Some(k) = self.key(&renamed) {
                    return fail(
                        ConflictKind::TableExists,
                        format!(
                            "cannot rename {table} to {new}: table {} already exists",
                            k.1
                        ),
                    );
                }
                if let Some(mut info) = self.schema.tables.remove(&key) {
                    info.name = new.to_string();
                    self.schema.insert(info);
                }
                self.created_by
                    .insert(new.to_lowercase(), (self.step, self.rev));
                Outcome::Done
            }
            OpKind::AddColumn { column, .. } => {
                let Some(name) = column.name.literal() else {
                    return Outcome::Unchecked;
                };
                let Some(info) = self.table_mut(&key) else {
                    return Outcome::Unchecked;
                };
                if info.column(name).is_some() {
                    return fail(
                        ConflictKind::ColumnExists,
                        format!("column {}.{name} already exists", info.name),
                    );
                }
                info.columns.push(column_info(column, name));
                Outcome::Done
            }
            OpKind::DropColumn { column, .. } => {
                let Some(name) = column.literal() else {
                    return Outcome::Unchecked;
                };
                let Some(info) = self.table_mut(&key) else {
                    return Outcome::Unchecked;
                };
                if info.column(name).is_none() {
                    return fail(
                        ConflictKind::ColumnMissing,
                        format!("column {}.{name} does not exist", info.name),
                    );
                }
                info.columns.retain(|c| !c.name.eq_ignore_ascii_case(name));
                // Databases drop (or refuse to keep) indexes over a dropped column.
                info.indexes
                    .retain(|i| !i.columns.iter().any(|c| c.eq_ignore_ascii_case(name)));
                Outcome::Done
            }
            OpKind::AlterColumn {
                column,
                new_name,
                nullable,
                type_,
                ..
            } => {
                let Some(name) = column.literal() else {
                    return Outcome::Unchecked;
                };
                let new = match new_name {
                    Some(n) => match n.literal() {
                        Some(n) => Some(n),
                        None => return Outcome::Unchecked,
                    },
                    None => None,
                };
                let Some(info) = self.table_mut(&key) else {
                    return Outcome::Unchecked;
                };
                if info.column(name).is_none() {
                    return Outcome::Failed(vec![(
                        ConflictKind::ColumnMissing,
                        format!("column {}.{name} does not exist", info.name),
                    )]);
                }
                if let Some(new) = new.filter(|n| !n.eq_ignore_ascii_case(name))
                    && info.column(new).is_some()
                {
                    return Outcome::Failed(vec![(
                        ConflictKind::ColumnExists,
                        format!("cannot rename {}.{name} to {new}: column exists", info.name),
                    )]);
                }
                for index in &mut info.indexes {
                    for c in &mut index.columns {
                        if let Some(new) = new.filter(|_| c.eq_ignore_ascii_case(name)) {
                            *c = new.to_string();
                        }
                    }
                }
                if let Some(col) = info
                    .columns
                    .iter_mut()
                    .find(|c| c.name.eq_ignore_ascii_case(name))
                {
                    if let Some(new) = new {
                        col.name = new.to_string();
                    }
                    if let Some(n) = nullable {
                        col.nullable = *n;
                    }
                    if let Some(t) = type_ {
                        col.max_length = max_length(t);
                    }
                }
                Outcome::Done
            }
            OpKind::CreateIndex {
                name,
                columns,
                unique,
                ..
            } => {
                let Some(index) = name.literal() else {
                    return Outcome::Unchecked;
                };
                let mut problems = Vec::new();
                if let Some(owner) = self.index_owner(key.0.as_deref(), index) {
                    problems.push((
                        ConflictKind::IndexExists,
                        format!("index {index} already exists (on {owner})"),
                    ));
                }
                let Some(info) = self.table_mut(&key) else {
                    return Outcome::Unchecked;
                };
                for c in columns.iter().filter_map(Name::literal) {
                    if info.column(c).is_none() {
                        problems.push((
                            ConflictKind::ColumnMissing,
                            format!("index {index}: column {}.{c} does not exist", info.name),
                        ));
                    }
                }
                if !problems.is_empty() {
                    return if guarded && problems.iter().all(|p| p.0 == ConflictKind::IndexExists) {
                        Outcome::Done
                    } else {
                        Outcome::Failed(problems)
                    };
                }
                info.indexes.push(IndexInfo {
                    name: index.to_string(),
                    columns: columns.iter().map(ToString::to_string).collect(),
                    unique: *unique,
                });
                Outcome::Done
            }
            OpKind::DropIndex { name, .. } => {
                let Some(index) = name.literal() else {
                    return Outcome::Unchecked;
                };
                let Some(info) = self.table_mut(&key) else {
                    return Outcome::Unchecked;
                };
                if info.index(index).is_none() {
                    let table = info.name.clone();
                    return fail(
                        ConflictKind::IndexMissing,
                        format!("index {index} does not exist on {table}"),
                    );
                }
                info.indexes.retain(|i| !i.name.eq_ignore_ascii_case(index));
                Outcome::Done
            }
            OpKind::CreateConstraint {
                kind,
                name,
                columns,
                referent,
                ..
            } => {
                let mut problems = Vec::new();
                if let Some(r) = referent
                    && r.known().is_some()
                    && self.key(r).is_none()
                {
                    problems.push((
                        ConflictKind::ReferencedTableMissing,
                        format!("foreign key references table {r}, which does not exist"),
                    ));
                }
                let Some(info) = self.schema.tables.get(&key) else {
                    return Outcome::Unchecked;
                };
                if *kind != ConstraintKind::Check {
                    for c in columns.iter().filter_map(Name::literal) {
                        if info.column(c).is_none() {
                            let what = name
                                .as_ref()
                                .map_or("constraint".to_string(), |n| format!("constraint {n}"));
                            problems.push((
                                ConflictKind::ColumnMissing,
                                format!("{what}: column {}.{c} does not exist", info.name),
                            ));
                        }
                    }
                }
                if problems.is_empty() {
                    // Constraints are not part of the snapshot: nothing more to follow.
                    Outcome::Done
                } else {
                    Outcome::Failed(problems)
                }
            }
            OpKind::DropConstraint { .. } | OpKind::BulkInsert { .. } => Outcome::Done,
            OpKind::CreateTable { .. } | OpKind::Execute { .. } | OpKind::Unknown { .. } => {
                Outcome::Unchecked
            }
        }
    }

    /// `drop_index(name)` without a table: PostgreSQL and SQLite find it by name.
    fn drop_index_anywhere(&mut self, name: &Name, guarded: bool) -> Outcome {
        let Some(index) = name.literal() else {
            return Outcome::Unchecked;
        };
        let default = self.schema.default_schema.clone();
        let owner = self.schema.tables.values_mut().find(|t| {
            t.index(index).is_some() && same_schema(t.schema.as_deref(), default.as_deref())
        });
        match owner {
            Some(t) => {
                t.indexes.retain(|i| !i.name.eq_ignore_ascii_case(index));
                Outcome::Done
            }
            None if guarded => Outcome::Done,
            None => Outcome::Failed(vec![(
                ConflictKind::IndexMissing,
                format!("index {index} does not exist"),
            )]),
        }
    }

    /// The table holding an index of that name in the schema (index names are per schema on
    /// PostgreSQL and SQLite).
    fn index_owner(&self, schema: Option<&str>, index: &str) -> Option<String> {
        self.schema
            .tables
            .values()
            .find(|t| t.index(index).is_some() && same_schema(t.schema.as_deref(), schema))
            .map(|t| t.name.clone())
    }

    fn create_table(&mut self, table: &TableRef, columns: &[ColumnDef]) {
        let Some((schema, name)) = table.known() else {
            return;
        };
        let schema = schema
            .map(str::to_string)
            .or_else(|| self.schema.default_schema.clone());
        self.schema.insert(TableInfo {
            schema,
            name: name.to_string(),
            columns: columns
                .iter()
                .filter_map(|c| c.name.literal().map(|n| column_info(c, n)))
                .collect(),
            indexes: Vec::new(),
        });
        self.created_by
            .insert(name.to_lowercase(), (self.step, self.rev));
    }
}

fn same_schema(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
        _ => true,
    }
}

/// The table an op works on.
pub(crate) fn table_of(kind: &OpKind) -> Option<&TableRef> {
    match kind {
        OpKind::CreateTable { table, .. }
        | OpKind::DropTable { table }
        | OpKind::RenameTable { table, .. }
        | OpKind::AddColumn { table, .. }
        | OpKind::DropColumn { table, .. }
        | OpKind::AlterColumn { table, .. }
        | OpKind::CreateIndex { table, .. }
        | OpKind::CreateConstraint { table, .. }
        | OpKind::DropConstraint { table, .. } => Some(table),
        OpKind::DropIndex { table, .. } => table.as_ref(),
        OpKind::BulkInsert { .. } | OpKind::Execute { .. } | OpKind::Unknown { .. } => None,
    }
}

/// A column the simulation adds. Its type is not kept: the simulation compares names,
/// nullability and lengths, and a route from base at 10,000 revisions adds 23,000 columns.
fn column_info(c: &ColumnDef, name: &str) -> ColumnInfo {
    ColumnInfo {
        name: name.to_string(),
        max_length: c.type_.as_deref().and_then(max_length),
        data_type: String::new(),
        nullable: c.effective_nullable(),
    }
}

/// `sa.String(length=64)`, `sa.String(64)`, `varchar(32)` → the length.
fn max_length(type_: &str) -> Option<u32> {
    let lower = type_.to_ascii_lowercase();
    if !["string", "char", "unicode", "text"]
        .iter()
        .any(|t| lower.contains(t))
    {
        return None;
    }
    let after = match lower.find("length=") {
        Some(i) => &lower[i + "length=".len()..],
        None => &lower[lower.find('(')? + 1..],
    };
    let digits: String = after
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConfigOptions;
    use crate::evidence::{Verdict, graph_evidence, load_ops, suggest_stamp};
    use crate::project::Project;

    fn demo() -> Project {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        Project::load(&ConfigOptions {
            cwd: root.to_path_buf(),
            config: vec![root.join("assets/demo/alembic.ini")],
            name: None,
            dirs: vec![],
            recursive: false,
            alembic_config_env: None,
        })
        .expect("demo loads")
    }

    fn table(
        name: &str,
        columns: &[(&str, &str, bool)],
        indexes: &[(&str, &[&str], bool)],
    ) -> TableInfo {
        TableInfo {
            schema: Some("main".into()),
            name: name.into(),
            columns: columns
                .iter()
                .map(|(n, t, null)| ColumnInfo {
                    name: (*n).into(),
                    data_type: (*t).into(),
                    nullable: *null,
                    max_length: max_length(t),
                })
                .collect(),
            indexes: indexes
                .iter()
                .map(|(n, cols, unique)| IndexInfo {
                    name: (*n).into(),
                    columns: cols.iter().map(|c| (*c).into()).collect(),
                    unique: *unique,
                })
                .collect(),
        }
    }

    /// The operator's database, as SQLite reflects it: the tables of the four revisions up to
    /// cd2257cee794, `system_settings` made by hand, and the version table.
    fn seed_schema() -> SchemaSnapshot {
        let mut s = SchemaSnapshot {
            default_schema: Some("main".into()),
            ..SchemaSnapshot::default()
        };
        s.insert(table(
            "alembic_version",
            &[("version_num", "VARCHAR(32)", false)],
            &[],
        ));
        s.insert(table(
            "users",
            &[
                ("id", "INTEGER", false),
                ("line_user_id", "VARCHAR(64)", false),
                ("display_name", "VARCHAR(255)", true),
                ("picture_url", "VARCHAR(512)", true),
                ("status_message", "TEXT", true),
                ("language", "VARCHAR(16)", true),
                ("is_blocked", "BOOLEAN", false),
                ("created_at", "DATETIME", false),
                ("updated_at", "DATETIME", true),
            ],
            &[("ix_users_line_user_id", &["line_user_id"], true)],
        ));
        s.insert(table(
            "line_channels",
            &[
                ("id", "INTEGER", false),
                ("channel_id", "VARCHAR(32)", false),
                ("channel_name", "VARCHAR(255)", false),
                ("channel_secret", "VARCHAR(64)", false),
                ("channel_access_token", "TEXT", false),
                ("webhook_url", "VARCHAR(512)", true),
                ("is_active", "BOOLEAN", false),
                ("created_at", "DATETIME", false),
            ],
            &[],
        ));
        s.insert(table(
            "messages",
            &[
                ("id", "INTEGER", false),
                ("user_id", "INTEGER", false),
                ("channel_id", "INTEGER", false),
                ("direction", "VARCHAR(10)", false),
                ("message_type", "VARCHAR(20)", false),
                ("content", "TEXT", true),
                ("line_message_id", "VARCHAR(32)", true),
                ("reply_token", "VARCHAR(64)", true),
                ("created_at", "DATETIME", false),
            ],
            &[
                ("ix_messages_created_at", &["created_at"], false),
                (
                    "ix_messages_user_id_created_at",
                    &["user_id", "created_at"],
                    false,
                ),
            ],
        ));
        s.insert(table(
            "reply_objects",
            &[
                ("id", "INTEGER", false),
                ("message_id", "INTEGER", false),
                ("reply_type", "VARCHAR(20)", false),
                ("payload", "JSON", false),
                ("quick_reply", "JSON", true),
                ("sent_at", "DATETIME", true),
                ("created_at", "DATETIME", false),
            ],
            &[("ix_reply_objects_message_id", &["message_id"], false)],
        ));
        s.insert(table(
            "system_settings",
            &[
                ("id", "INTEGER", false),
                ("key", "VARCHAR(100)", false),
                ("value", "TEXT", true),
                ("description", "VARCHAR(255)", true),
                ("updated_at", "DATETIME", false),
            ],
            &[],
        ));
        s
    }

    fn ids(map: &RevisionMap, revs: impl IntoIterator<Item = RevIdx>) -> Vec<String> {
        revs.into_iter().map(|r| map.rev(r).id.clone()).collect()
    }

    /// The case: the version table holds an id no file defines, the tables stop at
    /// cd2257cee794, and `system_settings` was made by hand.
    #[test]
    fn demo_seed_state_is_recognised_and_the_upgrade_conflict_predicted() {
        let project = demo();
        let map = &project.map;
        assert_eq!(map.get("b90dd01ef204"), None);
        let ops = load_ops(map);
        let schema = seed_schema();
        let evidence = graph_evidence(map, &ops, &schema);
        let verdict = |id: &str| evidence[map.get(id).unwrap()].verdict;
        for id in [
            "3f1c9a2b7d40",
            "5b7e2d9c1a83",
            "9d4a6f0e2c15",
            "cd2257cee794",
        ] {
            assert_eq!(verdict(id), Verdict::Applied, "{id}");
        }
        for id in [
            "8a9b1c2d3e4f",
            "e3f4g5h6i7j8",
            "f1a2b3c4d5e6",
            "a9b8c7d6e5f4",
            "add_sync_status_to_rich_menus",
        ] {
            assert_eq!(verdict(id), Verdict::NotApplied, "{id}");
        }
        assert_eq!(verdict("157caa418be7"), Verdict::Unknown);
        assert_eq!(verdict("add_system_settings"), Verdict::Applied);
        let facts = |id: &str| -> Vec<String> {
            let r = map.get(id).unwrap();
            let ops = crate::evidence::upgrade_ops(&ops, r);
            evidence[r].facts.iter().map(|f| f.text(&ops)).collect()
        };
        assert_eq!(
            facts("cd2257cee794")[0],
            "create_table reply_objects: table exists"
        );
        assert_eq!(
            facts("a9b8c7d6e5f4")[0],
            "add_column chat_sessions.operator_name: table missing"
        );
        assert_eq!(
            facts("add_system_settings")[0],
            "create_table system_settings: table exists"
        );

        // The main line's tip, plus the orphan line whose table exists as a second row.
        let s = suggest_stamp(map, &ops, &evidence).expect("a suggestion");
        assert_eq!(
            ids(map, s.targets.iter().copied()),
            ["cd2257cee794", "add_system_settings"]
        );
        assert!(s.inconsistent.is_empty());
        assert_eq!(s.applied.len(), 5);
        let reasoning = s.reasoning.join("\n");
        for needle in [
            "stamp cd2257cee794 add_system_settings:",
            "alembic stamp --purge cd2257cee794 add_system_settings",
            "cd2257cee794 (add reply objects): applied: create_table reply_objects: table exists",
            "add_system_settings (add system settings) is on a line of its own",
            "e3f4g5h6i7j8 (add rich menus table): not applied: create_table rich_menus: table missing",
            "add_system_settings line 32: execute",
        ] {
            assert!(reasoning.contains(needle), "{needle:?} not in\n{reasoning}");
        }

        // What the operator did: stamp cd2257cee794 alone, then upgrade heads.
        let plan = crate::plan::upgrade(map, &["cd2257cee794".into()], "heads").unwrap();
        let steps = preflight_plan(map, &plan, &ops, &schema);
        assert_eq!(
            ids(map, steps.iter().map(|s| s.rev)),
            ids(map, plan.revisions.clone())
        );
        let conflicts: Vec<(String, ConflictKind, u32, String, bool)> = steps
            .iter()
            .flat_map(|s| {
                s.conflicts.iter().map(|c| {
                    (
                        map.rev(s.rev).id.clone(),
                        c.kind,
                        c.line,
                        c.message.clone(),
                        c.certain,
                    )
                })
            })
            .collect();
        assert_eq!(
            conflicts,
            [(
                "add_system_settings".to_string(),
                ConflictKind::TableExists,
                23,
                "table system_settings already exists".to_string(),
                true
            )]
        );
        let (step, failure) = first_failure(&steps).unwrap();
        assert_eq!(map.rev(steps[step].rev).id, "add_system_settings");
        assert_eq!(failure.kind, ConflictKind::TableExists);
        // Its `op.execute` seed data is not simulated.
        assert_eq!(steps[step].unchecked, [1]);

        // From the suggested stamp, the rest of the upgrade runs cleanly.
        let plan = crate::plan::upgrade(map, &map.ids(&s.targets), "heads").unwrap();
        let steps = preflight_plan(map, &plan, &ops, &schema);
        assert!(
            !steps
                .iter()
                .any(|s| s.rev == map.get("add_system_settings").unwrap())
        );
        assert!(steps.iter().all(|s| s.conflicts.is_empty()), "{steps:#?}");
        let chat = steps
            .iter()
            .find(|s| map.rev(s.rev).id == "a9b8c7d6e5f4")
            .unwrap();
        assert_eq!(chat.ops(&ops).len(), 3);
    }

    #[test]
    fn downgrade_plans_run_downgrade_ops() {
        let project = demo();
        let map = &project.map;
        let ops = load_ops(map);
        let schema = seed_schema();
        // From the seed state's real tables: undo cd2257cee794 then 9d4a6f0e2c15.
        let plan = crate::plan::downgrade(map, &["cd2257cee794".into()], "5b7e2d9c1a83").unwrap();
        let steps = preflight_plan(map, &plan, &ops, &schema);
        assert_eq!(
            ids(map, steps.iter().map(|s| s.rev)),
            ["cd2257cee794", "9d4a6f0e2c15"]
        );
        assert!(steps.iter().all(|s| s.conflicts.is_empty()), "{steps:#?}");
        // One step further down, messages is already gone.
        let plan = crate::plan::downgrade(map, &["9d4a6f0e2c15".into()], "5b7e2d9c1a83").unwrap();
        let mut without = schema.clone();
        without.tables.retain(|(_, name), _| name != "messages");
        let steps = preflight_plan(map, &plan, &ops, &without);
        let kinds: Vec<ConflictKind> = steps[0].conflicts.iter().map(|c| c.kind).collect();
        assert_eq!(
            kinds,
            [
                ConflictKind::TableMissing,
                ConflictKind::TableMissing,
                ConflictKind::TableMissing
            ]
        );
    }

    fn run(body: &str, schema: &SchemaSnapshot) -> (SchemaSnapshot, Vec<Conflict>, Vec<usize>) {
        let src = format!(
            "from alembic import op\nimport sqlalchemy as sa\n\ndef upgrade():\n{}",
            body.lines()
                .map(|l| format!("    {l}\n"))
                .collect::<String>()
        );
        let ops = crate::revision::ops::upgrade_ops(&src).ops;
        let mut s = schema.clone();
        let (conflicts, unchecked) = simulate(&mut s, &ops);
        (s, conflicts, unchecked)
    }

    fn kinds(c: &[Conflict]) -> Vec<ConflictKind> {
        c.iter().map(|c| c.kind).collect()
    }

    fn base() -> SchemaSnapshot {
        let mut s = SchemaSnapshot::default();
        s.insert(table(
            "users",
            &[("id", "INTEGER", false), ("email", "VARCHAR(64)", true)],
            &[("ix_users_email", &["email"], true)],
        ));
        s
    }

    #[test]
    fn each_kind_of_clash_is_reported() {
        use ConflictKind::*;
        let cases: &[(&str, &[ConflictKind])] = &[
            ("op.create_table('users')", &[TableExists]),
            (
                "op.add_column('users', sa.Column('email', sa.Text()))",
                &[ColumnExists],
            ),
            (
                "op.add_column('nope', sa.Column('x', sa.Text()))",
                &[TableMissing],
            ),
            ("op.drop_table('nope')", &[TableMissing]),
            ("op.drop_column('users', 'nope')", &[ColumnMissing]),
            (
                "op.drop_index('ix_nope', table_name='users')",
                &[IndexMissing],
            ),
            ("op.drop_index('ix_nope')", &[IndexMissing]),
            (
                "op.create_index('ix_users_email', 'users', ['id'])",
                &[IndexExists],
            ),
            (
                "op.create_index('ix_users_x', 'users', ['x'])",
                &[ColumnMissing],
            ),
            (
                "op.create_table('accounts')\nop.rename_table('accounts', 'users')",
                &[TableExists],
            ),
            (
                "op.alter_column('users', 'nope', nullable=False)",
                &[ColumnMissing],
            ),
            (
                "op.alter_column('users', 'id', new_column_name='email')",
                &[ColumnExists],
            ),
            (
                "op.create_foreign_key('fk', 'users', 'orgs', ['org_id'], ['id'])",
                &[ReferencedTableMissing, ColumnMissing],
            ),
            (
                "op.create_unique_constraint('uq', 'nope', ['x'])",
                &[TableMissing],
            ),
        ];
        for (body, want) in cases {
            let (_, conflicts, _) = run(body, &base());
            assert_eq!(kinds(&conflicts), *want, "{body}");
            assert!(conflicts.iter().all(|c| c.certain), "{body}");
        }
    }

    #[test]
    fn the_schema_is_carried_forward_between_ops() {
        let body = "op.create_table('orders', sa.Column('id', sa.Integer(), primary_key=True), sa.Column('ref', sa.String(length=20)))\nop.create_index('ix_orders_ref', 'orders', ['ref'])\nop.alter_column('orders', 'ref', new_column_name='reference', nullable=False)\nop.rename_table('orders', 'purchases')\nop.drop_column('users', 'email')";
        let (s, conflicts, _) = run(body, &base());
        assert!(conflicts.is_empty(), "{conflicts:?}");
        let t = s.table(None, "purchases").unwrap();
        assert!(s.table(None, "orders").is_none());
        let c = t.column("reference").unwrap();
        assert_eq!((c.nullable, c.max_length), (false, Some(20)));
        assert!(!t.column("id").unwrap().nullable);
        assert_eq!(t.index("ix_orders_ref").unwrap().columns, ["reference"]);
        // Dropping a column takes its index along.
        assert!(
            s.table(None, "users")
                .unwrap()
                .index("ix_users_email")
                .is_none()
        );
    }

    #[test]
    fn guarded_ops_tolerate_and_uncertain_ops_are_flagged() {
        let (_, conflicts, _) = run(
            "op.drop_table('nope', if_exists=True)\nop.create_index('ix_users_email', 'users', ['email'], if_not_exists=True)\nop.drop_index('ix_gone', table_name='gone', if_exists=True)",
            &base(),
        );
        assert!(conflicts.is_empty(), "{conflicts:?}");
        let (_, conflicts, _) = run(
            "if x:\n    op.create_table('users')\nop.execute('CREATE TABLE users (id int)')\nop.execute('CREATE TABLE IF NOT EXISTS users (id int)')",
            &base(),
        );
        assert_eq!(
            kinds(&conflicts),
            [ConflictKind::TableExists, ConflictKind::TableExists]
        );
        assert!(conflicts.iter().all(|c| !c.certain));
        assert_eq!(
            first_failure(&[StepReport {
                rev: 0,
                direction: Direction::Upgrade,
                body: None,
                conflicts,
                unchecked: vec![]
            }]),
            None
        );
    }

    #[test]
    fn what_cannot_be_followed_is_listed_as_unchecked() {
        let (s, conflicts, unchecked) = run(
            "op.drop_table(name)\nop.execute(stmt)\nop.create_sequence('s')\nop.add_column(t, sa.Column('x', sa.Text()))\nop.drop_table('users')",
            &base(),
        );
        assert!(conflicts.is_empty());
        assert_eq!(unchecked, [0, 1, 2, 3]);
        assert!(s.tables.is_empty());
    }

    #[test]
    fn schemas_are_respected() {
        let mut s = base();
        s.default_schema = Some("public".into());
        let mut other = table("users", &[("id", "INTEGER", false)], &[]);
        other.schema = Some("audit".into());
        s.insert(other);
        s.tables.values_mut().for_each(|t| {
            if t.schema.is_none() {
                t.schema = Some("public".into());
            }
        });
        let (_, conflicts, _) = run(
            "op.add_column('users', sa.Column('x', sa.Text()), schema='audit')\nop.create_table('logs', schema='audit')\nop.create_table('logs')",
            &s,
        );
        assert!(conflicts.is_empty(), "{conflicts:?}");
        let (_, conflicts, _) = run("op.drop_column('users', 'email', schema='audit')", &s);
        assert_eq!(kinds(&conflicts), [ConflictKind::ColumnMissing]);
    }

    #[test]
    fn a_step_names_the_revision_that_created_a_clashing_table() {
        let project = demo();
        let map = &project.map;
        let ops = load_ops(map);
        // Running add_system_settings twice (say, from two stamps): the second clashes.
        let r = map.get("add_system_settings").unwrap();
        let steps = preflight(
            map,
            &[r, r],
            Direction::Upgrade,
            &ops,
            &SchemaSnapshot::default(),
        );
        assert!(steps[0].conflicts.is_empty());
        assert_eq!(
            steps[1].conflicts[0].message,
            "table system_settings already exists (created by add_system_settings)"
        );
        // A revision with no ops read gets an empty step.
        let steps = preflight(
            map,
            &[r],
            Direction::Upgrade,
            &OpsStore::default(),
            &SchemaSnapshot::default(),
        );
        assert_eq!(
            (steps[0].body, steps[0].ops(&OpsStore::default()).len()),
            (None, 0)
        );
    }
}
