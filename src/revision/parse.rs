//! The full path: parse the module with rustpython-parser and evaluate its top-level statements
//! the way Alembic's reference static reader does (`read_revision_file` in its oracle), or, when
//! the parser rejects the file, recover statement by statement.

use std::collections::HashMap;

use rustpython_parser::ast::{self, Constant, Expr, Ranged, Stmt};
use rustpython_parser::text_size::TextSize;
use rustpython_parser::{Mode, parse_starts_at};

use super::read::{Extract, LineIndex, ident_slot};
use super::{Assignment, Literal, ReadIssue, Value};

/// Reads decoded, newline-normalized source. `path` is only used in parser messages.
pub(super) fn read(src: &str, path: &str) -> Extract {
    let lines = LineIndex::new(src);
    let mut reader = Reader {
        src,
        lines: &lines,
        env: HashMap::new(),
        out: Extract::default(),
    };
    match parse_starts_at(src, Mode::Module, path, TextSize::default()) {
        Ok(module) => {
            let body = module_body(module);
            reader.docstring(&body);
            for stmt in &body {
                reader.top_level(stmt);
            }
        }
        Err(error) => {
            reader.out.issues.push(ReadIssue::Unparsable {
                message: error.error.to_string(),
                span: lines.span(src, usize::from(error.offset)),
            });
            reader.recover(path);
        }
    }
    reader.out
}

fn module_body(module: ast::Mod) -> Vec<Stmt> {
    match module {
        ast::Mod::Module(m) => m.body,
        _ => Vec::new(),
    }
}

struct Reader<'a> {
    src: &'a str,
    lines: &'a LineIndex,
    /// Module-level names currently bound to a statically known literal (any name, not only the
    /// four identifiers: `down_revision = _parent` must see `_parent`).
    env: HashMap<String, Literal>,
    out: Extract,
}

/// A value that could not be evaluated; carries the source text to show.
struct NotLiteral(String);

impl Reader<'_> {
    fn text(&self, node: &impl Ranged) -> String {
        let range = node.range();
        self.src
            .get(usize::from(range.start())..usize::from(range.end()))
            .unwrap_or("")
            .to_string()
    }

    fn span(&self, offset: TextSize) -> super::Span {
        self.lines.span(self.src, usize::from(offset))
    }

    /// `ast.get_docstring(tree, clean=False)`: a first statement that is a plain string constant.
    fn docstring(&mut self, body: &[Stmt]) {
        let Some(Stmt::Expr(ast::StmtExpr { value, .. })) = body.first() else {
            return;
        };
        if let Expr::Constant(ast::ExprConstant {
            value: Constant::Str(s),
            range,
            ..
        }) = value.as_ref()
        {
            let source = self
                .src
                .get(usize::from(range.start())..usize::from(range.end()))
                .unwrap_or("");
            let span = self.span(range.start());
            self.out.docstring = Some(super::docstring::build(s.clone(), source, span));
        }
    }

    fn top_level(&mut self, stmt: &Stmt) {
        match stmt {
            Stmt::Assign(a) => {
                let value = self.eval(&a.value);
                for target in &a.targets {
                    self.bind(target, &value, Some(&a.value), a.value.start(), false);
                }
            }
            Stmt::AnnAssign(a) => {
                // `revision: str` without a value binds nothing at runtime.
                if let Some(value_node) = &a.value {
                    let value = self.eval(value_node);
                    self.bind(
                        &a.target,
                        &value,
                        Some(value_node),
                        value_node.start(),
                        true,
                    );
                }
            }
            Stmt::AugAssign(a) => self.aug_assign(a),
            Stmt::FunctionDef(f) => self.unbind(f.name.as_str()),
            Stmt::AsyncFunctionDef(f) => self.unbind(f.name.as_str()),
            Stmt::ClassDef(c) => self.unbind(c.name.as_str()),
            Stmt::TypeAlias(t) => {
                if let Expr::Name(n) = t.name.as_ref() {
                    self.unbind(n.id.as_str());
                }
            }
            Stmt::Import(i) => {
                for alias in &i.names {
                    self.unbind(import_binding(alias));
                }
            }
            Stmt::ImportFrom(i) => {
                for alias in &i.names {
                    self.unbind(import_binding(alias));
                }
            }
            _ => self.report_conditional(stmt),
        }
    }

    /// Alembic executes the module, so `revision += "x"` does change the value; the reference
    /// reader ignores augmented assignments, which would silently keep the old value.
    fn aug_assign(&mut self, a: &ast::StmtAugAssign) {
        let Expr::Name(name) = a.target.as_ref() else {
            return;
        };
        let current = self.env.get(name.id.as_str()).cloned();
        let value = match (current, a.op) {
            (Some(left), ast::Operator::Add) => self
                .eval(&a.value)
                .ok()
                .and_then(|right| add(left, right, || self.text(a)))
                .ok_or_else(|| NotLiteral(self.text(a))),
            _ => Err(NotLiteral(self.text(a))),
        };
        self.bind(&a.target, &value, None, a.value.start(), false);
    }

    fn unbind(&mut self, name: &str) {
        self.env.remove(name);
        if let Some(slot) = ident_slot(name) {
            *self.out.slot_mut(slot) = None;
        }
    }

    /// Mirrors the oracle's `_bind`: names bind, tuple/list targets unpack, anything else (an
    /// attribute, a subscript, a starred element) binds no module name.
    fn bind(
        &mut self,
        target: &Expr,
        value: &Result<Literal, NotLiteral>,
        value_node: Option<&Expr>,
        value_start: TextSize,
        annotated: bool,
    ) {
        match target {
            Expr::Name(n) => {
                let name = n.id.as_str();
                let bound = match value {
                    Ok(lit) => {
                        self.env.insert(name.to_string(), lit.clone());
                        Value::Literal { value: lit.clone() }
                    }
                    Err(NotLiteral(expr)) => {
                        self.env.remove(name);
                        Value::NonLiteral { expr: expr.clone() }
                    }
                };
                if let Some(slot) = ident_slot(name) {
                    *self.out.slot_mut(slot) = Some(Assignment {
                        value: bound,
                        span: self.span(value_start),
                        annotated,
                    });
                }
            }
            Expr::Tuple(ast::ExprTuple { elts, .. }) | Expr::List(ast::ExprList { elts, .. }) => {
                let items = match value {
                    Ok(lit) => unpack(lit, elts.len()).ok_or_else(|| {
                        NotLiteral(value_node.map_or_else(String::new, |n| self.text(n)))
                    }),
                    Err(NotLiteral(expr)) => Err(NotLiteral(expr.clone())),
                };
                // Point each name at its own element when the value is written out element-wise.
                let value_elts = match value_node {
                    Some(Expr::Tuple(t)) if t.elts.len() == elts.len() => Some(&t.elts),
                    Some(Expr::List(l)) if l.elts.len() == elts.len() => Some(&l.elts),
                    _ => None,
                };
                for (i, elt) in elts.iter().enumerate() {
                    let item = match &items {
                        Ok(items) => Ok(items[i].clone()),
                        Err(NotLiteral(expr)) => Err(NotLiteral(expr.clone())),
                    };
                    let (node, start) = match value_elts {
                        Some(v) => (Some(&v[i]), v[i].start()),
                        None => (None, value_start),
                    };
                    self.bind(elt, &item, node, start, annotated);
                }
            }
            _ => {}
        }
    }

    /// The oracle's `_eval_node`: `ast.literal_eval`, then names of earlier module-level literals,
    /// containers of those and `+`.
    fn eval(&self, expr: &Expr) -> Result<Literal, NotLiteral> {
        self.try_eval(expr)
            .ok_or_else(|| NotLiteral(self.text(expr)))
    }

    fn try_eval(&self, expr: &Expr) -> Option<Literal> {
        if is_pure_literal(expr) {
            return Some(match expr {
                Expr::Constant(c) => match &c.value {
                    Constant::None => Literal::None,
                    Constant::Str(s) => Literal::Str(s.clone()),
                    _ => Literal::Other(self.text(expr)),
                },
                Expr::Tuple(t) => Literal::Tuple(self.eval_all(&t.elts)?),
                Expr::List(l) => Literal::List(self.eval_all(&l.elts)?),
                _ => Literal::Other(self.text(expr)),
            });
        }
        match expr {
            Expr::Name(n) => self.env.get(n.id.as_str()).cloned(),
            Expr::Tuple(t) => Some(Literal::Tuple(self.eval_all(&t.elts)?)),
            Expr::List(l) => Some(Literal::List(self.eval_all(&l.elts)?)),
            Expr::Set(s) => {
                self.eval_all(&s.elts)?;
                Some(Literal::Other(self.text(expr)))
            }
            Expr::BinOp(b) if b.op == ast::Operator::Add => {
                let left = self.try_eval(&b.left)?;
                let right = self.try_eval(&b.right)?;
                add(left, right, || self.text(expr))
            }
            _ => None,
        }
    }

    fn eval_all(&self, items: &[Expr]) -> Option<Vec<Literal>> {
        items.iter().map(|e| self.try_eval(e)).collect()
    }

    /// Names of interest bound inside a module-level compound statement: Alembic would run them,
    /// a static reader cannot know whether it does.
    fn report_conditional(&mut self, stmt: &Stmt) {
        let mut found = Vec::new();
        collect_conditional(stmt, &mut found);
        for (name, offset) in found {
            let span = self.span(offset);
            self.out
                .issues
                .push(ReadIssue::ConditionalAssignment { name, span });
        }
    }

    /// After a parse error: split the text into top-level statements and parse each on its own,
    /// so that a syntax error in `upgrade()` does not hide the identifiers.
    fn recover(&mut self, path: &str) {
        for (index, (start, end)) in split_top_level(self.src).into_iter().enumerate() {
            let chunk = &self.src[start..end];
            match parse_starts_at(chunk, Mode::Module, path, text_size(start)) {
                Ok(module) => {
                    let body = module_body(module);
                    if index == 0 {
                        self.docstring(&body);
                    }
                    for stmt in &body {
                        self.top_level(stmt);
                    }
                }
                Err(_) => self.bind_unparsable_assignment(chunk, start, path),
            }
        }
    }

    /// A rejected `name = value` still rebinds `name`: to the value if that parses on its own
    /// (the error was in the annotation, say), otherwise to something unknown.
    fn bind_unparsable_assignment(&mut self, chunk: &str, start: usize, path: &str) {
        let Some((name, value_offset, annotated)) = assignment_shape(chunk) else {
            return;
        };
        let rest = &chunk[value_offset..];
        let lead = rest.len() - rest.trim_start().len();
        let value_start = start + value_offset + lead;
        let target = Expr::Name(ast::ExprName {
            range: ast::text_size::TextRange::empty(text_size(start)),
            id: ast::Identifier::new(name),
            ctx: ast::ExprContext::Store,
        });
        let parsed = parse_starts_at(rest.trim(), Mode::Expression, path, text_size(value_start));
        match parsed {
            Ok(ast::Mod::Expression(e)) => {
                let value = self.eval(&e.body);
                self.bind(&target, &value, Some(&e.body), e.body.start(), annotated);
            }
            _ => {
                let value = Err(NotLiteral(rest.trim().to_string()));
                self.bind(&target, &value, None, text_size(value_start), annotated);
            }
        }
    }
}

fn text_size(offset: usize) -> TextSize {
    TextSize::from(u32::try_from(offset).unwrap_or(u32::MAX))
}

fn import_binding(alias: &ast::Alias) -> &str {
    match &alias.asname {
        Some(asname) => asname.as_str(),
        // `import a.b` binds `a`.
        None => alias.name.as_str().split('.').next().unwrap_or(""),
    }
}

/// What `ast.literal_eval` (Python 3.11) accepts.
fn is_pure_literal(expr: &Expr) -> bool {
    match expr {
        Expr::Constant(_) => true,
        Expr::Tuple(t) => t.elts.iter().all(is_pure_literal),
        Expr::List(l) => l.elts.iter().all(is_pure_literal),
        Expr::Set(s) => s.elts.iter().all(is_pure_literal),
        Expr::Dict(d) => {
            d.keys
                .iter()
                .all(|k| k.as_ref().is_some_and(is_pure_literal))
                && d.values.iter().all(is_pure_literal)
        }
        Expr::Call(c) => {
            matches!(c.func.as_ref(), Expr::Name(n) if n.id.as_str() == "set")
                && c.args.is_empty()
                && c.keywords.is_empty()
        }
        Expr::UnaryOp(u) => {
            matches!(u.op, ast::UnaryOp::UAdd | ast::UnaryOp::USub) && is_number(&u.operand)
        }
        Expr::BinOp(b) => {
            matches!(b.op, ast::Operator::Add | ast::Operator::Sub)
                && (is_number(&b.left) || is_signed_number(&b.left))
                && matches!(b.right.as_ref(), Expr::Constant(c) if matches!(c.value, Constant::Complex { .. }))
        }
        _ => false,
    }
}

fn is_number(expr: &Expr) -> bool {
    matches!(expr, Expr::Constant(c) if matches!(
        c.value,
        Constant::Int(_) | Constant::Float(_) | Constant::Complex { .. } | Constant::Bool(_)
    ))
}

fn is_signed_number(expr: &Expr) -> bool {
    matches!(expr, Expr::UnaryOp(u)
        if matches!(u.op, ast::UnaryOp::UAdd | ast::UnaryOp::USub) && is_number(&u.operand))
}

/// `left + right` for the values Python can add; `None` where Python would raise `TypeError`.
fn add(left: Literal, right: Literal, source: impl FnOnce() -> String) -> Option<Literal> {
    match (left, right) {
        (Literal::Str(a), Literal::Str(b)) => Some(Literal::Str(a + &b)),
        (Literal::Tuple(mut a), Literal::Tuple(b)) => {
            a.extend(b);
            Some(Literal::Tuple(a))
        }
        (Literal::List(mut a), Literal::List(b)) => {
            a.extend(b);
            Some(Literal::List(a))
        }
        // Numbers (the only `Other`s Python adds) never make valid identifiers; keep the text.
        (Literal::Other(_), Literal::Other(_)) => Some(Literal::Other(source())),
        _ => None,
    }
}

/// `list(value)` with the expected length, for tuple-unpacking targets.
fn unpack(value: &Literal, len: usize) -> Option<Vec<Literal>> {
    let items = match value {
        Literal::Tuple(items) | Literal::List(items) => items.clone(),
        Literal::Str(s) => s.chars().map(|c| Literal::Str(c.to_string())).collect(),
        _ => return None,
    };
    (items.len() == len).then_some(items)
}

fn collect_conditional(stmt: &Stmt, found: &mut Vec<(String, TextSize)>) {
    let mut name = |n: &str, at: TextSize| {
        if ident_slot(n).is_some() {
            found.push((n.to_string(), at));
        }
    };
    match stmt {
        Stmt::Assign(a) => a.targets.iter().for_each(|t| target_names(t, &mut name)),
        Stmt::AnnAssign(a) if a.value.is_some() => target_names(&a.target, &mut name),
        Stmt::AugAssign(a) => target_names(&a.target, &mut name),
        Stmt::FunctionDef(f) => name(f.name.as_str(), f.start()),
        Stmt::AsyncFunctionDef(f) => name(f.name.as_str(), f.start()),
        Stmt::ClassDef(c) => name(c.name.as_str(), c.start()),
        Stmt::Import(i) => i
            .names
            .iter()
            .for_each(|a| name(import_binding(a), a.start())),
        Stmt::ImportFrom(i) => i
            .names
            .iter()
            .for_each(|a| name(import_binding(a), a.start())),
        Stmt::If(s) => collect_block(&[&s.body, &s.orelse], found),
        Stmt::While(s) => collect_block(&[&s.body, &s.orelse], found),
        Stmt::For(s) => {
            target_names(&s.target, &mut name);
            collect_block(&[&s.body, &s.orelse], found);
        }
        Stmt::AsyncFor(s) => {
            target_names(&s.target, &mut name);
            collect_block(&[&s.body, &s.orelse], found);
        }
        Stmt::With(s) => {
            for item in &s.items {
                if let Some(vars) = &item.optional_vars {
                    target_names(vars, &mut name);
                }
            }
            collect_block(&[&s.body], found);
        }
        Stmt::AsyncWith(s) => {
            for item in &s.items {
                if let Some(vars) = &item.optional_vars {
                    target_names(vars, &mut name);
                }
            }
            collect_block(&[&s.body], found);
        }
        Stmt::Try(s) => collect_try(&s.body, &s.handlers, &s.orelse, &s.finalbody, found),
        Stmt::TryStar(s) => collect_try(&s.body, &s.handlers, &s.orelse, &s.finalbody, found),
        Stmt::Match(s) => {
            for case in &s.cases {
                collect_block(&[&case.body], found);
            }
        }
        _ => {}
    }
}

fn collect_block(blocks: &[&Vec<Stmt>], found: &mut Vec<(String, TextSize)>) {
    for stmt in blocks.iter().flat_map(|b| b.iter()) {
        collect_conditional(stmt, found);
    }
}

fn collect_try(
    body: &Vec<Stmt>,
    handlers: &[ast::ExceptHandler],
    orelse: &Vec<Stmt>,
    finalbody: &Vec<Stmt>,
    found: &mut Vec<(String, TextSize)>,
) {
    collect_block(&[body], found);
    for ast::ExceptHandler::ExceptHandler(h) in handlers {
        if let Some(n) = h.name.as_ref().filter(|n| ident_slot(n.as_str()).is_some()) {
            found.push((n.to_string(), h.start()));
        }
        collect_block(&[&h.body], found);
    }
    collect_block(&[orelse, finalbody], found);
}

fn target_names(target: &Expr, name: &mut impl FnMut(&str, TextSize)) {
    match target {
        Expr::Name(n) => name(n.id.as_str(), n.start()),
        Expr::Tuple(t) => t.elts.iter().for_each(|e| target_names(e, name)),
        Expr::List(l) => l.elts.iter().for_each(|e| target_names(e, name)),
        Expr::Starred(s) => target_names(&s.value, name),
        _ => {}
    }
}

/// `name = ...` or `name: annotation = ...` at the start of `chunk`: the name, the byte offset just
/// after the `=`, and whether it is annotated.
fn assignment_shape(chunk: &str) -> Option<(&str, usize, bool)> {
    let bytes = chunk.as_bytes();
    let name_len = chunk
        .char_indices()
        .find(|(_, c)| !(c.is_alphanumeric() || *c == '_'))
        .map_or(chunk.len(), |(i, _)| i);
    let name = &chunk[..name_len];
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let mut i = name_len;
    while matches!(bytes.get(i), Some(b' ' | b'\t')) {
        i += 1;
    }
    match bytes.get(i) {
        Some(b'=') if bytes.get(i + 1) != Some(&b'=') => Some((name, i + 1, false)),
        Some(b':') => {
            let line_end = chunk[i..].find('\n').map_or(chunk.len(), |n| i + n);
            let eq = (i + 1..line_end).find(|&j| {
                bytes[j] == b'='
                    && bytes.get(j + 1) != Some(&b'=')
                    && !matches!(bytes[j - 1], b'=' | b'<' | b'>' | b'!')
            })?;
            Some((name, eq + 1, true))
        }
        _ => None,
    }
}

/// Byte ranges of the top-level statements of `src` (a statement and its indented body), found
/// lexically: strings, comments, brackets and backslash continuations are respected. Tolerant of
/// broken code: an unclosed bracket ends at the next line that plainly starts a new statement.
pub(super) fn split_top_level(src: &str) -> Vec<(usize, usize)> {
    let b = src.as_bytes();
    let mut chunks = Vec::new();
    let mut chunk_start: Option<usize> = None;
    let mut depth = 0usize;
    let mut continued = false;
    let mut i = 0;
    let mut at_line_start = true;
    while i < b.len() {
        if at_line_start {
            at_line_start = false;
            let starts_statement = !continued
                && !matches!(b[i], b' ' | b'\t' | b'\x0c' | b'\n' | b'#')
                && (depth == 0 || plainly_new_statement(&src[i..]));
            if starts_statement {
                if let Some(start) = chunk_start {
                    chunks.push((start, i));
                }
                chunk_start = Some(i);
                depth = 0;
            }
            continued = false;
        }
        match b[i] {
            b'\n' => {
                at_line_start = true;
                i += 1;
            }
            b'#' => i = src[i..].find('\n').map_or(b.len(), |n| i + n),
            b'\\' if b.get(i + 1) == Some(&b'\n') => {
                continued = true;
                at_line_start = true;
                i += 2;
            }
            b'(' | b'[' | b'{' => {
                depth += 1;
                i += 1;
            }
            b')' | b']' | b'}' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            b'"' | b'\'' => i = skip_string(b, i),
            _ => i += 1,
        }
    }
    if let Some(start) = chunk_start {
        chunks.push((start, b.len()));
    }
    chunks
}

fn plainly_new_statement(line: &str) -> bool {
    const OPENERS: [&str; 7] = ["def ", "class ", "@", "async ", "import ", "from ", "if "];
    OPENERS.iter().any(|o| line.starts_with(o)) || assignment_shape(line).is_some()
}

/// The index just past the string literal whose opening quote is at `i`. A single-quoted string
/// ends at the end of its line even when unterminated, as in Python's tokenizer.
fn skip_string(b: &[u8], i: usize) -> usize {
    let q = b[i];
    let triple = b.get(i + 1) == Some(&q) && b.get(i + 2) == Some(&q);
    let mut j = if triple { i + 3 } else { i + 1 };
    while j < b.len() {
        match b[j] {
            b'\\' => j += 2,
            c if c == q && !triple => return j + 1,
            c if c == q && b.get(j + 1) == Some(&q) && b.get(j + 2) == Some(&q) => return j + 3,
            b'\n' if !triple => return j,
            _ => j += 1,
        }
    }
    b.len()
}

#[cfg(test)]
mod tests {
    use super::super::read::Extract;
    use super::super::{Assignment, Literal, ReadIssue, Span, Value};
    use super::*;

    fn full(src: &str) -> Extract {
        read(src, "test.py")
    }

    fn lit(value: Literal, line: u32, column: u32, annotated: bool) -> Option<Assignment> {
        Some(Assignment {
            value: Value::Literal { value },
            span: Span { line, column },
            annotated,
        })
    }

    fn s(v: &str) -> Literal {
        Literal::Str(v.to_string())
    }

    fn non_literal(a: &Option<Assignment>) -> Option<&str> {
        match a.as_ref().map(|a| &a.value) {
            Some(Value::NonLiteral { expr }) => Some(expr),
            _ => None,
        }
    }

    const TEMPLATE: &str = r#""""add users table

Revision ID: 1a2b3c4d5e6f
Revises: 0f9e8d7c6b5a
Create Date: 2024-05-01 12:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '1a2b3c4d5e6f'
down_revision: Union[str, Sequence[str], None] = '0f9e8d7c6b5a'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('users', sa.Column('id', sa.Integer(), primary_key=True))


def downgrade() -> None:
    op.drop_table('users')
"#;

    #[test]
    fn current_template_is_read_with_spans() {
        let out = full(TEMPLATE);
        assert_eq!(out.revision, lit(s("1a2b3c4d5e6f"), 15, 17, true));
        assert_eq!(out.down_revision, lit(s("0f9e8d7c6b5a"), 16, 50, true));
        assert_eq!(out.branch_labels, lit(Literal::None, 17, 50, true));
        assert_eq!(out.depends_on, lit(Literal::None, 18, 47, true));
        assert!(out.issues.is_empty());
        let doc = out.docstring.expect("docstring");
        assert_eq!(doc.message, "add users table");
        assert_eq!(doc.revision_id.as_deref(), Some("1a2b3c4d5e6f"));
        assert_eq!(doc.revises.as_deref(), Some("0f9e8d7c6b5a"));
        assert_eq!(doc.revises_line, Some(4));
        assert_eq!(
            doc.create_date.as_deref(),
            Some("2024-05-01 12:00:00.000000")
        );
        assert_eq!(doc.span, Span { line: 1, column: 1 });
        assert!(doc.raw.starts_with("add users table\n\nRevision ID"));
    }

    #[test]
    fn older_plain_template_is_read() {
        let src = "\"\"\"init\n\nRevision ID: abc\nRevises: \nCreate Date: 2020-01-01\n\n\"\"\"\nfrom alembic import op\n\n# revision identifiers, used by Alembic.\nrevision = 'abc'\ndown_revision = None\nbranch_labels = None\ndepends_on = None\n";
        let out = full(src);
        assert_eq!(out.revision, lit(s("abc"), 11, 12, false));
        assert_eq!(out.down_revision, lit(Literal::None, 12, 17, false));
        assert_eq!(out.docstring.and_then(|d| d.revises), Some(String::new()));
    }

    #[test]
    fn annotated_tuple_down_revision_is_read() {
        let out = full("down_revision: Union[str, Sequence[str], None] = (\"a\", 'b')\n");
        assert_eq!(
            out.down_revision,
            lit(Literal::Tuple(vec![s("a"), s("b")]), 1, 50, true)
        );
    }

    #[test]
    fn annotation_without_value_binds_nothing() {
        let out = full("revision = 'a'\nrevision: str\n");
        assert_eq!(out.revision, lit(s("a"), 1, 12, false));
        assert_eq!(full("revision: str\n").revision, None);
    }

    #[test]
    fn last_binding_wins_in_either_direction() {
        let out = full(
            "revision = 'a'\nrevision = make()\ndown_revision = make()\ndown_revision = 'b'\n",
        );
        assert_eq!(non_literal(&out.revision), Some("make()"));
        assert_eq!(out.down_revision, lit(s("b"), 4, 17, false));
    }

    #[test]
    fn chained_assignment_binds_every_target() {
        let out = full("revision = down_revision = 'x'\n");
        assert_eq!(out.revision, lit(s("x"), 1, 28, false));
        assert_eq!(out.down_revision, lit(s("x"), 1, 28, false));
    }

    #[test]
    fn tuple_unpacking_points_each_name_at_its_element() {
        let out = full("revision, down_revision = \"x\", ('y', 'z')\n");
        assert_eq!(out.revision, lit(s("x"), 1, 27, false));
        assert_eq!(
            out.down_revision,
            lit(Literal::Tuple(vec![s("y"), s("z")]), 1, 32, false)
        );
    }

    #[test]
    fn unpacking_a_string_binds_its_characters() {
        let out = full("revision, down_revision = 'ab'\n");
        assert_eq!(out.revision, lit(s("a"), 1, 27, false));
        assert_eq!(out.down_revision, lit(s("b"), 1, 27, false));
    }

    #[test]
    fn unpacking_the_wrong_count_is_not_a_literal() {
        let out = full("revision, down_revision = 'a', 'b', 'c'\n");
        assert_eq!(non_literal(&out.revision), Some("'a', 'b', 'c'"));
        assert_eq!(non_literal(&out.down_revision), Some("'a', 'b', 'c'"));
    }

    #[test]
    fn string_forms_are_decoded() {
        let out = full(
            "revision = r'a\\b' u\"c\"\ndown_revision = (\n    'x'\n    \"\"\"y\"\"\"\n)\nbranch_labels = b'raw'\n",
        );
        assert_eq!(out.revision, lit(s("a\\bc"), 1, 12, false));
        assert_eq!(out.down_revision, lit(s("xy"), 3, 5, false));
        assert_eq!(
            out.branch_labels,
            lit(Literal::Other("b'raw'".into()), 6, 17, false)
        );
    }

    #[test]
    fn numbers_and_bools_are_other_literals() {
        let out = full(
            "revision = 12\ndown_revision = -1\nbranch_labels = True\ndepends_on = {'a': 1}\n",
        );
        assert_eq!(out.revision, lit(Literal::Other("12".into()), 1, 12, false));
        assert_eq!(
            out.down_revision,
            lit(Literal::Other("-1".into()), 2, 17, false)
        );
        assert_eq!(
            out.branch_labels,
            lit(Literal::Other("True".into()), 3, 17, false)
        );
        assert_eq!(
            out.depends_on,
            lit(Literal::Other("{'a': 1}".into()), 4, 14, false)
        );
    }

    #[test]
    fn names_of_earlier_literals_are_resolved() {
        let out = full(
            "_parent = 'abc'\n_other = ('d',)\ndown_revision = _parent\ndepends_on = _other + ('e',)\nrevision = 'x' + 'y'\n",
        );
        assert_eq!(out.down_revision, lit(s("abc"), 3, 17, false));
        assert_eq!(
            out.depends_on,
            lit(Literal::Tuple(vec![s("d"), s("e")]), 4, 14, false)
        );
        assert_eq!(out.revision, lit(s("xy"), 5, 12, false));
    }

    #[test]
    fn names_that_are_not_literals_are_not_resolved() {
        let out = full(
            "_parent = compute()\ndown_revision = _parent\nrevision = unknown\nbranch_labels = ('a', unknown)\n",
        );
        assert_eq!(non_literal(&out.down_revision), Some("_parent"));
        assert_eq!(non_literal(&out.revision), Some("unknown"));
        assert_eq!(non_literal(&out.branch_labels), Some("('a', unknown)"));
    }

    #[test]
    fn non_literal_values_keep_their_source_text() {
        let out = full("down_revision = get_down(\n    'a',\n)\nrevision = f'{x}'\n");
        assert_eq!(
            non_literal(&out.down_revision),
            Some("get_down(\n    'a',\n)")
        );
        assert_eq!(non_literal(&out.revision), Some("f'{x}'"));
        assert_eq!(
            out.down_revision.map(|a| a.span),
            Some(Span {
                line: 1,
                column: 17
            })
        );
    }

    #[test]
    fn adding_incompatible_types_is_not_a_literal() {
        let out = full("revision = 'a' + None\n");
        assert_eq!(non_literal(&out.revision), Some("'a' + None"));
    }

    #[test]
    fn augmented_assignment_follows_python() {
        let out = full(
            "revision = 'ab'\nrevision += 'cd'\ndown_revision = 'x'\ndown_revision += make()\n",
        );
        assert_eq!(out.revision, lit(s("abcd"), 2, 13, false));
        assert_eq!(
            non_literal(&out.down_revision),
            Some("down_revision += make()")
        );
    }

    #[test]
    fn def_class_and_import_rebind_their_name() {
        let out = full(
            "revision = 'a'\ndef revision(): pass\ndown_revision = 'b'\nclass down_revision: pass\ndepends_on = 'c'\nfrom x import y as depends_on\nbranch_labels = 'd'\nimport branch_labels.sub\n",
        );
        assert_eq!(out.revision, None);
        assert_eq!(out.down_revision, None);
        assert_eq!(out.depends_on, None);
        assert_eq!(out.branch_labels, None);
        let out = full("_p = 'a'\nimport _p\ndown_revision = _p\n");
        assert_eq!(non_literal(&out.down_revision), Some("_p"));
    }

    #[test]
    fn conditional_assignments_are_ignored_but_reported() {
        let src = "revision = 'a'\nif x:\n    revision = 'b'\nelse:\n    down_revision = 'c'\ntry:\n    pass\nexcept ImportError:\n    with f() as depends_on:\n        pass\nfor branch_labels in []:\n    other = 1\ndef upgrade():\n    revision = 'local'\n";
        let out = full(src);
        assert_eq!(out.revision, lit(s("a"), 1, 12, false));
        assert_eq!(out.down_revision, None);
        let reported: Vec<_> = out
            .issues
            .iter()
            .map(|i| match i {
                ReadIssue::ConditionalAssignment { name, span } => {
                    (name.as_str(), span.line, span.column)
                }
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(
            reported,
            [
                ("revision", 3, 5),
                ("down_revision", 5, 5),
                ("depends_on", 9, 17),
                ("branch_labels", 11, 5)
            ]
        );
    }

    #[test]
    fn docstring_must_be_a_plain_string_first_statement() {
        assert_eq!(full("import x\n'''doc'''\n").docstring, None);
        assert_eq!(full("b'''doc'''\n").docstring, None);
        assert_eq!(full("f'''doc'''\n").docstring, None);
        let doc = full("# c\n\nu'one' \"two\"\n")
            .docstring
            .expect("docstring");
        assert_eq!(doc.raw, "onetwo");
        assert_eq!(doc.span, Span { line: 3, column: 1 });
    }

    #[test]
    fn syntax_error_still_yields_literal_ids() {
        let src = "\"\"\"msg\n\nRevises: p\n\"\"\"\nrevision = 'r1'\ndown_revision: str = \"p\"\n\n\ndef upgrade():\n    op.execute(\n        f\"{\"nested\"}\"\n    )\n\n\ndepends_on = ('q',)\n";
        let out = full(src);
        assert_eq!(out.revision, lit(s("r1"), 5, 12, false));
        assert_eq!(out.down_revision, lit(s("p"), 6, 22, true));
        assert_eq!(
            out.depends_on,
            lit(Literal::Tuple(vec![s("q")]), 15, 14, false)
        );
        assert_eq!(out.docstring.map(|d| d.message), Some("msg".to_string()));
        assert!(matches!(
            out.issues.as_slice(),
            [ReadIssue::Unparsable {
                span: Span { line: 11, .. },
                ..
            }]
        ));
    }

    #[test]
    fn unparsable_assignment_of_an_identifier_is_not_a_literal() {
        let out = full("revision = 'a'\nrevision = f\"{\"x\"}\"\ndown_revision = 'b'\n");
        assert_eq!(non_literal(&out.revision), Some("f\"{\"x\"}\""));
        assert_eq!(
            out.revision.map(|a| a.span),
            Some(Span {
                line: 2,
                column: 12
            })
        );
        assert_eq!(out.down_revision, lit(s("b"), 3, 17, false));
    }

    #[test]
    fn error_in_an_annotation_still_yields_the_value() {
        let out = full("revision: Union[str None] = 'a'\ndown_revision = None\n");
        assert_eq!(out.revision, lit(s("a"), 1, 29, true));
        assert_eq!(out.issues.len(), 1);
    }

    #[test]
    fn unclosed_bracket_in_a_function_does_not_swallow_later_ids() {
        let out = full("def upgrade():\n    op.f(\n\nrevision = 'a'\ndown_revision = None\n");
        assert_eq!(out.revision, lit(s("a"), 4, 12, false));
        assert_eq!(out.down_revision, lit(Literal::None, 5, 17, false));
    }

    #[test]
    fn python_312_type_statement_is_accepted() {
        let out = full("type Alias = int\nrevision = 'a'\ndown_revision = None\n");
        assert_eq!(out.revision, lit(s("a"), 2, 12, false));
        assert!(out.issues.is_empty());
    }

    #[test]
    fn columns_count_characters_and_tabs() {
        let out = full(
            "\"\"\"caf\u{e9}\"\"\"\nif x:\n\tpass\nrevision  =\t'\u{e9}t\u{e9}'; down_revision = ('\u{e9}',)\n",
        );
        assert_eq!(out.revision, lit(s("\u{e9}t\u{e9}"), 4, 13, false));
        assert_eq!(
            out.down_revision,
            lit(Literal::Tuple(vec![s("\u{e9}")]), 4, 36, false)
        );
    }

    #[test]
    fn split_top_level_respects_strings_brackets_and_continuations() {
        let src =
            "a = '''\nb = 1\n'''\nc = (\n1)\nd = 1 + \\\n2\ndef f():\n    x = 1\n# c\ne = '#'\n";
        let chunks: Vec<&str> = split_top_level(src)
            .into_iter()
            .map(|(a, b)| &src[a..b])
            .collect();
        assert_eq!(
            chunks,
            [
                "a = '''\nb = 1\n'''\n",
                "c = (\n1)\n",
                "d = 1 + \\\n2\n",
                "def f():\n    x = 1\n# c\n",
                "e = '#'\n"
            ]
        );
    }
}
