//! Byte-exact edits of a revision file's source: where an assignment's value is, in the file's
//! own bytes, and how to write a new identifier value in the file's existing style.
//!
//! The reader reports where each value starts as a line and a character column of the decoded
//! text; the same line counting (`\n`, `\r\n`, lone `\r`) over the raw bytes finds that position
//! in the file, and a small scanner finds where the Python expression ends. Everything outside
//! the replaced ranges is kept byte for byte (line endings, comments, annotations, BOM).

use std::ops::Range;

use crate::revision::{Literal, Span, Value};

use super::FixError;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// A revision file's raw bytes, for editing. Only UTF-8 files (with or without a BOM) are
/// edited: in any other encoding the reader's columns do not map to bytes one to one.
pub struct Source<'a> {
    text: &'a str,
    /// Bytes before the text proper (a BOM).
    offset: usize,
}

impl<'a> Source<'a> {
    pub fn new(bytes: &'a [u8], file: &str) -> Result<Self, FixError> {
        let offset = if bytes.starts_with(BOM) { BOM.len() } else { 0 };
        let text = std::str::from_utf8(&bytes[offset..]).map_err(|_| FixError::Edit {
            file: file.to_string(),
            line: None,
            message: "the file is not UTF-8; edit it by hand".to_string(),
        })?;
        Ok(Source { text, offset })
    }

    /// Byte range (in the whole file) of line `line` (1-based), without its line ending.
    pub fn line(&self, line: u32) -> Option<Range<usize>> {
        let b = self.text.as_bytes();
        let mut start = 0;
        for _ in 1..line {
            let end = next_break(b, start)?;
            start = end + if b[end..].starts_with(b"\r\n") { 2 } else { 1 };
        }
        let end = next_break(b, start).unwrap_or(b.len());
        Some(self.offset + start..self.offset + end)
    }

    /// Byte range of the Python expression starting at `span` (the reader's value position).
    pub fn value(&self, span: Span) -> Option<Range<usize>> {
        let line = self.line(span.line)?;
        let in_text = line.start - self.offset;
        let start = in_text
            + self.text[in_text..line.end - self.offset]
                .char_indices()
                .nth(span.column.saturating_sub(1) as usize)
                .map(|(i, _)| i)?;
        let end = expr_end(self.text.as_bytes(), start)?;
        Some(self.offset + start..self.offset + end)
    }

    /// The text of a range returned by [`Source::line`] or [`Source::value`].
    pub fn slice(&self, r: Range<usize>) -> &'a str {
        &self.text[r.start - self.offset..r.end - self.offset]
    }
}

fn next_break(b: &[u8], from: usize) -> Option<usize> {
    b[from..]
        .iter()
        .position(|c| *c == b'\n' || *c == b'\r')
        .map(|i| from + i)
}

/// Where the expression starting at `start` ends (exclusive, trailing blanks excluded): at the
/// first newline, `#` or `;` outside brackets and strings.
fn expr_end(b: &[u8], start: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = start;
    let mut end = start;
    while i < b.len() {
        match b[i] {
            b'\n' | b'\r' | b'#' | b';' if depth == 0 => break,
            b'#' => {
                i = next_break(b, i).unwrap_or(b.len());
                continue;
            }
            b'\\' if matches!(b.get(i + 1), Some(b'\n' | b'\r')) => {
                i += if b[i + 1..].starts_with(b"\r\n") {
                    3
                } else {
                    2
                };
                continue;
            }
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth = depth.checked_sub(1)?,
            q @ (b'\'' | b'"') => {
                i = string_end(b, i, q)?;
                end = i;
                continue;
            }
            _ => {}
        }
        if !b[i].is_ascii_whitespace() {
            end = i + 1;
        }
        i += 1;
    }
    (depth == 0 && end > start).then_some(end)
}

/// The byte after the string literal whose opening quote is at `i`.
fn string_end(b: &[u8], i: usize, q: u8) -> Option<usize> {
    let triple = b.get(i..i + 3) == Some(&[q, q, q][..]);
    let mut j = i + if triple { 3 } else { 1 };
    while j < b.len() {
        match b[j] {
            b'\\' => j += 2,
            c if c == q && (!triple || b.get(j..j + 3) == Some(&[q, q, q][..])) => {
                return Some(j + if triple { 3 } else { 1 });
            }
            b'\n' | b'\r' if !triple => return None,
            _ => j += 1,
        }
    }
    None
}

/// How an identifier value is written: quote character and container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    pub quote: char,
    pub container: Container,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    /// A string for one id, a tuple for several (what Alembic's template writes).
    Scalar,
    Tuple,
    List,
}

impl Style {
    /// The style of an existing value, with `fallback_quote` when it has no string in it.
    pub fn of(value: &Value, text: &str, fallback_quote: char) -> Style {
        let quote = text
            .chars()
            .find(|c| *c == '\'' || *c == '"')
            .unwrap_or(fallback_quote);
        let container = match value {
            Value::Literal {
                value: Literal::Tuple(_),
            } => Container::Tuple,
            Value::Literal {
                value: Literal::List(_),
            } => Container::List,
            _ => Container::Scalar,
        };
        Style { quote, container }
    }

    /// The Python source for these ids (`None` for none).
    pub fn render(&self, ids: &[String]) -> String {
        if ids.is_empty() {
            return "None".to_string();
        }
        let q = self.quote;
        let items: Vec<String> = ids.iter().map(|id| format!("{q}{id}{q}")).collect();
        match (self.container, items.as_slice()) {
            (Container::List, _) => format!("[{}]", items.join(", ")),
            (Container::Scalar, [one]) => one.clone(),
            (_, [one]) => format!("({one},)"),
            _ => format!("({})", items.join(", ")),
        }
    }
}

/// The first quote character used in a string, if any.
pub fn quote_in(text: &str) -> Option<char> {
    text.chars().find(|c| *c == '\'' || *c == '"')
}

/// Applies non-overlapping replacements to `bytes`.
pub fn splice(bytes: &[u8], mut edits: Vec<(Range<usize>, String)>) -> Vec<u8> {
    edits.sort_by_key(|(r, _)| r.start);
    let mut out = Vec::with_capacity(bytes.len() + 64);
    let mut at = 0;
    for (r, text) in edits {
        out.extend_from_slice(&bytes[at..r.start]);
        out.extend_from_slice(text.as_bytes());
        at = r.end;
    }
    out.extend_from_slice(&bytes[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value_at(src: &str, line: u32, column: u32) -> String {
        let s = Source::new(src.as_bytes(), "t.py").unwrap();
        let r = s.value(Span { line, column }).unwrap();
        src[r].to_string()
    }

    #[test]
    fn finds_values_of_every_shape() {
        assert_eq!(value_at("x = 'a'  # c\n", 1, 5), "'a'");
        assert_eq!(value_at("x: str = \"a\"\r\ny = 1\r\n", 1, 10), "\"a\"");
        assert_eq!(
            value_at("x = (\n  'a',  # one\n  'b',\n)\nz = 2\n", 1, 5),
            "(\n  'a',  # one\n  'b',\n)"
        );
        assert_eq!(value_at("x = None; y = 2\n", 1, 5), "None");
        assert_eq!(value_at("x = ['a#', \"b)\"]\n", 1, 5), "['a#', \"b)\"]");
        assert_eq!(value_at("a\rx = 'q'\r", 2, 5), "'q'");
    }

    #[test]
    fn bom_and_unicode_columns() {
        let src = "\u{feff}é = 'x'\n";
        let s = Source::new(src.as_bytes(), "t.py").unwrap();
        let r = s.value(Span { line: 1, column: 5 }).unwrap();
        assert_eq!(&src[r], "'x'");
    }

    #[test]
    fn renders_in_the_existing_style() {
        let ids = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let scalar = Style {
            quote: '"',
            container: Container::Scalar,
        };
        assert_eq!(scalar.render(&ids(&["a"])), "\"a\"");
        assert_eq!(scalar.render(&ids(&["a", "b"])), "(\"a\", \"b\")");
        assert_eq!(scalar.render(&[]), "None");
        let list = Style {
            quote: '\'',
            container: Container::List,
        };
        assert_eq!(list.render(&ids(&["a"])), "['a']");
        let tuple = Style {
            quote: '\'',
            container: Container::Tuple,
        };
        assert_eq!(tuple.render(&ids(&["a"])), "('a',)");
    }
}
