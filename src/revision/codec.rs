//! A compact binary form of [`RevisionRecord`], for the record cache.
//!
//! Hand-written rather than derived through serde: the records' JSON shape uses tagged enums,
//! which the compact serde formats cannot read back, and decoding 10,000 records must cost a few
//! milliseconds, not the tens JSON would. Every field is written; the round-trip test compares
//! whole records, so a field added to the record without being added here fails it.

use std::path::PathBuf;

use super::wire::{Cursor, bytes, opt_string, option, string, u32v};
use super::{Assignment, Docstring, Literal, ReadIssue, RevisionRecord, Span, Value};

/// Bumped whenever the layout below changes; a cache written with another version is ignored.
pub const FORMAT: u32 = 2;

pub fn encode(r: &RevisionRecord, out: &mut Vec<u8>) {
    path(&r.path, out);
    for a in [
        &r.revision,
        &r.down_revision,
        &r.branch_labels,
        &r.depends_on,
    ] {
        option(a.as_ref(), out, assignment);
    }
    option(r.docstring.as_ref(), out, docstring);
    u32v(r.issues.len() as u32, out);
    for i in &r.issues {
        issue(i, out);
    }
}

/// `None` when the bytes are not a record this version wrote (a corrupt or foreign cache).
pub fn decode(bytes: &[u8]) -> Option<RevisionRecord> {
    let mut c = Cursor::new(bytes);
    let record = RevisionRecord {
        path: c.path()?,
        revision: c.option(Cursor::assignment)?,
        down_revision: c.option(Cursor::assignment)?,
        branch_labels: c.option(Cursor::assignment)?,
        depends_on: c.option(Cursor::assignment)?,
        docstring: c.option(Cursor::docstring)?,
        issues: {
            let n = c.u32()? as usize;
            let mut v = Vec::with_capacity(n.min(64));
            for _ in 0..n {
                v.push(c.issue()?);
            }
            v
        },
    };
    c.done().then_some(record)
}

#[cfg(unix)]
fn path(p: &std::path::Path, out: &mut Vec<u8>) {
    use std::os::unix::ffi::OsStrExt;
    bytes(p.as_os_str().as_bytes(), out);
}

#[cfg(not(unix))]
fn path(p: &std::path::Path, out: &mut Vec<u8>) {
    string(&p.to_string_lossy(), out);
}

fn span(s: Span, out: &mut Vec<u8>) {
    u32v(s.line, out);
    u32v(s.column, out);
}

fn literal(l: &Literal, out: &mut Vec<u8>) {
    let seq = |tag: u8, items: &[Literal], out: &mut Vec<u8>| {
        out.push(tag);
        u32v(items.len() as u32, out);
        for i in items {
            literal(i, out);
        }
    };
    match l {
        Literal::None => out.push(0),
        Literal::Str(s) => {
            out.push(1);
            string(s, out);
        }
        Literal::Tuple(items) => seq(2, items, out),
        Literal::List(items) => seq(3, items, out),
        Literal::Other(s) => {
            out.push(4);
            string(s, out);
        }
    }
}

fn assignment(a: &Assignment, out: &mut Vec<u8>) {
    match &a.value {
        Value::Literal { value } => {
            out.push(0);
            literal(value, out);
        }
        Value::NonLiteral { expr } => {
            out.push(1);
            string(expr, out);
        }
    }
    span(a.span, out);
    out.push(u8::from(a.annotated));
}

fn docstring(d: &Docstring, out: &mut Vec<u8>) {
    string(&d.raw, out);
    span(d.span, out);
    string(&d.message, out);
    opt_string(&d.revises, out);
    option(d.revises_line.as_ref(), out, |l, out| u32v(*l, out));
    opt_string(&d.create_date, out);
    opt_string(&d.revision_id, out);
}

fn issue(i: &ReadIssue, out: &mut Vec<u8>) {
    match i {
        ReadIssue::Unparsable { message, span: s } => {
            out.push(0);
            string(message, out);
            span(*s, out);
        }
        ReadIssue::NotUtf8 { span: s } => {
            out.push(1);
            span(*s, out);
        }
        ReadIssue::ConditionalAssignment { name, span: s } => {
            out.push(2);
            string(name, out);
            span(*s, out);
        }
        ReadIssue::Io { message } => {
            out.push(3);
            string(message, out);
        }
    }
}

/// Literals nest; a corrupt cache must not recurse without bound.
const MAX_NESTING: usize = 64;

impl Cursor<'_> {
    #[cfg(unix)]
    fn path(&mut self) -> Option<PathBuf> {
        use std::os::unix::ffi::OsStrExt;
        Some(PathBuf::from(std::ffi::OsStr::from_bytes(self.bytes()?)))
    }

    #[cfg(not(unix))]
    fn path(&mut self) -> Option<PathBuf> {
        self.string().map(PathBuf::from)
    }

    fn span(&mut self) -> Option<Span> {
        Some(Span {
            line: self.u32()?,
            column: self.u32()?,
        })
    }

    fn literal(&mut self) -> Option<Literal> {
        self.literal_at(0)
    }

    fn literal_at(&mut self, depth: usize) -> Option<Literal> {
        if depth > MAX_NESTING {
            return None;
        }
        let seq = |c: &mut Self| -> Option<Vec<Literal>> {
            let n = c.u32()? as usize;
            let mut v = Vec::with_capacity(n.min(64));
            for _ in 0..n {
                v.push(c.literal_at(depth + 1)?);
            }
            Some(v)
        };
        Some(match self.u8()? {
            0 => Literal::None,
            1 => Literal::Str(self.string()?),
            2 => Literal::Tuple(seq(self)?),
            3 => Literal::List(seq(self)?),
            4 => Literal::Other(self.string()?),
            _ => return None,
        })
    }

    fn assignment(&mut self) -> Option<Assignment> {
        let value = match self.u8()? {
            0 => Value::Literal {
                value: self.literal()?,
            },
            1 => Value::NonLiteral {
                expr: self.string()?,
            },
            _ => return None,
        };
        Some(Assignment {
            value,
            span: self.span()?,
            annotated: self.bool()?,
        })
    }

    fn docstring(&mut self) -> Option<Docstring> {
        Some(Docstring {
            raw: self.string()?,
            span: self.span()?,
            message: self.string()?,
            revises: self.option(Self::string)?,
            revises_line: self.option(Self::u32)?,
            create_date: self.option(Self::string)?,
            revision_id: self.option(Self::string)?,
        })
    }

    fn issue(&mut self) -> Option<ReadIssue> {
        Some(match self.u8()? {
            0 => ReadIssue::Unparsable {
                message: self.string()?,
                span: self.span()?,
            },
            1 => ReadIssue::NotUtf8 { span: self.span()? },
            2 => ReadIssue::ConditionalAssignment {
                name: self.string()?,
                span: self.span()?,
            },
            3 => ReadIssue::Io {
                message: self.string()?,
            },
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// Every reader fixture, through both readers, survives the round trip unchanged; and no
    /// truncation of an encoding decodes.
    #[test]
    fn round_trip_every_fixture() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reader");
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            for record in [
                super::super::read::read_source(&path, &bytes),
                super::super::read::read_source_full(&path, &bytes),
            ] {
                let mut buf = Vec::new();
                encode(&record, &mut buf);
                assert_eq!(decode(&buf).as_ref(), Some(&record), "{}", path.display());
                for cut in [0, 1, buf.len() / 2, buf.len() - 1] {
                    assert_eq!(decode(&buf[..cut]), None);
                }
                seen += 1;
            }
        }
        assert!(seen > 20, "only {seen} fixtures read");
    }

    #[test]
    fn round_trip_nested_literals_and_every_issue() {
        let s = Span { line: 7, column: 3 };
        let record = RevisionRecord {
            path: PathBuf::from("/x/y é.py"),
            revision: Some(Assignment {
                value: Value::NonLiteral { expr: "f()".into() },
                span: s,
                annotated: true,
            }),
            down_revision: Some(Assignment {
                value: Value::Literal {
                    value: Literal::Tuple(vec![
                        Literal::Str("a".into()),
                        Literal::List(vec![Literal::None, Literal::Other("1".into())]),
                    ]),
                },
                span: s,
                annotated: false,
            }),
            branch_labels: None,
            depends_on: None,
            docstring: Some(Docstring {
                raw: "r".into(),
                span: s,
                message: "m".into(),
                revises: Some(String::new()),
                revises_line: Some(4),
                create_date: None,
                revision_id: Some("a".into()),
            }),
            issues: vec![
                ReadIssue::Unparsable {
                    message: "m".into(),
                    span: s,
                },
                ReadIssue::NotUtf8 { span: s },
                ReadIssue::ConditionalAssignment {
                    name: "revision".into(),
                    span: s,
                },
                ReadIssue::Io {
                    message: "gone".into(),
                },
            ],
        };
        let mut buf = Vec::new();
        encode(&record, &mut buf);
        assert_eq!(decode(&buf), Some(record));
    }
}
