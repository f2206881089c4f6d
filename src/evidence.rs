//! Is each revision applied, according to the live schema?
//!
//! Each operation of a revision's `upgrade()` ([`crate::revision::ops`]) predicts something about
//! the schema once the revision has run: `create_table users` predicts that `users` exists. A
//! [`Fact`] compares one prediction with a [`SchemaSnapshot`] and says whether it supports
//! "applied" or "not applied", and how strongly: the presence of a created object is strong
//! evidence, the absence of a dropped one is weak (it may never have existed), indexes are weak
//! (backends reflect them unevenly), ops recognised in raw SQL are weak.
//!
//! Along the graph ([`graph_evidence`]), a fact only counts when no other revision that may have
//! run *after* this one (a descendant, or one on an unrelated branch) changes the same object
//! again — unless that revision is itself shown not to have run. A table created in A and
//! dropped in a later B is absent even if A ran: A's "table missing" fact is then superseded by
//! B, not held against A.
//!
//! [`suggest_stamp`] turns the verdicts into the `alembic_version` rows that describe the schema.

mod touched;

use std::collections::HashMap;

use fixedbitset::FixedBitSet;
use rayon::prelude::*;
use serde::Serialize;

use crate::graph::ancestry::Ancestry;
use crate::graph::{RevIdx, RevisionMap};
use crate::revision::ops::{self, Body, Name, Op, OpKind, OpsReport, OpsStore, TableRef};
use crate::schema::{SchemaSnapshot, TableInfo};
use touched::{SubjectIds, Touches};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Applied,
    NotApplied,
    /// Some facts say applied, others not: a partly applied revision (non-transactional DDL), or
    /// objects made by hand.
    Mixed,
    /// Nothing checkable (an empty merge revision, data-only or opaque SQL, non-literal names).
    Unknown,
}

/// Which way a fact points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Support {
    Applied,
    NotApplied,
    /// Says nothing either way (kept to explain an `Unknown` verdict).
    Neutral,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Strength {
    Weak,
    Strong,
}

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

/// One comparison of an operation's prediction with the schema.
///
/// Its wording is not kept ([`Fact::text`] builds it from the revision's ops): every revision's
/// facts stay alive in the explorer, and their texts were 4.4 MB at 10,000 revisions, for the
/// one line per revision a screen shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fact {
    /// Index of the operation in the revision's upgrade ops (None: about the function itself).
    pub op: Option<u32>,
    pub line: Option<u32>,
    pub finding: Finding,
    pub support: Support,
    pub strength: Strength,
    /// The op's effect cannot be checked (SQL, data, an unknown call): stamping the revision
    /// assumes it ran.
    pub opaque: bool,
    notes: u8,
    /// Revisions that may have run later and change the same objects again; when not empty the
    /// fact is not counted. Filled by [`graph_evidence`].
    pub superseded_by: Box<[RevIdx]>,
}

/// [`Fact`] notes, as bits.
const FROM_SQL: u8 = 1;
const CONDITIONAL: u8 = 2;
const CHANGED_LATER: u8 = 4;

/// What a fact found about its operation's objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finding {
    OpsNotRead,
    NoUpgrade,
    EmptyUpgrade,
    UpgradeUnparsable,
    NoRecognisedOp,
    NonLiteralTable,
    NonLiteralName,
    NonLiteralNewColumn,
    TableExists,
    /// A column of a `create_table` (its index among the columns) the existing table lacks.
    ColumnMissingFromTable(u32),
    TableMissing,
    TableStillExists,
    TableAbsent,
    NewNameOnly,
    OldNameOnly,
    BothNames,
    NeitherName,
    ColumnExists,
    ColumnMissing,
    ColumnStillExists,
    ColumnAbsent,
    NullabilityMatches,
    NullabilityDiffers,
    TypeNotCompared,
    IndexExists,
    IndexMissing,
    IndexStillExists,
    IndexAbsent,
    ConstraintsNotCompared,
    SqlNotChecked,
    StatementNotChecked,
    DataOnly,
    NotUnderstood,
}

impl Finding {
    /// The finding in words (`op`: the fact's operation, for the one finding that names a column).
    fn words(self, op: Option<&Op>) -> std::borrow::Cow<'static, str> {
        use Finding::*;
        let fixed = match self {
            OpsNotRead => "operations not read",
            NoUpgrade => "no upgrade() function",
            EmptyUpgrade => "upgrade() is empty (a merge or placeholder revision)",
            UpgradeUnparsable => "upgrade() does not parse",
            NoRecognisedOp => "upgrade() has no recognised operation",
            NonLiteralTable => "non-literal table name",
            NonLiteralName => "non-literal name",
            NonLiteralNewColumn => "non-literal new column name",
            TableExists => "table exists",
            ColumnMissingFromTable(i) => {
                let name = op.and_then(|op| match &op.kind {
                    OpKind::CreateTable { columns, .. } => columns.get(i as usize)?.name.literal(),
                    _ => None,
                });
                return match name {
                    Some(name) => format!("column {name} missing from the existing table").into(),
                    None => "a column missing from the existing table".into(),
                };
            }
            TableMissing => "table missing",
            TableStillExists => "table still exists",
            TableAbsent => "table absent (it may also never have existed)",
            NewNameOnly => "new name exists, old does not",
            OldNameOnly => "old name exists, new does not",
            BothNames => "both names exist",
            NeitherName => "neither name exists",
            ColumnExists => "column exists",
            ColumnMissing => "column missing",
            ColumnStillExists => "column still exists",
            ColumnAbsent => "column absent (it may also never have existed)",
            NullabilityMatches => "nullability matches",
            NullabilityDiffers => "nullability differs",
            TypeNotCompared => "type and default changes are not compared",
            IndexExists => "index exists",
            IndexMissing => "index missing",
            IndexStillExists => "index still exists",
            IndexAbsent => "index absent",
            ConstraintsNotCompared => "constraints are not compared",
            SqlNotChecked => "SQL not checked",
            StatementNotChecked => "statement not checked",
            DataOnly => "data only",
            NotUnderstood => "not understood",
        };
        fixed.into()
    }
}

impl Fact {
    /// Counts towards the verdict.
    pub fn counts(&self) -> bool {
        self.support != Support::Neutral && self.superseded_by.is_empty()
    }

    /// E.g. `create_table users: table exists`. `ops`: the revision's upgrade ops (as
    /// [`upgrade_ops`] reads them), which [`Fact::op`] indexes.
    pub fn text(&self, ops: &[Op]) -> String {
        let op = self.op.and_then(|i| ops.get(i as usize));
        let words = self.finding.words(op);
        let Some(op) = op else {
            return words.into_owned();
        };
        let notes = [
            (FROM_SQL, " (from SQL)"),
            (CONDITIONAL, " (conditional: not counted)"),
            (CHANGED_LATER, " (changed again later in this revision)"),
        ];
        let mut text = [&short_label(&op.kind), ": ", words.as_ref()].concat();
        for (bit, note) in notes {
            if self.notes & bit != 0 {
                text.push_str(note);
            }
        }
        text
    }
}

/// A revision's upgrade ops, which its facts index (none when they were not read).
pub fn upgrade_ops(store: &OpsStore, r: RevIdx) -> Vec<Op> {
    store
        .get(r)
        .map(|report| report.upgrade.ops)
        .unwrap_or_default()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    pub verdict: Verdict,
    pub facts: Vec<Fact>,
    /// `upgrade()` is empty (`pass`, a docstring): running it changes nothing.
    pub empty_upgrade: bool,
}

impl Evidence {
    /// Counted facts pointing `support`'s way.
    pub fn facts_for(&self, support: Support) -> impl Iterator<Item = &Fact> {
        self.facts
            .iter()
            .filter(move |f| f.counts() && f.support == support)
    }

    /// The fact that best explains the verdict: the first counted one pointing its way (for
    /// `Mixed`, a missing object), else the first.
    pub fn headline(&self) -> Option<&Fact> {
        let support = match self.verdict {
            Verdict::Applied => Support::Applied,
            Verdict::NotApplied | Verdict::Mixed => Support::NotApplied,
            Verdict::Unknown => Support::Neutral,
        };
        self.facts_for(support)
            .next()
            .or_else(|| self.facts.first())
    }

    fn unknown(finding: Finding) -> Evidence {
        Evidence {
            verdict: Verdict::Unknown,
            facts: vec![Fact {
                op: None,
                line: None,
                finding,
                support: Support::Neutral,
                strength: Strength::Weak,
                opaque: false,
                notes: 0,
                superseded_by: Box::default(),
            }],
            empty_upgrade: false,
        }
    }

    fn recompute(&mut self) {
        self.verdict = verdict(&self.facts);
    }
}

/// The strongest counted facts decide: all one way gives that verdict, both ways `Mixed`.
fn verdict(facts: &[Fact]) -> Verdict {
    let counted = || facts.iter().filter(|f| f.counts());
    let Some(strength) = counted().map(|f| f.strength).max() else {
        return Verdict::Unknown;
    };
    let (mut applied, mut not) = (false, false);
    for f in counted().filter(|f| f.strength == strength) {
        match f.support {
            Support::Applied => applied = true,
            Support::NotApplied => not = true,
            Support::Neutral => {}
        }
    }
    match (applied, not) {
        (true, true) => Verdict::Mixed,
        (true, false) => Verdict::Applied,
        (false, true) => Verdict::NotApplied,
        (false, false) => Verdict::Unknown,
    }
}

/// Evidence from one revision's upgrade ops alone.
pub fn revision_evidence(ops: &[Op], schema: &SchemaSnapshot) -> Evidence {
    revision_facts(ops, schema).0
}

/// [`revision_evidence`], with the objects each fact is about, in fact order.
fn revision_facts(ops: &[Op], schema: &SchemaSnapshot) -> (Evidence, Vec<Vec<Subject>>) {
    // An object changed again by a later op of the same revision: only the last op's
    // prediction holds.
    let mut last_touch: HashMap<Subject, usize> = HashMap::new();
    for (i, op) in ops.iter().enumerate() {
        for s in touches(op, schema) {
            last_touch.insert(s, i);
        }
    }
    let (mut facts, mut subjects) = (Vec::new(), Vec::new());
    for (i, op) in ops.iter().enumerate() {
        let mut checker = Checker {
            schema,
            op,
            index: i as u32,
            facts: Vec::new(),
        };
        checker.check();
        for (mut fact, about) in checker.facts {
            let later = about
                .iter()
                .flat_map(maskers_of)
                .any(|s| last_touch.get(&s).is_some_and(|&j| j > i));
            if later && fact.support != Support::Neutral {
                fact.support = Support::Neutral;
                fact.notes |= CHANGED_LATER;
            }
            facts.push(fact);
            subjects.push(about);
        }
    }
    // Kept for every revision of the graph: no room to spare.
    facts.shrink_to_fit();
    let mut evidence = Evidence {
        verdict: Verdict::Unknown,
        facts,
        empty_upgrade: false,
    };
    evidence.recompute();
    (evidence, subjects)
}

/// Evidence from an [`OpsReport`], explaining missing, empty and unparsable functions.
pub fn report_evidence(report: Option<&OpsReport>, schema: &SchemaSnapshot) -> Evidence {
    report_facts(report, schema).0
}

/// [`report_evidence`], with the objects each fact is about.
fn report_facts(
    report: Option<&OpsReport>,
    schema: &SchemaSnapshot,
) -> (Evidence, Vec<Vec<Subject>>) {
    let unknown = |finding| (Evidence::unknown(finding), vec![Vec::new()]);
    let Some(report) = report else {
        return unknown(Finding::OpsNotRead);
    };
    match report.upgrade.body {
        Body::Missing => unknown(Finding::NoUpgrade),
        Body::Empty => {
            let (mut e, subjects) = unknown(Finding::EmptyUpgrade);
            e.empty_upgrade = true;
            (e, subjects)
        }
        Body::Unparsable => unknown(Finding::UpgradeUnparsable),
        Body::Code if report.upgrade.ops.is_empty() => unknown(Finding::NoRecognisedOp),
        Body::Code => revision_facts(&report.upgrade.ops, schema),
    }
}

/// Reads every revision's operations, in parallel (index: [`RevIdx`]).
pub fn load_ops(map: &RevisionMap) -> OpsStore {
    load_with(map, ops::read_ops_file)
}

/// [`load_ops`] for `upgrade()` only (downgrades reported missing): what evidence and upgrade
/// preflights need, for about two thirds of the parsing.
pub fn load_upgrade_ops(map: &RevisionMap) -> OpsStore {
    load_with(map, ops::read_upgrade_ops_file)
}

fn load_with(map: &RevisionMap, read: fn(&std::path::Path) -> OpsReport) -> OpsStore {
    let encoded: Vec<Vec<u8>> = (0..map.len())
        .into_par_iter()
        .map(|i| ops::codec::to_vec(&read(&map.record_of(i).path)))
        .collect();
    OpsStore::from_encoded(&encoded)
}

/// Evidence for every revision, with facts superseded by revisions that may have run later.
///
/// Revisions are visited children first. A fact of revision R about object O is superseded by
/// each revision D that changes O (or, for a column or index, its table), may run after R (D is
/// not R or an ancestor of R) and is not itself shown not applied: D's final verdict when D
/// descends from R (already computed), its own-ops verdict when D is on an unrelated branch
/// (whose order relative to R the graph does not fix).
pub fn graph_evidence(
    map: &RevisionMap,
    ops_by_rev: &OpsStore,
    schema: &SchemaSnapshot,
) -> Vec<Evidence> {
    let n = map.len();
    let mut touched_by = Touches::default();
    for r in 0..n {
        let Some(report) = ops_by_rev.get(r) else {
            continue;
        };
        for op in &report.upgrade.ops {
            for s in touches(op, schema) {
                touched_by.add(s, r);
            }
        }
    }
    let (ids, touched_by) = touched_by.finish();
    // Facts trade their subjects for object numbers as soon as they exist, so the subjects'
    // strings are never all alive at once.
    let (mut evidence, mut maskers): (Vec<Evidence>, Vec<Vec<u32>>) = (0..n)
        .into_par_iter()
        .map(|i| {
            let (e, subjects) = report_facts(ops_by_rev.get(i).as_ref(), schema);
            (e, take_maskers(subjects, &ids))
        })
        .unzip();
    drop(ids);
    let local: Vec<Verdict> = evidence.iter().map(|e| e.verdict).collect();

    let order = map.run_order().0;
    let ancestors = Ancestry::new(&order, |r| map.run_before(r));
    let mut verdicts = local.clone();
    // One set for every fact, emptied through the ids it collected: allocating and zeroing n
    // bits per fact was most of this loop at 10,000 revisions.
    let mut seen = FixedBitSet::with_capacity(n);
    let mut seen_ids: Vec<RevIdx> = Vec::new();
    for &r in order.iter().rev() {
        let mut facts = std::mem::take(&mut evidence[r].facts);
        let maskers = std::mem::take(&mut maskers[r]);
        let mut rest = maskers.as_slice();
        for fact in facts.iter_mut() {
            let (&count, after) = rest.split_first().expect("a count for every fact");
            let (objects, after) = after.split_at(count as usize);
            rest = after;
            if fact.support == Support::Neutral {
                continue;
            }
            let mut by: Vec<RevIdx> = Vec::new();
            for d in seen_ids.drain(..) {
                seen.set(d, false);
            }
            for d in objects.iter().flat_map(|&o| touched_by.revisions(o)) {
                if d == r || ancestors.contains(r, d) || seen.put(d) {
                    continue;
                }
                seen_ids.push(d);
                // Descendants are final already (children first); an unrelated branch is
                // judged on its own ops, since neither side's order is fixed.
                let v = if ancestors.contains(d, r) {
                    verdicts[d]
                } else {
                    local[d]
                };
                if v != Verdict::NotApplied {
                    by.push(d);
                }
            }
            by.sort_unstable();
            fact.superseded_by = by.into_boxed_slice();
        }
        evidence[r].facts = facts;
        evidence[r].recompute();
        verdicts[r] = evidence[r].verdict;
    }
    evidence
}

/// Per fact in order, a count and that many numbers of the objects whose changes supersede the
/// fact (those of [`maskers_of`] that some revision changes).
fn take_maskers(subjects: Vec<Vec<Subject>>, ids: &SubjectIds) -> Vec<u32> {
    let mut out = Vec::new();
    for about in subjects {
        let at = out.len();
        out.push(0);
        for s in about.iter().flat_map(maskers_of) {
            out.extend(ids.get(&s));
        }
        out[at] = (out.len() - at - 1) as u32;
    }
    out.shrink_to_fit();
    out
}

/// Lower-cased `(schema, name)` of a table reference, the schema defaulted; None when not literal.
fn table_key(t: &TableRef, schema: &SchemaSnapshot) -> Option<(Option<String>, String)> {
    let (s, name) = t.known()?;
    let s = s.or(schema.default_schema.as_deref());
    Some((s.map(str::to_lowercase), name.to_lowercase()))
}

fn table_subject(t: &TableRef, schema: &SchemaSnapshot) -> Option<Subject> {
    let (schema, name) = table_key(t, schema)?;
    Some(Subject::Table { schema, name })
}

fn column_subject(t: &TableRef, column: &Name, schema: &SchemaSnapshot) -> Option<Subject> {
    let (schema, table) = table_key(t, schema)?;
    Some(Subject::Column {
        schema,
        table,
        column: column.literal()?.to_lowercase(),
    })
}

/// Indexes are looked up in their table's schema (index names are per schema on PostgreSQL).
fn index_subject(name: &Name, t: Option<&TableRef>, schema: &SchemaSnapshot) -> Option<Subject> {
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
fn touches(op: &Op, schema: &SchemaSnapshot) -> Vec<Subject> {
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
fn maskers_of(subject: &Subject) -> Vec<Subject> {
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

/// Compares one op's prediction with the schema.
struct Checker<'a> {
    schema: &'a SchemaSnapshot,
    op: &'a Op,
    index: u32,
    /// Each fact with the objects it is about.
    facts: Vec<(Fact, Vec<Subject>)>,
}

impl<'a> Checker<'a> {
    fn fact(
        &mut self,
        support: Support,
        strength: Strength,
        finding: Finding,
        about: Vec<Subject>,
    ) {
        let op = self.op;
        let (mut support, mut strength, mut notes) = (support, strength, 0);
        if op.inferred {
            // The SQL was recognised by a lexer, not parsed: never decisive on its own.
            strength = Strength::Weak;
            notes |= FROM_SQL;
        }
        if op.guarded {
            strength = Strength::Weak;
        }
        if op.conditional && support != Support::Neutral {
            // `if not has_table(...)`: the outcome says nothing about whether it ran.
            support = Support::Neutral;
            notes |= CONDITIONAL;
        }
        let fact = Fact {
            op: Some(self.index),
            line: Some(op.line),
            finding,
            support,
            strength,
            opaque: op.is_opaque(),
            notes,
            superseded_by: Box::default(),
        };
        self.facts.push((fact, about));
    }

    fn neutral(&mut self, finding: Finding) {
        self.fact(Support::Neutral, Strength::Weak, finding, Vec::new());
    }

    fn table(&self, t: &TableRef) -> Option<&'a TableInfo> {
        let (schema, name) = t.known()?;
        self.schema.table(schema, name)
    }

    fn check(&mut self) {
        use Strength::{Strong, Weak};
        use Support::{Applied, Neutral, NotApplied};
        let op = self.op;
        let schema = self.schema;
        match &op.kind {
            OpKind::CreateTable { table, columns } => {
                let Some(subject) = table_subject(table, schema) else {
                    return self.neutral(Finding::NonLiteralTable);
                };
                match self.table(table) {
                    Some(info) => {
                        self.fact(Applied, Strong, Finding::TableExists, vec![subject]);
                        for (i, c) in columns.iter().enumerate() {
                            let Some(name) = c.name.literal() else {
                                continue;
                            };
                            if info.column(name).is_none() {
                                let s = column_subject(table, &c.name, schema);
                                let finding = Finding::ColumnMissingFromTable(i as u32);
                                self.fact(NotApplied, Weak, finding, s.into_iter().collect());
                            }
                        }
                    }
                    None => self.fact(NotApplied, Strong, Finding::TableMissing, vec![subject]),
                }
            }
            OpKind::DropTable { table } => {
                let Some(subject) = table_subject(table, schema) else {
                    return self.neutral(Finding::NonLiteralTable);
                };
                match self.table(table) {
                    Some(_) => {
                        self.fact(NotApplied, Strong, Finding::TableStillExists, vec![subject])
                    }
                    None => self.fact(Applied, Weak, Finding::TableAbsent, vec![subject]),
                }
            }
            OpKind::RenameTable { table, new_name } => {
                let renamed = TableRef {
                    name: new_name.clone(),
                    schema: table.schema.clone(),
                };
                let (Some(old), Some(new)) = (
                    table_subject(table, schema),
                    table_subject(&renamed, schema),
                ) else {
                    return self.neutral(Finding::NonLiteralTable);
                };
                let subjects = vec![old, new];
                match (self.table(table).is_some(), self.table(&renamed).is_some()) {
                    (false, true) => {
                        self.fact(Applied, Strong, Finding::NewNameOnly, subjects);
                    }
                    (true, false) => {
                        self.fact(NotApplied, Strong, Finding::OldNameOnly, subjects);
                    }
                    (true, true) => self.fact(Neutral, Weak, Finding::BothNames, subjects),
                    (false, false) => self.fact(Neutral, Weak, Finding::NeitherName, subjects),
                }
            }
            OpKind::AddColumn { table, column } => {
                let Some(subject) = column_subject(table, &column.name, schema) else {
                    return self.neutral(Finding::NonLiteralName);
                };
                let name = column.name.literal().unwrap_or_default();
                match self.table(table) {
                    None => self.fact(NotApplied, Strong, Finding::TableMissing, vec![subject]),
                    Some(info) if info.column(name).is_some() => {
                        self.fact(Applied, Strong, Finding::ColumnExists, vec![subject]);
                    }
                    Some(_) => self.fact(NotApplied, Strong, Finding::ColumnMissing, vec![subject]),
                }
            }
            OpKind::DropColumn { table, column } => {
                let Some(subject) = column_subject(table, column, schema) else {
                    return self.neutral(Finding::NonLiteralName);
                };
                let name = column.literal().unwrap_or_default();
                match self.table(table) {
                    None => self.fact(Applied, Weak, Finding::TableMissing, vec![subject]),
                    Some(info) if info.column(name).is_some() => {
                        self.fact(
                            NotApplied,
                            Strong,
                            Finding::ColumnStillExists,
                            vec![subject],
                        );
                    }
                    Some(_) => self.fact(Applied, Weak, Finding::ColumnAbsent, vec![subject]),
                }
            }
            OpKind::AlterColumn {
                table,
                column,
                new_name,
                nullable,
                ..
            } => {
                let Some(subject) = column_subject(table, column, schema) else {
                    return self.neutral(Finding::NonLiteralName);
                };
                let Some(info) = self.table(table) else {
                    return self.fact(NotApplied, Weak, Finding::TableMissing, vec![subject]);
                };
                let old = info.column(column.literal().unwrap_or_default());
                if let Some(new_name) = new_name {
                    let Some(new_subject) = column_subject(table, new_name, schema) else {
                        return self.neutral(Finding::NonLiteralNewColumn);
                    };
                    let new = info.column(new_name.literal().unwrap_or_default());
                    let subjects = vec![subject, new_subject];
                    match (old.is_some(), new.is_some()) {
                        (false, true) => {
                            self.fact(Applied, Strong, Finding::NewNameOnly, subjects);
                        }
                        (true, false) => {
                            self.fact(NotApplied, Strong, Finding::OldNameOnly, subjects);
                        }
                        (true, true) => self.fact(Neutral, Weak, Finding::BothNames, subjects),
                        (false, false) => self.fact(Neutral, Weak, Finding::NeitherName, subjects),
                    }
                    return;
                }
                match (old, nullable) {
                    (Some(c), Some(want)) if c.nullable == *want => {
                        self.fact(Applied, Weak, Finding::NullabilityMatches, vec![subject]);
                    }
                    (Some(_), Some(_)) => {
                        self.fact(NotApplied, Weak, Finding::NullabilityDiffers, vec![subject]);
                    }
                    (None, _) => self.fact(Neutral, Weak, Finding::ColumnMissing, vec![subject]),
                    (Some(_), None) => self.neutral(Finding::TypeNotCompared),
                }
            }
            OpKind::CreateIndex { name, table, .. } => {
                let (Some(subject), Some(table_s)) = (
                    index_subject(name, Some(table), schema),
                    table_subject(table, schema),
                ) else {
                    return self.neutral(Finding::NonLiteralName);
                };
                let name = name.literal().unwrap_or_default();
                let subjects = vec![subject, table_s];
                match self.table(table) {
                    None => self.fact(NotApplied, Weak, Finding::TableMissing, subjects),
                    Some(info) if info.index(name).is_some() => {
                        self.fact(Applied, Weak, Finding::IndexExists, subjects);
                    }
                    Some(_) => self.fact(NotApplied, Weak, Finding::IndexMissing, subjects),
                }
            }
            OpKind::DropIndex { name, table } => {
                let Some(subject) = index_subject(name, table.as_ref(), schema) else {
                    return self.neutral(Finding::NonLiteralName);
                };
                let literal = name.literal().unwrap_or_default();
                let exists = match table {
                    Some(t) => self.table(t).and_then(|i| i.index(literal)).is_some(),
                    None => schema.tables.values().any(|t| t.index(literal).is_some()),
                };
                if exists {
                    self.fact(NotApplied, Weak, Finding::IndexStillExists, vec![subject]);
                } else {
                    self.fact(Applied, Weak, Finding::IndexAbsent, vec![subject]);
                }
            }
            OpKind::CreateConstraint { .. } | OpKind::DropConstraint { .. } => {
                self.neutral(Finding::ConstraintsNotCompared);
            }
            OpKind::Execute { sql: Some(_), .. } => self.neutral(Finding::SqlNotChecked),
            OpKind::Execute { sql: None, .. } => self.neutral(Finding::StatementNotChecked),
            OpKind::BulkInsert { .. } => self.neutral(Finding::DataOnly),
            OpKind::Unknown { .. } => self.neutral(Finding::NotUnderstood),
        }
    }
}

/// `create_table users`, `add_column chat_sessions.operator_name`: the op without its details.
fn short_label(kind: &OpKind) -> String {
    match kind {
        OpKind::CreateTable { table, .. } => format!("create_table {table}"),
        OpKind::CreateIndex { name, table, .. } => format!("create_index {name} on {table}"),
        OpKind::AlterColumn {
            table,
            column,
            new_name: Some(n),
            ..
        } => format!("alter_column {table}.{column} -> {n}"),
        OpKind::AlterColumn { table, column, .. } => format!("alter_column {table}.{column}"),
        other => other.to_string(),
    }
}

/// The `alembic_version` rows that describe the schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Suggestion {
    /// Revisions to stamp (usually one; one per independent line that is applied), load order.
    pub targets: Vec<RevIdx>,
    /// Every revision the stamp marks as applied (the targets and their ancestors), load order.
    pub applied: Vec<RevIdx>,
    /// Revisions whose schema changes are present although an ancestor's are not: objects made
    /// by hand or by another branch. `alembic upgrade` will fail creating them again.
    pub inconsistent: Vec<RevIdx>,
    pub reasoning: Vec<String>,
}

/// The latest stamp consistent with the evidence, or None when no revision has any evidence.
///
/// Precisely: let *clean* be the revisions with no `NotApplied` or `Mixed` revision among
/// themselves and their ancestors (the largest downward-closed set free of contrary evidence).
/// The stamp marks the ancestors-or-self of every clean revision whose verdict is `Applied`,
/// plus clean revisions with an empty `upgrade()` (merges) whose parents are all marked. The
/// targets are the marked revisions no marked revision descends from. Clean revisions with no
/// evidence above the stamp are left for `alembic upgrade` to run rather than assumed to have
/// run. An applied, clean revision on an independent line (another root, as the demo's orphan
/// `add_system_settings`) is stamped as an extra row: its objects exist, so not stamping it
/// would make `upgrade` create them again and fail.
///
/// `ops`: the operations the evidence was found in, to word its facts.
pub fn suggest_stamp(
    map: &RevisionMap,
    ops: &OpsStore,
    evidence: &[Evidence],
) -> Option<Suggestion> {
    let n = map.len();
    let verdict = |r: RevIdx| evidence.get(r).map_or(Verdict::Unknown, |e| e.verdict);
    if (0..n).all(|r| verdict(r) == Verdict::Unknown) {
        return None;
    }
    let blocked = |r: RevIdx| matches!(verdict(r), Verdict::NotApplied | Verdict::Mixed);
    let order = map.run_order().0;
    let ancestors = Ancestry::new(&order, |r| map.run_before(r));

    let mut clean = FixedBitSet::with_capacity(n);
    for &r in &order {
        if !map.rev(r).phantom && !blocked(r) && map.run_before(r).all(|p| clean.contains(p)) {
            clean.insert(r);
        }
    }
    let mut seeds = FixedBitSet::with_capacity(n);
    seeds.extend(clean.ones().filter(|&r| verdict(r) == Verdict::Applied));
    let mut marked = ancestors.with_ancestors(&order, &seeds);
    for &r in &order {
        let empty = evidence.get(r).is_some_and(|e| e.empty_upgrade);
        let mut parents = map.run_before(r).peekable();
        if clean.contains(r)
            && !marked.contains(r)
            && empty
            && parents.peek().is_some()
            && parents.all(|p| marked.contains(p))
        {
            marked.insert(r);
        }
    }
    let mut below_tip = FixedBitSet::with_capacity(n);
    for r in marked.ones() {
        for p in map.run_before(r) {
            below_tip.insert(p);
        }
    }
    let by_position = |v: &mut Vec<RevIdx>| v.sort_by_key(|&r| map.map_position(r));
    let mut targets: Vec<RevIdx> = marked.ones().filter(|&r| !below_tip.contains(r)).collect();
    // The main line (the longest history) first, then load order.
    targets.sort_by_key(|&r| (usize::MAX - ancestors.count(r), map.map_position(r)));
    let mut applied: Vec<RevIdx> = marked.ones().collect();
    by_position(&mut applied);
    let mut inconsistent: Vec<RevIdx> = (0..n)
        .filter(|&r| verdict(r) == Verdict::Applied && !clean.contains(r) && !map.rev(r).phantom)
        .collect();
    by_position(&mut inconsistent);

    let ctx = Explain { map, ops, evidence };
    let mut reasoning = Vec::new();
    if targets.is_empty() {
        reasoning.push(
            "stamp base: no revision's schema changes are present (or every one is contradicted \
             by an earlier revision that is not applied)"
                .to_string(),
        );
    } else {
        let ids = map.ids(&targets).join(" ");
        reasoning.push(format!(
            "stamp {ids}: the newest revisions whose schema changes are present, with every \
             ancestor's (`alembic stamp --purge {ids}` replaces whatever alembic_version holds, \
             even ids no file defines)"
        ));
    }
    for &t in &targets {
        reasoning.push(ctx.applied_line(t));
    }
    if let Some((&first, rest)) = targets.split_first() {
        for &t in rest {
            let shared = ancestors.intersects(t, first)
                || ancestors.contains(t, first)
                || ancestors.contains(first, t);
            if !shared {
                reasoning.push(format!(
                    "{} is on a line of its own (no common ancestor with {}): its objects \
                     exist, so it is stamped as a second alembic_version row; otherwise \
                     `alembic upgrade` would create them again and fail (if they were made by \
                     hand, check they match the migration)",
                    ctx.name(t),
                    map.rev(first).id
                ));
            }
        }
    }
    // The first revisions `upgrade` will run after the stamp, and why they are not applied.
    for r in order.iter().copied() {
        if blocked(r) && !map.rev(r).phantom && map.run_before(r).all(|p| clean.contains(p)) {
            reasoning.push(ctx.blocked_line(r));
        }
    }
    for &r in &inconsistent {
        let mut culprits: Vec<RevIdx> = ancestors
            .ancestors(r)
            .filter(|&a| blocked(a) && map.run_before(a).all(|p| clean.contains(p)))
            .collect();
        culprits.sort_unstable();
        reasoning.push(format!(
            "{} looks applied ({}) but its ancestor {} is not: these objects were made another \
             way, and `alembic upgrade` will fail creating them again",
            ctx.name(r),
            ctx.fact_texts(r, Support::Applied),
            map.ids(&culprits).join(", ")
        ));
    }
    let unproven: Vec<RevIdx> = applied
        .iter()
        .copied()
        .filter(|&r| verdict(r) == Verdict::Unknown && !ctx.is_empty(r))
        .collect();
    if !unproven.is_empty() {
        reasoning.push(format!(
            "{} without schema evidence {} included because later revisions are applied: {}",
            plural(unproven.len(), "revision"),
            if unproven.len() == 1 { "is" } else { "are" },
            ctx.some_ids(&unproven)
        ));
    }
    // Worded for the first few only: at 10,000 revisions thousands of statements are skipped.
    const SHOWN: usize = 5;
    let mut skipped = Vec::new();
    let mut more = 0;
    for &r in &applied {
        let facts = evidence.get(r).map_or(&[][..], |e| e.facts.as_slice());
        let mut opaque = facts.iter().filter(|f| f.opaque).peekable();
        if opaque.peek().is_none() {
            continue;
        }
        if skipped.len() == SHOWN {
            more += opaque.count();
            continue;
        }
        let ops = upgrade_ops(ctx.ops, r);
        for f in opaque {
            if skipped.len() == SHOWN {
                more += 1;
                continue;
            }
            skipped.push(format!(
                "{} line {}: {}",
                map.rev(r).id,
                f.line.unwrap_or(0),
                f.text(&ops)
            ));
        }
    }
    if !skipped.is_empty() {
        let mut line = format!(
            "the stamp assumes these unchecked statements ran: {}",
            skipped.join("; ")
        );
        if more > 0 {
            line.push_str(&format!("; and {more} more"));
        }
        reasoning.push(line);
    }
    let left: Vec<RevIdx> = order
        .iter()
        .copied()
        .filter(|&r| clean.contains(r) && !marked.contains(r))
        .collect();
    if !left.is_empty() {
        reasoning.push(format!(
            "left for `alembic upgrade` (no evidence either way): {}",
            ctx.some_ids(&left)
        ));
    }
    Some(Suggestion {
        targets,
        applied,
        inconsistent,
        reasoning,
    })
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// Wording for the suggestion's reasoning.
struct Explain<'a> {
    map: &'a RevisionMap,
    ops: &'a OpsStore,
    evidence: &'a [Evidence],
}

impl Explain<'_> {
    fn name(&self, r: RevIdx) -> String {
        let rev = self.map.rev(r);
        if rev.message.is_empty() {
            rev.id.clone()
        } else {
            format!("{} ({})", rev.id, rev.message)
        }
    }

    fn is_empty(&self, r: RevIdx) -> bool {
        self.evidence.get(r).is_some_and(|e| e.empty_upgrade)
    }

    /// Up to three counted facts pointing `support`'s way.
    fn fact_texts(&self, r: RevIdx, support: Support) -> String {
        let Some(e) = self.evidence.get(r) else {
            return String::new();
        };
        let ops = upgrade_ops(self.ops, r);
        let mut facts = e.facts_for(support);
        let texts: Vec<String> = facts.by_ref().take(3).map(|f| f.text(&ops)).collect();
        let mut out = texts.join("; ");
        let more = facts.count();
        if more > 0 {
            out.push_str(&format!("; and {more} more"));
        }
        out
    }

    fn applied_line(&self, r: RevIdx) -> String {
        let facts = self.fact_texts(r, Support::Applied);
        if facts.is_empty() {
            format!("{}: empty upgrade; its parents are stamped", self.name(r))
        } else {
            format!("{}: applied: {facts}", self.name(r))
        }
    }

    fn blocked_line(&self, r: RevIdx) -> String {
        let verdict = self.evidence.get(r).map(|e| e.verdict);
        let not = self.fact_texts(r, Support::NotApplied);
        if verdict == Some(Verdict::Mixed) {
            format!(
                "{}: partly applied (present: {}; missing: {not}): repair by hand before \
                 upgrading",
                self.name(r),
                self.fact_texts(r, Support::Applied)
            )
        } else {
            format!("{}: not applied: {not}", self.name(r))
        }
    }

    /// Ids, at most five, then a count.
    fn some_ids(&self, revs: &[RevIdx]) -> String {
        let mut out = self.map.ids(&revs[..revs.len().min(5)]).join(", ");
        if revs.len() > 5 {
            out.push_str(&format!(" and {} more", revs.len() - 5));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::revision::read::read_source;
    use crate::schema::{ColumnInfo, IndexInfo};

    /// (id, parents, upgrade body statements)
    type Spec<'a> = (&'a str, &'a [&'a str], &'a [&'a str]);

    fn source(id: &str, down: &[&str], body: &[&str]) -> String {
        let down = match down {
            [] => "None".to_string(),
            [one] => format!("'{one}'"),
            many => format!(
                "({})",
                many.iter().map(|d| format!("'{d}', ")).collect::<String>()
            ),
        };
        let body = if body.is_empty() {
            "    pass\n".to_string()
        } else {
            body.iter().map(|l| format!("    {l}\n")).collect()
        };
        format!(
            "from alembic import op\nimport sqlalchemy as sa\n\nrevision = '{id}'\ndown_revision = {down}\n\n\ndef upgrade():\n{body}"
        )
    }

    fn project(specs: &[Spec]) -> (RevisionMap, OpsStore) {
        let sources: Vec<String> = specs.iter().map(|(i, d, b)| source(i, d, b)).collect();
        let records = sources
            .iter()
            .enumerate()
            .map(|(n, s)| read_source(std::path::Path::new(&format!("v/{n}.py")), s.as_bytes()))
            .collect();
        let map = RevisionMap::build(records);
        let reports: Vec<OpsReport> = (0..map.len())
            .map(|r| ops::ops(&sources[map.rev(r).record]))
            .collect();
        (map, OpsStore::from_reports(reports.iter().map(Some)))
    }

    /// Tables as `name(col, col, ...)`, `[ix_name]` after a column list adding an index.
    fn schema(tables: &[(&str, &[&str], &[&str])]) -> SchemaSnapshot {
        let mut s = SchemaSnapshot::default();
        for (name, cols, indexes) in tables {
            s.insert(TableInfo {
                schema: None,
                name: (*name).into(),
                columns: cols
                    .iter()
                    .map(|c| ColumnInfo {
                        name: (*c).into(),
                        nullable: true,
                        ..ColumnInfo::default()
                    })
                    .collect(),
                indexes: indexes
                    .iter()
                    .map(|i| IndexInfo {
                        name: (*i).into(),
                        ..IndexInfo::default()
                    })
                    .collect(),
            });
        }
        s
    }

    /// One revision's evidence, with the ops that word its facts.
    struct Local {
        evidence: Evidence,
        ops: Vec<Op>,
    }

    impl std::ops::Deref for Local {
        type Target = Evidence;
        fn deref(&self) -> &Evidence {
            &self.evidence
        }
    }

    fn local(body: &[&str], s: &SchemaSnapshot) -> Local {
        let src = source("a", &[], body);
        let ops = ops::upgrade_ops(&src).ops;
        let evidence = revision_evidence(&ops, s);
        Local { evidence, ops }
    }

    fn texts(e: &Local) -> Vec<String> {
        e.facts.iter().map(|f| f.text(&e.ops)).collect()
    }

    fn verdicts(map: &RevisionMap, ev: &[Evidence]) -> Vec<(String, Verdict)> {
        (0..map.len())
            .map(|r| (map.rev(r).id.clone(), ev[r].verdict))
            .collect()
    }

    #[test]
    fn an_existing_created_table_means_applied_and_a_missing_one_not() {
        let body = ["op.create_table('users', sa.Column('id', sa.Integer()))"];
        let e = local(&body, &schema(&[("Users", &["id"], &[])]));
        assert_eq!(e.verdict, Verdict::Applied);
        assert_eq!(texts(&e), ["create_table users: table exists"]);
        let e = local(&body, &schema(&[]));
        assert_eq!(e.verdict, Verdict::NotApplied);
        assert_eq!(texts(&e), ["create_table users: table missing"]);
    }

    #[test]
    fn a_missing_added_column_means_not_applied() {
        let body = ["op.add_column('chat_sessions', sa.Column('operator_name', sa.String(100)))"];
        let e = local(&body, &schema(&[("chat_sessions", &["id"], &[])]));
        assert_eq!(e.verdict, Verdict::NotApplied);
        assert_eq!(
            texts(&e),
            ["add_column chat_sessions.operator_name: column missing"]
        );
        let e = local(
            &body,
            &schema(&[("chat_sessions", &["id", "operator_name"], &[])]),
        );
        assert_eq!(e.verdict, Verdict::Applied);
    }

    #[test]
    fn strong_facts_outweigh_weak_ones_and_disagreement_is_mixed() {
        // The absent dropped table is weak; the existing created one strong.
        let e = local(
            &["op.create_table('a')", "op.drop_table('gone')"],
            &schema(&[("a", &[], &[])]),
        );
        assert_eq!(e.verdict, Verdict::Applied);
        assert_eq!(e.facts[1].strength, Strength::Weak);
        // A missing index alone decides, weakly.
        let e = local(
            &["op.create_index('ix_a_x', 'a', ['x'])"],
            &schema(&[("a", &["x"], &[])]),
        );
        assert_eq!(e.verdict, Verdict::NotApplied);
        // Half done.
        let e = local(
            &["op.create_table('a')", "op.create_table('b')"],
            &schema(&[("a", &[], &[])]),
        );
        assert_eq!(e.verdict, Verdict::Mixed);
    }

    #[test]
    fn renames_are_judged_by_which_name_exists() {
        let body = [
            "op.rename_table('old', 'new')",
            "op.alter_column('new', 'nm', new_column_name='name')",
        ];
        let e = local(&body, &schema(&[("new", &["name"], &[])]));
        assert_eq!(e.verdict, Verdict::Applied);
        let e = local(&body[..1], &schema(&[("old", &["nm"], &[])]));
        assert_eq!(e.verdict, Verdict::NotApplied);
        let e = local(&body[1..], &schema(&[("new", &["nm"], &[])]));
        assert_eq!(e.verdict, Verdict::NotApplied);
    }

    #[test]
    fn conditional_opaque_and_dynamic_ops_are_not_counted() {
        let e = local(
            &[
                "if not exists('a'):",
                "    op.create_table('a')",
                "op.execute('UPDATE t SET x = 1')",
                "op.drop_table(name)",
            ],
            &schema(&[("a", &[], &[])]),
        );
        assert_eq!(e.verdict, Verdict::Unknown);
        assert_eq!(
            texts(&e),
            [
                "create_table a: table exists (conditional: not counted)",
                "execute \"UPDATE t SET x = 1\": SQL not checked",
                "drop_table <name>: non-literal table name",
            ]
        );
        assert!(e.facts[1].opaque);
    }

    #[test]
    fn ddl_recognised_in_sql_is_weak_evidence() {
        let e = local(
            &[
                "op.execute('CREATE TABLE a (id int)')",
                "op.create_index('ix', 'b', ['x'])",
            ],
            &schema(&[("a", &["id"], &[]), ("b", &["x"], &["ix"])]),
        );
        assert_eq!(e.verdict, Verdict::Applied);
        assert_eq!(e.facts[1].strength, Strength::Weak);
        assert_eq!(texts(&e)[1], "create_table a: table exists (from SQL)");
    }

    #[test]
    fn an_object_changed_again_in_the_same_revision_only_counts_once() {
        let e = local(
            &["op.create_table('tmp')", "op.drop_table('tmp')"],
            &schema(&[]),
        );
        assert_eq!(e.facts[0].support, Support::Neutral);
        assert_eq!(e.verdict, Verdict::Applied);
    }

    #[test]
    fn a_later_drop_supersedes_the_creation() {
        let specs: &[Spec] = &[
            (
                "a",
                &[],
                &["op.create_table('x')", "op.create_table('keep')"],
            ),
            ("b", &["a"], &["op.drop_table('x')"]),
        ];
        let (map, ops) = project(specs);
        // x is gone: a's "x missing" is not held against it, since b dropped it.
        let ev = graph_evidence(&map, &ops, &schema(&[("keep", &[], &[])]));
        assert_eq!(
            verdicts(&map, &ev),
            [
                ("a".into(), Verdict::Applied),
                ("b".into(), Verdict::Applied)
            ]
        );
        assert_eq!(*ev[0].facts[0].superseded_by, [1]);
        // x still exists: b did not run, so a's fact about x stands.
        let ev = graph_evidence(&map, &ops, &schema(&[("keep", &[], &[]), ("x", &[], &[])]));
        assert_eq!(
            verdicts(&map, &ev),
            [
                ("a".into(), Verdict::Applied),
                ("b".into(), Verdict::NotApplied)
            ]
        );
        assert!(ev[0].facts[0].superseded_by.is_empty());
    }

    #[test]
    fn a_dropped_table_takes_its_columns_facts_along() {
        let specs: &[Spec] = &[
            ("a", &[], &["op.create_table('t')"]),
            (
                "b",
                &["a"],
                &["op.add_column('t', sa.Column('c', sa.Integer()))"],
            ),
            ("c", &["b"], &["op.rename_table('t', 'u')"]),
        ];
        let (map, ops) = project(specs);
        let ev = graph_evidence(&map, &ops, &schema(&[("u", &["c"], &[])]));
        assert_eq!(
            verdicts(&map, &ev),
            [
                ("a".into(), Verdict::Unknown),
                ("b".into(), Verdict::Unknown),
                ("c".into(), Verdict::Applied)
            ]
        );
        let s = suggest_stamp(&map, &ops, &ev).unwrap();
        assert_eq!(map.ids(&s.targets), ["c"]);
    }

    #[test]
    fn the_stamp_is_the_newest_applied_revision_with_its_empty_merges() {
        let specs: &[Spec] = &[
            ("base", &[], &["op.create_table('a')"]),
            ("left", &["base"], &["op.create_table('l')"]),
            ("right", &["base"], &["op.create_table('r')"]),
            ("merge", &["left", "right"], &[]),
            ("data", &["merge"], &["op.execute('UPDATE a SET x = 1')"]),
            ("next", &["data"], &["op.create_table('n')"]),
        ];
        let (map, ops) = project(specs);
        let all = schema(&[("a", &[], &[]), ("l", &[], &[]), ("r", &[], &[])]);
        let ev = graph_evidence(&map, &ops, &all);
        let s = suggest_stamp(&map, &ops, &ev).unwrap();
        assert_eq!(map.ids(&s.targets), ["merge"]);
        assert!(
            s.reasoning[0].starts_with("stamp merge:"),
            "{:?}",
            s.reasoning
        );
        assert!(
            s.reasoning
                .iter()
                .any(|r| r.starts_with("next: not applied")),
            "{:?}",
            s.reasoning
        );
        assert!(
            s.reasoning
                .iter()
                .any(|r| r.starts_with("left for `alembic upgrade`") && r.contains("data")),
            "{:?}",
            s.reasoning
        );
        // Unknown revisions under an applied one are included.
        let mut with_next = all.clone();
        with_next.insert(TableInfo {
            name: "n".into(),
            ..TableInfo::default()
        });
        let ev = graph_evidence(&map, &ops, &with_next);
        let s = suggest_stamp(&map, &ops, &ev).unwrap();
        assert_eq!(map.ids(&s.targets), ["next"]);
        assert!(
            s.reasoning
                .iter()
                .any(|r| r.contains("1 revision without schema evidence is included")),
            "{:?}",
            s.reasoning
        );
    }

    #[test]
    fn objects_above_a_missing_revision_are_reported_as_inconsistent() {
        let specs: &[Spec] = &[
            ("a", &[], &["op.create_table('a')"]),
            ("b", &["a"], &["op.create_table('b')"]),
            ("c", &["b"], &["op.create_table('c')"]),
        ];
        let (map, ops) = project(specs);
        let ev = graph_evidence(&map, &ops, &schema(&[("a", &[], &[]), ("c", &[], &[])]));
        let s = suggest_stamp(&map, &ops, &ev).unwrap();
        assert_eq!(map.ids(&s.targets), ["a"]);
        assert_eq!(map.ids(&s.inconsistent), ["c"]);
        assert!(
            s.reasoning
                .iter()
                .any(|r| r.starts_with("c looks applied") && r.contains("ancestor b")),
            "{:?}",
            s.reasoning
        );
    }

    #[test]
    fn a_partly_applied_revision_blocks_the_stamp() {
        let specs: &[Spec] = &[
            ("a", &[], &["op.create_table('a')"]),
            (
                "b",
                &["a"],
                &["op.create_table('b1')", "op.create_table('b2')"],
            ),
        ];
        let (map, ops) = project(specs);
        let ev = graph_evidence(&map, &ops, &schema(&[("a", &[], &[]), ("b1", &[], &[])]));
        let s = suggest_stamp(&map, &ops, &ev).unwrap();
        assert_eq!(map.ids(&s.targets), ["a"]);
        assert!(
            s.reasoning.iter().any(|r| r.contains("partly applied")),
            "{:?}",
            s.reasoning
        );
    }

    #[test]
    fn no_evidence_means_no_suggestion_and_nothing_applied_means_base() {
        let specs: &[Spec] = &[("a", &[], &[]), ("b", &["a"], &["op.create_table('b')"])];
        let (map, ops) = project(specs);
        let none = OpsStore::from_reports([None, None]);
        assert_eq!(
            suggest_stamp(&map, &none, &graph_evidence(&map, &none, &schema(&[]))),
            None
        );
        let s = suggest_stamp(&map, &ops, &graph_evidence(&map, &ops, &schema(&[]))).unwrap();
        assert!(s.targets.is_empty());
        assert!(s.reasoning[0].starts_with("stamp base"));
    }

    #[test]
    fn broken_graphs_and_short_inputs_do_not_panic() {
        // A cycle, a missing parent, fewer ops than revisions.
        let specs: &[Spec] = &[
            ("a", &["b"], &["op.create_table('a')"]),
            ("b", &["a"], &["op.drop_table('a')"]),
            ("c", &["zzz"], &["op.create_table('c')"]),
        ];
        let (map, ops) = project(specs);
        let s = schema(&[("c", &[], &[])]);
        let first = OpsStore::from_reports([ops.get(0).as_ref()]);
        let ev = graph_evidence(&map, &first, &s);
        let _ = suggest_stamp(&map, &ops, &ev);
        let ev = graph_evidence(&map, &ops, &s);
        let _ = suggest_stamp(&map, &ops, &ev[..1]);
        assert_eq!(map.run_order().0.len(), 3);
    }

    /// `cargo test --release --lib evidence::tests::timing -- --ignored --nocapture`
    #[test]
    #[ignore = "timing, run by hand in release mode"]
    fn timing() {
        let dir = tempfile::tempdir().unwrap();
        let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(
            "assets/demo/migrations/versions/f1a2b3c4d5e6_add_chat_sessions_and_credentials.py",
        );
        let text = std::fs::read_to_string(demo).unwrap();
        let mut records = Vec::new();
        for i in 0..500 {
            let src = text
                .replace("'f1a2b3c4d5e6'", &format!("'r{i}'"))
                .replace(
                    "'e3f4g5h6i7j8'",
                    &if i == 0 {
                        "None".into()
                    } else {
                        format!("'r{}'", i - 1)
                    },
                )
                .replace("'chat_sessions'", &format!("'chat_sessions_{i}'"));
            let path = dir.path().join(format!("r{i}.py"));
            std::fs::write(&path, &src).unwrap();
            records.push(read_source(&path, src.as_bytes()));
        }
        let map = RevisionMap::build(records);
        let s = schema(&[("credentials", &[], &[])]);
        for _ in 0..3 {
            let t = std::time::Instant::now();
            let ops = load_ops(&map);
            let t_ops = t.elapsed();
            let ev = graph_evidence(&map, &ops, &s);
            let t_ev = t.elapsed();
            let _ = suggest_stamp(&map, &ops, &ev);
            println!(
                "500 revisions: ops {t_ops:?}, +evidence {t_ev:?}, +suggest {:?}",
                t.elapsed()
            );
        }
    }
}
