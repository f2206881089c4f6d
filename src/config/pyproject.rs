//! `pyproject.toml`: Alembic's `[tool.alembic]` table (since Alembic 1.16) and migscope's own
//! `[tool.migscope]` table.
//!
//! Values are copied into small owned items that remember their line, so errors can point at
//! the offending key. String values are run through Python's `%` operator with the mapping
//! `{"here": <dir of pyproject.toml>}` exactly when Alembic reads them, which means a literal
//! `%` must be written `%%` in TOML too.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use toml::de::{DeTable, DeValue};

use super::error::{ConfigError, Origin};

/// An owned TOML value with the 1-based line where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Item {
    pub value: Value,
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Str(String),
    /// `None` when the integer does not fit an `i64`.
    Int(Option<i64>),
    Bool(bool),
    Array(Vec<Item>),
    Table(BTreeMap<String, Item>),
    /// Floats and date-times: never valid for the keys we read. Holds the TOML type name.
    Other(&'static str),
}

/// A read `pyproject.toml`.
#[derive(Debug)]
pub(crate) struct Pyproject {
    pub path: PathBuf,
    /// `Path(toml).absolute().parent.as_posix()`, the `here` of `%(here)s`.
    pub here: String,
    /// `[tool.alembic]`, if present.
    pub alembic: Option<BTreeMap<String, Item>>,
    /// `[tool.migscope]`, if present.
    pub migscope: Option<BTreeMap<String, Item>>,
}

fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

fn convert(text: &str, value: &DeValue<'_>, start: usize) -> Item {
    let line = line_of(text, start);
    let value = match value {
        DeValue::String(s) => Value::Str(s.to_string()),
        DeValue::Integer(i) => Value::Int(i64::from_str_radix(i.as_str(), i.radix()).ok()),
        DeValue::Boolean(b) => Value::Bool(*b),
        DeValue::Array(items) => Value::Array(
            items
                .iter()
                .map(|it| convert(text, it.get_ref(), it.span().start))
                .collect(),
        ),
        DeValue::Table(t) => Value::Table(convert_table(text, t)),
        DeValue::Float(_) => Value::Other("float"),
        DeValue::Datetime(_) => Value::Other("datetime"),
    };
    Item { value, line }
}

fn convert_table(text: &str, table: &DeTable<'_>) -> BTreeMap<String, Item> {
    table
        .iter()
        .map(|(k, v)| {
            // The key's line is the one users look for ("line of `recursive_... =`").
            let mut item = convert(text, v.get_ref(), v.span().start);
            item.line = line_of(text, k.span().start);
            (k.get_ref().to_string(), item)
        })
        .collect()
}

impl Pyproject {
    /// Parses the content of `path`; `here` is the directory used for `%(here)s`.
    pub(crate) fn parse(path: &Path, text: &str, here: String) -> Result<Pyproject, ConfigError> {
        let doc = DeTable::parse(text).map_err(|e| ConfigError::TomlSyntax {
            at: Origin::new(path, e.span().map(|s| line_of(text, s.start))),
            message: e.message().trim().to_string(),
        })?;
        let root = doc.get_ref();
        let mut alembic = None;
        let mut migscope = None;
        if let Some(tool) = root.get("tool") {
            let Some(tool_table) = tool.get_ref().as_table() else {
                return Err(ConfigError::TomlValue {
                    at: Origin::new(path, Some(line_of(text, tool.span().start))),
                    message: "`tool` must be a table ([tool.alembic], [tool.migscope])".to_string(),
                });
            };
            for (name, slot) in [("alembic", &mut alembic), ("migscope", &mut migscope)] {
                let Some(v) = tool_table.get(name) else {
                    continue;
                };
                match convert(text, v.get_ref(), v.span().start) {
                    Item {
                        value: Value::Table(t),
                        ..
                    } => *slot = Some(t),
                    Item { line, .. } => {
                        return Err(ConfigError::TomlValue {
                            at: Origin::new(path, Some(line)),
                            message: format!(
                                "Incorrect TOML format: tool.{name} must be a table; write \
                                 [tool.{name}] followed by key = value lines"
                            ),
                        });
                    }
                }
            }
        }
        Ok(Pyproject {
            path: path.to_path_buf(),
            here,
            alembic,
            migscope,
        })
    }

    pub(crate) fn origin(&self, line: usize) -> Origin {
        Origin::new(&self.path, Some(line))
    }

    /// `[tool.alembic]` value of `key`, if present.
    pub(crate) fn alembic_item(&self, key: &str) -> Option<&Item> {
        self.alembic.as_ref()?.get(key)
    }

    /// `value % {"here": ...}` for one string, with errors pointing at `line`.
    pub(crate) fn format(&self, key: &str, s: &str, line: usize) -> Result<String, ConfigError> {
        py_percent_format(s, &[("here", &self.here)]).map_err(|why| ConfigError::TomlValue {
            at: self.origin(line),
            message: format!("cannot expand '%' in tool.alembic.{key}: {why}"),
        })
    }

    /// A `[tool.alembic]` string option, `%`-formatted.
    pub(crate) fn alembic_string(
        &self,
        key: &str,
    ) -> Result<Option<(String, Origin)>, ConfigError> {
        let Some(item) = self.alembic_item(key) else {
            return Ok(None);
        };
        match &item.value {
            Value::Str(s) => Ok(Some((
                self.format(key, s, item.line)?,
                self.origin(item.line),
            ))),
            other => Err(self.type_error(key, item.line, "a string", other)),
        }
    }

    /// A `[tool.alembic]` list-of-strings option (`version_locations`, `prepend_sys_path`),
    /// each element `%`-formatted.
    pub(crate) fn alembic_string_list(
        &self,
        key: &str,
    ) -> Result<Option<(Vec<String>, Origin)>, ConfigError> {
        let Some(item) = self.alembic_item(key) else {
            return Ok(None);
        };
        let Value::Array(items) = &item.value else {
            // Alembic would iterate a string character by character and scan each character
            // as a directory; refusing is the only useful answer.
            return Err(self.type_error(key, item.line, "a list of strings", &item.value));
        };
        let mut out = Vec::with_capacity(items.len());
        for it in items {
            match &it.value {
                Value::Str(s) => out.push(self.format(key, s, it.line)?),
                other => return Err(self.type_error(key, it.line, "a list of strings", other)),
            }
        }
        Ok(Some((out, self.origin(item.line))))
    }

    /// `get_alembic_boolean_option` for TOML: absent is false, anything but a real boolean is
    /// Alembic's "boolean value expected" error.
    pub(crate) fn alembic_bool(&self, key: &str) -> Result<Option<(bool, Origin)>, ConfigError> {
        let Some(item) = self.alembic_item(key) else {
            return Ok(None);
        };
        match item.value {
            Value::Bool(b) => Ok(Some((b, self.origin(item.line)))),
            _ => Err(ConfigError::TomlValue {
                at: self.origin(item.line),
                message: format!(
                    "boolean value expected for TOML parameter '{key}'; write {key} = true or \
                     {key} = false (without quotes)"
                ),
            }),
        }
    }

    fn type_error(&self, key: &str, line: usize, expected: &str, found: &Value) -> ConfigError {
        ConfigError::TomlValue {
            at: self.origin(line),
            message: format!(
                "tool.alembic.{key} must be {expected}, found {}",
                type_name(found)
            ),
        }
    }
}

pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Str(_) => "a string",
        Value::Int(_) => "an integer",
        Value::Bool(_) => "a boolean",
        Value::Array(_) => "an array",
        Value::Table(_) => "a table",
        Value::Other(name) => name,
    }
}

/// Python's `template % mapping` for the forms that make sense in a config value: `%%` and
/// `%(key)s` (with optional `-` flag, width and precision). Other conversions are refused with
/// an explanation instead of reproducing Python's odd results (`"%s" % {...}` prints the dict).
pub(crate) fn py_percent_format(template: &str, args: &[(&str, &str)]) -> Result<String, String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(p) = rest.find('%') {
        out.push_str(&rest[..p]);
        let spec = &rest[p + 1..];
        if let Some(tail) = spec.strip_prefix('%') {
            out.push('%');
            rest = tail;
            continue;
        }
        let Some(after_paren) = spec.strip_prefix('(') else {
            return Err(if spec.is_empty() {
                "incomplete format: a trailing '%'; write %% for a literal %".to_string()
            } else {
                format!(
                    "'%' must be followed by '%' or '(name)s' (at {:?}); write %% for a literal %",
                    &rest[p..]
                )
            });
        };
        // Python matches nested parentheses in the key.
        let mut depth = 1usize;
        let mut close = None;
        for (i, c) in after_paren.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        close = Some(i);
                        break;
                    }
                }
                _ => {}
            }
        }
        let Some(close) = close else {
            return Err("incomplete format key: missing ')'".to_string());
        };
        let key = &after_paren[..close];
        let mut spec = &after_paren[close + 1..];
        let mut left = false;
        while let Some(c) = spec.chars().next().filter(|c| "-+ #0".contains(*c)) {
            left |= c == '-';
            spec = &spec[1..];
        }
        let digits = |s: &str| s.bytes().take_while(u8::is_ascii_digit).count();
        let n = digits(spec);
        let width: usize = spec[..n].parse().unwrap_or(0);
        spec = &spec[n..];
        let mut precision = None;
        if let Some(t) = spec.strip_prefix('.') {
            let n = digits(t);
            precision = Some(t[..n].parse::<usize>().unwrap_or(0));
            spec = &t[n..];
        }
        spec = spec.trim_start_matches(['h', 'l', 'L']);
        let Some(conv) = spec.chars().next() else {
            return Err(
                "incomplete format: expected a conversion such as 's' after %(name)".to_string(),
            );
        };
        if conv != 's' {
            return Err(format!(
                "unsupported format %({key}){conv}; use %({key})s, or %% for a literal %"
            ));
        }
        let Some((_, value)) = args.iter().find(|(k, _)| *k == key) else {
            let known: Vec<String> = args.iter().map(|(k, _)| format!("%({k})s")).collect();
            return Err(format!(
                "unknown key %({key})s (available: {}); write %% for a literal %",
                known.join(", ")
            ));
        };
        let mut text: String = match precision {
            Some(p) => value.chars().take(p).collect(),
            None => value.to_string(),
        };
        let len = text.chars().count();
        if len < width {
            let pad = " ".repeat(width - len);
            text = if left { text + &pad } else { pad + &text };
        }
        out.push_str(&text);
        rest = &spec[1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Pyproject, ConfigError> {
        Pyproject::parse(Path::new("/p/pyproject.toml"), text, "/p".to_string())
    }

    #[test]
    fn percent_format_here_and_escapes() {
        let a = [("here", "/p")];
        assert_eq!(py_percent_format("%(here)s/m", &a).as_deref(), Ok("/p/m"));
        assert_eq!(
            py_percent_format("%%(rev)s_%%(slug)s", &a).as_deref(),
            Ok("%(rev)s_%(slug)s")
        );
        assert_eq!(
            py_percent_format("[%(here)-4s]", &a).as_deref(),
            Ok("[/p  ]")
        );
        assert_eq!(py_percent_format("%(here).1s", &a).as_deref(), Ok("/"));
        assert!(py_percent_format("%(rev)s", &a).is_err());
        assert!(py_percent_format("50%", &a).is_err());
        assert!(py_percent_format("%d", &a).is_err());
        assert!(py_percent_format("%(here)r", &a).is_err());
        assert_eq!(py_percent_format("plain", &a).as_deref(), Ok("plain"));
    }

    #[test]
    fn tool_alembic_values_keep_their_lines() {
        let p = parse("[project]\nname='x'\n\n[tool.alembic]\nscript_location = \"%(here)s/m\"\nversion_locations = [\n  \"a\",\n  \"%(here)s/b\",\n]\n")
            .expect("parse");
        let (s, at) = p
            .alembic_string("script_location")
            .expect("ok")
            .expect("present");
        assert_eq!(s, "/p/m");
        assert_eq!(at.line, Some(5));
        let (list, at) = p
            .alembic_string_list("version_locations")
            .expect("ok")
            .expect("present");
        assert_eq!(list, ["a", "/p/b"]);
        assert_eq!(at.line, Some(6));
    }

    #[test]
    fn toml_booleans_must_be_real_booleans() {
        let p =
            parse("[tool.alembic]\nrecursive_version_locations = \"true\"\nsourceless = false\n")
                .expect("parse");
        let err = p
            .alembic_bool("recursive_version_locations")
            .expect_err("string");
        let msg = err.to_string();
        assert!(
            msg.starts_with("/p/pyproject.toml:2: boolean value expected for TOML parameter 'recursive_version_locations'"),
            "{msg}"
        );
        assert_eq!(
            p.alembic_bool("sourceless").expect("ok").map(|b| b.0),
            Some(false)
        );
        assert_eq!(p.alembic_bool("absent").expect("ok"), None);
    }

    #[test]
    fn version_locations_string_is_refused() {
        let p = parse("[tool.alembic]\nversion_locations = \"a b\"\n").expect("parse");
        let msg = p
            .alembic_string_list("version_locations")
            .expect_err("str")
            .to_string();
        assert!(msg.contains("must be a list of strings"), "{msg}");
    }

    #[test]
    fn syntax_error_and_non_table_have_lines() {
        let err = parse("[tool.alembic]\nx = \n").expect_err("syntax");
        assert!(
            matches!(err, ConfigError::TomlSyntax { ref at, .. } if at.line == Some(2)),
            "{err}"
        );
        let err = parse("[tool]\nalembic = 3\n").expect_err("not a table");
        assert!(err.to_string().contains("Incorrect TOML format"), "{err}");
    }

    #[test]
    fn no_tool_alembic_is_none() {
        let p = parse("[project]\nname = 'x'\n[tool.black]\nline-length = 88\n").expect("parse");
        assert!(p.alembic.is_none() && p.migscope.is_none());
    }
}
