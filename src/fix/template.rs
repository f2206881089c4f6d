//! The part of Mako that `script.py.mako` templates use, enough to write a revision file the
//! way `alembic merge` does.
//!
//! Supported, as Mako treats it: `${expr}` and `${expr | filter,...}` where `expr` is a name,
//! `repr(name)`, a string literal, or `a if cond else b` of those; the filters `n`, `trim` and
//! `comma` (Alembic's `format_as_comma`); control lines `% if` / `% elif` / `% else:` /
//! `% endif` on a name (or `not name`); `##` comment lines; `<%text>`...`</%text>`; `%%` at the
//! start of a line; a backslash ending a line joins it to the next. Anything else (`<%! %>`
//! blocks, `% for`, `<%def>`, calls) is an error naming the template's file and line, so a
//! template migscope cannot render exactly is never rendered approximately.

use std::collections::HashMap;

use super::FixError;

/// A template variable's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PyValue {
    None,
    Str(String),
    Tuple(Vec<String>),
}

impl PyValue {
    fn truthy(&self) -> bool {
        match self {
            PyValue::None => false,
            PyValue::Str(s) => !s.is_empty(),
            PyValue::Tuple(t) => !t.is_empty(),
        }
    }

    /// Python's `str()`.
    fn to_str(&self) -> String {
        match self {
            PyValue::Str(s) => s.clone(),
            other => other.repr(),
        }
    }

    /// Python's `repr()`.
    pub fn repr(&self) -> String {
        match self {
            PyValue::None => "None".to_string(),
            PyValue::Str(s) => repr_str(s),
            PyValue::Tuple(items) => match items.as_slice() {
                [one] => format!("({},)", repr_str(one)),
                _ => format!(
                    "({})",
                    items
                        .iter()
                        .map(|s| repr_str(s))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            },
        }
    }
}

/// `repr(str)`: single quotes unless the text holds one and no double quote.
fn repr_str(s: &str) -> String {
    let q = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(q);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == q => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push(q);
    out
}

/// Renders `template` (the contents of `file`, named in errors) with `vars`. A name not in
/// `vars` is Mako's `UNDEFINED`: false in a condition, an error when printed.
pub fn render(
    template: &str,
    file: &str,
    vars: &HashMap<&str, PyValue>,
) -> Result<String, FixError> {
    let mut r = Renderer {
        file,
        vars,
        out: String::with_capacity(template.len() + 256),
        // Per open `% if`: (this branch is on, some branch was taken).
        stack: Vec::new(),
    };
    let mut lines = template.split_inclusive('\n').enumerate().peekable();
    while let Some((n, line)) = lines.next() {
        let line_no = n + 1;
        let trimmed = line.trim_start();
        if trimmed.starts_with("##") {
            continue;
        }
        if trimmed.starts_with('%') && !trimmed.starts_with("%%") {
            r.control(trimmed[1..].trim(), line_no)?;
            continue;
        }
        if !r.active() {
            continue;
        }
        let mut text = if trimmed.starts_with("%%") {
            line.replacen("%%", "%", 1)
        } else {
            line.to_string()
        };
        if let Some(start) = text.find("<%text>") {
            // Raw text up to the closing tag, possibly lines later.
            r.line(&text[..start], line_no)?;
            let mut raw = text[start + "<%text>".len()..].to_string();
            let mut at = line_no;
            while !raw.contains("</%text>") {
                let Some((n, next)) = lines.next() else {
                    return Err(r.error(at, "<%text> is never closed".to_string()));
                };
                at = n + 1;
                raw.push_str(next);
            }
            let end = raw.find("</%text>").unwrap_or(raw.len());
            r.out.push_str(&raw[..end]);
            text = raw[end + "</%text>".len()..].to_string();
            r.line(&text, at)?;
            continue;
        }
        r.line(&text, line_no)?;
    }
    if !r.stack.is_empty() {
        return Err(r.error(
            template.lines().count(),
            "`% if` without `% endif`".to_string(),
        ));
    }
    Ok(r.out)
}

struct Renderer<'a> {
    file: &'a str,
    vars: &'a HashMap<&'a str, PyValue>,
    out: String,
    stack: Vec<(bool, bool)>,
}

impl Renderer<'_> {
    fn error(&self, line: usize, message: String) -> FixError {
        FixError::Template {
            file: self.file.to_string(),
            line,
            message,
        }
    }

    fn active(&self) -> bool {
        self.stack.iter().all(|(on, _)| *on)
    }

    fn control(&mut self, stmt: &str, line: usize) -> Result<(), FixError> {
        let cond = |this: &Self, rest: &str| -> Result<bool, FixError> {
            let rest = rest
                .strip_suffix(':')
                .ok_or_else(|| this.error(line, format!("`% {stmt}`: expected a `:`")))?;
            Ok(this.eval(rest.trim(), line)?.is_some_and(|v| v.truthy()))
        };
        if let Some(rest) = stmt.strip_prefix("if ") {
            let on = cond(self, rest)?;
            self.stack.push((on, on));
        } else if let Some(rest) = stmt.strip_prefix("elif ") {
            let on = cond(self, rest)?;
            let Some(top) = self.stack.last_mut() else {
                return Err(self.error(line, "`% elif` without `% if`".to_string()));
            };
            *top = (!top.1 && on, top.1 || on);
        } else if stmt == "else:" {
            let Some(top) = self.stack.last_mut() else {
                return Err(self.error(line, "`% else` without `% if`".to_string()));
            };
            *top = (!top.1, true);
        } else if stmt == "endif" {
            if self.stack.pop().is_none() {
                return Err(self.error(line, "`% endif` without `% if`".to_string()));
            }
        } else {
            return Err(self.error(
                line,
                format!(
                    "unsupported Mako control line `% {stmt}` (migscope renders `% if`, \
                     `% elif`, `% else`, `% endif`); write the merge revision with \
                     `alembic merge` instead"
                ),
            ));
        }
        Ok(())
    }

    /// One line of text: `${...}` substituted, a trailing backslash joining the next line.
    fn line(&mut self, text: &str, line: usize) -> Result<(), FixError> {
        if !self.active() {
            return Ok(());
        }
        let text = match text
            .strip_suffix("\\\n")
            .or_else(|| text.strip_suffix("\\\r\n"))
        {
            Some(joined) => joined,
            None => text,
        };
        if let Some(at) = text.find("<%") {
            return Err(self.error(
                line,
                format!(
                    "unsupported Mako tag `{}`; write the merge revision with `alembic merge` \
                     instead",
                    text[at..].trim_end()
                ),
            ));
        }
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            self.out.push_str(&rest[..start]);
            let body = &rest[start + 2..];
            let end = expression_end(body)
                .ok_or_else(|| self.error(line, "`${` is never closed".to_string()))?;
            let value = self.substitute(&body[..end], line)?;
            self.out.push_str(&value);
            rest = &body[end + 1..];
        }
        self.out.push_str(rest);
        Ok(())
    }

    fn substitute(&self, expr: &str, line: usize) -> Result<String, FixError> {
        let (expr, filters) = match split_keyword(expr, "|") {
            Some((e, f)) => (e, f),
            None => (expr, ""),
        };
        let value = self
            .eval(expr.trim(), line)?
            .ok_or_else(|| self.undefined(expr, line))?;
        let mut text = None;
        for f in filters.split(',').map(str::trim).filter(|f| !f.is_empty()) {
            match f {
                "n" => {}
                "trim" => text = Some(text.unwrap_or_else(|| value.to_str()).trim().to_string()),
                "comma" => {
                    text = Some(match &value {
                        PyValue::None => String::new(),
                        PyValue::Str(s) => s.clone(),
                        PyValue::Tuple(t) => t.join(", "),
                    })
                }
                other => {
                    return Err(self.error(line, format!("unsupported Mako filter `{other}`")));
                }
            }
        }
        Ok(text.unwrap_or_else(|| value.to_str()))
    }

    /// `None`: Mako's `UNDEFINED` (a name the template is not given).
    fn eval(&self, expr: &str, line: usize) -> Result<Option<PyValue>, FixError> {
        if let Some((then, rest)) = split_keyword(expr, " if ")
            && let Some((cond, otherwise)) = split_keyword(rest, " else ")
        {
            let chosen = if self.truthy(cond, line)? {
                then
            } else {
                otherwise
            };
            return self.eval(chosen.trim(), line);
        }
        if let Some(inner) = expr.strip_prefix("not ") {
            let negated = !self.truthy(inner, line)?;
            return Ok(Some(if negated {
                PyValue::Str("True".to_string())
            } else {
                PyValue::None
            }));
        }
        if let Some(inner) = expr.strip_prefix("repr(").and_then(|e| e.strip_suffix(')')) {
            let v = self
                .lookup(inner.trim(), line)?
                .ok_or_else(|| self.undefined(inner, line))?;
            return Ok(Some(PyValue::Str(v.repr())));
        }
        if let Some(s) = string_literal(expr) {
            return Ok(Some(PyValue::Str(s)));
        }
        self.lookup(expr, line)
    }

    fn truthy(&self, expr: &str, line: usize) -> Result<bool, FixError> {
        Ok(self.eval(expr.trim(), line)?.is_some_and(|v| v.truthy()))
    }

    fn lookup(&self, name: &str, line: usize) -> Result<Option<PyValue>, FixError> {
        if !is_identifier(name) {
            return Err(self.error(
                line,
                format!(
                    "unsupported Mako expression `{name}` (migscope renders names, repr(name), \
                     string literals and `a if b else c`)"
                ),
            ));
        }
        Ok(self.vars.get(name).cloned())
    }

    fn undefined(&self, name: &str, line: usize) -> FixError {
        self.error(
            line,
            format!(
                "`{}` is not one of the values `alembic merge` gives a template (Mako would \
                 fail with NameError)",
                name.trim()
            ),
        )
    }
}

/// Index of the `}` closing a `${` expression (quotes skipped).
fn expression_end(body: &str) -> Option<usize> {
    let mut quote = None;
    let mut depth = 0usize;
    let mut escaped = false;
    for (i, c) in body.char_indices() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None => match c {
                '\'' | '"' => quote = Some(c),
                '{' => depth += 1,
                '}' if depth == 0 => return Some(i),
                '}' => depth -= 1,
                _ => {}
            },
        }
    }
    None
}

/// Splits at the first `kw` outside quotes.
fn split_keyword<'e>(expr: &'e str, kw: &str) -> Option<(&'e str, &'e str)> {
    let mut quote = None;
    for (i, c) in expr.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, _) if expr[i..].starts_with(kw) => {
                return Some((&expr[..i], &expr[i + kw.len()..]));
            }
            _ => {}
        }
    }
    None
}

/// A simple Python string literal (`"pass"`, `''`), without escapes beyond `\\` and quotes.
fn string_literal(expr: &str) -> Option<String> {
    let q = expr.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let body = expr.strip_prefix(q)?.strip_suffix(q)?;
    let mut out = String::new();
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push(chars.next()?),
            c if c == q => return None,
            c => out.push(c),
        }
    }
    Some(out)
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> HashMap<&'static str, PyValue> {
        HashMap::from([
            ("message", PyValue::Str("merge heads".into())),
            ("up_revision", PyValue::Str("abc".into())),
            (
                "down_revision",
                PyValue::Tuple(vec!["x1".into(), "y2".into()]),
            ),
            ("branch_labels", PyValue::None),
        ])
    }

    #[test]
    fn renders_alembics_expressions() {
        let t = "\"\"\"${message}\n\nRevises: ${down_revision | comma,n}\n\"\"\"\n\
                 ${imports if imports else \"\"}\n\
                 down_revision = ${repr(down_revision)}\n\
                 branch_labels = ${repr(branch_labels)}\n    ${upgrades if upgrades else \"pass\"}\n";
        assert_eq!(
            render(t, "s.mako", &vars()).unwrap(),
            "\"\"\"merge heads\n\nRevises: x1, y2\n\"\"\"\n\n\
             down_revision = ('x1', 'y2')\nbranch_labels = None\n    pass\n"
        );
    }

    #[test]
    fn control_lines_comments_and_text_blocks() {
        let t = "## a comment\n% if branch_labels:\nlabels\n% elif not message:\nnone\n% else:\nelse ${up_revision}\n% endif\n<%text>${raw}</%text> \\\njoined\n%% percent\n";
        assert_eq!(
            render(t, "s.mako", &vars()).unwrap(),
            "else abc\n${raw} joined\n% percent\n"
        );
    }

    #[test]
    fn refuses_what_it_cannot_render_with_file_and_line() {
        let e = render("a\n<%! import re %>\n", "x/script.py.mako", &vars()).unwrap_err();
        assert!(e.to_string().contains("x/script.py.mako:2"), "{e}");
        let e = render("% for x in y:\n% endfor\n", "s.mako", &vars()).unwrap_err();
        assert!(e.to_string().contains("s.mako:1"), "{e}");
        let e = render("${imports}\n", "s.mako", &vars()).unwrap_err();
        assert!(e.to_string().contains("imports"), "{e}");
        assert_eq!(repr_str("it's"), "\"it's\"");
    }
}
