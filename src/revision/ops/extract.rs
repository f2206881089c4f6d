//! Walking `upgrade()` / `downgrade()` with rustpython-parser's AST.

use std::collections::HashMap;

use rustpython_parser::ast::{self, Constant, Expr, Ranged, Stmt};
use rustpython_parser::text_size::TextSize;
use rustpython_parser::{Mode, parse_starts_at};

use super::super::parse::split_top_level;
use super::super::read::LineIndex;
use super::{
    Body, ColumnDef, ConstraintKind, FunctionOps, Name, Op, OpKind, OpsReport, ParseFailure,
    TableRef, sql,
};

/// Deeper expressions and blocks are not walked: no real migration nests this far, and garbage
/// input must not exhaust the stack.
const MAX_DEPTH: usize = 100;
/// How many levels of same-file helper functions are followed.
const MAX_INLINE: usize = 6;
/// The pseudo path given to the parser (only used in its messages, which we do not show).
const PATH: &str = "<revision>";

pub(super) fn read(src: &str) -> OpsReport {
    let lines = LineIndex::new(src);
    let (stmts, broken, parse_error) =
        match parse_starts_at(src, Mode::Module, PATH, TextSize::default()) {
            Ok(module) => (module_body(module), Vec::new(), None),
            Err(error) => {
                let failure = ParseFailure {
                    message: error.error.to_string(),
                    line: lines.span(src, usize::from(error.offset)).line,
                };
                let (stmts, broken) = recover(src);
                (stmts, broken, Some(failure))
            }
        };
    let module = Module::new(src, &lines, &stmts, &broken);
    OpsReport {
        upgrade: module.function_ops("upgrade"),
        downgrade: module.function_ops("downgrade"),
        parse_error,
    }
}

fn module_body(module: ast::Mod) -> Vec<Stmt> {
    match module {
        ast::Mod::Module(m) => m.body,
        _ => Vec::new(),
    }
}

/// After a syntax error: the top-level statements that parse on their own, and the names (with
/// offsets) of the functions whose own text does not.
fn recover(src: &str) -> (Vec<Stmt>, Vec<(String, usize)>) {
    let mut stmts = Vec::new();
    let mut broken = Vec::new();
    for (start, end) in split_top_level(src) {
        let chunk = src.get(start..end).unwrap_or("");
        let offset = TextSize::from(u32::try_from(start).unwrap_or(u32::MAX));
        match parse_starts_at(chunk, Mode::Module, PATH, offset) {
            Ok(module) => stmts.extend(module_body(module)),
            Err(_) => {
                if let Some(name) = def_name(chunk) {
                    broken.push((name.to_string(), start));
                }
            }
        }
    }
    (stmts, broken)
}

/// The name a chunk of source defines with `def` (after any decorators), read lexically.
fn def_name(chunk: &str) -> Option<&str> {
    let line = chunk
        .lines()
        .map(str::trim_start)
        .find(|l| !l.is_empty() && !l.starts_with('@') && !l.starts_with('#'))?;
    let line = line.strip_prefix("async").map_or(line, str::trim_start);
    let rest = line.strip_prefix("def")?;
    let rest = rest.trim_start();
    let end = rest
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    (end > 0).then(|| &rest[..end])
}

/// A module-level function: the last `def` of a name wins, as in Python.
#[derive(Clone, Copy)]
enum Def<'m> {
    Parsed {
        body: &'m [Stmt],
        args: &'m ast::Arguments,
        start: usize,
    },
    /// A `def` whose text does not parse.
    Broken { start: usize },
}

impl Def<'_> {
    fn start(&self) -> usize {
        match self {
            Def::Parsed { start, .. } | Def::Broken { start } => *start,
        }
    }
}

/// What the module level tells the walker: its functions, string constants and `op` aliases.
struct Module<'m> {
    src: &'m str,
    lines: &'m LineIndex,
    defs: HashMap<&'m str, Def<'m>>,
    strings: HashMap<String, String>,
    op_names: Vec<String>,
}

impl<'m> Module<'m> {
    fn new(
        src: &'m str,
        lines: &'m LineIndex,
        stmts: &'m [Stmt],
        broken: &'m [(String, usize)],
    ) -> Self {
        let mut module = Module {
            src,
            lines,
            defs: HashMap::new(),
            strings: HashMap::new(),
            // `op` is what every Alembic template imports; accepted even when the import is
            // somewhere we do not look (a star import, a conditional import).
            op_names: vec!["op".to_string()],
        };
        for stmt in stmts {
            match stmt {
                Stmt::FunctionDef(f) => module.define(&f.name, &f.body, &f.args, f.range.start()),
                Stmt::AsyncFunctionDef(f) => {
                    module.define(&f.name, &f.body, &f.args, f.range.start());
                }
                Stmt::Assign(a) => {
                    for target in &a.targets {
                        module.bind_string(target, Some(&a.value));
                    }
                }
                Stmt::AnnAssign(a) => module.bind_string(&a.target, a.value.as_deref()),
                Stmt::Import(_) | Stmt::ImportFrom(_) => {
                    import_op_names(stmt, &mut module.op_names);
                }
                _ => {}
            }
        }
        for (name, start) in broken {
            let later = module
                .defs
                .get(name.as_str())
                .is_none_or(|d| d.start() < *start);
            if later {
                module
                    .defs
                    .insert(name.as_str(), Def::Broken { start: *start });
            }
        }
        module
    }

    fn define(&mut self, name: &'m str, body: &'m [Stmt], args: &'m ast::Arguments, at: TextSize) {
        let start = usize::from(at);
        self.defs.insert(name, Def::Parsed { body, args, start });
        self.strings.remove(name);
    }

    fn bind_string(&mut self, target: &Expr, value: Option<&Expr>) {
        let Expr::Name(n) = target else { return };
        let literal = value.and_then(|v| match v {
            Expr::Constant(c) => match &c.value {
                Constant::Str(s) => Some(s.clone()),
                _ => None,
            },
            _ => None,
        });
        match literal {
            Some(s) => self.strings.insert(n.id.to_string(), s),
            None => self.strings.remove(n.id.as_str()),
        };
    }

    fn line(&self, at: TextSize) -> u32 {
        self.lines.span(self.src, usize::from(at)).line
    }

    fn function_ops(&self, name: &str) -> FunctionOps {
        match self.defs.get(name) {
            None => FunctionOps::missing(),
            Some(Def::Broken { start }) => FunctionOps {
                body: Body::Unparsable,
                line: Some(self.lines.span(self.src, *start).line),
                ops: Vec::new(),
            },
            Some(Def::Parsed { body, start, .. }) => {
                let mut walker = Walker::new(self, name);
                walker.block(body);
                FunctionOps {
                    body: body_shape(body),
                    line: Some(self.lines.span(self.src, *start).line),
                    ops: walker.ops,
                }
            }
        }
    }
}

/// `from alembic import op as x`, `import alembic.op as x`: names bound to the `op` proxy.
fn import_op_names(stmt: &Stmt, names: &mut Vec<String>) {
    match stmt {
        Stmt::ImportFrom(i) if i.module.as_deref() == Some("alembic") => {
            for alias in &i.names {
                if alias.name.as_str() == "op" {
                    let bound = alias.asname.as_ref().unwrap_or(&alias.name);
                    names.push(bound.to_string());
                }
            }
        }
        Stmt::Import(i) => {
            for alias in &i.names {
                if let (Some(asname), "alembic.op") = (&alias.asname, alias.name.as_str()) {
                    names.push(asname.to_string());
                }
            }
        }
        _ => {}
    }
}

/// `pass`, `...` and bare strings (docstrings) do nothing.
fn body_shape(body: &[Stmt]) -> Body {
    let does_something = body.iter().any(|s| match s {
        Stmt::Pass(_) => false,
        Stmt::Expr(e) => !matches!(
            &*e.value,
            Expr::Constant(c) if matches!(c.value, Constant::Str(_) | Constant::Ellipsis)
        ),
        _ => true,
    });
    if does_something {
        Body::Code
    } else {
        Body::Empty
    }
}

/// Who a method is called on.
enum Receiver {
    Op,
    Batch(TableRef),
    /// A connection from `op.get_bind()`.
    Bind,
    Other,
}

/// Walks one function body (and the helpers it calls) in source order.
struct Walker<'m> {
    m: &'m Module<'m>,
    ops: Vec<Op>,
    /// Names bound to string constants (module level, then local assignments).
    strings: HashMap<String, String>,
    /// Names bound to a table object (`sa.table("x")`, `op.create_table("x", ...)`).
    tables: HashMap<String, String>,
    op_names: Vec<String>,
    binds: Vec<String>,
    /// `with op.batch_alter_table(...) as name:` blocks, innermost last.
    batch: Vec<(String, TableRef)>,
    /// Functions being walked (recursion guard for helper inlining).
    stack: Vec<String>,
    conditional: bool,
    depth: usize,
}

impl<'m> Walker<'m> {
    fn new(m: &'m Module<'m>, function: &str) -> Self {
        Walker {
            m,
            ops: Vec::new(),
            strings: m.strings.clone(),
            tables: HashMap::new(),
            op_names: m.op_names.clone(),
            binds: Vec::new(),
            batch: Vec::new(),
            stack: vec![function.to_string()],
            conditional: false,
            depth: 0,
        }
    }

    fn text(&self, node: &impl Ranged) -> String {
        let range = node.range();
        self.m
            .src
            .get(usize::from(range.start())..usize::from(range.end()))
            .unwrap_or("")
            .to_string()
    }

    fn block(&mut self, body: &'m [Stmt]) {
        if self.depth > MAX_DEPTH {
            return;
        }
        self.depth += 1;
        for stmt in body {
            self.stmt(stmt);
        }
        self.depth -= 1;
    }

    /// A block that may not run (or may run repeatedly).
    fn maybe_block(&mut self, body: &'m [Stmt]) {
        let saved = std::mem::replace(&mut self.conditional, true);
        self.block(body);
        self.conditional = saved;
    }

    fn stmt(&mut self, stmt: &'m Stmt) {
        match stmt {
            Stmt::Expr(e) => self.expr(&e.value),
            Stmt::Assign(a) => {
                self.expr(&a.value);
                for target in &a.targets {
                    self.bind(target, Some(&a.value));
                }
            }
            Stmt::AnnAssign(a) => {
                if let Some(value) = &a.value {
                    self.expr(value);
                    self.bind(&a.target, Some(value));
                }
            }
            Stmt::AugAssign(a) => {
                self.expr(&a.value);
                self.bind(&a.target, None);
            }
            Stmt::Return(r) => {
                if let Some(value) = &r.value {
                    self.expr(value);
                }
            }
            Stmt::If(i) => {
                self.expr(&i.test);
                self.maybe_block(&i.body);
                self.maybe_block(&i.orelse);
            }
            Stmt::For(f) => self.for_loop(&f.iter, &f.target, &f.body, &f.orelse),
            Stmt::AsyncFor(f) => self.for_loop(&f.iter, &f.target, &f.body, &f.orelse),
            Stmt::While(w) => {
                self.expr(&w.test);
                self.maybe_block(&w.body);
                self.maybe_block(&w.orelse);
            }
            Stmt::With(w) => self.with(&w.items, &w.body),
            Stmt::AsyncWith(w) => self.with(&w.items, &w.body),
            Stmt::Try(t) => self.try_block(&t.body, &t.handlers, &t.orelse, &t.finalbody),
            Stmt::TryStar(t) => self.try_block(&t.body, &t.handlers, &t.orelse, &t.finalbody),
            Stmt::Match(m) => {
                self.expr(&m.subject);
                for case in &m.cases {
                    self.maybe_block(&case.body);
                }
            }
            Stmt::Import(_) | Stmt::ImportFrom(_) => import_op_names(stmt, &mut self.op_names),
            _ => {}
        }
    }

    fn for_loop(&mut self, iter: &'m Expr, target: &'m Expr, body: &'m [Stmt], orelse: &'m [Stmt]) {
        self.expr(iter);
        self.bind(target, None);
        self.maybe_block(body);
        self.maybe_block(orelse);
    }

    fn try_block(
        &mut self,
        body: &'m [Stmt],
        handlers: &'m [ast::ExceptHandler],
        orelse: &'m [Stmt],
        finalbody: &'m [Stmt],
    ) {
        self.block(body);
        for ast::ExceptHandler::ExceptHandler(h) in handlers {
            self.maybe_block(&h.body);
        }
        self.maybe_block(orelse);
        self.block(finalbody);
    }

    fn with(&mut self, items: &'m [ast::WithItem], body: &'m [Stmt]) {
        let mut pushed = 0;
        for item in items {
            match (
                self.batch_table(&item.context_expr),
                item.optional_vars.as_deref(),
            ) {
                (Some(table), Some(Expr::Name(n))) => {
                    self.batch.push((n.id.to_string(), table));
                    pushed += 1;
                }
                (Some(_), _) => {}
                (None, vars) => {
                    self.expr(&item.context_expr);
                    if let Some(vars) = vars {
                        self.bind(vars, None);
                    }
                }
            }
        }
        self.block(body);
        self.batch.truncate(self.batch.len() - pushed);
    }

    /// The table of an `op.batch_alter_table(...)` call.
    fn batch_table(&self, e: &Expr) -> Option<TableRef> {
        let Expr::Call(c) = e else { return None };
        let Expr::Attribute(a) = c.func.as_ref() else {
            return None;
        };
        if a.attr.as_str() != "batch_alter_table"
            || !matches!(self.receiver(&a.value), Receiver::Op)
        {
            return None;
        }
        let args = Args::new(c, &["table_name", "schema"]);
        Some(TableRef {
            name: self.name(args.get("table_name")?),
            schema: args.get("schema").and_then(|e| self.opt_name(e)),
        })
    }

    /// Records what an assignment binds that later calls may use.
    fn bind(&mut self, target: &Expr, value: Option<&Expr>) {
        match target {
            Expr::Name(n) => {
                let id = n.id.as_str();
                self.strings.remove(id);
                self.tables.remove(id);
                self.binds.retain(|b| b != id);
                let Some(value) = value else { return };
                if let Some(s) = self.string(value) {
                    self.strings.insert(id.to_string(), s);
                } else if let Some(t) = self.table_object(value) {
                    self.tables.insert(id.to_string(), t);
                } else if self.is_get_bind(value) {
                    self.binds.push(id.to_string());
                }
            }
            Expr::Tuple(t) => t.elts.iter().for_each(|e| self.bind(e, None)),
            Expr::List(l) => l.elts.iter().for_each(|e| self.bind(e, None)),
            Expr::Starred(s) => self.bind(&s.value, None),
            _ => {}
        }
    }

    fn expr(&mut self, e: &'m Expr) {
        if self.depth > MAX_DEPTH {
            return;
        }
        self.depth += 1;
        self.expr_inner(e);
        self.depth -= 1;
    }

    fn maybe_expr(&mut self, e: &'m Expr) {
        let saved = std::mem::replace(&mut self.conditional, true);
        self.expr(e);
        self.conditional = saved;
    }

    fn exprs(&mut self, es: &'m [Expr]) {
        for e in es {
            self.expr(e);
        }
    }

    /// Finds calls in evaluation order: the callee's receiver and the arguments run before the
    /// call itself (`op.bulk_insert(op.create_table(...), rows)`).
    fn expr_inner(&mut self, e: &'m Expr) {
        match e {
            Expr::Call(c) => {
                match c.func.as_ref() {
                    Expr::Attribute(a) => self.expr(&a.value),
                    other => self.expr(other),
                }
                self.exprs(&c.args);
                for kw in &c.keywords {
                    self.expr(&kw.value);
                }
                self.call(c);
            }
            Expr::Attribute(a) => self.expr(&a.value),
            Expr::BoolOp(b) => self.exprs(&b.values),
            Expr::NamedExpr(n) => self.expr(&n.value),
            Expr::BinOp(b) => {
                self.expr(&b.left);
                self.expr(&b.right);
            }
            Expr::UnaryOp(u) => self.expr(&u.operand),
            Expr::IfExp(i) => {
                self.expr(&i.test);
                self.maybe_expr(&i.body);
                self.maybe_expr(&i.orelse);
            }
            Expr::Dict(d) => {
                for key in d.keys.iter().flatten() {
                    self.expr(key);
                }
                self.exprs(&d.values);
            }
            Expr::Set(s) => self.exprs(&s.elts),
            Expr::List(l) => self.exprs(&l.elts),
            Expr::Tuple(t) => self.exprs(&t.elts),
            Expr::ListComp(c) => self.comprehension(&c.generators, &[&c.elt]),
            Expr::SetComp(c) => self.comprehension(&c.generators, &[&c.elt]),
            Expr::GeneratorExp(c) => self.comprehension(&c.generators, &[&c.elt]),
            Expr::DictComp(c) => self.comprehension(&c.generators, &[&c.key, &c.value]),
            Expr::Await(a) => self.expr(&a.value),
            Expr::Yield(y) => {
                if let Some(v) = &y.value {
                    self.expr(v);
                }
            }
            Expr::YieldFrom(y) => self.expr(&y.value),
            Expr::Compare(c) => {
                self.expr(&c.left);
                self.exprs(&c.comparators);
            }
            Expr::Subscript(s) => {
                self.expr(&s.value);
                self.expr(&s.slice);
            }
            Expr::Starred(s) => self.expr(&s.value),
            Expr::JoinedStr(j) => self.exprs(&j.values),
            Expr::FormattedValue(f) => self.expr(&f.value),
            // A lambda's body runs later, if ever; names, constants and slices call nothing.
            _ => {}
        }
    }

    fn comprehension(&mut self, generators: &'m [ast::Comprehension], elts: &[&'m Expr]) {
        let saved = std::mem::replace(&mut self.conditional, true);
        for g in generators {
            self.expr(&g.iter);
            self.exprs(&g.ifs);
        }
        for e in elts {
            self.expr(e);
        }
        self.conditional = saved;
    }

    fn receiver(&self, e: &Expr) -> Receiver {
        match e {
            Expr::Name(n) => {
                let id = n.id.as_str();
                if let Some((_, t)) = self.batch.iter().rev().find(|(b, _)| b == id) {
                    Receiver::Batch(t.clone())
                } else if self.op_names.iter().any(|o| o == id) {
                    Receiver::Op
                } else if self.binds.iter().any(|b| b == id) {
                    Receiver::Bind
                } else {
                    Receiver::Other
                }
            }
            Expr::Attribute(a)
                if a.attr.as_str() == "op"
                    && matches!(&*a.value, Expr::Name(n) if n.id.as_str() == "alembic") =>
            {
                Receiver::Op
            }
            _ if self.is_get_bind(e) => Receiver::Bind,
            _ => Receiver::Other,
        }
    }

    fn is_get_bind(&self, e: &Expr) -> bool {
        let Expr::Call(c) = e else { return false };
        let Expr::Attribute(a) = c.func.as_ref() else {
            return false;
        };
        a.attr.as_str() == "get_bind" && matches!(self.receiver(&a.value), Receiver::Op)
    }

    fn call(&mut self, c: &'m ast::ExprCall) {
        match c.func.as_ref() {
            Expr::Attribute(a) => match self.receiver(&a.value) {
                Receiver::Op => self.op_call(a.attr.as_str(), c, None),
                Receiver::Batch(table) => self.op_call(a.attr.as_str(), c, Some(table)),
                Receiver::Bind => {
                    if matches!(a.attr.as_str(), "execute" | "exec_driver_sql") {
                        let args = Args::new(c, &["statement"]);
                        self.execute(c, args.get("statement"));
                    }
                }
                Receiver::Other => {}
            },
            Expr::Name(n) => self.inline(n.id.as_str(), c),
            _ => {}
        }
    }

    /// Follows a call to a function defined in the same file, mapping arguments that are the
    /// `op` proxy, a batch operations object or a string onto its parameters.
    fn inline(&mut self, name: &str, c: &'m ast::ExprCall) {
        let Some(&Def::Parsed { body, args, .. }) = self.m.defs.get(name) else {
            return;
        };
        if self.stack.len() > MAX_INLINE || self.stack.iter().any(|s| s == name) {
            return;
        }
        let saved = (
            self.strings.clone(),
            self.tables.clone(),
            self.op_names.clone(),
            self.binds.clone(),
            self.batch.len(),
        );
        // Python's binding, simplified: positionally up to any `*args`, then by keyword, then
        // the parameter's default.
        let starred = c.args.iter().position(|a| matches!(a, Expr::Starred(_)));
        let positional = &c.args[..starred.unwrap_or(c.args.len())];
        let by_keyword = |name: &str| {
            c.keywords
                .iter()
                .find(|k| k.arg.as_deref() == Some(name))
                .map(|k| &k.value)
        };
        let mut bindings = Vec::new();
        for (i, p) in args.posonlyargs.iter().chain(&args.args).enumerate() {
            let value = positional.get(i).or_else(|| by_keyword(p.def.arg.as_str()));
            bindings.push((&p.def, value.or(p.default.as_deref())));
        }
        for p in &args.kwonlyargs {
            let value = by_keyword(p.def.arg.as_str()).or(p.default.as_deref());
            bindings.push((&p.def, value));
        }
        for (param, arg) in bindings {
            let id = param.arg.as_str();
            self.strings.remove(id);
            self.tables.remove(id);
            let Some(arg) = arg else { continue };
            match self.receiver(arg) {
                Receiver::Op => self.op_names.push(id.to_string()),
                Receiver::Batch(t) => self.batch.push((id.to_string(), t)),
                Receiver::Bind => self.binds.push(id.to_string()),
                Receiver::Other => {
                    if let Some(s) = self.string(arg) {
                        self.strings.insert(id.to_string(), s);
                    }
                }
            }
        }
        self.stack.push(name.to_string());
        self.block(body);
        self.stack.pop();
        (self.strings, self.tables, self.op_names, self.binds) =
            (saved.0, saved.1, saved.2, saved.3);
        self.batch.truncate(saved.4);
    }

    fn push(&mut self, kind: OpKind, at: TextSize, guarded: bool, inferred: bool) {
        self.ops.push(Op {
            kind,
            line: self.m.line(at),
            conditional: self.conditional,
            guarded,
            inferred,
        });
    }

    fn op_call(&mut self, method: &str, c: &'m ast::ExprCall, batch: Option<TableRef>) {
        if matches!(
            method,
            "f" | "inline_literal"
                | "get_bind"
                | "get_context"
                | "batch_alter_table"
                | "implementation_for"
                | "register_operation"
        ) {
            // Helpers with no effect on the database by themselves.
            return;
        }
        if method == "execute" {
            let args = Args::new(c, &["sqltext"]);
            self.execute(c, args.get("sqltext"));
            return;
        }
        let kind = signature(method, batch.is_some())
            .and_then(|sig| self.op_kind(method, &Args::new(c, sig), batch));
        let guarded = ["if_exists", "if_not_exists"].iter().any(|k| {
            c.keywords
                .iter()
                .any(|kw| kw.arg.as_deref() == Some(k) && is_true(&kw.value))
        });
        let kind = kind.unwrap_or_else(|| OpKind::Unknown {
            call: self.text(c.func.as_ref()),
        });
        self.push(kind, c.range.start(), guarded, false);
    }

    /// None when the call is malformed (a required argument is missing).
    fn op_kind(&self, method: &str, a: &Args<'m>, batch: Option<TableRef>) -> Option<OpKind> {
        let table = |key: &str, schema_key: &str| -> Option<TableRef> {
            match &batch {
                Some(t) => Some(t.clone()),
                None => Some(TableRef {
                    name: self.name(a.get(key)?),
                    schema: a.get(schema_key).and_then(|e| self.opt_name(e)),
                }),
            }
        };
        let kind = match method {
            "create_table" => OpKind::CreateTable {
                table: table("table_name", "schema")?,
                columns: a.rest(1).filter_map(|e| self.column(e)).collect(),
            },
            "drop_table" => OpKind::DropTable {
                table: table("table_name", "schema")?,
            },
            "rename_table" => OpKind::RenameTable {
                table: table("old_table_name", "schema")?,
                new_name: self.name(a.get("new_table_name")?),
            },
            "add_column" => OpKind::AddColumn {
                table: table("table_name", "schema")?,
                column: self.column(a.get("column")?)?,
            },
            "drop_column" => OpKind::DropColumn {
                table: table("table_name", "schema")?,
                column: self.name(a.get("column_name")?),
            },
            "alter_column" => OpKind::AlterColumn {
                table: table("table_name", "schema")?,
                column: self.name(a.get("column_name")?),
                new_name: a.get("new_column_name").and_then(|e| self.opt_name(e)),
                nullable: a.get("nullable").and_then(as_bool),
                type_: a.get("type_").map(|e| self.text(e)),
            },
            "create_index" => OpKind::CreateIndex {
                name: self.name(a.get("index_name")?),
                table: table("table_name", "schema")?,
                columns: a.get("columns").map(|e| self.names(e)).unwrap_or_default(),
                unique: a.get("unique").is_some_and(is_true),
            },
            "drop_index" => OpKind::DropIndex {
                name: self.name(a.get("index_name")?),
                table: table("table_name", "schema"),
            },
            "create_unique_constraint" | "create_primary_key" => OpKind::CreateConstraint {
                kind: if method == "create_primary_key" {
                    ConstraintKind::PrimaryKey
                } else {
                    ConstraintKind::Unique
                },
                name: a.get("constraint_name").and_then(|e| self.opt_name(e)),
                table: table("table_name", "schema")?,
                columns: a.get("columns").map(|e| self.names(e)).unwrap_or_default(),
                referent: None,
            },
            "create_check_constraint" | "create_exclude_constraint" => OpKind::CreateConstraint {
                kind: if method == "create_check_constraint" {
                    ConstraintKind::Check
                } else {
                    ConstraintKind::Exclude
                },
                name: a.get("constraint_name").and_then(|e| self.opt_name(e)),
                table: table("table_name", "schema")?,
                columns: Vec::new(),
                referent: None,
            },
            "create_foreign_key" => OpKind::CreateConstraint {
                kind: ConstraintKind::ForeignKey,
                name: a.get("constraint_name").and_then(|e| self.opt_name(e)),
                table: table("source_table", "source_schema")?,
                columns: a
                    .get("local_cols")
                    .map(|e| self.names(e))
                    .unwrap_or_default(),
                referent: Some(TableRef {
                    name: self.name(a.get("referent_table")?),
                    schema: a.get("referent_schema").and_then(|e| self.opt_name(e)),
                }),
            },
            "drop_constraint" => OpKind::DropConstraint {
                name: self.name(a.get("constraint_name")?),
                table: table("table_name", "schema")?,
                type_: a
                    .get("type_")
                    .map(|e| self.string(e).unwrap_or_else(|| self.text(e))),
            },
            "bulk_insert" => OpKind::BulkInsert {
                table: {
                    let e = a.get("table")?;
                    match self.table_object(e) {
                        Some(t) => Name::Literal(t),
                        None => Name::Expr(self.text(e)),
                    }
                },
            },
            _ => return None,
        };
        Some(kind)
    }

    fn execute(&mut self, c: &'m ast::ExprCall, arg: Option<&'m Expr>) {
        let Some(arg) = arg else {
            let call = self.text(c.func.as_ref());
            self.push(OpKind::Unknown { call }, c.range.start(), false, false);
            return;
        };
        let sql = self.sql_text(arg);
        let at = c.range.start();
        self.push(
            OpKind::Execute {
                sql: sql.clone(),
                expr: self.text(arg),
            },
            at,
            false,
            false,
        );
        for (kind, guarded) in sql.as_deref().map(sql::infer).unwrap_or_default() {
            self.push(kind, at, guarded, true);
        }
    }

    /// The SQL of a literal, a name bound to one, or `sa.text(...)` / `sa.DDL(...)` of those.
    fn sql_text(&self, e: &Expr) -> Option<String> {
        if let Some(s) = self.string(e) {
            return Some(s);
        }
        let Expr::Call(c) = e else { return None };
        match last_name(&c.func) {
            Some("text" | "DDL") => self.string(c.args.first()?),
            _ => None,
        }
    }

    /// A string literal, a name bound to one, or a naming-convention marker around one
    /// (`op.f("ix")`, `batch_op.f("ix")`, `conv("ix")`).
    fn string(&self, e: &Expr) -> Option<String> {
        match e {
            Expr::Constant(c) => match &c.value {
                Constant::Str(s) => Some(s.clone()),
                _ => None,
            },
            Expr::Name(n) => self.strings.get(n.id.as_str()).cloned(),
            Expr::Call(c) if c.args.len() == 1 && c.keywords.is_empty() => {
                let marker = match c.func.as_ref() {
                    Expr::Attribute(a) if a.attr.as_str() == "f" => {
                        matches!(self.receiver(&a.value), Receiver::Op | Receiver::Batch(_))
                    }
                    func => last_name(func) == Some("conv"),
                };
                if marker {
                    self.string(&c.args[0])
                } else {
                    None
                }
            }
            _ => None,
        }
    }

    fn name(&self, e: &Expr) -> Name {
        match self.string(e) {
            Some(s) => Name::Literal(s),
            None => Name::Expr(self.text(e)),
        }
    }

    /// None for a literal `None`.
    fn opt_name(&self, e: &Expr) -> Option<Name> {
        match e {
            Expr::Constant(c) if matches!(c.value, Constant::None) => None,
            _ => Some(self.name(e)),
        }
    }

    /// A list/tuple of names, a single name, or (anything else) the whole expression.
    fn names(&self, e: &Expr) -> Vec<Name> {
        match e {
            Expr::List(l) => l.elts.iter().map(|e| self.name(e)).collect(),
            Expr::Tuple(t) => t.elts.iter().map(|e| self.name(e)).collect(),
            _ => vec![self.name(e)],
        }
    }

    /// The table name of `sa.table("x", ...)`, `sa.Table("x", meta, ...)`,
    /// `op.create_table("x", ...)`, or a name bound to one of those.
    fn table_object(&self, e: &Expr) -> Option<String> {
        match e {
            Expr::Name(n) => self.tables.get(n.id.as_str()).cloned(),
            Expr::Call(c) => {
                let is_table = match c.func.as_ref() {
                    Expr::Attribute(a) if a.attr.as_str() == "create_table" => {
                        matches!(self.receiver(&a.value), Receiver::Op)
                    }
                    func => matches!(last_name(func), Some("table" | "Table")),
                };
                if is_table {
                    self.string(c.args.first()?)
                } else {
                    None
                }
            }
            _ => None,
        }
    }

    /// A `Column(...)` call (any receiver: `sa.Column`, `sqlalchemy.Column`, `Column`).
    fn column(&self, e: &Expr) -> Option<ColumnDef> {
        let Expr::Call(c) = e else { return None };
        if last_name(&c.func) != Some("Column") {
            return None;
        }
        let keyword = |k: &str| {
            c.keywords
                .iter()
                .find(|kw| kw.arg.as_deref() == Some(k))
                .map(|kw| &kw.value)
        };
        // SQLAlchemy: a leading string is the name; otherwise the first argument is the type.
        let first = c.args.first();
        let (name, type_at) = match first {
            Some(e) if self.string(e).is_some() => (self.name(e), 1),
            Some(
                e @ (Expr::Name(_) | Expr::JoinedStr(_) | Expr::BinOp(_) | Expr::Subscript(_)),
            ) => (Name::Expr(self.text(e)), 1),
            _ => match keyword("name") {
                Some(e) => (self.name(e), 0),
                None => (Name::Expr(self.text(e)), 0),
            },
        };
        let positional_type = c.args.get(type_at).filter(|t| {
            !matches!(
                last_name_of_call(t),
                Some("ForeignKey" | "Sequence" | "Computed" | "Identity" | "CheckConstraint")
            )
        });
        Some(ColumnDef {
            name,
            type_: positional_type.or(keyword("type_")).map(|t| self.text(t)),
            nullable: keyword("nullable").and_then(as_bool),
            primary_key: keyword("primary_key").is_some_and(is_true),
        })
    }
}

/// Positional parameter names of each operation, as `op.<method>` and as `batch_op.<method>`
/// (where the table is implied). None: not an operation this module models.
fn signature(method: &str, batch: bool) -> Option<&'static [&'static str]> {
    let sig: &'static [&'static str] = match (method, batch) {
        ("create_table" | "drop_table", false) => &["table_name"],
        ("rename_table", false) => &["old_table_name", "new_table_name"],
        ("add_column", false) => &["table_name", "column"],
        ("add_column", true) => &["column"],
        ("drop_column", false) => &["table_name", "column_name"],
        ("drop_column", true) => &["column_name"],
        ("alter_column", false) => &["table_name", "column_name"],
        ("alter_column", true) => &["column_name"],
        ("create_index", false) => &["index_name", "table_name", "columns"],
        ("create_index", true) => &["index_name", "columns"],
        ("drop_index", false) => &["index_name", "table_name"],
        ("drop_index", true) => &["index_name"],
        ("create_unique_constraint" | "create_primary_key", false) => {
            &["constraint_name", "table_name", "columns"]
        }
        ("create_unique_constraint" | "create_primary_key", true) => {
            &["constraint_name", "columns"]
        }
        ("create_check_constraint", false) => &["constraint_name", "table_name", "condition"],
        ("create_check_constraint", true) => &["constraint_name", "condition"],
        ("create_exclude_constraint", false) => &["constraint_name", "table_name"],
        ("create_exclude_constraint", true) => &["constraint_name"],
        ("create_foreign_key", false) => &[
            "constraint_name",
            "source_table",
            "referent_table",
            "local_cols",
            "remote_cols",
        ],
        ("create_foreign_key", true) => &[
            "constraint_name",
            "referent_table",
            "local_cols",
            "remote_cols",
        ],
        ("drop_constraint", false) => &["constraint_name", "table_name", "type_"],
        ("drop_constraint", true) => &["constraint_name", "type_"],
        ("bulk_insert", false) => &["table", "rows"],
        _ => return None,
    };
    Some(sig)
}

/// A call's arguments, looked up by parameter name (keyword first, then position).
struct Args<'m> {
    pos: &'m [Expr],
    kw: &'m [ast::Keyword],
    sig: &'static [&'static str],
}

impl<'m> Args<'m> {
    fn new(c: &'m ast::ExprCall, sig: &'static [&'static str]) -> Self {
        Args {
            pos: &c.args,
            kw: &c.keywords,
            sig,
        }
    }

    fn get(&self, name: &str) -> Option<&'m Expr> {
        if let Some(kw) = self.kw.iter().find(|k| k.arg.as_deref() == Some(name)) {
            return Some(&kw.value);
        }
        let i = self.sig.iter().position(|p| *p == name)?;
        let before = self.pos.get(..=i)?;
        // After `*args` positions are unknown.
        if before.iter().any(|e| matches!(e, Expr::Starred(_))) {
            return None;
        }
        self.pos.get(i)
    }

    /// Positional arguments from `from` on (varargs such as `create_table`'s columns).
    fn rest(&self, from: usize) -> impl Iterator<Item = &'m Expr> + use<'m> {
        self.pos.iter().skip(from)
    }
}

fn as_bool(e: &Expr) -> Option<bool> {
    match e {
        Expr::Constant(c) => match c.value {
            Constant::Bool(b) => Some(b),
            _ => None,
        },
        _ => None,
    }
}

fn is_true(e: &Expr) -> bool {
    as_bool(e) == Some(true)
}

/// `Column` for `sa.Column`, `sqlalchemy.Column` or `Column`.
fn last_name(func: &Expr) -> Option<&str> {
    match func {
        Expr::Name(n) => Some(n.id.as_str()),
        Expr::Attribute(a) => Some(a.attr.as_str()),
        _ => None,
    }
}

fn last_name_of_call(e: &Expr) -> Option<&str> {
    match e {
        Expr::Call(c) => last_name(&c.func),
        _ => None,
    }
}
