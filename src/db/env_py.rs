//! Reads `version_table=` / `version_table_schema=` out of a project's `env.py`, statically.
//!
//! env.py is arbitrary Python and is never run. What we can know is what is written as a
//! string literal in a `context.configure(...)` call. We scan the token stream (the Python
//! lexer, so strings, comments and nesting are handled exactly) rather than the AST: env.py
//! files wrap the calls in functions, `if` blocks and `with` statements, and a token scan
//! finds them anywhere without a full tree walk.

use rustpython_parser::lexer::lex;
use rustpython_parser::{Mode, StringKind, Tok};

/// What one `context.configure` keyword says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Setting {
    /// Not passed.
    #[default]
    Absent,
    /// A plain string literal (implicitly concatenated pieces joined).
    Literal(String),
    /// Passed, but not as a literal: the source text of the expression.
    Computed(String),
}

/// The version-table settings found in env.py.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EnvPySettings {
    pub version_table: Setting,
    pub version_table_schema: Setting,
    /// How many `context.configure(` calls were found.
    pub calls: usize,
    /// Calls disagree, a `**kwargs` may hide the setting, ...: one sentence each.
    pub notes: Vec<String>,
}

/// One `context.configure(...)` call's interesting keywords.
#[derive(Debug, Default)]
struct Call {
    version_table: Setting,
    version_table_schema: Setting,
    online: bool,
    has_star_kwargs: bool,
}

/// Scans env.py source text. When several calls exist (offline and online mode), the online
/// one (the call passing `connection=`) wins, since migscope talks to a live database.
pub fn scan_env_py(source: &str) -> EnvPySettings {
    let mut toks: Vec<(Tok, std::ops::Range<usize>)> = Vec::new();
    for item in lex(source, Mode::Module) {
        match item {
            Ok((tok, range)) => toks.push((tok, range.start().into()..range.end().into())),
            // Keep what was read before a lexing error: the calls usually come earlier.
            Err(_) => break,
        }
    }
    let mut calls = Vec::new();
    let mut i = 0;
    while i + 3 < toks.len() {
        let is_call = matches!(&toks[i].0, Tok::Name { name } if name == "context")
            && toks[i + 1].0 == Tok::Dot
            && matches!(&toks[i + 2].0, Tok::Name { name } if name == "configure")
            && toks[i + 3].0 == Tok::Lpar;
        if !is_call {
            i += 1;
            continue;
        }
        let (call, end) = read_call(source, &toks, i + 4);
        calls.push(call);
        i = end;
    }

    let mut out = EnvPySettings {
        calls: calls.len(),
        ..Default::default()
    };
    let Some(chosen) = calls
        .iter()
        .position(|c| c.online)
        .or((!calls.is_empty()).then_some(0))
    else {
        return out;
    };
    let chosen_call = &calls[chosen];
    out.version_table = chosen_call.version_table.clone();
    out.version_table_schema = chosen_call.version_table_schema.clone();
    for (j, other) in calls.iter().enumerate() {
        if j != chosen
            && (other.version_table != chosen_call.version_table
                || other.version_table_schema != chosen_call.version_table_schema)
        {
            out.notes.push(
                "env.py's context.configure calls pass different version_table settings; \
                 using the online-mode call (the one with connection=)"
                    .to_string(),
            );
            break;
        }
    }
    if chosen_call.has_star_kwargs {
        out.notes.push(
            "env.py passes **kwargs to context.configure, which may set version_table; pass \
             --version-table if it does"
                .to_string(),
        );
    }
    out
}

/// Reads the arguments of a call whose `(` was just consumed; returns the call and the index
/// after its `)`.
fn read_call(source: &str, toks: &[(Tok, std::ops::Range<usize>)], start: usize) -> (Call, usize) {
    let mut call = Call::default();
    let mut depth = 0usize;
    let mut i = start;
    // Start of the current top-level argument.
    let mut arg_start = start;
    while i < toks.len() {
        match &toks[i].0 {
            Tok::Lpar | Tok::Lsqb | Tok::Lbrace => depth += 1,
            Tok::Rpar | Tok::Rsqb | Tok::Rbrace if depth > 0 => depth -= 1,
            Tok::Rpar | Tok::Comma if depth == 0 => {
                read_argument(source, &toks[arg_start..i], &mut call);
                if toks[i].0 == Tok::Rpar {
                    return (call, i + 1);
                }
                arg_start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    (call, i)
}

fn read_argument(source: &str, arg: &[(Tok, std::ops::Range<usize>)], call: &mut Call) {
    match arg {
        [(Tok::DoubleStar, _), ..] => call.has_star_kwargs = true,
        [(Tok::Name { name }, _), (Tok::Equal, _), value @ ..] if !value.is_empty() => {
            let setting = || match literal(value) {
                Some(s) => Setting::Literal(s),
                // `version_table_schema=None` is the default, spelled out.
                None if matches!(value, [(Tok::None, _)]) => Setting::Absent,
                None => {
                    let span = value[0].1.start..value[value.len() - 1].1.end;
                    Setting::Computed(
                        source[span]
                            .split_whitespace()
                            .collect::<Vec<_>>()
                            .join(" "),
                    )
                }
            };
            match name.as_str() {
                "version_table" => call.version_table = setting(),
                "version_table_schema" => call.version_table_schema = setting(),
                "connection" => call.online = true,
                _ => {}
            }
        }
        _ => {}
    }
}

/// The value of an expression made only of plain string literals (`"a"`, `'a' "b"`), or None.
fn literal(value: &[(Tok, std::ops::Range<usize>)]) -> Option<String> {
    let mut out = String::new();
    for (tok, _) in value {
        match tok {
            Tok::String { value, kind, .. } => match kind {
                StringKind::String | StringKind::Unicode | StringKind::RawString => {
                    // The lexer keeps escapes as written; identifiers never need them, so a
                    // backslash means "not what it looks like": treat as computed.
                    if value.contains('\\') && *kind != StringKind::RawString {
                        return None;
                    }
                    out.push_str(value);
                }
                _ => return None,
            },
            // `("a" "b")`: grouping parentheses around literals change nothing.
            Tok::Lpar | Tok::Rpar => {}
            _ => return None,
        }
    }
    (!value.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STANDARD: &str = r#"
from logging.config import fileConfig
from alembic import context
from sqlalchemy import engine_from_config, pool

config = context.config
target_metadata = None


def run_migrations_offline() -> None:
    url = config.get_main_option("sqlalchemy.url")
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        version_table="offline_versions",  # a comment (with parens)
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = engine_from_config(config.get_section(config.config_ini_section, {}))
    with connectable.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            version_table='app_versions',
            version_table_schema="meta" "data",
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
"#;

    #[test]
    fn online_call_wins() {
        let s = scan_env_py(STANDARD);
        assert_eq!(s.calls, 2);
        assert_eq!(s.version_table, Setting::Literal("app_versions".into()));
        assert_eq!(s.version_table_schema, Setting::Literal("metadata".into()));
        assert_eq!(s.notes.len(), 1, "{:?}", s.notes);
    }

    #[test]
    fn defaults_when_absent() {
        let src =
            "from alembic import context\ncontext.configure(connection=c, target_metadata=m)\n";
        let s = scan_env_py(src);
        assert_eq!(s.calls, 1);
        assert_eq!(s.version_table, Setting::Absent);
        assert_eq!(s.version_table_schema, Setting::Absent);
        assert!(s.notes.is_empty());
        assert_eq!(scan_env_py("print('no alembic here')").calls, 0);
    }

    #[test]
    fn computed_values_are_reported_not_guessed() {
        let src = r#"
context.configure(
    connection=connection,
    version_table=settings.VERSION_TABLE,
    version_table_schema=f"{tenant}_meta",
    **extra,
)
"#;
        let s = scan_env_py(src);
        assert_eq!(
            s.version_table,
            Setting::Computed("settings.VERSION_TABLE".into())
        );
        assert_eq!(
            s.version_table_schema,
            Setting::Computed("f\"{tenant}_meta\"".into())
        );
        assert!(s.notes.iter().any(|n| n.contains("**kwargs")));
    }

    #[test]
    fn strings_and_comments_do_not_fool_the_scan() {
        let src = r#"
DOC = "context.configure(version_table='nope')"
# context.configure(version_table="nope2")
context.configure(connection=c, version_table=("real"), include_schemas=True)
"#;
        let s = scan_env_py(src);
        assert_eq!(s.calls, 1);
        assert_eq!(s.version_table, Setting::Literal("real".into()));
        let src =
            "context.configure(connection=c, version_table=r'raw_v', version_table_schema=None)";
        let s = scan_env_py(src);
        assert_eq!(s.version_table, Setting::Literal("raw_v".into()));
        assert_eq!(s.version_table_schema, Setting::Absent);
    }

    #[test]
    fn survives_a_syntax_error_after_the_call() {
        let src = "context.configure(connection=c, version_table='v1')\nx = '''unterminated\n";
        let s = scan_env_py(src);
        assert_eq!(s.version_table, Setting::Literal("v1".into()));
    }
}
