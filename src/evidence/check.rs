//! Compares one operation's prediction with the schema: the facts it yields.

use super::fact::{CONDITIONAL, FROM_SQL};
use super::subject::{Subject, column_subject, index_subject, table_subject};
use super::{Fact, Finding, Strength, Support};
use crate::revision::ops::{Op, OpKind, TableRef};
use crate::schema::{SchemaSnapshot, TableInfo};

/// Compares one op's prediction with the schema.
pub(super) struct Checker<'a> {
    pub(super) schema: &'a SchemaSnapshot,
    pub(super) op: &'a Op,
    pub(super) index: u32,
    /// Each fact with the objects it is about.
    pub(super) facts: Vec<(Fact, Vec<Subject>)>,
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

    /// A rename, judged by which of the (old, new) names exist.
    fn rename(&mut self, exist: (bool, bool), subjects: Vec<Subject>) {
        use Strength::{Strong, Weak};
        use Support::{Applied, Neutral, NotApplied};
        match exist {
            (false, true) => self.fact(Applied, Strong, Finding::NewNameOnly, subjects),
            (true, false) => self.fact(NotApplied, Strong, Finding::OldNameOnly, subjects),
            (true, true) => self.fact(Neutral, Weak, Finding::BothNames, subjects),
            (false, false) => self.fact(Neutral, Weak, Finding::NeitherName, subjects),
        }
    }

    pub(super) fn check(&mut self) {
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
                let exist = (self.table(table).is_some(), self.table(&renamed).is_some());
                self.rename(exist, vec![old, new]);
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
                    return self.rename((old.is_some(), new.is_some()), vec![subject, new_subject]);
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
