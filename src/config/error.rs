//! Errors and warnings of the configuration layer. Every message names the file (and line,
//! where one exists) and says what to change.

use std::fmt;
use std::path::{Path, PathBuf};

/// Where a configuration value came from: a file and, when known, a 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub file: PathBuf,
    /// `None` for values that have no line, such as the implicit `here` default.
    pub line: Option<usize>,
}

impl Origin {
    pub fn new(file: &Path, line: Option<usize>) -> Self {
        Origin {
            file: file.to_path_buf(),
            line,
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}", self.file.display()),
            None => write!(f, "{}", self.file.display()),
        }
    }
}

/// What a [`ConfigWarning`] is about, so a front end can filter or group them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WarningKind {
    /// `version_path_separator` instead of `path_separator`.
    DeprecatedSeparator,
    /// `version_locations` split with the legacy space/comma rule.
    LegacySplit,
    /// A value that looks like it carries an inline comment, which INI files do not support.
    InlineComment,
    /// A location that Alembic turns into the current directory (empty piece, empty value).
    SurprisingLocation,
    /// A config file that was named but does not exist (Alembic ignores it silently).
    MissingConfigFile,
    /// An unknown key in `[tool.migscope]`.
    UnknownKey,
    /// A value Alembic accepts but that is almost certainly not what was meant.
    Suspicious,
    /// `sqlalchemy.url` could not be interpolated; the value is never shown.
    DatabaseUrl,
}

/// A non-fatal finding while loading the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigWarning {
    pub kind: WarningKind,
    pub origin: Option<Origin>,
    pub message: String,
}

impl fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.origin {
            Some(origin) => write!(f, "{origin}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// Why the configuration could not be resolved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error(
        "no Alembic configuration found: {ini} does not exist and {toml} {toml_state}; \
         pass --config <alembic.ini or pyproject.toml>, or --dir <versions directory> to read \
         a versions directory without a config file"
    )]
    NotFound {
        ini: PathBuf,
        toml: PathBuf,
        /// "does not exist" or "has no [tool.alembic] table".
        toml_state: &'static str,
    },

    #[error(
        "{what} indicated more than once ({first} and {second}); pass at most one ini file \
         and one pyproject.toml with --config"
    )]
    ConfigGivenTwice {
        what: &'static str,
        first: PathBuf,
        second: PathBuf,
    },

    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{at}: the file is not valid UTF-8; save it as UTF-8")]
    NotUtf8 { at: Origin },

    #[error(
        "{at}: no [section] header before this line{bom}; start the file with a header such \
         as [alembic]"
    )]
    MissingSectionHeader { at: Origin, bom: &'static str },

    #[error("{file}: cannot parse {}; each line must be a [section] header, `key = value` (or `key: value`), an indented continuation, or a full-line # or ; comment", format_bad_lines(.lines))]
    IniSyntax {
        file: PathBuf,
        /// (line number, line text) of every line that could not be parsed.
        lines: Vec<(usize, String)>,
    },

    #[error("{at}: section [{section}] appears twice; merge the two sections")]
    DuplicateSection { at: Origin, section: String },

    #[error(
        "{at}: option '{option}' appears twice in section [{section}] (keys are \
         case-insensitive); keep one"
    )]
    DuplicateOption {
        at: Origin,
        section: String,
        option: String,
    },

    #[error("{at}: cannot interpolate option '{option}' in [{section}]: {reason}")]
    Interpolation {
        at: Origin,
        section: String,
        option: String,
        reason: String,
    },

    #[error("{at}: invalid TOML: {message}")]
    TomlSyntax { at: Origin, message: String },

    #[error("{at}: {message}")]
    TomlValue { at: Origin, message: String },

    #[error(
        "No 'script_location' key found in configuration ({looked}); add script_location to \
         the [{section}] section of the ini file or to [tool.alembic] in pyproject.toml, or \
         pass --dir <versions directory>"
    )]
    NoScriptLocation { looked: String, section: String },

    #[error(
        "Path doesn't exist: {dir}.  Please use the 'init' command to create a new scripts \
         folder. (script_location at {at}; resolved to {resolved})"
    )]
    ScriptLocationMissing {
        dir: String,
        at: Origin,
        resolved: PathBuf,
    },

    #[error(
        "{at}: cannot find package '{package}' for '{spec}'; looked in {}. Add the directory \
         that contains the package to prepend_sys_path, or use a filesystem path",
        format_paths(.looked)
    )]
    PackageNotFound {
        at: Origin,
        spec: String,
        package: String,
        looked: Vec<PathBuf>,
    },

    #[error(
        "{at}: '{value}' is not a valid value for {key}; expected 'space', 'newline', 'os', \
         ':', ';'"
    )]
    InvalidSeparator {
        at: Origin,
        key: String,
        value: String,
    },

    #[error("{at}: {key} must be a non-negative integer, found '{value}'")]
    InvalidInteger {
        at: Origin,
        key: String,
        value: String,
    },

    #[error(
        "{at}: sourceless = true (.pyc revision files) is not supported by migscope; remove \
         it or point --dir at a directory with .py files"
    )]
    Sourceless { at: Origin },

    #[error("cannot determine the current directory: {0}")]
    Cwd(#[source] std::io::Error),
}

fn format_bad_lines(lines: &[(usize, String)]) -> String {
    let parts: Vec<String> = lines
        .iter()
        .map(|(n, text)| format!("line {n} ({text:?})"))
        .collect();
    parts.join(", ")
}

fn format_paths(paths: &[PathBuf]) -> String {
    let parts: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    parts.join(", ")
}
