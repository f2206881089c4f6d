//! Reading a revision file into a [`RevisionRecord`].
//!
//! The bytes are decoded the way Python's tokenizer would (BOM, PEP 263 cookie, universal
//! newlines), then handed to the lexer-level fast path ([`super::fast`]), which understands the
//! shape Alembic's templates generate and gives up on anything else; the full parser
//! ([`super::parse`]) handles whatever the fast path declines. Both produce the same record for
//! any file the full parser accepts, which the tests check on every fixture.

use std::borrow::Cow;
use std::path::Path;

use super::{Assignment, Docstring, ReadIssue, RevisionRecord, Span};

/// Reads and parses one revision file. Never fails: an unreadable file is a record with an
/// [`ReadIssue::Io`] and nothing else.
pub fn read_file(path: &Path) -> RevisionRecord {
    match with_file_bytes(path, |bytes| read_source(path, bytes)) {
        Ok(record) => record,
        Err(e) => RevisionRecord {
            path: path.to_path_buf(),
            revision: None,
            down_revision: None,
            branch_labels: None,
            depends_on: None,
            docstring: None,
            issues: vec![ReadIssue::Io {
                message: e.to_string(),
            }],
        },
    }
}

/// Like [`read_file`], from bytes already in memory (a git object, a test). `path` is only stored
/// and used in messages.
/// Calls `f` with the file's bytes, read into a buffer each thread reuses from file to file with
/// plain `read` calls: no allocation and no `statx` per file, which on 10,000 files is a good
/// part of the whole run.
fn with_file_bytes<T>(path: &Path, f: impl FnOnce(&[u8]) -> T) -> std::io::Result<T> {
    use std::cell::RefCell;
    use std::io::{ErrorKind, Read};
    thread_local! {
        static BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    }
    BUF.with(|buf| {
        let mut buf = buf.borrow_mut();
        if buf.is_empty() {
            buf.resize(64 * 1024, 0);
        }
        let mut file = std::fs::File::open(path)?;
        let mut len = 0;
        loop {
            if len == buf.len() {
                let grown = buf.len() * 2;
                buf.resize(grown, 0);
            }
            match file.read(&mut buf[len..]) {
                Ok(0) => break,
                Ok(n) => len += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(f(&buf[..len]))
    })
}

pub fn read_source(path: &Path, bytes: &[u8]) -> RevisionRecord {
    read_with(path, bytes, true)
}

/// Like [`read_source`] but always runs the full Python parser. Slower; the difference is that a
/// syntax error anywhere in the file (say, inside `upgrade()`) is reported even when the
/// identifiers themselves are plainly readable, which the fast path does not check.
pub fn read_source_full(path: &Path, bytes: &[u8]) -> RevisionRecord {
    read_with(path, bytes, false)
}

fn read_with(path: &Path, bytes: &[u8], allow_fast: bool) -> RevisionRecord {
    let (text, decode_issue) = decode(bytes);
    let mut extract = allow_fast
        .then(|| super::fast::read(&text))
        .flatten()
        .unwrap_or_else(|| super::parse::read(&text, &path.to_string_lossy()));
    if let Some(issue) = decode_issue {
        extract.issues.insert(0, issue);
    }
    RevisionRecord {
        path: path.to_path_buf(),
        revision: extract.revision,
        down_revision: extract.down_revision,
        branch_labels: extract.branch_labels,
        depends_on: extract.depends_on,
        docstring: extract.docstring,
        issues: extract.issues,
    }
}

/// What either reading path extracts from decoded source text.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct Extract {
    pub revision: Option<Assignment>,
    pub down_revision: Option<Assignment>,
    pub branch_labels: Option<Assignment>,
    pub depends_on: Option<Assignment>,
    pub docstring: Option<Docstring>,
    pub issues: Vec<ReadIssue>,
}

/// The module attributes Alembic reads, in the order `slot` indexes them.
pub(super) const IDENT_NAMES: [&str; 4] =
    ["revision", "down_revision", "branch_labels", "depends_on"];

pub(super) fn ident_slot(name: &str) -> Option<usize> {
    IDENT_NAMES.iter().position(|n| *n == name)
}

impl Extract {
    pub(super) fn slot_mut(&mut self, slot: usize) -> &mut Option<Assignment> {
        match slot {
            0 => &mut self.revision,
            1 => &mut self.down_revision,
            2 => &mut self.branch_labels,
            _ => &mut self.depends_on,
        }
    }
}

/// Maps byte offsets of the decoded text to 1-based line / character columns.
pub(super) struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub(super) fn new(src: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(
            src.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i + 1),
        );
        LineIndex { starts }
    }

    pub(super) fn span(&self, src: &str, offset: usize) -> Span {
        let mut offset = offset.min(src.len());
        while !src.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.starts.partition_point(|s| *s <= offset).max(1);
        let start = self.starts[line - 1];
        span_in_line(src, line, start, offset)
    }
}

/// The span of `offset` on `line`, which starts at byte `line_start`.
pub(super) fn span_in_line(src: &str, line: usize, line_start: usize, offset: usize) -> Span {
    let prefix = src.get(line_start..offset).unwrap_or("");
    let column = if prefix.is_ascii() {
        prefix.len()
    } else {
        prefix.chars().count()
    };
    Span {
        line: to_u32(line),
        column: to_u32(column + 1),
    }
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Decodes source bytes like CPython's tokenizer: a UTF-8 BOM is dropped, a PEP 263 cookie naming
/// latin-1 or cp1252 is honoured, anything else is UTF-8 (decoded lossily, with an issue, when
/// invalid), and `\r\n` / lone `\r` become `\n` (which is what string values see too).
pub(super) fn decode(bytes: &[u8]) -> (Cow<'_, str>, Option<ReadIssue>) {
    let bytes = bytes.strip_prefix(BOM).unwrap_or(bytes);
    let (text, issue) = match cookie_codec(bytes) {
        Some(Codec::Latin1) => (
            Cow::Owned(bytes.iter().map(|b| char::from(*b)).collect()),
            None,
        ),
        Some(Codec::Cp1252) => decode_cp1252(bytes),
        None => match std::str::from_utf8(bytes) {
            Ok(s) => (Cow::Borrowed(s), None),
            Err(e) => {
                let span = byte_span(bytes, e.valid_up_to());
                (
                    Cow::Owned(String::from_utf8_lossy(bytes).into_owned()),
                    Some(ReadIssue::NotUtf8 { span }),
                )
            }
        },
    };
    (normalize_newlines(text), issue)
}

fn normalize_newlines(text: Cow<'_, str>) -> Cow<'_, str> {
    // Branch-free chunks vectorize; this runs over every file.
    let has_cr = text
        .as_bytes()
        .chunks(64)
        .any(|chunk| chunk.iter().fold(false, |found, b| found | (*b == b'\r')));
    if !has_cr {
        return text;
    }
    Cow::Owned(text.replace("\r\n", "\n").replace('\r', "\n"))
}

/// Line (counting `\n`, `\r\n` and lone `\r`) and column of byte `at`, whose prefix is valid UTF-8.
fn byte_span(bytes: &[u8], at: usize) -> Span {
    let prefix = &bytes[..at.min(bytes.len())];
    let mut line = 1usize;
    let mut line_start = 0;
    for (i, b) in prefix.iter().enumerate() {
        let ends_line = *b == b'\n' || (*b == b'\r' && prefix.get(i + 1) != Some(&b'\n'));
        if ends_line {
            line += 1;
            line_start = i + 1;
        }
    }
    let column = std::str::from_utf8(&prefix[line_start..]).map_or(0, |s| s.chars().count());
    Span {
        line: to_u32(line),
        column: to_u32(column + 1),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Codec {
    Latin1,
    Cp1252,
}

/// The codec named by a PEP 263 cookie on line 1 or 2, when it is one migscope decodes itself.
/// Other names (utf-8, ascii, ...) read as UTF-8.
fn cookie_codec(bytes: &[u8]) -> Option<Codec> {
    let mut lines = bytes.split(|b| *b == b'\n' || *b == b'\r');
    let first = lines.next()?;
    if let Some(name) = cookie_name(first) {
        return codec_named(&name);
    }
    // CPython only looks at line 2 when line 1 is blank or a comment.
    let first_trimmed = first.trim_ascii_start();
    if !first_trimmed.is_empty() && !first_trimmed.starts_with(b"#") {
        return None;
    }
    // A `\r\n` splits into the line and an empty piece; skip that piece.
    let second =
        if bytes.get(first.len()) == Some(&b'\r') && bytes.get(first.len() + 1) == Some(&b'\n') {
            lines.nth(1)?
        } else {
            lines.next()?
        };
    codec_named(&cookie_name(second)?)
}

/// `^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)`
fn cookie_name(line: &[u8]) -> Option<String> {
    let start = line
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\x0c'))?;
    let line = &line[start..];
    if line.first() != Some(&b'#') {
        return None;
    }
    let mut from = 0;
    while let Some(found) = find(&line[from..], b"coding") {
        let after = from + found + b"coding".len();
        if matches!(line.get(after), Some(b':' | b'=')) {
            let rest = &line[after + 1..];
            let rest = &rest[rest
                .iter()
                .take_while(|b| matches!(b, b' ' | b'\t'))
                .count()..];
            let len = rest
                .iter()
                .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
                .count();
            return (len > 0).then(|| String::from_utf8_lossy(&rest[..len]).into_owned());
        }
        from = after;
    }
    None
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn codec_named(name: &str) -> Option<Codec> {
    let name = name.to_ascii_lowercase().replace('_', "-");
    let base = ["latin-1", "iso-8859-1", "iso-latin-1"]
        .into_iter()
        .find(|b| name == *b || name.starts_with(&format!("{b}-")));
    if base.is_some() {
        return Some(Codec::Latin1);
    }
    match name.as_str() {
        "latin1" | "latin" | "l1" | "iso8859-1" | "8859" | "cp819" | "iso-ir-100"
        | "csisolatin1" => Some(Codec::Latin1),
        "cp1252" | "windows-1252" | "1252" => Some(Codec::Cp1252),
        _ => None,
    }
}

/// cp1252's 0x80..=0x9F; `None` marks the bytes Python's codec rejects.
const CP1252_HIGH: [Option<char>; 32] = [
    Some('\u{20AC}'),
    None,
    Some('\u{201A}'),
    Some('\u{0192}'),
    Some('\u{201E}'),
    Some('\u{2026}'),
    Some('\u{2020}'),
    Some('\u{2021}'),
    Some('\u{02C6}'),
    Some('\u{2030}'),
    Some('\u{0160}'),
    Some('\u{2039}'),
    Some('\u{0152}'),
    None,
    Some('\u{017D}'),
    None,
    None,
    Some('\u{2018}'),
    Some('\u{2019}'),
    Some('\u{201C}'),
    Some('\u{201D}'),
    Some('\u{2022}'),
    Some('\u{2013}'),
    Some('\u{2014}'),
    Some('\u{02DC}'),
    Some('\u{2122}'),
    Some('\u{0161}'),
    Some('\u{203A}'),
    Some('\u{0153}'),
    None,
    Some('\u{017E}'),
    Some('\u{0178}'),
];

fn decode_cp1252(bytes: &[u8]) -> (Cow<'static, str>, Option<ReadIssue>) {
    let mut out = String::with_capacity(bytes.len());
    let mut issue = None;
    for (i, b) in bytes.iter().enumerate() {
        let c = match b {
            0x80..=0x9F => CP1252_HIGH[usize::from(b - 0x80)],
            _ => Some(char::from(*b)),
        };
        out.push(c.unwrap_or_else(|| {
            if issue.is_none() {
                issue = Some(ReadIssue::NotUtf8 {
                    span: byte_span(bytes, i),
                });
            }
            char::REPLACEMENT_CHARACTER
        }));
    }
    (Cow::Owned(out), issue)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bom_is_dropped() {
        let (text, issue) = decode(b"\xEF\xBB\xBFrevision = 'a'\n");
        assert_eq!(text, "revision = 'a'\n");
        assert_eq!(issue, None);
    }

    #[test]
    fn crlf_and_lone_cr_become_lf() {
        let (text, _) = decode(b"a = 1\r\nb = 2\rc = 3\n");
        assert_eq!(text, "a = 1\nb = 2\nc = 3\n");
    }

    #[test]
    fn invalid_utf8_is_decoded_lossily_with_its_line() {
        let (text, issue) = decode(b"a = 1\r\nb = 'x\xff'\n");
        assert_eq!(text, "a = 1\nb = 'x\u{FFFD}'\n");
        assert_eq!(
            issue,
            Some(ReadIssue::NotUtf8 {
                span: Span { line: 2, column: 7 }
            })
        );
    }

    #[test]
    fn latin1_cookie_is_honoured() {
        let (text, issue) = decode(b"# -*- coding: latin-1 -*-\nm = 'caf\xe9'\n");
        assert_eq!(text, "# -*- coding: latin-1 -*-\nm = 'caf\u{e9}'\n");
        assert_eq!(issue, None);
    }

    #[test]
    fn cookie_on_the_second_line_counts_after_a_comment_only() {
        let (text, issue) = decode(
            b"#!/usr/bin/env python\r\n# vim: set fileencoding=cp1252 :\r\nm = '\x93q\x94'\r\n",
        );
        assert_eq!(issue, None);
        assert!(text.ends_with("m = '\u{201C}q\u{201D}'\n"));
        let (_, issue) = decode(b"x = 1\n# coding: latin-1\nm = '\xe9'\n");
        assert!(matches!(issue, Some(ReadIssue::NotUtf8 { .. })));
    }

    #[test]
    fn unreadable_file_is_an_io_issue() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("missing.py");
        let record = read_file(&path);
        assert_eq!(record.path, path);
        assert!(matches!(record.issues.as_slice(), [ReadIssue::Io { .. }]));
        assert_eq!(record.revision, None);
    }

    #[test]
    fn file_on_disk_is_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("abc_x.py");
        std::fs::write(&path, "revision = 'abc'\ndown_revision = None\n").expect("write");
        let record = read_file(&path);
        assert!(record.issues.is_empty());
        assert_eq!(
            record.normalized().map(|n| n.id).ok().as_deref(),
            Some("abc")
        );
    }

    #[test]
    fn non_utf8_file_still_yields_ids_with_an_issue() {
        let bytes = b"\"\"\"caf\xe9\"\"\"\nrevision = 'r'\ndown_revision = None\n";
        for record in [
            read_source(Path::new("x.py"), bytes),
            read_source_full(Path::new("x.py"), bytes),
        ] {
            assert_eq!(
                record.issues,
                [ReadIssue::NotUtf8 {
                    span: Span { line: 1, column: 7 }
                }]
            );
            assert_eq!(
                record.docstring.map(|d| d.raw),
                Some("caf\u{FFFD}".to_string())
            );
            assert!(record.revision.is_some());
        }
    }

    /// What each fixture reads as, pinned for review (the agreement test in `fast` checks that
    /// both paths give these same records).
    #[test]
    fn fixtures_read_as_recorded() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reader");
        let mut names: Vec<_> = std::fs::read_dir(&dir)
            .expect("fixture directory")
            .map(|e| e.expect("fixture entry").file_name())
            .collect();
        names.sort();
        let mut report = String::new();
        for name in names {
            let bytes = std::fs::read(dir.join(&name)).expect("fixture bytes");
            let record = read_source(Path::new(&name), &bytes);
            report.push_str(&format!("== {} ==\n{record:#?}\n", name.to_string_lossy()));
        }
        insta::assert_snapshot!("reader_fixtures", report);
    }

    #[test]
    fn random_bytes_never_panic() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        // Biased towards Python's structural characters so the parsers get past the first token.
        const ALPHABET: &[u8] = b"revision_down =:'\"()[]{},#\\\n\r\t abcNone\xff\xc3\xa9\x00\x0c";
        for _ in 0..2000 {
            let len = rng.random_range(0..200);
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    if rng.random_bool(0.1) {
                        rng.random()
                    } else {
                        ALPHABET[rng.random_range(0..ALPHABET.len())]
                    }
                })
                .collect();
            let _ = read_source(Path::new("r.py"), &bytes);
            let _ = read_source_full(Path::new("r.py"), &bytes);
        }
    }

    #[test]
    fn line_index_counts_characters() {
        let src = "a\n\u{e9}\u{e9} = 1\n";
        let index = LineIndex::new(src);
        assert_eq!(index.span(src, 0), Span { line: 1, column: 1 });
        assert_eq!(index.span(src, 2), Span { line: 2, column: 1 });
        assert_eq!(index.span(src, 7), Span { line: 2, column: 4 });
        assert_eq!(index.span(src, src.len()), Span { line: 3, column: 1 });
    }
}
