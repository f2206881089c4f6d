//! A [`Fact`]: one operation's prediction compared with the schema, and its wording.

use std::borrow::Cow;

use super::{Strength, Support};
use crate::graph::RevIdx;
use crate::revision::ops::{Op, OpKind, OpsStore};

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
    pub(super) notes: u8,
    /// Revisions that may have run later and change the same objects again; when not empty the
    /// fact is not counted. Filled by [`graph_evidence`](super::graph_evidence).
    pub superseded_by: Box<[RevIdx]>,
}

/// [`Fact`] notes, as bits.
pub(super) const FROM_SQL: u8 = 1;
pub(super) const CONDITIONAL: u8 = 2;
pub(super) const CHANGED_LATER: u8 = 4;

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
    fn words(self, op: Option<&Op>) -> Cow<'static, str> {
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
