//! An INI reader that behaves like the one Alembic uses: Python's
//! `configparser.ConfigParser(defaults={"here": ...})` with its default settings
//! (`BasicInterpolation`, strict, `=`/`:` delimiters, full-line `#`/`;` comments only, empty
//! lines allowed inside values, lower-cased keys).
//!
//! Parsing is eager (syntax and duplicate errors are file-wide, as in Python), interpolation is
//! lazy: Python only interpolates the options that are read, so a `%` that would be invalid in
//! an option nobody reads (e.g. a logging format) must not be an error here either.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::error::{ConfigError, Origin};

/// configparser's `MAX_INTERPOLATION_DEPTH`.
const MAX_INTERPOLATION_DEPTH: usize = 10;
const DEFAULT_SECTION: &str = "DEFAULT";

/// A raw (uninterpolated) option value and the line its key is on.
#[derive(Debug, Clone)]
struct RawOpt {
    value: String,
    line: Option<usize>,
}

type Options = HashMap<String, RawOpt>;

/// A parsed INI file.
#[derive(Debug)]
pub(crate) struct Ini {
    path: PathBuf,
    defaults: Options,
    sections: HashMap<String, Options>,
}

/// An interpolated value and where its key was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IniValue {
    pub value: String,
    pub origin: Origin,
}

/// Python's `str.isspace()`: Rust's `char::is_whitespace` plus the information separators
/// U+001C..U+001F, which Python also counts as whitespace.
pub(crate) fn py_isspace(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

fn py_strip(s: &str) -> &str {
    s.trim_matches(py_isspace)
}

/// Splits like Python's text-mode file iteration (universal newlines): `\n`, `\r\n` and `\r`
/// end a line.
fn universal_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let end = rest.find(['\n', '\r']).unwrap_or(rest.len());
        let line = &rest[..end];
        let skip = if rest[end..].starts_with("\r\n") {
            2
        } else {
            usize::from(end < rest.len())
        };
        rest = &rest[end + skip..];
        Some(line)
    })
}

impl Ini {
    /// Parses `text` (the content of `path`). `here` is the programmatic default Alembic adds.
    pub(crate) fn parse(path: &Path, text: &str, here: &str) -> Result<Ini, ConfigError> {
        // configparser adds the defaults through `set()`, which validates `%` syntax; a `%`
        // in the ini's directory name therefore makes Alembic fail before reading the file.
        if let Some(reason) = invalid_percent_syntax(here) {
            return Err(ConfigError::Interpolation {
                at: Origin::new(path, None),
                section: DEFAULT_SECTION.to_string(),
                option: "here".to_string(),
                reason: format!(
                    "the ini file's directory {here:?} contains {reason}, which Alembic's \
                     configparser rejects; move the project to a directory without '%'"
                ),
            });
        }
        let mut defaults = Options::new();
        defaults.insert(
            "here".to_string(),
            RawOpt {
                value: here.to_string(),
                line: None,
            },
        );

        // Multi-line values are collected as pieces and joined at the end, like configparser.
        struct Building {
            pieces: Vec<String>,
            line: usize,
        }
        #[derive(Clone, PartialEq, Eq, Hash)]
        enum Target {
            Default,
            Section(String),
        }
        let mut building: HashMap<Target, HashMap<String, Building>> = HashMap::new();
        // The value that blank and continuation lines extend: configparser's
        // `cursect[optname]`, only while an option (with a non-empty name) is open.
        fn current_value<'b>(
            building: &'b mut HashMap<Target, HashMap<String, Building>>,
            cursect: &Option<Target>,
            optname: &Option<String>,
        ) -> Option<&'b mut Building> {
            let (cs, opt) = (cursect.as_ref()?, optname.as_ref()?);
            if opt.is_empty() {
                return None;
            }
            building.get_mut(cs)?.get_mut(opt)
        }
        // `elements_added`: what this file defined, for the strict duplicate checks.
        let mut seen_sections: std::collections::HashSet<String> = Default::default();
        let mut seen_options: std::collections::HashSet<(String, String)> = Default::default();
        let mut cursect: Option<Target> = None;
        let mut sectname: Option<String> = None;
        let mut optname: Option<String> = None;
        let mut indent_level: usize = 0;
        let mut bad_lines: Vec<(usize, String)> = Vec::new();

        for (idx, line) in universal_lines(text).enumerate() {
            let lineno = idx + 1;
            let stripped = py_strip(line);
            let is_comment = stripped.starts_with('#') || stripped.starts_with(';');
            if stripped.is_empty() || is_comment {
                // Empty lines belong to the current value (they survive between continuation
                // lines); comment lines are dropped but do not end the value.
                if !is_comment && let Some(b) = current_value(&mut building, &cursect, &optname) {
                    b.pieces.push(String::new());
                }
                continue;
            }
            let cur_indent = line.chars().take_while(|&c| py_isspace(c)).count();
            if cur_indent > indent_level
                && let Some(b) = current_value(&mut building, &cursect, &optname)
            {
                b.pieces.push(stripped.to_string());
                continue;
            }
            indent_level = cur_indent;
            if let Some(header) = section_header(stripped) {
                let target = if header == DEFAULT_SECTION {
                    Target::Default
                } else {
                    if seen_sections.contains(header) {
                        return Err(ConfigError::DuplicateSection {
                            at: Origin::new(path, Some(lineno)),
                            section: header.to_string(),
                        });
                    }
                    seen_sections.insert(header.to_string());
                    Target::Section(header.to_string())
                };
                building.entry(target.clone()).or_default();
                cursect = Some(target);
                sectname = Some(header.to_string());
                optname = None;
                continue;
            }
            let Some(cs) = &cursect else {
                return Err(ConfigError::MissingSectionHeader {
                    at: Origin::new(path, Some(lineno)),
                    bom: if lineno == 1 && line.starts_with('\u{feff}') {
                        " (the file starts with a UTF-8 byte-order mark, which Alembic cannot \
                         read either; save the file without BOM)"
                    } else {
                        ""
                    },
                });
            };
            let Some((name, value)) = split_option(stripped) else {
                bad_lines.push((lineno, line.to_string()));
                continue;
            };
            if name.is_empty() {
                bad_lines.push((lineno, line.to_string()));
            }
            let name = name.to_lowercase();
            let sect = sectname.clone().unwrap_or_default();
            if !seen_options.insert((sect.clone(), name.clone())) {
                return Err(ConfigError::DuplicateOption {
                    at: Origin::new(path, Some(lineno)),
                    section: sect,
                    option: name,
                });
            }
            building.entry(cs.clone()).or_default().insert(
                name.clone(),
                Building {
                    pieces: vec![value.to_string()],
                    line: lineno,
                },
            );
            optname = Some(name);
        }
        if !bad_lines.is_empty() {
            return Err(ConfigError::IniSyntax {
                file: path.to_path_buf(),
                lines: bad_lines,
            });
        }

        let finish = |m: HashMap<String, Building>| -> Options {
            m.into_iter()
                .map(|(k, b)| {
                    let joined = b.pieces.join("\n");
                    let value = joined.trim_end_matches(py_isspace).to_string();
                    (
                        k,
                        RawOpt {
                            value,
                            line: Some(b.line),
                        },
                    )
                })
                .collect()
        };
        let mut sections = HashMap::new();
        for (target, opts) in building {
            match target {
                // File values override the programmatic `here` too, as in configparser.
                Target::Default => defaults.extend(finish(opts)),
                Target::Section(name) => {
                    sections.insert(name, finish(opts));
                }
            }
        }
        Ok(Ini {
            path: path.to_path_buf(),
            defaults,
            sections,
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// `ConfigParser.has_section` (which is false for `DEFAULT`).
    pub(crate) fn has_section(&self, section: &str) -> bool {
        self.sections.contains_key(section)
    }

    /// `ConfigParser.has_option`: the section's own options plus `[DEFAULT]`.
    pub(crate) fn has_option(&self, section: &str, key: &str) -> bool {
        self.raw(section, key).is_some()
    }

    fn raw(&self, section: &str, key: &str) -> Option<&RawOpt> {
        let key = key.to_lowercase();
        if section.is_empty() || section == DEFAULT_SECTION {
            return self.defaults.get(&key);
        }
        let own = self.sections.get(section)?;
        own.get(&key).or_else(|| self.defaults.get(&key))
    }

    /// The raw value, without interpolation (for "does this look like a comment" checks).
    pub(crate) fn get_raw(&self, section: &str, key: &str) -> Option<IniValue> {
        self.raw(section, key).map(|o| IniValue {
            value: o.value.clone(),
            origin: Origin::new(&self.path, o.line),
        })
    }

    /// `ConfigParser.get(section, key, fallback=None)`: `None` if the section or option is
    /// missing, otherwise the interpolated value.
    pub(crate) fn get(&self, section: &str, key: &str) -> Result<Option<IniValue>, ConfigError> {
        let Some(raw) = self.raw(section, key) else {
            return Ok(None);
        };
        let origin = Origin::new(&self.path, raw.line);
        let mut out = String::new();
        let option = key.to_lowercase();
        self.interpolate(section, &raw.value, 1, &mut out)
            .map_err(|reason| ConfigError::Interpolation {
                at: origin.clone(),
                section: section.to_string(),
                option: option.clone(),
                // `sqlalchemy.*` values usually hold passwords: never echo them.
                reason: if option.starts_with("sqlalchemy.") {
                    reason.redacted
                } else {
                    reason.full
                },
            })?;
        Ok(Some(IniValue { value: out, origin }))
    }

    /// `BasicInterpolation._interpolate_some`: `%%` is `%`, `%(name)s` is the (recursively
    /// interpolated) value of `name` in the same section or `[DEFAULT]`.
    fn interpolate(
        &self,
        section: &str,
        rest: &str,
        depth: usize,
        out: &mut String,
    ) -> Result<(), InterpError> {
        if depth > MAX_INTERPOLATION_DEPTH {
            return Err(InterpError::same(format!(
                "more than {MAX_INTERPOLATION_DEPTH} levels of %(name)s references; look for \
                 an option that refers to itself, directly or through others"
            )));
        }
        let mut rest = rest;
        while let Some(p) = rest.find('%') {
            out.push_str(&rest[..p]);
            rest = &rest[p..];
            let after = &rest[1..];
            if let Some(tail) = after.strip_prefix('%') {
                out.push('%');
                rest = tail;
            } else if after.starts_with('(') {
                let Some((name, tail)) = match_key_ref(rest) else {
                    return Err(InterpError {
                        full: format!(
                            "bad interpolation variable reference {rest:?}; write %(name)s, or \
                             %% for a literal %"
                        ),
                        redacted: "bad interpolation variable reference; write %(name)s, or \
                                   %% for a literal %"
                            .to_string(),
                    });
                };
                let var = name.to_lowercase();
                let Some(v) = self.raw(section, &var) else {
                    return Err(InterpError::same(format!(
                        "%({name})s refers to '{var}', which is neither in [{section}] nor in \
                         [DEFAULT]; define it, or write %% for a literal %"
                    )));
                };
                if v.value.contains('%') {
                    self.interpolate(section, &v.value, depth + 1, out)?;
                } else {
                    out.push_str(&v.value);
                }
                rest = tail;
            } else {
                return Err(InterpError {
                    full: format!(
                        "'%' must be followed by '%' or '(', found: {rest:?}; write %% for a \
                         literal % (e.g. in passwords and file_template)"
                    ),
                    redacted: "a '%' is not followed by '%' or '('; write %% for a literal % \
                               (e.g. in passwords)"
                        .to_string(),
                });
            }
        }
        out.push_str(rest);
        Ok(())
    }
}

/// An interpolation failure, with a variant of the message that does not quote the value.
struct InterpError {
    full: String,
    redacted: String,
}

impl InterpError {
    fn same(msg: String) -> Self {
        InterpError {
            full: msg.clone(),
            redacted: msg,
        }
    }
}

/// `_KEYCRE.match`: `%(` then one or more non-`)` characters then `)s`. Returns the name and
/// the text after the reference.
fn match_key_ref(s: &str) -> Option<(&str, &str)> {
    let inner = s.strip_prefix("%(")?;
    let close = inner.find(')')?;
    if close == 0 {
        return None;
    }
    let tail = inner[close + 1..].strip_prefix('s')?;
    Some((&inner[..close], tail))
}

/// `BasicInterpolation.before_set`: after removing `%%` and valid `%(name)s` references no
/// `%` may remain. Returns a description of the problem, if any.
fn invalid_percent_syntax(value: &str) -> Option<String> {
    let without_escapes = value.replace("%%", "");
    let mut rest = without_escapes.as_str();
    while let Some(p) = rest.find('%') {
        match match_key_ref(&rest[p..]) {
            Some((_, tail)) => rest = tail,
            None => return Some(format!("a '%' at {:?}", &rest[p..])),
        }
    }
    None
}

/// `SECTCRE.match`: `[`, then the greediest `.+` that is followed by `]`. Text after the last
/// `]` is ignored, like in Python (`[alembic] junk` is section `alembic`).
fn section_header(stripped: &str) -> Option<&str> {
    let inner = stripped.strip_prefix('[')?;
    // `.` does not match a newline; a stripped line has none.
    let close = inner.rfind(']')?;
    (close > 0).then(|| &inner[..close])
}

/// `OPTCRE`: the key is everything before the first `=` or `:` (right-stripped), the value
/// everything after it (stripped).
fn split_option(stripped: &str) -> Option<(&str, &str)> {
    let d = stripped.find(['=', ':'])?;
    let name = stripped[..d].trim_end_matches(py_isspace);
    let value = py_strip(&stripped[d + 1..]);
    Some((name, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Ini, ConfigError> {
        Ini::parse(Path::new("/p/alembic.ini"), text, "/p")
    }

    fn get(ini: &Ini, section: &str, key: &str) -> Option<String> {
        ini.get(section, key)
            .expect("interpolation")
            .map(|v| v.value)
    }

    #[test]
    fn here_is_visible_in_every_section_and_interpolates() {
        let ini = parse("[alembic]\nscript_location = %(here)s/migrations\n").expect("parse");
        assert_eq!(
            get(&ini, "alembic", "script_location").as_deref(),
            Some("/p/migrations")
        );
        assert_eq!(get(&ini, "alembic", "here").as_deref(), Some("/p"));
    }

    #[test]
    fn default_section_values_are_visible_and_can_override_here() {
        let ini =
            parse("[DEFAULT]\nroot = %(here)s/x\nhere = /elsewhere\n[alembic]\na = %(root)s\n")
                .expect("parse");
        assert_eq!(get(&ini, "alembic", "a").as_deref(), Some("/elsewhere/x"));
    }

    #[test]
    fn reference_resolves_in_the_reading_section_first() {
        let ini =
            parse("[DEFAULT]\nd = %(x)s\nx = def\n[alembic]\nx = own\nv = %(d)s\n").expect("parse");
        assert_eq!(get(&ini, "alembic", "v").as_deref(), Some("own"));
    }

    #[test]
    fn double_percent_is_literal_percent() {
        let ini = parse("[alembic]\nfile_template = %%(rev)s_%%(slug)s\n").expect("parse");
        assert_eq!(
            get(&ini, "alembic", "file_template").as_deref(),
            Some("%(rev)s_%(slug)s")
        );
    }

    #[test]
    fn keys_are_case_insensitive_including_references() {
        let ini =
            parse("[alembic]\nScript_Location = a\nb = %(SCRIPT_location)s\n").expect("parse");
        assert_eq!(
            get(&ini, "alembic", "SCRIPT_LOCATION").as_deref(),
            Some("a")
        );
        assert_eq!(get(&ini, "alembic", "b").as_deref(), Some("a"));
    }

    #[test]
    fn section_names_are_case_sensitive() {
        let ini = parse("[Alembic]\na = 1\n").expect("parse");
        assert!(!ini.has_section("alembic"));
        assert_eq!(get(&ini, "alembic", "a"), None);
    }

    #[test]
    fn colon_and_equals_delimiters_first_one_wins() {
        let ini = parse("[s]\na: b = c\nd = e:f\ng  =  h  \n  i = j\n").expect("parse");
        assert_eq!(get(&ini, "s", "a").as_deref(), Some("b = c"));
        assert_eq!(get(&ini, "s", "d").as_deref(), Some("e:f"));
        // An indented line after an option is a continuation, even if it looks like `k = v`.
        assert_eq!(get(&ini, "s", "g").as_deref(), Some("h\ni = j"));
        assert!(!ini.has_option("s", "i"));
    }

    #[test]
    fn inline_comments_are_kept_full_line_comments_dropped() {
        let ini =
            parse("# top\n[s]\n  ; indented comment\na = b # not a comment\n").expect("parse");
        assert_eq!(get(&ini, "s", "a").as_deref(), Some("b # not a comment"));
    }

    #[test]
    fn continuation_lines_join_with_newline_keeping_inner_blank_lines() {
        let text = "[s]\na = one\n  two\n\n    three\n  # comment\n  four\n\n\nb = x\n";
        let ini = parse(text).expect("parse");
        assert_eq!(
            get(&ini, "s", "a").as_deref(),
            Some("one\ntwo\n\nthree\nfour")
        );
        assert_eq!(get(&ini, "s", "b").as_deref(), Some("x"));
    }

    #[test]
    fn empty_first_line_value_then_continuations() {
        let ini = parse("[s]\nversion_locations =\n    a\n    b\n").expect("parse");
        // The empty first piece stays (as a leading newline), like configparser.
        assert_eq!(
            get(&ini, "s", "version_locations").as_deref(),
            Some("\na\nb")
        );
    }

    #[test]
    fn crlf_and_cr_line_endings() {
        let ini = parse("[s]\r\na = 1\rb = 2\r\n").expect("parse");
        assert_eq!(get(&ini, "s", "a").as_deref(), Some("1"));
        assert_eq!(get(&ini, "s", "b").as_deref(), Some("2"));
    }

    #[test]
    fn header_ignores_text_after_last_bracket() {
        let ini = parse("[alembic] trailing\na = 1\n").expect("parse");
        assert!(ini.has_section("alembic"));
    }

    #[test]
    fn malformed_line_reports_file_and_line() {
        let err = parse("[s]\na = 1\nthis is not an option\n= nokey\n").expect_err("must fail");
        let msg = err.to_string();
        assert!(msg.contains("/p/alembic.ini"), "{msg}");
        assert!(msg.contains("line 3") && msg.contains("line 4"), "{msg}");
    }

    #[test]
    fn missing_section_header_reports_line_and_bom() {
        let err = parse("a = 1\n").expect_err("must fail");
        assert!(
            err.to_string()
                .starts_with("/p/alembic.ini:1: no [section] header")
        );
        let err = parse("\u{feff}[alembic]\n").expect_err("must fail");
        assert!(err.to_string().contains("byte-order mark"), "{err}");
    }

    #[test]
    fn duplicate_section_and_option_are_errors_with_line() {
        let err = parse("[a]\nx=1\n[b]\n[a]\n").expect_err("dup section");
        assert!(matches!(err, ConfigError::DuplicateSection { ref at, .. } if at.line == Some(4)));
        let err = parse("[a]\nx=1\nX=2\n").expect_err("dup option");
        assert!(matches!(err, ConfigError::DuplicateOption { ref at, .. } if at.line == Some(3)));
        let err = parse("[DEFAULT]\nx=1\n[DEFAULT]\nx=2\n").expect_err("dup default option");
        assert!(matches!(err, ConfigError::DuplicateOption { .. }));
        // A repeated [DEFAULT] header on its own is fine.
        parse("[DEFAULT]\nx=1\n[DEFAULT]\ny=2\n").expect("ok");
    }

    #[test]
    fn bad_percent_is_an_error_only_when_read() {
        let ini = parse("[s]\nurl = postgresql://u:p%ss@h/db\nok = 1\n[formatter]\nformat = %(levelname)-5.5s\n")
            .expect("parse is lazy");
        assert_eq!(get(&ini, "s", "ok").as_deref(), Some("1"));
        let err = ini.get("s", "url").expect_err("bad %");
        let msg = err.to_string();
        assert!(msg.starts_with("/p/alembic.ini:2:"), "{msg}");
        // sqlalchemy.* values are not echoed; others are.
        let ini = parse("[s]\nsqlalchemy.url = x://u:se%cret@h\nother = se%cret\n").expect("parse");
        let msg = ini.get("s", "sqlalchemy.url").expect_err("bad").to_string();
        assert!(!msg.contains("se%cret") && !msg.contains("cret"), "{msg}");
        let msg = ini.get("s", "other").expect_err("bad").to_string();
        assert!(msg.contains("%cret"), "{msg}");
    }

    #[test]
    fn missing_reference_and_unterminated_reference_are_errors() {
        let ini = parse("[s]\na = %(nope)s\nb = %(here)\nc = 50%\n").expect("parse");
        let msg = ini.get("s", "a").expect_err("missing").to_string();
        assert!(msg.contains("'nope'"), "{msg}");
        assert!(ini.get("s", "b").is_err());
        assert!(ini.get("s", "c").is_err());
    }

    #[test]
    fn interpolation_depth_is_limited_to_ten() {
        // a0 -> a1 -> ... : values containing '%' count one level each.
        let mut text = String::from("[s]\n");
        for i in 0..10 {
            text.push_str(&format!("a{i} = %(a{})s\n", i + 1));
        }
        text.push_str("a10 = end\n");
        let ini = parse(&text).expect("parse");
        assert_eq!(get(&ini, "s", "a0").as_deref(), Some("end"));
        let ini = parse("[s]\nloop = %(loop)s\n").expect("parse");
        let msg = ini.get("s", "loop").expect_err("loop").to_string();
        assert!(msg.contains("more than 10 levels"), "{msg}");
        let mut text = String::from("[s]\n");
        for i in 0..11 {
            text.push_str(&format!("a{i} = %(a{})s\n", i + 1));
        }
        text.push_str("a11 = end\n");
        assert!(parse(&text).expect("parse").get("s", "a0").is_err());
    }

    #[test]
    fn percent_in_here_is_rejected_like_configparser() {
        assert!(Ini::parse(Path::new("/a%b/alembic.ini"), "[s]\n", "/a%b").is_err());
        Ini::parse(Path::new("/a%%b/alembic.ini"), "[s]\n", "/a%%b").expect("valid syntax");
    }

    #[test]
    fn python_whitespace_is_stripped() {
        let ini = parse("[s]\na = \u{1f}x\u{a0}\n").expect("parse");
        assert_eq!(get(&ini, "s", "a").as_deref(), Some("x"));
    }
}
