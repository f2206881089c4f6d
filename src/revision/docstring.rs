//! Splitting a module docstring into what Alembic shows (`Script.doc`) and the informational header
//! lines its template writes (`Revision ID:`, `Revises:`, `Create Date:`).

use super::{Docstring, Span};

/// `value` is the docstring's string value (what `__doc__` holds), `source` the literal as written
/// in the file (used to find the file line of `Revises:`), `span` where that literal starts.
pub(super) fn build(value: String, source: &str, span: Span) -> Docstring {
    let message = doc_message(&value).to_string();
    let [revision_id, revises, create_date] = fields(&value);
    let revises_line = revises
        .as_ref()
        .and_then(|_| revises_line(&value, source, span));
    Docstring {
        message,
        revises,
        revises_line,
        create_date,
        revision_id,
        raw: value,
        span,
    }
}

const LABELS: [&str; 3] = ["Revision ID:", "Revises:", "Create Date:"];

/// The trimmed values of the first line starting with each of [`LABELS`], in one pass.
fn fields(value: &str) -> [Option<String>; 3] {
    let mut found: [Option<String>; 3] = Default::default();
    for line in value.lines() {
        let line = line.trim_start();
        if !line.starts_with(['R', 'C']) {
            continue;
        }
        for (label, slot) in LABELS.iter().zip(found.iter_mut()) {
            if slot.is_none() {
                *slot = line.strip_prefix(label).map(|rest| rest.trim().to_string());
            }
        }
    }
    found
}

/// `re.split("\n\n", doc.strip())[0]`.
fn doc_message(value: &str) -> &str {
    let stripped = value.trim_matches(is_python_space);
    stripped.split("\n\n").next().unwrap_or(stripped)
}

/// Python's `str.isspace`, which unlike Rust's also counts the ASCII separators 0x1C..=0x1F.
fn is_python_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// The file line of the `Revises:` line. Read from the source so that escaped or continued lines
/// inside the literal cannot shift it; falls back to counting the value's lines.
fn revises_line(value: &str, source: &str, span: Span) -> Option<u32> {
    let in_source = source
        .split('\n')
        .position(|line| without_literal_opening(line.trim_start()).starts_with("Revises:"));
    let offset = in_source.or_else(|| {
        value
            .lines()
            .position(|line| line.trim_start().starts_with("Revises:"))
    })?;
    u32::try_from(offset)
        .ok()
        .map(|o| span.line.saturating_add(o))
}

/// `line` without a leading string prefix and quotes (`"""Revises: x` on a literal's first line).
fn without_literal_opening(line: &str) -> &str {
    let prefix = line
        .bytes()
        .take(3)
        .position(|b| b == b'"' || b == b'\'')
        .filter(|&n| line.as_bytes()[..n].iter().all(u8::is_ascii_alphabetic));
    match prefix {
        Some(n) => line[n..].trim_start_matches(['"', '\'']),
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE_DOC: &str = "add users table\n\nRevision ID: 1a2b3c4d5e6f\nRevises: 0f9e8d7c6b5a\nCreate Date: 2024-05-01 12:00:00.000000\n\n";

    #[test]
    fn template_docstring_fields_are_split_out() {
        let source = format!("\"\"\"{TEMPLATE_DOC}\"\"\"");
        let doc = build(
            TEMPLATE_DOC.to_string(),
            &source,
            Span { line: 1, column: 1 },
        );
        assert_eq!(doc.message, "add users table");
        assert_eq!(doc.revision_id.as_deref(), Some("1a2b3c4d5e6f"));
        assert_eq!(doc.revises.as_deref(), Some("0f9e8d7c6b5a"));
        assert_eq!(doc.revises_line, Some(4));
        assert_eq!(
            doc.create_date.as_deref(),
            Some("2024-05-01 12:00:00.000000")
        );
        assert_eq!(doc.raw, TEMPLATE_DOC);
    }

    #[test]
    fn base_revision_has_empty_revises() {
        let value = "init\n\nRevision ID: abc\nRevises: \nCreate Date: x\n";
        let doc = build(value.to_string(), value, Span { line: 3, column: 1 });
        assert_eq!(doc.revises.as_deref(), Some(""));
        assert_eq!(doc.revises_line, Some(6));
    }

    #[test]
    fn message_is_stripped_python_style_and_cut_at_first_blank_line() {
        let doc = build(
            "\u{1f}\n  first line\nsecond\n\nrest".into(),
            "",
            Span::default(),
        );
        assert_eq!(doc.message, "first line\nsecond");
        assert_eq!(doc.revises, None);
        assert_eq!(doc.revises_line, None);
    }

    #[test]
    fn message_of_blank_docstring_is_empty() {
        assert_eq!(build("  \n ".into(), "", Span::default()).message, "");
    }
}
