//! A compact binary form of [`OpsReport`]: what the operations cache stores and what
//! [`super::OpsStore`] holds in memory, about a tenth of the decoded structures' size.
//!
//! Encoding destructures every struct and matches every variant without a wildcard, so a field
//! or variant added to the operations model does not compile until it is encoded here.

use super::{
    Body, ColumnDef, ConstraintKind, FunctionOps, Name, Op, OpKind, OpsReport, ParseFailure,
    TableRef,
};
use crate::revision::wire::{Cursor, opt_string, option, string, u32v};

/// Bumped whenever the layout below changes; a cache written with another version is ignored.
pub const FORMAT: u32 = 2;

pub fn encode(r: &OpsReport, out: &mut Vec<u8>) {
    let OpsReport {
        upgrade,
        downgrade,
        parse_error,
    } = r;
    function(upgrade, out);
    function(downgrade, out);
    option(parse_error.as_ref(), out, |p, out| {
        let ParseFailure { message, line } = p;
        string(message, out);
        u32v(*line, out);
    });
}

/// [`encode`] into a new buffer of exactly the encoding's size.
pub fn to_vec(r: &OpsReport) -> Vec<u8> {
    let mut out = Vec::new();
    encode(r, &mut out);
    out.shrink_to_fit();
    out
}

/// `None` when the bytes are not a report this version wrote.
pub fn decode(bytes: &[u8]) -> Option<OpsReport> {
    let mut c = Cursor::new(bytes);
    let report = OpsReport {
        upgrade: c.function()?,
        downgrade: c.function()?,
        parse_error: c.option(|c| {
            Some(ParseFailure {
                message: c.string()?,
                line: c.u32()?,
            })
        })?,
    };
    c.done().then_some(report)
}

fn function(f: &FunctionOps, out: &mut Vec<u8>) {
    let FunctionOps { body, line, ops } = f;
    out.push(match body {
        Body::Missing => 0,
        Body::Empty => 1,
        Body::Code => 2,
        Body::Unparsable => 3,
    });
    option(line.as_ref(), out, |l, out| u32v(*l, out));
    u32v(ops.len() as u32, out);
    for o in ops {
        op(o, out);
    }
}

fn op(o: &Op, out: &mut Vec<u8>) {
    let Op {
        kind,
        line,
        conditional,
        guarded,
        inferred,
    } = o;
    u32v(*line, out);
    out.push(u8::from(*conditional) | u8::from(*guarded) << 1 | u8::from(*inferred) << 2);
    match kind {
        OpKind::CreateTable { table, columns } => {
            out.push(0);
            table_ref(table, out);
            u32v(columns.len() as u32, out);
            for col in columns {
                column(col, out);
            }
        }
        OpKind::DropTable { table } => {
            out.push(1);
            table_ref(table, out);
        }
        OpKind::RenameTable { table, new_name } => {
            out.push(2);
            table_ref(table, out);
            name(new_name, out);
        }
        OpKind::AddColumn { table, column: col } => {
            out.push(3);
            table_ref(table, out);
            column(col, out);
        }
        OpKind::DropColumn { table, column } => {
            out.push(4);
            table_ref(table, out);
            name(column, out);
        }
        OpKind::AlterColumn {
            table,
            column,
            new_name,
            nullable,
            type_,
        } => {
            out.push(5);
            table_ref(table, out);
            name(column, out);
            option(new_name.as_ref(), out, name);
            opt_bool(*nullable, out);
            opt_string(type_, out);
        }
        OpKind::CreateIndex {
            name: index,
            table,
            columns,
            unique,
        } => {
            out.push(6);
            name(index, out);
            table_ref(table, out);
            names(columns, out);
            out.push(u8::from(*unique));
        }
        OpKind::DropIndex { name: index, table } => {
            out.push(7);
            name(index, out);
            option(table.as_ref(), out, table_ref);
        }
        OpKind::CreateConstraint {
            kind,
            name: constraint,
            table,
            columns,
            referent,
        } => {
            out.push(8);
            out.push(match kind {
                ConstraintKind::Unique => 0,
                ConstraintKind::PrimaryKey => 1,
                ConstraintKind::ForeignKey => 2,
                ConstraintKind::Check => 3,
                ConstraintKind::Exclude => 4,
            });
            option(constraint.as_ref(), out, name);
            table_ref(table, out);
            names(columns, out);
            option(referent.as_ref(), out, table_ref);
        }
        OpKind::DropConstraint {
            name: constraint,
            table,
            type_,
        } => {
            out.push(9);
            name(constraint, out);
            table_ref(table, out);
            opt_string(type_, out);
        }
        OpKind::Execute { sql, expr } => {
            out.push(10);
            opt_string(sql, out);
            string(expr, out);
        }
        OpKind::BulkInsert { table } => {
            out.push(11);
            name(table, out);
        }
        OpKind::Unknown { call } => {
            out.push(12);
            string(call, out);
        }
    }
}

fn name(n: &Name, out: &mut Vec<u8>) {
    let (tag, text) = match n {
        Name::Literal(s) => (0, s),
        Name::Expr(s) => (1, s),
    };
    out.push(tag);
    string(text, out);
}

fn names(v: &[Name], out: &mut Vec<u8>) {
    u32v(v.len() as u32, out);
    for n in v {
        name(n, out);
    }
}

fn table_ref(t: &TableRef, out: &mut Vec<u8>) {
    let TableRef {
        name: table,
        schema,
    } = t;
    name(table, out);
    option(schema.as_ref(), out, name);
}

fn column(col: &ColumnDef, out: &mut Vec<u8>) {
    let ColumnDef {
        name: column,
        type_,
        nullable,
        primary_key,
    } = col;
    name(column, out);
    opt_string(type_, out);
    opt_bool(*nullable, out);
    out.push(u8::from(*primary_key));
}

fn opt_bool(b: Option<bool>, out: &mut Vec<u8>) {
    out.push(match b {
        None => 2,
        Some(b) => u8::from(b),
    });
}

// The smallest encoding of one item, for `Cursor::count`'s bound.
const MIN_OP: usize = 6;
const MIN_NAME: usize = 5;
const MIN_COLUMN: usize = MIN_NAME + 3;

impl Cursor<'_> {
    fn function(&mut self) -> Option<FunctionOps> {
        let body = match self.u8()? {
            0 => Body::Missing,
            1 => Body::Empty,
            2 => Body::Code,
            3 => Body::Unparsable,
            _ => return None,
        };
        let line = self.option(Self::u32)?;
        let n = self.count(MIN_OP)?;
        let mut ops = Vec::with_capacity(n);
        for _ in 0..n {
            ops.push(self.op()?);
        }
        Some(FunctionOps { body, line, ops })
    }

    fn op(&mut self) -> Option<Op> {
        let line = self.u32()?;
        let flags = self.u8()?;
        if flags > 7 {
            return None;
        }
        let kind = match self.u8()? {
            0 => OpKind::CreateTable {
                table: self.table_ref()?,
                columns: {
                    let n = self.count(MIN_COLUMN)?;
                    let mut v = Vec::with_capacity(n);
                    for _ in 0..n {
                        v.push(self.column()?);
                    }
                    v
                },
            },
            1 => OpKind::DropTable {
                table: self.table_ref()?,
            },
            2 => OpKind::RenameTable {
                table: self.table_ref()?,
                new_name: self.name()?,
            },
            3 => OpKind::AddColumn {
                table: self.table_ref()?,
                column: self.column()?,
            },
            4 => OpKind::DropColumn {
                table: self.table_ref()?,
                column: self.name()?,
            },
            5 => OpKind::AlterColumn {
                table: self.table_ref()?,
                column: self.name()?,
                new_name: self.option(Self::name)?,
                nullable: self.opt_bool()?,
                type_: self.option(Self::string)?,
            },
            6 => OpKind::CreateIndex {
                name: self.name()?,
                table: self.table_ref()?,
                columns: self.names()?,
                unique: self.bool()?,
            },
            7 => OpKind::DropIndex {
                name: self.name()?,
                table: self.option(Self::table_ref)?,
            },
            8 => OpKind::CreateConstraint {
                kind: match self.u8()? {
                    0 => ConstraintKind::Unique,
                    1 => ConstraintKind::PrimaryKey,
                    2 => ConstraintKind::ForeignKey,
                    3 => ConstraintKind::Check,
                    4 => ConstraintKind::Exclude,
                    _ => return None,
                },
                name: self.option(Self::name)?,
                table: self.table_ref()?,
                columns: self.names()?,
                referent: self.option(Self::table_ref)?,
            },
            9 => OpKind::DropConstraint {
                name: self.name()?,
                table: self.table_ref()?,
                type_: self.option(Self::string)?,
            },
            10 => OpKind::Execute {
                sql: self.option(Self::string)?,
                expr: self.string()?,
            },
            11 => OpKind::BulkInsert {
                table: self.name()?,
            },
            12 => OpKind::Unknown {
                call: self.string()?,
            },
            _ => return None,
        };
        Some(Op {
            kind,
            line,
            conditional: flags & 1 != 0,
            guarded: flags & 2 != 0,
            inferred: flags & 4 != 0,
        })
    }

    fn name(&mut self) -> Option<Name> {
        match self.u8()? {
            0 => Some(Name::Literal(self.string()?)),
            1 => Some(Name::Expr(self.string()?)),
            _ => None,
        }
    }

    fn names(&mut self) -> Option<Vec<Name>> {
        let n = self.count(MIN_NAME)?;
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            v.push(self.name()?);
        }
        Some(v)
    }

    fn table_ref(&mut self) -> Option<TableRef> {
        Some(TableRef {
            name: self.name()?,
            schema: self.option(Self::name)?,
        })
    }

    fn column(&mut self) -> Option<ColumnDef> {
        Some(ColumnDef {
            name: self.name()?,
            type_: self.option(Self::string)?,
            nullable: self.opt_bool()?,
            primary_key: self.bool()?,
        })
    }

    fn opt_bool(&mut self) -> Option<Option<bool>> {
        match self.u8()? {
            0 => Some(Some(false)),
            1 => Some(Some(true)),
            2 => Some(None),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// Every operations and reader fixture, read with both readers, survives the round trip
    /// unchanged, and no truncation of an encoding decodes.
    #[test]
    fn round_trip_every_fixture() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let mut seen = 0;
        let mut kinds = std::collections::HashSet::new();
        for dir in ["ops", "reader"] {
            for entry in std::fs::read_dir(root.join(dir)).unwrap() {
                let path = entry.unwrap().path();
                if path.extension().is_none_or(|e| e != "py") {
                    continue;
                }
                let bytes = std::fs::read(&path).unwrap();
                for report in [
                    super::super::read_ops(&bytes),
                    super::super::read_upgrade_ops(&bytes),
                ] {
                    let mut buf = Vec::new();
                    encode(&report, &mut buf);
                    assert_eq!(decode(&buf).as_ref(), Some(&report), "{}", path.display());
                    for cut in 0..buf.len() {
                        assert!(
                            decode(&buf[..cut]).is_none(),
                            "{} cut at {cut}",
                            path.display()
                        );
                    }
                    for o in report.upgrade.ops.iter().chain(&report.downgrade.ops) {
                        kinds.insert(std::mem::discriminant(&o.kind));
                    }
                    seen += 1;
                }
            }
        }
        assert!(seen > 20, "only {seen} fixtures");
        // Every kind of operation is among the fixtures, so each branch above was exercised.
        assert_eq!(kinds.len(), 13, "operation kinds seen in fixtures");
    }
}
