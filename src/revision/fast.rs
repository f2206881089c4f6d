//! The fast path: one lexer-level pass over the source that reads the shape Alembic's templates
//! generate (`name = <literal>` / `name: annotation = <literal>` at column 0, a string docstring)
//! without building a syntax tree.
//!
//! It is deliberately narrow. It returns `None`, and the full parser takes over, as soon as it sees
//! anything it is not certain to read exactly as the full path would: one of the four identifier
//! names used in any other way (anywhere, even inside a function), a value that is not a plain
//! literal (names, calls, `+`, numbers...), `;`, tuple targets, an escape it does not decode, an
//! f-string with a replacement field, non-ASCII outside strings and comments, or anything lexically
//! broken (unterminated strings, unbalanced brackets, unexpected indentation).
//!
//! What it does not do is check Python's grammar: a file whose tokens are fine but whose grammar
//! is not (say `def f(:` inside the file) reads as if it were valid, without the `Unparsable`
//! issue the full path reports.

use super::read::{Extract, IDENT_NAMES, span_in_line};
use super::{Assignment, Literal, Value};

/// Reads decoded, newline-normalized source, or `None` when the full parser must decide.
pub(super) fn read(src: &str) -> Option<Extract> {
    let mut lx = Lexer {
        src,
        b: src.as_bytes(),
        pos: 0,
        line: 1,
        line_start: 0,
        stack: [0; MAX_DEPTH],
        depth: 0,
    };
    let mut out = Extract::default();
    let mut first_statement = true;
    // The last top-level line opened a block (`def f():`), so indented lines must follow.
    let mut block_open = false;
    let mut in_block = false;
    while lx.next_content_line()? {
        if matches!(lx.peek(), Some(b' ' | b'\t')) {
            if !(block_open || in_block) {
                return None;
            }
            in_block = true;
            block_open = false;
            lx.block_line()?;
            continue;
        }
        if block_open {
            return None;
        }
        in_block = false;
        if std::mem::take(&mut first_statement) && lx.at_string() {
            let start = lx.mark();
            let value = lx.strings(false)?;
            let end = lx.pos;
            lx.end_of_statement()?;
            let source = &src[start.offset..end];
            out.docstring = Some(super::docstring::build(value, source, lx.span(start)));
            continue;
        }
        if let Some(slot) = lx.identifier_slot() {
            lx.assignment(slot, &mut out)?;
            continue;
        }
        block_open = lx.tokens(Mode::Line)? == b':';
    }
    Some(out)
}

/// Deeper nesting than this is not something a revision file's identifiers need.
const MAX_DEPTH: usize = 32;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// A whole logical line, consumed through its newline.
    Line,
    /// An annotation, consumed through the `=` that ends it.
    Annotation,
}

/// A position together with the line it is on, so spans need no second pass.
#[derive(Clone, Copy)]
struct Mark {
    offset: usize,
    line: usize,
    line_start: usize,
}

struct StrToken {
    content_start: usize,
    content_end: usize,
    raw: bool,
    escaped: bool,
}

struct Lexer<'a> {
    src: &'a str,
    b: &'a [u8],
    pos: usize,
    line: usize,
    line_start: usize,
    stack: [u8; MAX_DEPTH],
    depth: usize,
}

// Byte classes for the token loop.
const OTHER: u8 = 0;
const IDENT: u8 = 1;
const DIGIT: u8 = 2;
const QUOTE: u8 = 3;
const HASH: u8 = 4;
const NEWLINE: u8 = 5;
const BACKSLASH: u8 = 6;
const OPEN: u8 = 7;
const CLOSE: u8 = 8;
const SPACE: u8 = 9;
/// Bytes that never appear outside strings in code the fast path accepts.
const BAD: u8 = 10;

const CLASS: [u8; 256] = {
    let mut t = [BAD; 256];
    let mut i = 0x20;
    while i < 0x7f {
        t[i] = OTHER;
        i += 1;
    }
    let mut i = 0;
    while i < 26 {
        t[b'a' as usize + i] = IDENT;
        t[b'A' as usize + i] = IDENT;
        i += 1;
    }
    t[b'_' as usize] = IDENT;
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = DIGIT;
        i += 1;
    }
    t[b'"' as usize] = QUOTE;
    t[b'\'' as usize] = QUOTE;
    t[b'#' as usize] = HASH;
    t[b'\n' as usize] = NEWLINE;
    t[b'\\' as usize] = BACKSLASH;
    t[b'(' as usize] = OPEN;
    t[b'[' as usize] = OPEN;
    t[b'{' as usize] = OPEN;
    t[b')' as usize] = CLOSE;
    t[b']' as usize] = CLOSE;
    t[b'}' as usize] = CLOSE;
    t[b' ' as usize] = SPACE;
    t[b'\t' as usize] = SPACE;
    t[b'$' as usize] = BAD;
    t[b'?' as usize] = BAD;
    t[b'`' as usize] = BAD;
    t
};

const IS_IDENT: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = CLASS[i] == IDENT || CLASS[i] == DIGIT;
        i += 1;
    }
    t
};

/// Bytes [`Lexer::block_line`] must look at; it skips everything else.
const STOP: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = !matches!(CLASS[i], OTHER | IDENT | DIGIT | SPACE);
        i += 1;
    }
    // First letters of the four names.
    t[b'r' as usize] = true;
    t[b'd' as usize] = true;
    t[b'b' as usize] = true;
    t
};

/// Whether one of the four names starts at `pos` as a whole identifier.
fn name_at(b: &[u8], pos: usize) -> bool {
    if pos > 0 && IS_IDENT[usize::from(b[pos - 1])] {
        return false;
    }
    let rest = &b[pos..];
    let len = match rest[0] {
        b'r' if rest.starts_with(b"revision") => 8,
        b'd' if rest.starts_with(b"down_revision") => 13,
        b'd' if rest.starts_with(b"depends_on") => 10,
        b'b' if rest.starts_with(b"branch_labels") => 13,
        _ => return false,
    };
    !rest.get(len).is_some_and(|c| IS_IDENT[usize::from(*c)])
}

/// The length of the string prefix just before the quote at `pos`; `None` when an identifier
/// that is not a prefix touches the quote.
fn prefix_before(b: &[u8], pos: usize) -> Option<usize> {
    let run = b[..pos]
        .iter()
        .rev()
        .take(3)
        .take_while(|c| IS_IDENT[usize::from(**c)])
        .count();
    string_prefix(&b[pos - run..pos]).map(|_| run)
}

fn is_ident_byte(b: u8) -> bool {
    IS_IDENT[usize::from(b)]
}

fn is_quote(b: u8) -> bool {
    b == b'"' || b == b'\''
}

/// Python's string prefixes, lower-cased: (raw, bytes, f-string).
fn string_prefix(ident: &[u8]) -> Option<(bool, bool, bool)> {
    let mut lower = [0u8; 2];
    if ident.len() > 2 {
        return None;
    }
    for (l, b) in lower.iter_mut().zip(ident) {
        *l = b.to_ascii_lowercase();
    }
    match &lower[..ident.len()] {
        b"" | b"u" => Some((false, false, false)),
        b"r" => Some((true, false, false)),
        b"b" => Some((false, true, false)),
        b"br" | b"rb" => Some((true, true, false)),
        b"f" => Some((false, false, true)),
        b"fr" | b"rf" => Some((true, false, true)),
        _ => None,
    }
}

fn ident_slot(ident: &[u8]) -> Option<usize> {
    // Cheap rejection first: this runs for every identifier in the file.
    if !matches!(ident.len(), 8 | 10 | 13) || !matches!(ident[0], b'r' | b'd' | b'b') {
        return None;
    }
    IDENT_NAMES.iter().position(|n| n.as_bytes() == ident)
}

impl Lexer<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn peek_at(&self, n: usize) -> Option<u8> {
        self.b.get(self.pos + n).copied()
    }

    fn mark(&self) -> Mark {
        Mark {
            offset: self.pos,
            line: self.line,
            line_start: self.line_start,
        }
    }

    fn span(&self, m: Mark) -> super::Span {
        span_in_line(self.src, m.line, m.line_start, m.offset)
    }

    /// Consumes the `\n` at `pos`.
    fn newline(&mut self) {
        self.pos += 1;
        self.line += 1;
        self.line_start = self.pos;
    }

    /// Skips blank and comment-only lines; leaves `pos` at the start of the next line with code.
    /// `Some(false)` at the end of the file.
    fn next_content_line(&mut self) -> Option<bool> {
        loop {
            let mut i = self.pos;
            while matches!(self.b.get(i), Some(b' ' | b'\t')) {
                i += 1;
            }
            match self.b.get(i) {
                None => return Some(false),
                Some(b'\n') => {
                    self.pos = i;
                    self.newline();
                }
                Some(b'#') => {
                    self.pos = memchr_newline(self.b, i);
                    if self.pos < self.b.len() {
                        self.newline();
                    }
                }
                // A form feed resets indentation and a leading backslash joins lines: rare enough
                // to leave to the parser.
                Some(b'\x0c' | b'\\') => return None,
                Some(_) => return Some(true),
            }
        }
    }

    fn at_string(&self) -> bool {
        let ident_len = self.b[self.pos..]
            .iter()
            .take(3)
            .take_while(|b| b.is_ascii_alphabetic())
            .count();
        self.peek_at(ident_len).is_some_and(is_quote)
            && string_prefix(&self.b[self.pos..self.pos + ident_len]).is_some()
    }

    /// One of the four names starting the line (and not merely a prefix of a longer name).
    fn identifier_slot(&self) -> Option<usize> {
        let len = self.b[self.pos..]
            .iter()
            .take_while(|b| is_ident_byte(**b))
            .count();
        ident_slot(&self.b[self.pos..self.pos + len])
    }

    /// Skips spaces, tabs and backslash continuations, and inside brackets also newlines and
    /// comments.
    fn skip_ws(&mut self, in_brackets: bool) {
        while let Some(b) = self.peek() {
            match b {
                b' ' | b'\t' => self.pos += 1,
                // A continuation must continue into something: at the end of the file it is an error.
                b'\\' if self.peek_at(1) == Some(b'\n') && self.peek_at(2).is_some() => {
                    self.pos += 1;
                    self.newline();
                }
                b'\n' if in_brackets => self.newline(),
                b'#' if in_brackets => self.pos = memchr_newline(self.b, self.pos),
                _ => return,
            }
        }
    }

    /// After a statement: an optional comment, then the end of the line or file.
    fn end_of_statement(&mut self) -> Option<()> {
        self.skip_ws(false);
        if self.peek() == Some(b'#') {
            self.pos = memchr_newline(self.b, self.pos);
        }
        match self.peek() {
            None => Some(()),
            Some(b'\n') => {
                self.newline();
                Some(())
            }
            Some(_) => None,
        }
    }

    /// `name = value` or `name: annotation = value` at the start of a line, `name` being one of
    /// the four identifiers.
    fn assignment(&mut self, slot: usize, out: &mut Extract) -> Option<()> {
        self.pos += IDENT_NAMES[slot].len();
        self.skip_ws(false);
        let annotated = match (self.peek(), self.peek_at(1)) {
            (Some(b'='), next) if next != Some(b'=') => {
                self.pos += 1;
                false
            }
            (Some(b':'), _) => {
                self.pos += 1;
                self.tokens(Mode::Annotation)?;
                true
            }
            _ => return None,
        };
        let (value, start) = self.value()?;
        self.end_of_statement()?;
        *out.slot_mut(slot) = Some(Assignment {
            value: Value::Literal { value },
            span: self.span(start),
            annotated,
        });
        Some(())
    }

    /// A literal, possibly an unparenthesized tuple; its start is where the full parser's
    /// expression node starts.
    fn value(&mut self) -> Option<(Literal, Mark)> {
        let (first, start) = self.atom(false, 0)?;
        self.skip_ws(false);
        if self.peek() != Some(b',') {
            return Some((first, start));
        }
        let mut items = vec![first];
        while self.peek() == Some(b',') {
            self.pos += 1;
            self.skip_ws(false);
            if matches!(self.peek(), None | Some(b'\n' | b'#')) {
                break;
            }
            items.push(self.atom(false, 0)?.0);
            self.skip_ws(false);
        }
        Some((Literal::Tuple(items), start))
    }

    fn atom(&mut self, in_brackets: bool, nesting: usize) -> Option<(Literal, Mark)> {
        if nesting > MAX_DEPTH {
            return None;
        }
        self.skip_ws(in_brackets);
        let start = self.mark();
        match self.peek()? {
            b'(' => {
                self.pos += 1;
                self.skip_ws(true);
                if self.peek() == Some(b')') {
                    self.pos += 1;
                    return Some((Literal::Tuple(Vec::new()), start));
                }
                let (first, inner) = self.atom(true, nesting + 1)?;
                self.skip_ws(true);
                match self.peek()? {
                    // Redundant parentheses are not part of the expression's range.
                    b')' => {
                        self.pos += 1;
                        Some((first, inner))
                    }
                    b',' => {
                        let items = self.sequence_rest(first, b')', nesting)?;
                        Some((Literal::Tuple(items), start))
                    }
                    _ => None,
                }
            }
            b'[' => {
                self.pos += 1;
                self.skip_ws(true);
                if self.peek() == Some(b']') {
                    self.pos += 1;
                    return Some((Literal::List(Vec::new()), start));
                }
                let (first, _) = self.atom(true, nesting + 1)?;
                self.skip_ws(true);
                let items = match self.peek()? {
                    b']' => {
                        self.pos += 1;
                        vec![first]
                    }
                    b',' => self.sequence_rest(first, b']', nesting)?,
                    _ => return None,
                };
                Some((Literal::List(items), start))
            }
            b'N' if self.b[self.pos..].starts_with(b"None")
                && !self.peek_at(4).is_some_and(is_ident_byte) =>
            {
                self.pos += 4;
                Some((Literal::None, start))
            }
            _ if self.at_string() => Some((Literal::Str(self.strings(in_brackets)?), start)),
            _ => None,
        }
    }

    /// The rest of a bracketed sequence whose first item has been read; `pos` is at a `,`.
    fn sequence_rest(&mut self, first: Literal, close: u8, nesting: usize) -> Option<Vec<Literal>> {
        let mut items = vec![first];
        loop {
            match self.peek()? {
                b',' => {
                    self.pos += 1;
                    self.skip_ws(true);
                    if self.peek() == Some(close) {
                        self.pos += 1;
                        return Some(items);
                    }
                    items.push(self.atom(true, nesting + 1)?.0);
                    self.skip_ws(true);
                }
                c if c == close => {
                    self.pos += 1;
                    return Some(items);
                }
                _ => return None,
            }
        }
    }

    /// Adjacent string literals (implicit concatenation), all plain `str`, decoded and joined.
    fn strings(&mut self, in_brackets: bool) -> Option<String> {
        let mut value = String::new();
        loop {
            let tok = self.string_token()?;
            let content = &self.src[tok.content_start..tok.content_end];
            if tok.raw || !tok.escaped {
                value.push_str(content);
            } else {
                unescape(content, &mut value)?;
            }
            self.skip_ws(in_brackets);
            if !self.at_string() {
                return Some(value);
            }
        }
    }

    /// A string token at `pos` (prefix included) that is a plain `str`; `None` for bytes,
    /// f-strings and anything unterminated.
    fn string_token(&mut self) -> Option<StrToken> {
        let (raw, bytes, fstring, content_start, triple, end) = self.scan_string()?;
        if bytes {
            return None;
        }
        let quote_len = if triple { 3 } else { 1 };
        let content_end = end - quote_len;
        let content = &self.b[content_start..content_end];
        // Even without fields an f-string is not a constant to the parser.
        if fstring {
            return None;
        }
        Some(StrToken {
            content_start,
            content_end,
            raw,
            escaped: content.contains(&b'\\'),
        })
    }

    /// Scans the string token at `pos`, leaving `pos` after it. Returns its flags, where its
    /// content starts, whether it is triple-quoted, and where it ends.
    fn scan_string(&mut self) -> Option<(bool, bool, bool, usize, bool, usize)> {
        let prefix_len = self.b[self.pos..]
            .iter()
            .take_while(|b| b.is_ascii_alphabetic())
            .count();
        let (raw, bytes, fstring) = string_prefix(&self.b[self.pos..self.pos + prefix_len])?;
        self.pos += prefix_len;
        let q = self.peek()?;
        let triple = self.peek_at(1) == Some(q) && self.peek_at(2) == Some(q);
        self.pos += if triple { 3 } else { 1 };
        let content_start = self.pos;
        let b = self.b;
        let mut pos = self.pos;
        loop {
            while pos < b.len() && !matches!(b[pos], b'\\' | b'\n' | 0) && b[pos] != q {
                pos += 1;
            }
            match *b.get(pos)? {
                b'\\' => match *b.get(pos + 1)? {
                    0 => return None,
                    b'\n' => {
                        pos += 2;
                        self.line += 1;
                        self.line_start = pos;
                    }
                    _ => pos += 2,
                },
                b'\n' => {
                    if !triple {
                        return None;
                    }
                    pos += 1;
                    self.line += 1;
                    self.line_start = pos;
                }
                0 => return None,
                _ => {
                    if !triple {
                        pos += 1;
                        break;
                    }
                    if b.get(pos + 1) == Some(&q) && b.get(pos + 2) == Some(&q) {
                        pos += 3;
                        break;
                    }
                    pos += 1;
                }
            }
        }
        self.pos = pos;
        Some((raw, bytes, fstring, content_start, triple, self.pos))
    }

    /// Scans tokens (strings, comments, brackets, continuations) without interpreting them,
    /// refusing any mention of the four names. `Mode::Line` stops after the logical line's
    /// newline and returns its last significant byte; `Mode::Annotation` stops after the `=`.
    fn tokens(&mut self, mode: Mode) -> Option<u8> {
        // `pos` lives in a local in this loop, the hottest in the reader; `self.pos` is synced
        // around the calls that need it.
        let b = self.b;
        let mut pos = self.pos;
        let mut last = b'\n';
        while let Some(&c) = b.get(pos) {
            match CLASS[usize::from(c)] {
                SPACE => pos += 1,
                IDENT => {
                    let start = pos;
                    pos += 1;
                    while b.get(pos).is_some_and(|c| IS_IDENT[usize::from(*c)]) {
                        pos += 1;
                    }
                    let ident = &b[start..pos];
                    if b.get(pos).is_some_and(|c| is_quote(*c)) && string_prefix(ident).is_some() {
                        self.pos = start;
                        self.string_token_any()?;
                        pos = self.pos;
                        last = b'"';
                    } else {
                        if ident_slot(ident).is_some() {
                            return None;
                        }
                        last = b'a';
                    }
                }
                DIGIT => {
                    while b
                        .get(pos)
                        .is_some_and(|c| IS_IDENT[usize::from(*c)] || *c == b'.')
                    {
                        pos += 1;
                    }
                    last = b'0';
                }
                QUOTE => {
                    self.pos = pos;
                    self.string_token_any()?;
                    pos = self.pos;
                    last = b'"';
                }
                HASH => pos = memchr_newline(b, pos),
                NEWLINE => {
                    self.pos = pos;
                    if self.depth > 0 {
                        self.newline();
                        pos = self.pos;
                    } else if mode == Mode::Line {
                        self.newline();
                        return Some(last);
                    } else {
                        return None;
                    }
                }
                BACKSLASH => pos = self.continuation(pos)?,
                OPEN => {
                    self.open_bracket(c)?;
                    pos += 1;
                    last = c;
                }
                CLOSE => {
                    self.close_bracket(c)?;
                    pos += 1;
                    last = c;
                }
                OTHER => {
                    if mode == Mode::Annotation && self.depth == 0 {
                        match c {
                            b'=' => {
                                // `==`, `<=`, `:=`... are not the end of an annotation, and an
                                // annotation is not empty.
                                if b.get(pos + 1) == Some(&b'=')
                                    || matches!(last, b'\n' | b'=' | b'<' | b'>' | b'!' | b':')
                                {
                                    return None;
                                }
                                self.pos = pos + 1;
                                return Some(b'=');
                            }
                            b';' => return None,
                            _ => {}
                        }
                    }
                    pos += 1;
                    last = c;
                }
                _ => return None,
            }
        }
        self.pos = pos;
        (mode == Mode::Line && self.depth == 0).then_some(last)
    }

    /// An indented logical line (a block body), consumed through its newline. Only strings,
    /// comments, brackets, continuations and the four names matter here, so everything else is
    /// skipped without being tokenized: this is where most of a revision file's bytes are.
    fn block_line(&mut self) -> Option<()> {
        let b = self.b;
        let mut pos = self.pos;
        loop {
            while pos < b.len() && !STOP[usize::from(b[pos])] {
                pos += 1;
            }
            let Some(&c) = b.get(pos) else {
                self.pos = pos;
                return (self.depth == 0).then_some(());
            };
            match c {
                b'\n' => {
                    pos += 1;
                    self.line += 1;
                    self.line_start = pos;
                    if self.depth == 0 {
                        self.pos = pos;
                        return Some(());
                    }
                }
                b'#' => pos = memchr_newline(b, pos),
                b'"' | b'\'' => {
                    // Most strings in a body are short, unprefixed and single-quoted
                    // (`sa.Column('id', ...)`): skip those in a tight loop. Anything else (a
                    // prefix, triple quotes, an escape, a line end) takes the general scanner.
                    if pos == 0 || !IS_IDENT[usize::from(b[pos - 1])] {
                        let mut k = pos + 1;
                        while k < b.len() && !matches!(b[k], b'\\' | b'\n' | 0) && b[k] != c {
                            k += 1;
                        }
                        if k > pos + 1 && b.get(k) == Some(&c) {
                            pos = k + 1;
                            continue;
                        }
                    }
                    self.pos = pos - prefix_before(b, pos)?;
                    self.string_token_any()?;
                    pos = self.pos;
                }
                b'r' | b'd' | b'b' => {
                    if name_at(b, pos) {
                        return None;
                    }
                    pos += 1;
                }
                b'\\' => pos = self.continuation(pos)?,
                b'(' | b'[' | b'{' => {
                    self.open_bracket(c)?;
                    pos += 1;
                }
                b')' | b']' | b'}' => {
                    self.close_bracket(c)?;
                    pos += 1;
                }
                _ => return None,
            }
        }
    }

    /// A backslash at `pos` must end the line and continue into something; returns where the
    /// next line starts.
    fn continuation(&mut self, pos: usize) -> Option<usize> {
        if self.b.get(pos + 1) != Some(&b'\n') || pos + 2 >= self.b.len() {
            return None;
        }
        self.line += 1;
        self.line_start = pos + 2;
        Some(pos + 2)
    }

    fn open_bracket(&mut self, c: u8) -> Option<()> {
        if self.depth == MAX_DEPTH {
            return None;
        }
        self.stack[self.depth] = c;
        self.depth += 1;
        Some(())
    }

    /// Closes the innermost bracket, which must be the matching one.
    fn close_bracket(&mut self, c: u8) -> Option<()> {
        let open = match c {
            b')' => b'(',
            b']' => b'[',
            _ => b'{',
        };
        if self.depth == 0 || self.stack[self.depth - 1] != open {
            return None;
        }
        self.depth -= 1;
        Some(())
    }

    /// Any string token, only checked to be well formed.
    fn string_token_any(&mut self) -> Option<()> {
        let (_, _, fstring, content_start, triple, end) = self.scan_string()?;
        let content_end = end - if triple { 3 } else { 1 };
        // Replacement fields hold expressions (names, and in 3.12 even nested quotes).
        if fstring && self.b[content_start..content_end].contains(&b'{') {
            return None;
        }
        Some(())
    }
}

fn memchr_newline(b: &[u8], from: usize) -> usize {
    b[from..]
        .iter()
        .position(|c| *c == b'\n')
        .map_or(b.len(), |n| from + n)
}

/// Decodes the escapes of a non-raw `str` literal's content into `out`. Gives up on numeric and
/// named escapes, which the fast path does not need.
fn unescape(content: &str, out: &mut String) -> Option<()> {
    let mut chars = content.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            '\n' => {}
            c @ ('\\' | '\'' | '"') => out.push(c),
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            'a' => out.push('\u{7}'),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'v' => out.push('\u{b}'),
            'x' | 'u' | 'U' | 'N' | '0'..='7' => return None,
            // Python keeps unknown escapes as written (with a warning).
            other => {
                out.push('\\');
                out.push(other);
            }
        }
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::super::read::{decode, read_source, read_source_full};
    use super::super::{ReadIssue, Span};
    use super::*;

    fn fixture_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reader")
    }

    fn fixtures() -> Vec<(PathBuf, Vec<u8>)> {
        let mut files: Vec<_> = std::fs::read_dir(fixture_dir())
            .expect("fixture directory")
            .map(|e| e.expect("fixture entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "py"))
            .map(|p| {
                let bytes = std::fs::read(&p).expect("fixture bytes");
                (p, bytes)
            })
            .collect();
        files.sort();
        files
    }

    /// The fast path must either decline or agree exactly with the full parser on any file the
    /// parser accepts. (On one it rejects for grammar the lexer cannot see, such as Python 3.12
    /// syntax, the fast path's reading is the better one and is not compared.)
    fn assert_agree(name: &str, src: &str) -> bool {
        let Some(fast) = read(src) else {
            return false;
        };
        let full = super::super::parse::read(src, "test.py");
        let parsed = !full
            .issues
            .iter()
            .any(|i| matches!(i, ReadIssue::Unparsable { .. }));
        if parsed {
            assert_eq!(fast, full, "fast and full paths disagree on {name}:\n{src}");
        }
        true
    }

    #[test]
    fn fast_and_full_paths_agree_on_every_fixture() {
        let mut fast_taken = Vec::new();
        for (path, bytes) in fixtures() {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            assert_eq!(
                read_source(&path, &bytes),
                read_source_full(&path, &bytes),
                "{name}"
            );
            let (text, _) = decode(&bytes);
            if assert_agree(&name, &text) {
                fast_taken.push(name);
            }
        }
        // The fixtures in the template's shapes must not silently fall back to the parser.
        for expected in [
            "bom_crlf.py",
            "empty.py",
            "latin1_cookie.py",
            "lone_cr.py",
            "merge_multiline.py",
            "not_utf8.py",
            "string_forms.py",
            "template_annotated.py",
            "template_plain.py",
            "unicode_and_tabs.py",
        ] {
            assert!(
                fast_taken.iter().any(|n| n == expected),
                "fast path declined {expected}"
            );
        }
        for declined in [
            "conditional.py",
            "name_reference.py",
            "non_literal.py",
            "python312_syntax.py",
            "syntax_error.py",
            "truncated.py",
        ] {
            assert!(
                !fast_taken.iter().any(|n| n == declined),
                "fast path took {declined}"
            );
        }
    }

    /// Down-revision spellings the fast path must read like the parser does.
    const DOWN_FORMS: [&str; 11] = [
        "None",
        "{q}p1{q}",
        "({q}p1{q},)",
        "({q}p1{q}, {q}p2{q})",
        "(\n    {q}p1{q},  # first\n    {q}p2{q},\n)",
        "[{q}p1{q}, {q}p2{q}]",
        "{q}p{q} {q}1{q}",
        "({q}p1{q})",
        "{q}p1{q}, {q}p2{q}",
        "()",
        "(\n    ({q}p1{q}),\n    [{q}p2{q}, None],\n)",
    ];

    const QUOTES: [&str; 5] = ["'", "\"", "'''", "r\"", "U'"];

    fn quote_pair(q: &str) -> (&str, &str) {
        match q {
            "r\"" => ("r\"", "\""),
            "U'" => ("U'", "'"),
            _ => (q, q),
        }
    }

    fn generated_file(annotated: bool, down: &str, quote: &str, variant: usize) -> String {
        let (open, close) = quote_pair(quote);
        let lit = |s: &str| format!("{open}{s}{close}");
        let down = down
            .replace("{q}p1{q}", &lit("p1"))
            .replace("{q}p2{q}", &lit("p2"))
            .replace("{q}p{q}", &lit("p"))
            .replace("{q}1{q}", &lit("1"));
        let ann = |a: &str| {
            if annotated {
                format!(": {a}")
            } else {
                String::new()
            }
        };
        let indent = if variant & 1 == 0 { "    " } else { "\t" };
        let docstring = match variant % 3 {
            0 => "\"\"\"message line\n\nRevision ID: r1\nRevises: p1\nCreate Date: 2024-01-01 00:00:00\n\n\"\"\"\n".to_string(),
            1 => "# leading comment\n'''single-quoted docstring with \\'escapes\\' and \\\\ backslash'''  # trailing\n".to_string(),
            _ => String::new(),
        };
        format!(
            "{docstring}from typing import Sequence, Union\n\nfrom alembic import op\nimport sqlalchemy as sa\n\n\
             # revision identifiers, used by Alembic.\n\
             revision{} = {}\n\
             down_revision{} = {down}\n\
             branch_labels{} = None\n\
             depends_on{} = {}\n\n\n\
             def upgrade(){} :\n{indent}op.create_table(\n{indent}{indent}'users',\n{indent}{indent}sa.Column('id', sa.Integer(), primary_key=True),\n{indent})\n{indent}# done\n\n\n\
             def downgrade():\n{indent}op.drop_table('users')\n",
            ann("str"),
            lit("r1"),
            ann("Union[str, Sequence[str], None]"),
            ann("Union[str, Sequence[str], None]"),
            ann("Union[str, Sequence[str], None]"),
            lit("d1"),
            if annotated { " -> None" } else { "" },
        )
    }

    #[test]
    fn fast_and_full_paths_agree_on_generated_variants() {
        let mut count = 0;
        for annotated in [false, true] {
            for (d, down) in DOWN_FORMS.iter().enumerate() {
                for (q, quote) in QUOTES.iter().enumerate() {
                    let variant = d * QUOTES.len() + q;
                    let text = generated_file(annotated, down, quote, variant);
                    let encodings = [
                        text.clone().into_bytes(),
                        text.replace('\n', "\r\n").into_bytes(),
                        text.replace('\n', "\r").into_bytes(),
                        [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat(),
                    ];
                    for bytes in encodings {
                        let (decoded, issue) = decode(&bytes);
                        assert_eq!(issue, None);
                        assert!(
                            assert_agree("generated", &decoded),
                            "fast path declined:\n{decoded}"
                        );
                        count += 1;
                    }
                }
            }
        }
        assert_eq!(count, 2 * DOWN_FORMS.len() * QUOTES.len() * 4);
    }

    #[test]
    fn agreement_holds_on_every_truncation_of_the_fixtures() {
        for (path, bytes) in fixtures() {
            let (text, _) = decode(&bytes);
            // Every cut through the header (where the identifiers are), a sample of the body.
            let cuts = (0..=text.len()).filter(|i| *i < 800 || i % 7 == 0 || *i == text.len());
            for end in cuts.filter(|i| text.is_char_boundary(*i)) {
                assert_agree(&format!("{} cut at {end}", path.display()), &text[..end]);
            }
        }
    }

    #[test]
    fn agreement_holds_on_random_edits_of_the_fixtures() {
        use rand::{Rng, SeedableRng};
        const PIECES: [&str; 24] = [
            "'",
            "\"",
            "'''",
            "(",
            ")",
            "[",
            "]",
            ",",
            "\\",
            "\n",
            "\t",
            " ",
            "#",
            ":",
            "=",
            ";",
            "revision",
            "down_revision",
            "None",
            "r",
            "b",
            "f",
            "x",
            "\\\n",
        ];
        let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed);
        let sources: Vec<String> = fixtures()
            .iter()
            .map(|(_, bytes)| decode(bytes).0.into_owned())
            .filter(|s| !s.is_empty())
            .collect();
        for round in 0..2000 {
            let mut text = sources[round % sources.len()].clone();
            for _ in 0..rng.random_range(1..4) {
                let mut at = rng.random_range(0..=text.len());
                while !text.is_char_boundary(at) {
                    at -= 1;
                }
                if rng.random_bool(0.3) {
                    let mut end = (at + rng.random_range(1..4)).min(text.len());
                    while !text.is_char_boundary(end) {
                        end += 1;
                    }
                    text.replace_range(at..end, "");
                } else {
                    text.insert_str(at, PIECES[rng.random_range(0..PIECES.len())]);
                }
            }
            assert_agree(&format!("round {round}"), &text);
        }
    }

    #[test]
    fn template_is_read_by_the_fast_path_with_spans() {
        let src = generated_file(true, "{q}p1{q}", "'", 0);
        let out = read(&src).expect("fast path");
        assert_eq!(
            out.revision.map(|a| (a.span, a.annotated)),
            Some((
                Span {
                    line: 14,
                    column: 17
                },
                true
            ))
        );
        assert_eq!(out.docstring.and_then(|d| d.revises_line), Some(4));
    }

    #[test]
    fn fast_path_declines_what_it_cannot_be_sure_of() {
        for src in [
            "revision = 'a'; x = 1\n",
            "revision = 1\n",
            "revision = True\n",
            "revision = other\n",
            "revision = 'a' + 'b'\n",
            "revision = down_revision = 'a'\n",
            "revision, down_revision = 'a', 'b'\n",
            "revision: str\n",
            "revision : = 'a'\n",
            "revision += 'a'\n",
            "revision = f'a'\n",
            "revision = b'a'\n",
            "revision = '\\x41'\n",
            "revision = '\\N{BULLET}'\n",
            "revision = 'a' if x else 'b'\n",
            "if x:\n    revision = 'a'\n",
            "def upgrade():\n    print(revision)\n",
            "def revision():\n    pass\n",
            "global revision\n",
            "x = f'{revision}'\n",
            "import revision\n",
            "  revision = 'a'\n",
            "x = 1\n    y = 2\n",
            "def f():\nx = 1\n",
            "x = (1]\n",
            "x = (1\n",
            "x = 'abc\n",
            "x = \"\"\"abc\n",
            "x = 1 \\ y\n",
            "caf\u{e9} = 1\n",
            "x = 1\n\u{c}y = 2\n",
            "x = '\0'\n",
            "revision = 'a'\x0b\n",
        ] {
            assert!(read(src).is_none(), "fast path took {src:?}");
        }
    }

    #[test]
    fn fast_path_decodes_simple_escapes_and_keeps_unknown_ones() {
        let src = "revision = 'a\\tb\\\\c\\'d\\qe\\\nf'\n";
        let out = read(src).expect("fast path");
        assert_eq!(out, super::super::parse::read(src, "t.py"));
        assert!(out.issues.is_empty());
        assert!(!matches!(
            out.issues.first(),
            Some(ReadIssue::Unparsable { .. })
        ));
    }
}
