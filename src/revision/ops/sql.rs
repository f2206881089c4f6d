//! Best-effort recognition of DDL in literal SQL passed to `op.execute`: `CREATE TABLE`,
//! `DROP TABLE`, `ALTER TABLE ... ADD/DROP/RENAME/ALTER COLUMN`, `RENAME TABLE`,
//! `CREATE/DROP INDEX`. A lexer, not a SQL parser: it handles quoting, comments and several
//! statements, and gives up quietly on anything it does not recognise (DML, functions,
//! procedural blocks), which is what the ops it yields being marked `inferred` warns about.

use super::{ColumnDef, Name, OpKind, TableRef};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    /// A bare word (keyword or identifier).
    Word(String),
    /// A quoted identifier: `"x"`, `` `x` ``, `[x]`.
    Quoted(String),
    /// A string literal or a number: never a name.
    Literal,
    Punct(char),
}

struct Token {
    tok: Tok,
    start: usize,
    end: usize,
}

/// The DDL operations recognised in `sql`, each with whether it was guarded by
/// `IF [NOT] EXISTS`.
pub(super) fn infer(sql: &str) -> Vec<(OpKind, bool)> {
    let tokens = lex(sql);
    let mut out = Vec::new();
    for stmt in tokens.split(|t| t.tok == Tok::Punct(';')) {
        let mut p = Parser { sql, t: stmt, i: 0 };
        p.statement(&mut out);
    }
    out
}

fn lex(sql: &str) -> Vec<Token> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        let tok = match c {
            _ if c.is_ascii_whitespace() => {
                i += 1;
                continue;
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                i = sql[i..].find('\n').map_or(b.len(), |n| i + n);
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i = sql[i + 2..].find("*/").map_or(b.len(), |n| i + 2 + n + 2);
                continue;
            }
            b'\'' => {
                i = skip_quoted(b, i, b'\'');
                Tok::Literal
            }
            b'"' | b'`' | b'[' => {
                let close = if c == b'[' { b']' } else { c };
                i = skip_quoted(b, i, close);
                let inner = sql.get(start + 1..i.saturating_sub(1)).unwrap_or("");
                let doubled = [close as char, close as char].iter().collect::<String>();
                Tok::Quoted(inner.replace(&doubled, &(close as char).to_string()))
            }
            _ if c.is_ascii_digit() => {
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.') {
                    i += 1;
                }
                Tok::Literal
            }
            _ if is_word_byte(c) => {
                while i < b.len() && is_word_byte(b[i]) {
                    i += 1;
                }
                Tok::Word(sql[start..i].to_string())
            }
            _ => {
                // One character, whatever its UTF-8 length.
                let ch = sql[i..].chars().next().unwrap_or(' ');
                i += ch.len_utf8();
                Tok::Punct(ch)
            }
        };
        out.push(Token {
            tok,
            start,
            end: i.min(b.len()),
        });
    }
    out
}

fn is_word_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80
}

/// The index just past a quoted run opened at `i` and closed by `close` (doubled: escaped).
fn skip_quoted(b: &[u8], i: usize, close: u8) -> usize {
    let mut j = i + 1;
    while j < b.len() {
        if b[j] == close {
            if b.get(j + 1) == Some(&close) && close != b']' {
                j += 2;
                continue;
            }
            return j + 1;
        }
        j += 1;
    }
    b.len()
}

/// Words that start a table constraint rather than a column in a column list or `ADD`/`DROP`.
const CONSTRAINT_WORDS: [&str; 11] = [
    "CONSTRAINT",
    "PRIMARY",
    "UNIQUE",
    "FOREIGN",
    "CHECK",
    "KEY",
    "INDEX",
    "EXCLUDE",
    "LIKE",
    "FULLTEXT",
    "SPATIAL",
];

struct Parser<'a> {
    sql: &'a str,
    t: &'a [Token],
    i: usize,
}

impl Parser<'_> {
    fn peek_word(&self) -> Option<&str> {
        match &self.t.get(self.i)?.tok {
            Tok::Word(w) => Some(w),
            _ => None,
        }
    }

    /// Consumes the keyword if it is next.
    fn eat(&mut self, kw: &str) -> bool {
        if self.peek_word().is_some_and(|w| w.eq_ignore_ascii_case(kw)) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn eat_all(&mut self, kws: &[&str]) -> bool {
        let save = self.i;
        if kws.iter().all(|k| self.eat(k)) {
            true
        } else {
            self.i = save;
            false
        }
    }

    fn eat_punct(&mut self, c: char) -> bool {
        if self.t.get(self.i).is_some_and(|t| t.tok == Tok::Punct(c)) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn ident(&mut self) -> Option<String> {
        let s = match &self.t.get(self.i)?.tok {
            Tok::Word(w) | Tok::Quoted(w) => w.clone(),
            _ => return None,
        };
        self.i += 1;
        Some(s)
    }

    /// `a`, `s.a` or `db.s.a`: (schema, name).
    fn qualified(&mut self) -> Option<TableRef> {
        let mut parts = vec![self.ident()?];
        while self.eat_punct('.') {
            parts.push(self.ident()?);
        }
        let name = parts.pop()?;
        Some(TableRef {
            name: Name::Literal(name),
            schema: parts.pop().map(Name::Literal),
        })
    }

    fn at_constraint_word(&self) -> bool {
        self.peek_word()
            .is_some_and(|w| CONSTRAINT_WORDS.iter().any(|k| w.eq_ignore_ascii_case(k)))
    }

    /// The tokens of a parenthesised group starting at the current `(`, split at top-level
    /// commas; the cursor moves past the closing `)`.
    fn group(&mut self) -> Option<Vec<std::ops::Range<usize>>> {
        if !self.eat_punct('(') {
            return None;
        }
        let mut items = Vec::new();
        let mut depth = 0usize;
        let mut item_start = self.i;
        while let Some(t) = self.t.get(self.i) {
            match t.tok {
                Tok::Punct('(') => depth += 1,
                Tok::Punct(')') if depth == 0 => {
                    items.push(item_start..self.i);
                    self.i += 1;
                    return Some(items);
                }
                Tok::Punct(')') => depth -= 1,
                Tok::Punct(',') if depth == 0 => {
                    items.push(item_start..self.i);
                    item_start = self.i + 1;
                }
                _ => {}
            }
            self.i += 1;
        }
        Some(items)
    }

    fn statement(&mut self, out: &mut Vec<(OpKind, bool)>) {
        if self.eat("CREATE") {
            self.eat_all(&["OR", "REPLACE"]);
            let unique = self.eat("UNIQUE");
            if self.eat("INDEX") {
                self.create_index(unique, out);
                return;
            }
            let mut temporary = false;
            while let Some(w) = self.peek_word() {
                let w = w.to_ascii_uppercase();
                if !matches!(
                    w.as_str(),
                    "TEMP" | "TEMPORARY" | "UNLOGGED" | "GLOBAL" | "LOCAL"
                ) {
                    break;
                }
                temporary |= w.starts_with("TEMP");
                self.i += 1;
            }
            // A temporary table is gone when the session ends: not part of the schema.
            if !temporary && self.eat("TABLE") {
                self.create_table(out);
            }
        } else if self.eat("DROP") {
            if self.eat("TABLE") {
                let guarded = self.eat_all(&["IF", "EXISTS"]);
                while let Some(table) = self.qualified() {
                    out.push((OpKind::DropTable { table }, guarded));
                    if !self.eat_punct(',') {
                        break;
                    }
                }
            } else if self.eat("INDEX") {
                self.eat("CONCURRENTLY");
                let guarded = self.eat_all(&["IF", "EXISTS"]);
                let Some(index) = self.qualified() else {
                    return;
                };
                // MySQL: `DROP INDEX name ON table`.
                let table = if self.eat("ON") {
                    self.qualified()
                } else {
                    None
                };
                out.push((
                    OpKind::DropIndex {
                        name: index.name,
                        table,
                    },
                    guarded,
                ));
            }
        } else if self.eat("ALTER") && self.eat("TABLE") {
            let guarded = self.eat_all(&["IF", "EXISTS"]);
            self.eat("ONLY");
            let Some(table) = self.qualified() else {
                return;
            };
            loop {
                self.alter_action(&table, guarded, out);
                // Skip the rest of this action up to a top-level comma.
                let mut depth = 0usize;
                while let Some(t) = self.t.get(self.i) {
                    match t.tok {
                        Tok::Punct('(') => depth += 1,
                        Tok::Punct(')') => depth = depth.saturating_sub(1),
                        Tok::Punct(',') if depth == 0 => break,
                        _ => {}
                    }
                    self.i += 1;
                }
                if !self.eat_punct(',') {
                    break;
                }
            }
        } else if self.eat("RENAME") && self.eat("TABLE") {
            // MySQL: `RENAME TABLE a TO b[, c TO d]`.
            while let Some(table) = self.qualified() {
                if !self.eat("TO") {
                    break;
                }
                let Some(new) = self.qualified() else { break };
                out.push((
                    OpKind::RenameTable {
                        table,
                        new_name: new.name,
                    },
                    false,
                ));
                if !self.eat_punct(',') {
                    break;
                }
            }
        }
    }

    fn create_table(&mut self, out: &mut Vec<(OpKind, bool)>) {
        let guarded = self.eat_all(&["IF", "NOT", "EXISTS"]);
        let Some(table) = self.qualified() else {
            return;
        };
        let columns = match self.group() {
            Some(items) => items
                .into_iter()
                .filter_map(|range| self.column_def(range))
                .collect(),
            // `CREATE TABLE x AS SELECT ...`: columns unknown.
            None => Vec::new(),
        };
        out.push((OpKind::CreateTable { table, columns }, guarded));
    }

    /// A column definition (`name type [NOT NULL] ...`) occupying `range`; None for a table
    /// constraint.
    fn column_def(&self, range: std::ops::Range<usize>) -> Option<ColumnDef> {
        let mut p = Parser {
            sql: self.sql,
            t: self.t.get(range)?,
            i: 0,
        };
        if p.at_constraint_word() {
            return None;
        }
        p.column_rest()
    }

    /// After `ADD [COLUMN]` or at the start of a column definition.
    fn column_rest(&mut self) -> Option<ColumnDef> {
        let name = self.ident()?;
        let type_start = self.t.get(self.i).map(|t| t.start);
        if self.ident().is_some() {
            // `varchar(32)`, `double precision`, `timestamp with time zone` are cut at the
            // first word; the length in parentheses is kept.
            if self.t.get(self.i).is_some_and(|t| t.tok == Tok::Punct('(')) {
                self.group();
            }
        }
        let type_end = self
            .i
            .checked_sub(1)
            .and_then(|i| self.t.get(i))
            .map(|t| t.end);
        let type_ = match (type_start, type_end) {
            (Some(s), Some(e)) if e > s => self.sql.get(s..e).map(str::to_string),
            _ => None,
        };
        let mut nullable = None;
        let mut primary_key = false;
        let mut prev_not = false;
        while let Some(t) = self.t.get(self.i) {
            match &t.tok {
                Tok::Punct(',') => break,
                Tok::Word(w) if w.eq_ignore_ascii_case("NULL") => {
                    nullable = Some(!prev_not);
                }
                Tok::Word(w) if w.eq_ignore_ascii_case("PRIMARY") => primary_key = true,
                _ => {}
            }
            prev_not = matches!(&t.tok, Tok::Word(w) if w.eq_ignore_ascii_case("NOT"));
            self.i += 1;
        }
        Some(ColumnDef {
            name: Name::Literal(name),
            type_,
            nullable,
            primary_key,
        })
    }

    fn create_index(&mut self, unique: bool, out: &mut Vec<(OpKind, bool)>) {
        self.eat("CONCURRENTLY");
        let guarded = self.eat_all(&["IF", "NOT", "EXISTS"]);
        // PostgreSQL allows an unnamed index (`CREATE INDEX ON t (c)`): nothing to match by name.
        if self
            .peek_word()
            .is_some_and(|w| w.eq_ignore_ascii_case("ON"))
        {
            return;
        }
        let Some(index) = self.qualified() else {
            return;
        };
        if !self.eat("ON") {
            return;
        }
        self.eat("ONLY");
        let Some(mut table) = self.qualified() else {
            return;
        };
        if self.eat("USING") {
            self.ident();
        }
        let columns = self
            .group()
            .unwrap_or_default()
            .into_iter()
            .map(|r| {
                let toks = self.t.get(r.clone()).unwrap_or(&[]);
                match toks.first().map(|t| &t.tok) {
                    Some(Tok::Word(w) | Tok::Quoted(w))
                        if toks.len() == 1
                            || toks.get(1).is_some_and(|t| {
                                matches!(&t.tok, Tok::Word(k) if k.eq_ignore_ascii_case("ASC") || k.eq_ignore_ascii_case("DESC"))
                            }) =>
                    {
                        Name::Literal(w.clone())
                    }
                    _ => {
                        let (s, e) = (
                            toks.first().map_or(0, |t| t.start),
                            toks.last().map_or(0, |t| t.end),
                        );
                        Name::Expr(self.sql.get(s..e).unwrap_or("").to_string())
                    }
                }
            })
            .collect();
        // The index lives in its table's schema.
        if table.schema.is_none() {
            table.schema = index.schema;
        }
        out.push((
            OpKind::CreateIndex {
                name: index.name,
                table,
                columns,
                unique,
            },
            guarded,
        ));
    }

    fn alter_action(&mut self, table: &TableRef, guarded: bool, out: &mut Vec<(OpKind, bool)>) {
        let table = table.clone();
        if self.eat("ADD") {
            let explicit = self.eat("COLUMN");
            if !explicit && self.at_constraint_word() {
                return;
            }
            let guarded = self.eat_all(&["IF", "NOT", "EXISTS"]) || guarded;
            if let Some(column) = self.column_rest() {
                out.push((OpKind::AddColumn { table, column }, guarded));
            }
        } else if self.eat("DROP") {
            let explicit = self.eat("COLUMN");
            if !explicit && (self.at_constraint_word() || self.peek_word_is("DEFAULT")) {
                return;
            }
            let guarded = self.eat_all(&["IF", "EXISTS"]) || guarded;
            if let Some(column) = self.ident() {
                out.push((
                    OpKind::DropColumn {
                        table,
                        column: Name::Literal(column),
                    },
                    guarded,
                ));
            }
        } else if self.eat("RENAME") {
            if self.eat("TO") {
                if let Some(new) = self.qualified() {
                    out.push((
                        OpKind::RenameTable {
                            table,
                            new_name: new.name,
                        },
                        guarded,
                    ));
                }
                return;
            }
            if self.at_constraint_word() {
                return;
            }
            self.eat("COLUMN");
            let Some(old) = self.ident() else { return };
            if self.eat("TO")
                && let Some(new) = self.ident()
            {
                out.push((
                    OpKind::AlterColumn {
                        table,
                        column: Name::Literal(old),
                        new_name: Some(Name::Literal(new)),
                        nullable: None,
                        type_: None,
                    },
                    guarded,
                ));
            }
        } else if self.eat("ALTER") {
            self.eat("COLUMN");
            let Some(column) = self.ident() else { return };
            let nullable = if self.eat_all(&["SET", "NOT", "NULL"]) {
                Some(false)
            } else if self.eat_all(&["DROP", "NOT", "NULL"]) {
                Some(true)
            } else {
                None
            };
            out.push((
                OpKind::AlterColumn {
                    table,
                    column: Name::Literal(column),
                    new_name: None,
                    nullable,
                    type_: None,
                },
                guarded,
            ));
        }
    }

    fn peek_word_is(&self, kw: &str) -> bool {
        self.peek_word().is_some_and(|w| w.eq_ignore_ascii_case(kw))
    }
}
