//! Resolve an Alembic project's configuration once, into a [`ProjectConfig`].
//!
//! This mirrors what `alembic <command>` does before it loads any revision (ALEMBIC.md §1):
//! which config files it reads (`-c`, `ALEMBIC_CONFIG`, defaults), how the INI file is parsed
//! (Python `configparser`, see [`ini`]), how `[tool.alembic]` in `pyproject.toml` is read and
//! how the two are merged (INI wins key by key), and how `script_location` and
//! `version_locations` become directories. Relative paths are relative to the current
//! directory, exactly like Alembic, not to the config file.
//!
//! Where Alembic would crash with a traceback or do something meaningless (a TOML string
//! where a list is expected, an unknown `%` conversion), we return a [`ConfigError`] that names
//! the file, the line and the fix. Where Alembic silently does something surprising (inline
//! comments become part of a value, an empty location means the current directory), we do the
//! same and add a [`ConfigWarning`].

mod error;
mod ini;
mod pyproject;

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

pub use error::{ConfigError, ConfigWarning, Origin, WarningKind};

use ini::Ini;
use pyproject::{Pyproject, Value};

/// Alembic's default `file_template`.
pub const DEFAULT_FILE_TEMPLATE: &str = "%(rev)s_%(slug)s";
/// Alembic's default `truncate_slug_length` (also used for `0`).
pub const DEFAULT_TRUNCATE_SLUG_LENGTH: usize = 40;
/// The INI section read when `-n/--name` is not given.
pub const DEFAULT_SECTION: &str = "alembic";

/// What the command line says about where the configuration is. All fields are optional.
#[derive(Debug, Clone, Default)]
pub struct ConfigOptions {
    /// The directory relative paths are resolved against (Alembic uses the process CWD).
    /// Empty means the process's current directory.
    pub cwd: PathBuf,
    /// `-c/--config`, at most one INI file and one `pyproject.toml` (classified by basename).
    pub config: Vec<PathBuf>,
    /// `-n/--name`: the INI section (default `alembic`). Does not affect `[tool.alembic]`.
    pub name: Option<String>,
    /// `--dir`: version directories to read without (or instead of the locations of) a config.
    pub dirs: Vec<PathBuf>,
    /// `--recursive`: walk sub-directories of the version locations (ORed with the config's
    /// `recursive_version_locations`).
    pub recursive: bool,
    /// The value of the `ALEMBIC_CONFIG` environment variable. Passed in rather than read
    /// here so tests do not race on the process environment; see
    /// [`ConfigOptions::with_process_env`].
    pub alembic_config_env: Option<OsString>,
}

impl ConfigOptions {
    pub fn new(cwd: impl Into<PathBuf>) -> Self {
        ConfigOptions {
            cwd: cwd.into(),
            ..Default::default()
        }
    }

    /// Fills [`ConfigOptions::alembic_config_env`] from the process environment.
    pub fn with_process_env(mut self) -> Self {
        self.alembic_config_env = std::env::var_os("ALEMBIC_CONFIG");
        self
    }
}

/// `[tool.migscope]` in `pyproject.toml`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MigscopeSettings {
    /// Branch labels whose heads are expected to coexist: several heads are not a problem when
    /// each belongs to a different one of these branches (e.g. `["expand", "contract"]`).
    pub branches: Vec<String>,
}

/// The resolved configuration of one project.
#[derive(Clone)]
pub struct ProjectConfig {
    /// The INI file that was read (absolute), if one existed.
    pub ini_path: Option<PathBuf>,
    /// The `pyproject.toml` that was read (absolute), if one existed.
    pub toml_path: Option<PathBuf>,
    /// The INI section in use (`-n`, default `alembic`).
    pub section: String,
    /// The script directory (absolute, existing). `None` when only `--dir` is used.
    pub script_location: Option<PathBuf>,
    /// Absolute version locations in configuration order. May include directories that do not
    /// exist; [`crate::discover::revision_files`] skips and reports them.
    pub version_locations: Vec<PathBuf>,
    /// `recursive_version_locations` (INI: only the exact string `true`), or `--recursive`.
    pub recursive: bool,
    /// Always `false`: [`load`] refuses `sourceless = true`, which migscope does not support.
    pub sourceless: bool,
    /// `file_template` after `%` processing, e.g. `%(rev)s_%(slug)s`.
    pub file_template: String,
    /// `truncate_slug_length`, with `0`/missing meaning 40 like Alembic.
    pub truncate_slug_length: usize,
    /// `timezone`: the zone of new files' dates (None: local time).
    pub timezone: Option<String>,
    /// `prepend_sys_path`, absolute: where package-style locations were looked up first.
    pub prepend_sys_path: Vec<PathBuf>,
    /// `sqlalchemy.url` of the INI main section after interpolation. Contains credentials:
    /// display it only through [`mask_url`]. (`Debug` masks it.)
    pub sqlalchemy_url: Option<String>,
    /// `[tool.migscope]`.
    pub migscope: MigscopeSettings,
    /// Everything suspicious found on the way.
    pub warnings: Vec<ConfigWarning>,
}

impl fmt::Debug for ProjectConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProjectConfig")
            .field("ini_path", &self.ini_path)
            .field("toml_path", &self.toml_path)
            .field("section", &self.section)
            .field("script_location", &self.script_location)
            .field("version_locations", &self.version_locations)
            .field("recursive", &self.recursive)
            .field("sourceless", &self.sourceless)
            .field("file_template", &self.file_template)
            .field("truncate_slug_length", &self.truncate_slug_length)
            .field("timezone", &self.timezone)
            .field("prepend_sys_path", &self.prepend_sys_path)
            .field(
                "sqlalchemy_url",
                &self.sqlalchemy_url.as_deref().map(mask_url),
            )
            .field("migscope", &self.migscope)
            .field("warnings", &self.warnings)
            .finish()
    }
}

/// Replaces the password of a database URL with `***` (`postgresql://u:***@h/db`).
pub fn mask_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let auth_start = scheme_end + 3;
    let auth_len = url[auth_start..]
        .find(['/', '?', '#'])
        .unwrap_or(url.len() - auth_start);
    let authority = &url[auth_start..auth_start + auth_len];
    // The last '@' ends the user info: passwords may contain unescaped '@'.
    let Some(at) = authority.rfind('@') else {
        return url.to_string();
    };
    let Some(colon) = authority[..at].find(':') else {
        return url.to_string();
    };
    format!(
        "{}{}***{}",
        &url[..auth_start],
        &authority[..colon + 1],
        &url[auth_start + at..]
    )
}

/// Resolves the configuration. See the module documentation.
pub fn load(opts: &ConfigOptions) -> Result<ProjectConfig, ConfigError> {
    let cwd = if opts.cwd.as_os_str().is_empty() {
        std::env::current_dir().map_err(ConfigError::Cwd)?
    } else if opts.cwd.is_absolute() {
        opts.cwd.clone()
    } else {
        std::env::current_dir()
            .map_err(ConfigError::Cwd)?
            .join(&opts.cwd)
    };
    let cwd = py_absolute(&cwd, Path::new(""));
    let section = opts
        .name
        .clone()
        .unwrap_or_else(|| DEFAULT_SECTION.to_string());
    let mut warnings = Vec::new();

    let chosen = choose_files(&opts.config, opts.alembic_config_env.as_deref())?;
    let ini_path = py_absolute(&cwd, &chosen.ini);
    let toml_path = py_absolute(&cwd, &chosen.toml);
    let ini = match read_text(&ini_path, chosen.ini_explicit, "ini file", &mut warnings)? {
        Some(text) => Some(Ini::parse(&ini_path, &text, &here_of(&ini_path))?),
        None => None,
    };
    let pyproject = match read_text(
        &toml_path,
        chosen.toml_explicit,
        "pyproject.toml",
        &mut warnings,
    )? {
        Some(text) => Some(Pyproject::parse(&toml_path, &text, here_of(&toml_path))?),
        None => None,
    };
    let dirs: Vec<PathBuf> = opts.dirs.iter().map(|d| py_absolute(&cwd, d)).collect();

    let has_tool_alembic = pyproject.as_ref().is_some_and(|p| p.alembic.is_some());
    if ini.is_none() && !has_tool_alembic && dirs.is_empty() {
        return Err(ConfigError::NotFound {
            ini: ini_path,
            toml: toml_path,
            toml_state: if pyproject.is_some() {
                "has no [tool.alembic] table"
            } else {
                "does not exist"
            },
        });
    }
    if let Some(ini) = &ini
        && !ini.has_section(&section)
    {
        warnings.push(ConfigWarning {
            kind: WarningKind::Suspicious,
            origin: Some(Origin::new(ini.path(), None)),
            message: format!(
                "the ini file has no [{section}] section, so Alembic ignores it (except \
                     [DEFAULT]); check -n/--name"
            ),
        });
    }

    let src = Sources {
        ini: ini.as_ref(),
        section: &section,
        toml: pyproject.as_ref(),
        cwd: &cwd,
    };
    let mut roots = Roots {
        cwd: cwd.clone(),
        config_dirs: [
            ini.as_ref().map(|i| i.path()),
            pyproject.as_ref().map(|p| p.path.as_path()),
        ]
        .into_iter()
        .flatten()
        .filter_map(|p| p.parent().map(Path::to_path_buf))
        .collect(),
        prepend: Vec::new(),
    };

    // Same order as `ScriptDirectory.from_config`, so the first error is Alembic's first error.
    let truncate_slug_length = src.truncate_slug_length()?;
    roots.prepend = src.prepend_sys_path(&mut warnings)?;
    let (recursive_cfg, _) = src.bool_option("recursive_version_locations")?;
    let script_location = resolve_script_location(&src, &roots, !dirs.is_empty(), &mut warnings)?;
    let file_template = src
        .option("file_template")?
        .map_or_else(|| DEFAULT_FILE_TEMPLATE.to_string(), |s| s.value);
    let timezone = src.option("timezone")?.map(|s| s.value);
    if let (true, Some(at)) = src.bool_option("sourceless")? {
        return Err(ConfigError::Sourceless { at });
    }
    let version_locations = if dirs.is_empty() {
        src.version_locations(&roots, script_location.as_deref(), &mut warnings)?
    } else {
        dirs
    };
    let sqlalchemy_url = src.sqlalchemy_url(&mut warnings);
    let migscope = match &pyproject {
        Some(p) => migscope_settings(p, &mut warnings)?,
        None => MigscopeSettings::default(),
    };

    Ok(ProjectConfig {
        ini_path: ini.as_ref().map(|i| i.path().to_path_buf()),
        toml_path: pyproject.as_ref().map(|p| p.path.clone()),
        section,
        script_location,
        version_locations,
        recursive: recursive_cfg || opts.recursive,
        sourceless: false,
        file_template,
        truncate_slug_length,
        timezone,
        prepend_sys_path: roots.prepend,
        sqlalchemy_url,
        migscope,
        warnings,
    })
}

/// `Path(p).absolute()` in Python: joined to the CWD if relative, `.` components and repeated
/// separators dropped, `..` and symlinks kept.
fn py_absolute(cwd: &Path, p: &Path) -> PathBuf {
    let joined = if p.is_absolute() {
        p.to_path_buf()
    } else {
        cwd.join(p)
    };
    joined.components().collect()
}

/// `Path(file).absolute().parent.as_posix()`: the `%(here)s` value.
fn here_of(abs_file: &Path) -> String {
    let dir = abs_file.parent().unwrap_or(abs_file);
    let s = dir.to_string_lossy().into_owned();
    if cfg!(windows) {
        s.replace('\\', "/")
    } else {
        s
    }
}

/// `os.path.basename`: the text after the last separator (empty for a trailing separator).
fn basename(p: &Path) -> &[u8] {
    let bytes = p.as_os_str().as_encoded_bytes();
    let is_sep = |b: &u8| *b == b'/' || (cfg!(windows) && *b == b'\\');
    match bytes.iter().rposition(is_sep) {
        Some(i) => &bytes[i + 1..],
        None => bytes,
    }
}

struct Chosen {
    ini: PathBuf,
    ini_explicit: bool,
    toml: PathBuf,
    toml_explicit: bool,
}

/// `CommandLine._inis_from_config`: `-c` values are classified by basename; `ALEMBIC_CONFIG`
/// replaces the default of its kind; both files are always considered.
fn choose_files(config: &[PathBuf], env: Option<&OsStr>) -> Result<Chosen, ConfigError> {
    let mut chosen = Chosen {
        ini: PathBuf::from("alembic.ini"),
        ini_explicit: false,
        toml: PathBuf::from("pyproject.toml"),
        toml_explicit: false,
    };
    // An empty ALEMBIC_CONFIG counts as unset (Python tests its truthiness).
    if let Some(env) = env.filter(|e| !e.is_empty()) {
        let env = PathBuf::from(env);
        if basename(&env) == b"pyproject.toml" {
            chosen.toml = env;
            chosen.toml_explicit = true;
        } else {
            chosen.ini = env;
            chosen.ini_explicit = true;
        }
    }
    let (mut ini, mut toml): (Option<&PathBuf>, Option<&PathBuf>) = (None, None);
    for name in config {
        let (slot, what) = if basename(name) == b"pyproject.toml" {
            (&mut toml, "pyproject.toml")
        } else {
            (&mut ini, "ini file")
        };
        if let Some(first) = slot {
            return Err(ConfigError::ConfigGivenTwice {
                what,
                first: first.to_path_buf(),
                second: name.clone(),
            });
        }
        *slot = Some(name);
    }
    if let Some(ini) = ini {
        chosen.ini = ini.clone();
        chosen.ini_explicit = true;
    }
    if let Some(toml) = toml {
        chosen.toml = toml.clone();
        chosen.toml_explicit = true;
    }
    Ok(chosen)
}

/// Reads a config file. A missing file (or a directory) is "no file", as in Alembic; if the
/// user named it explicitly we add a warning, because Alembic's silence hides typos.
fn read_text(
    path: &Path,
    explicit: bool,
    what: &str,
    warnings: &mut Vec<ConfigWarning>,
) -> Result<Option<String>, ConfigError> {
    let missing = |warnings: &mut Vec<ConfigWarning>, why: &str| {
        if explicit {
            warnings.push(ConfigWarning {
                kind: WarningKind::MissingConfigFile,
                origin: None,
                message: format!(
                    "{what} {} {why}; ignoring it, as Alembic does",
                    path.display()
                ),
            });
        }
    };
    if path.is_dir() {
        missing(warnings, "is a directory");
        return Ok(None);
    }
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            missing(warnings, "does not exist");
            return Ok(None);
        }
        Err(source) => {
            return Err(ConfigError::Io {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    match String::from_utf8(bytes) {
        Ok(text) => Ok(Some(text)),
        Err(err) => {
            let valid = &err.as_bytes()[..err.utf8_error().valid_up_to()];
            let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
            Err(ConfigError::NotUtf8 {
                at: Origin::new(path, Some(line)),
            })
        }
    }
}

/// A string setting and where it came from.
#[derive(Debug, Clone)]
struct Setting {
    value: String,
    origin: Origin,
    /// Raw INI text (before interpolation), for the inline-comment check. `None` for TOML.
    ini_raw: Option<String>,
}

/// The INI main section and `[tool.alembic]`, looked up the way `Config` does.
struct Sources<'a> {
    ini: Option<&'a Ini>,
    section: &'a str,
    toml: Option<&'a Pyproject>,
    cwd: &'a Path,
}

impl Sources<'_> {
    fn ini_has(&self, key: &str) -> bool {
        self.ini.is_some_and(|i| i.has_option(self.section, key))
    }

    /// `get_main_option` / `file_config.get(..., fallback=None)`: INI only.
    fn ini_option(&self, key: &str) -> Result<Option<Setting>, ConfigError> {
        let Some(ini) = self.ini else {
            return Ok(None);
        };
        Ok(ini.get(self.section, key)?.map(|v| Setting {
            value: v.value,
            origin: v.origin,
            ini_raw: ini.get_raw(self.section, key).map(|r| r.value),
        }))
    }

    /// `get_alembic_option`: the INI main section if it has the key, else `[tool.alembic]`.
    fn option(&self, key: &str) -> Result<Option<Setting>, ConfigError> {
        if self.ini_has(key) {
            return self.ini_option(key);
        }
        let Some(toml) = self.toml else {
            return Ok(None);
        };
        Ok(toml.alembic_string(key)?.map(|(value, origin)| Setting {
            value,
            origin,
            ini_raw: None,
        }))
    }

    /// `get_alembic_boolean_option`: INI true only for the exact string `true`; TOML must be
    /// a real boolean.
    fn bool_option(&self, key: &str) -> Result<(bool, Option<Origin>), ConfigError> {
        if self.ini_has(key) {
            return Ok(match self.ini_option(key)? {
                Some(s) => (s.value == "true", Some(s.origin)),
                None => (false, None),
            });
        }
        match self
            .toml
            .map(|t| t.alembic_bool(key))
            .transpose()?
            .flatten()
        {
            Some((b, origin)) => Ok((b, Some(origin))),
            None => Ok((false, None)),
        }
    }

    /// `truncate_slug_length`: `int(value)`, with `0` or missing meaning 40.
    fn truncate_slug_length(&self) -> Result<usize, ConfigError> {
        const KEY: &str = "truncate_slug_length";
        let (text, origin) = if self.ini_has(KEY) {
            match self.ini_option(KEY)? {
                Some(s) => (s.value, s.origin),
                None => return Ok(DEFAULT_TRUNCATE_SLUG_LENGTH),
            }
        } else {
            let Some(toml) = self.toml else {
                return Ok(DEFAULT_TRUNCATE_SLUG_LENGTH);
            };
            let Some(item) = toml.alembic_item(KEY) else {
                return Ok(DEFAULT_TRUNCATE_SLUG_LENGTH);
            };
            let origin = toml.origin(item.line);
            match &item.value {
                Value::Str(s) => (toml.format(KEY, s, item.line)?, origin),
                // Python's bool is an int: `true` means 1.
                Value::Bool(b) => (u8::from(*b).to_string(), origin),
                Value::Int(Some(i)) => (i.to_string(), origin),
                other => {
                    return Err(ConfigError::TomlValue {
                        at: origin,
                        message: format!(
                            "tool.alembic.{KEY} must be an integer, found {}",
                            pyproject::type_name(other)
                        ),
                    });
                }
            }
        };
        match parse_py_int(&text) {
            Some(0) => Ok(DEFAULT_TRUNCATE_SLUG_LENGTH),
            Some(n) if n > 0 => Ok(usize::try_from(n).unwrap_or(usize::MAX)),
            _ => Err(ConfigError::InvalidInteger {
                at: origin,
                key: KEY.to_string(),
                value: text,
            }),
        }
    }

    /// `_get_file_separator_char(*names)`: the first of `names` present in the INI main section.
    fn separator(
        &self,
        names: &[&str],
        warnings: &mut Vec<ConfigWarning>,
    ) -> Result<Option<char>, ConfigError> {
        for &name in names {
            let Some(s) = self.ini_option(name)? else {
                continue;
            };
            let sep = match s.value.as_str() {
                "space" => ' ',
                "newline" => '\n',
                "os" => {
                    if cfg!(windows) {
                        ';'
                    } else {
                        ':'
                    }
                }
                ":" => ':',
                ";" => ';',
                _ => {
                    return Err(ConfigError::InvalidSeparator {
                        at: s.origin,
                        key: name.to_string(),
                        value: s.value,
                    });
                }
            };
            if name == "version_path_separator" {
                warnings.push(ConfigWarning {
                    kind: WarningKind::DeprecatedSeparator,
                    origin: Some(s.origin),
                    message: "version_path_separator is deprecated; rename it to path_separator"
                        .to_string(),
                });
            }
            return Ok(Some(sep));
        }
        Ok(None)
    }

    /// `get_prepend_sys_paths_list`, made absolute (these become `sys.path` entries).
    fn prepend_sys_path(
        &self,
        warnings: &mut Vec<ConfigWarning>,
    ) -> Result<Vec<PathBuf>, ConfigError> {
        const KEY: &str = "prepend_sys_path";
        let pieces = match self.ini_option(KEY)? {
            Some(s) if !s.value.is_empty() => {
                match self.separator(&["path_separator"], warnings)? {
                    Some(sep) => split_on(&s.value, sep),
                    None => legacy_split(&s.value, true),
                }
            }
            _ => match self
                .toml
                .map(|t| t.alembic_string_list(KEY))
                .transpose()?
                .flatten()
            {
                Some((list, _)) => list,
                None => Vec::new(),
            },
        };
        Ok(pieces
            .iter()
            .map(|p| py_absolute(self.cwd, Path::new(p)))
            .collect())
    }

    /// `get_version_locations_list` + `ScriptDirectory._version_locations`.
    fn version_locations(
        &self,
        roots: &Roots,
        script_location: Option<&Path>,
        warnings: &mut Vec<ConfigWarning>,
    ) -> Result<Vec<PathBuf>, ConfigError> {
        const KEY: &str = "version_locations";
        let (pieces, origin) = match self.ini_option(KEY)? {
            Some(s) if !s.value.is_empty() => {
                warn_inline_comment(&s, KEY, warnings);
                let pieces = match self
                    .separator(&["path_separator", "version_path_separator"], warnings)?
                {
                    Some(sep) => split_on(&s.value, sep),
                    None => {
                        warnings.push(ConfigWarning {
                            kind: WarningKind::LegacySplit,
                            origin: Some(s.origin.clone()),
                            message: if s.value.contains('\n') {
                                "version_locations spans several lines but no path_separator is \
                                 set, so Alembic splits only on spaces and commas and the line \
                                 breaks stay inside the paths; add path_separator = newline"
                                    .to_string()
                            } else {
                                "no path_separator set: version_locations is split on spaces \
                                 and commas (deprecated); add path_separator = os (or space)"
                                    .to_string()
                            },
                        });
                        legacy_split(&s.value, false)
                    }
                };
                (pieces, Some(s.origin))
            }
            _ => match self
                .toml
                .map(|t| t.alembic_string_list(KEY))
                .transpose()?
                .flatten()
            {
                Some((list, origin)) => (list, Some(origin)),
                None => (Vec::new(), None),
            },
        };
        let Some(origin) = origin.filter(|_| !pieces.is_empty()) else {
            // No list: the only location is `<script_location>/versions`.
            return Ok(script_location
                .map(|s| vec![s.join("versions")])
                .unwrap_or_default());
        };
        let mut out = Vec::with_capacity(pieces.len());
        for piece in &pieces {
            if piece.is_empty() {
                warnings.push(ConfigWarning {
                    kind: WarningKind::SurprisingLocation,
                    origin: Some(origin.clone()),
                    message: format!(
                        "version_locations has an empty entry, which Alembic reads as the \
                         current directory ({}); remove the stray separator",
                        self.cwd.display()
                    ),
                });
            }
            let coerced = roots.resolve(piece, &origin)?;
            out.push(py_absolute(self.cwd, &coerced));
        }
        Ok(out)
    }

    /// `sqlalchemy.url` from the INI main section. Alembic itself never reads it (only
    /// `env.py` does), so a bad value is a warning here, never an error.
    fn sqlalchemy_url(&self, warnings: &mut Vec<ConfigWarning>) -> Option<String> {
        match self.ini_option("sqlalchemy.url") {
            Ok(s) => s.map(|s| s.value),
            Err(err) => {
                warnings.push(ConfigWarning {
                    kind: WarningKind::DatabaseUrl,
                    origin: None,
                    // Interpolation errors for sqlalchemy.* never quote the value.
                    message: err.to_string(),
                });
                None
            }
        }
    }
}

/// Warns when an INI value looks like it carries an inline comment: INI files have none, so
/// `versions  # old` is the path `versions  # old` (or, split, the paths `#` and `old`).
fn warn_inline_comment(s: &Setting, key: &str, warnings: &mut Vec<ConfigWarning>) {
    let Some(raw) = &s.ini_raw else {
        return;
    };
    let starts = raw.starts_with(['#', ';']);
    let mut prev_space = false;
    let mut inner = false;
    for c in raw.chars() {
        if prev_space && (c == '#' || c == ';') {
            inner = true;
            break;
        }
        prev_space = c.is_whitespace();
    }
    if starts || inner {
        warnings.push(ConfigWarning {
            kind: WarningKind::InlineComment,
            origin: Some(s.origin.clone()),
            message: format!(
                "{key} contains '#' or ';' after a space; INI files have no inline comments, so \
                 it is part of the value ({raw:?}). Move the comment to its own line"
            ),
        });
    }
}

/// `[x.strip() for x in value.split(sep) if x]`: empty pieces are dropped *before* stripping,
/// so a whitespace-only piece survives as `""` (the current directory).
fn split_on(value: &str, sep: char) -> Vec<String> {
    value
        .split(sep)
        .filter(|x| !x.is_empty())
        .map(|x| x.trim_matches(ini::py_isspace).to_string())
        .collect()
}

/// `re.split(r", *|(?: +)", value)` (plus `|\:` for `prepend_sys_path`): no stripping, no
/// filtering of empty pieces, and line breaks are not separators.
fn legacy_split(value: &str, colon: bool) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ',' || c == ' ' {
            // ", *" eats the spaces after a comma; " +" eats a run of spaces.
            while chars.peek() == Some(&' ') {
                chars.next();
            }
            out.push(std::mem::take(&mut cur));
        } else if colon && c == ':' {
            out.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    out.push(cur);
    out
}

/// Python's `int(str)` for base-10 text: surrounding whitespace, an optional sign, digits with
/// single underscores between them.
fn parse_py_int(text: &str) -> Option<i64> {
    let t = text.trim_matches(ini::py_isspace);
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
        || !digits.bytes().all(|b| b.is_ascii_digit() || b == b'_')
    {
        return None;
    }
    let n: i64 = digits.replace('_', "").parse().ok()?;
    Some(if neg { -n } else { n })
}

/// Where `package:sub/dir` locations are looked up. Alembic imports the package; statically we
/// look for its directory where the interpreter would most likely find it.
struct Roots {
    cwd: PathBuf,
    /// Directories of the ini file and of pyproject.toml.
    config_dirs: Vec<PathBuf>,
    /// `prepend_sys_path` entries, which Alembic puts at the front of `sys.path`.
    prepend: Vec<PathBuf>,
}

impl Roots {
    /// `coerce_resource_to_filename`: a value that is not absolute and contains `:` is a
    /// package resource `pkg:sub:...`; anything else is returned as a (maybe relative) path.
    fn resolve(&self, value: &str, at: &Origin) -> Result<PathBuf, ConfigError> {
        if Path::new(value).is_absolute() || !value.contains(':') {
            return Ok(PathBuf::from(value));
        }
        let mut tokens = value.split(':');
        let package = tokens.next().unwrap_or_default();
        let rel: PathBuf = package.split('.').collect();
        // sys.path order: prepend_sys_path first; then the usual homes of a project's code.
        let mut candidates: Vec<PathBuf> = Vec::new();
        let bases = self
            .prepend
            .iter()
            .cloned()
            .chain([self.cwd.clone()])
            .chain(self.config_dirs.iter().cloned())
            .chain([self.cwd.join("src")]);
        for base in bases {
            let dir = base.join(&rel);
            if !candidates.contains(&dir) {
                candidates.push(dir);
            }
        }
        let found = if package.is_empty() {
            None
        } else {
            candidates.iter().find(|d| d.is_dir())
        };
        match found {
            Some(dir) => Ok(tokens.fold(dir.clone(), |d, t| d.join(t))),
            None => Err(ConfigError::PackageNotFound {
                at: at.clone(),
                spec: value.to_string(),
                package: package.to_string(),
                looked: candidates,
            }),
        }
    }
}

/// `script_location`: required unless `--dir` is given; must exist.
fn resolve_script_location(
    src: &Sources<'_>,
    roots: &Roots,
    have_dirs: bool,
    warnings: &mut Vec<ConfigWarning>,
) -> Result<Option<PathBuf>, ConfigError> {
    let Some(s) = src.option("script_location")? else {
        if have_dirs {
            return Ok(None);
        }
        let mut looked = Vec::new();
        match src.ini {
            Some(ini) if ini.has_section(src.section) => {
                looked.push(format!("[{}] in {}", src.section, ini.path().display()))
            }
            Some(ini) => looked.push(format!(
                "{} (which has no [{}] section)",
                ini.path().display(),
                src.section
            )),
            None => {}
        }
        match src.toml {
            Some(t) if t.alembic.is_some() => {
                looked.push(format!("[tool.alembic] in {}", t.path.display()))
            }
            _ => {}
        }
        return Err(ConfigError::NoScriptLocation {
            looked: looked.join(" and "),
            section: src.section.to_string(),
        });
    };
    warn_inline_comment(&s, "script_location", warnings);
    if s.value.is_empty() {
        warnings.push(ConfigWarning {
            kind: WarningKind::SurprisingLocation,
            origin: Some(s.origin.clone()),
            message: format!(
                "script_location is empty, which Alembic reads as the current directory ({})",
                src.cwd.display()
            ),
        });
    }
    let resolved = roots.resolve(&s.value, &s.origin).and_then(|coerced| {
        let abs = py_absolute(src.cwd, &coerced);
        // `os.access(dir, F_OK)`: anything that exists (following symlinks) passes.
        if fs::metadata(&abs).is_ok() {
            Ok(abs)
        } else {
            Err(ConfigError::ScriptLocationMissing {
                dir: coerced.display().to_string(),
                at: s.origin.clone(),
                resolved: abs,
            })
        }
    });
    match resolved {
        Ok(dir) => Ok(Some(dir)),
        // With --dir the script directory is not needed: say what is wrong and carry on.
        Err(err) if have_dirs => {
            warnings.push(ConfigWarning {
                kind: WarningKind::Suspicious,
                origin: None,
                message: err.to_string(),
            });
            Ok(None)
        }
        Err(err) => Err(err),
    }
}

/// `[tool.migscope]`.
fn migscope_settings(
    p: &Pyproject,
    warnings: &mut Vec<ConfigWarning>,
) -> Result<MigscopeSettings, ConfigError> {
    let mut settings = MigscopeSettings::default();
    let Some(table) = &p.migscope else {
        return Ok(settings);
    };
    for (key, item) in table {
        match key.as_str() {
            "branches" => {
                let bad = || ConfigError::TomlValue {
                    at: p.origin(item.line),
                    message: "tool.migscope.branches must be a list of branch labels, e.g. \
                              branches = [\"expand\", \"contract\"]"
                        .to_string(),
                };
                let Value::Array(items) = &item.value else {
                    return Err(bad());
                };
                for it in items {
                    match &it.value {
                        Value::Str(s) => settings.branches.push(s.clone()),
                        _ => return Err(bad()),
                    }
                }
            }
            other => warnings.push(ConfigWarning {
                kind: WarningKind::UnknownKey,
                origin: Some(p.origin(item.line)),
                message: format!(
                    "unknown key '{other}' in [tool.migscope] is ignored (known keys: branches)"
                ),
            }),
        }
    }
    Ok(settings)
}

#[cfg(test)]
mod tests;
