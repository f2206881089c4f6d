//! Which database to talk to, and how to say it to sqlx.
//!
//! Projects spell their database as a SQLAlchemy URL (`postgresql+psycopg2://...`,
//! `sqlite:///app.db`). sqlx speaks a different dialect of URLs, so [`parse_url`] reads the
//! SQLAlchemy form exactly as `sqlalchemy.engine.make_url` does (same regex, same unquoting of
//! the user and password only) and rebuilds a URL sqlx understands, keeping the query parameters
//! sqlx knows and dropping driver-specific ones with a note.
//!
//! The password never leaves this module unmasked except through
//! [`DbUrl::expose_sqlx_url`]; `Debug`, [`DbUrl::masked`] and every error mask it.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::config::{ProjectConfig, mask_url};

use super::{Backend, DbError};

/// Environment variables consulted (in this order) when `--db` is not given.
pub const URL_ENV_VARS: [&str; 2] = ["MIGSCOPE_DATABASE_URL", "DATABASE_URL"];

/// Where the URL in use came from, for messages ("the URL from DATABASE_URL ...").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlSource {
    Flag,
    Env(&'static str),
    /// `sqlalchemy.url` of this ini file.
    Config(Option<PathBuf>),
}

impl fmt::Display for UrlSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UrlSource::Flag => f.write_str("--db"),
            UrlSource::Env(var) => write!(f, "${var}"),
            UrlSource::Config(Some(p)) => write!(f, "sqlalchemy.url in {}", p.display()),
            UrlSource::Config(None) => f.write_str("sqlalchemy.url"),
        }
    }
}

/// Picks the URL: `--db`, else the first non-empty [`URL_ENV_VARS`], else `sqlalchemy.url`
/// from the project config. `env` is passed in so tests do not touch the process environment
/// (use `|k| std::env::var(k).ok()`).
pub fn choose_url(
    flag: Option<&str>,
    env: impl Fn(&str) -> Option<String>,
    config: Option<&ProjectConfig>,
) -> Result<(String, UrlSource), DbError> {
    if let Some(url) = flag.filter(|u| !u.trim().is_empty()) {
        return Ok((url.trim().to_string(), UrlSource::Flag));
    }
    for var in URL_ENV_VARS {
        if let Some(url) = env(var).filter(|u| !u.trim().is_empty()) {
            return Ok((url.trim().to_string(), UrlSource::Env(var)));
        }
    }
    if let Some(cfg) = config
        && let Some(url) = cfg
            .sqlalchemy_url
            .as_deref()
            .filter(|u| !u.trim().is_empty())
    {
        let source = UrlSource::Config(cfg.ini_path.clone());
        // `alembic init` writes this placeholder; projects that read the URL from the
        // environment in env.py often leave it there.
        if url.trim().starts_with("driver://") {
            return Err(DbError::NoUrl {
                detail: format!(
                    "{source} is Alembic's placeholder ({}), so the real URL is probably \
                         computed in env.py",
                    mask_url(url.trim())
                ),
            });
        }
        return Ok((url.trim().to_string(), source));
    }
    Err(DbError::NoUrl {
        detail: "no --db option, no MIGSCOPE_DATABASE_URL or DATABASE_URL, and no \
                 sqlalchemy.url in the project config"
            .to_string(),
    })
}

/// A parsed database URL, ready to connect. Holds the password: its `Debug` masks it.
#[derive(Clone, PartialEq, Eq)]
pub struct DbUrl {
    pub backend: Backend,
    /// The DBAPI driver named in the URL (`psycopg2` in `postgresql+psycopg2://`), if any.
    pub driver: Option<String>,
    /// What was changed or dropped while translating, one sentence each.
    pub notes: Vec<String>,
    pub(crate) target: Target,
}

#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Target {
    Server(Server),
    /// `None`: an in-memory database.
    Sqlite {
        path: Option<PathBuf>,
    },
}

#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Server {
    /// The user as given (decoded), if any.
    pub user: Option<String>,
    /// Decoded. Secret.
    pub password: Option<String>,
    /// `None` means the driver's default (localhost).
    pub host: Option<String>,
    pub port: Option<u16>,
    pub database: Option<String>,
    /// `key=value` pairs sqlx understands, already in sqlx's spelling.
    pub params: Vec<(String, String)>,
}

impl DbUrl {
    /// The sqlx URL with the password replaced by `***`: safe to print.
    pub fn masked(&self) -> String {
        self.render(false)
    }

    /// The sqlx URL including the password. Never print it; for connecting and tests.
    pub fn expose_sqlx_url(&self) -> String {
        self.render(true)
    }

    /// What is being connected to, for messages: `host:port` or the SQLite file.
    pub fn endpoint(&self) -> String {
        match &self.target {
            Target::Sqlite { path: None } => "an in-memory SQLite database".to_string(),
            Target::Sqlite { path: Some(p) } => p.display().to_string(),
            Target::Server(s) => {
                if let Some((_, sock)) = s.params.iter().find(|(k, _)| k == "socket") {
                    return sock.clone();
                }
                if let Some((_, h)) = s
                    .params
                    .iter()
                    .find(|(k, v)| k == "host" && v.starts_with('/'))
                {
                    return h.clone();
                }
                let host = s.host.as_deref().unwrap_or("localhost");
                let port = s.port.unwrap_or(match self.backend {
                    Backend::Postgres => 5432,
                    _ => 3306,
                });
                if host.contains(':') {
                    format!("[{host}]:{port}")
                } else {
                    format!("{host}:{port}")
                }
            }
        }
    }

    /// The SQLite file, if this is one (None for servers and in-memory databases).
    pub fn sqlite_path(&self) -> Option<&Path> {
        match &self.target {
            Target::Sqlite { path } => path.as_deref(),
            Target::Server(_) => None,
        }
    }

    /// The database name in the URL, if any.
    pub fn database(&self) -> Option<&str> {
        match &self.target {
            Target::Server(s) => s.database.as_deref(),
            Target::Sqlite { .. } => None,
        }
    }

    /// The user name in the URL, if any.
    pub fn user(&self) -> Option<&str> {
        match &self.target {
            Target::Server(s) => s.user.as_deref(),
            Target::Sqlite { .. } => None,
        }
    }

    /// The decoded password, for scrubbing it out of driver messages.
    pub(crate) fn password(&self) -> Option<&str> {
        match &self.target {
            Target::Server(s) => s.password.as_deref(),
            Target::Sqlite { .. } => None,
        }
    }

    /// The same URL pointing at another database (tests create throwaway databases).
    pub fn with_database(&self, database: &str) -> DbUrl {
        let mut out = self.clone();
        if let Target::Server(s) = &mut out.target {
            s.database = Some(database.to_string());
        }
        out
    }

    fn render(&self, reveal: bool) -> String {
        match &self.target {
            Target::Sqlite { path: None } => "sqlite::memory:".to_string(),
            // sqlx strips `sqlite://`, leaving the absolute path.
            Target::Sqlite { path: Some(p) } => format!("sqlite://{}", p.display()),
            Target::Server(s) => {
                let scheme = match self.backend {
                    Backend::Postgres => "postgres",
                    _ => "mysql",
                };
                let mut out = format!("{scheme}://");
                if s.user.is_some() || s.password.is_some() {
                    out.push_str(&encode(s.user.as_deref().unwrap_or("")));
                    if let Some(pw) = &s.password {
                        out.push(':');
                        out.push_str(&if reveal {
                            encode(pw)
                        } else {
                            "***".to_string()
                        });
                    }
                    out.push('@');
                }
                if let Some(h) = &s.host {
                    if h.contains(':') {
                        out.push_str(&format!("[{h}]"));
                    } else {
                        out.push_str(h);
                    }
                }
                if let Some(p) = s.port {
                    out.push_str(&format!(":{p}"));
                }
                if let Some(db) = &s.database {
                    out.push('/');
                    out.push_str(&encode(db));
                }
                for (i, (k, v)) in s.params.iter().enumerate() {
                    out.push(if i == 0 { '?' } else { '&' });
                    out.push_str(&encode(k));
                    out.push('=');
                    out.push_str(&encode(v));
                }
                out
            }
        }
    }
}

impl fmt::Debug for DbUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DbUrl")
            .field("backend", &self.backend)
            .field("driver", &self.driver)
            .field("url", &self.masked())
            .field("notes", &self.notes)
            .finish()
    }
}

impl fmt::Display for DbUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

/// Masks every password in `text` that looks like a URL's (`scheme://user:pw@`) or a
/// `password=` query parameter, wherever it occurs: [`mask_url`] only handles a string that
/// *is* one URL, and only its user-info part.
pub fn mask_all(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        // The URL starts at the scheme, which is made of word characters and '+'.
        let scheme_start = rest[..i]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '+' || c == '_' || c == '-'))
            .map_or(0, |j| j + 1);
        let end = rest[i + 3..]
            .find(|c: char| c.is_whitespace() || c == '\'' || c == '"' || c == '`')
            .map_or(rest.len(), |j| i + 3 + j);
        out.push_str(&rest[..scheme_start]);
        out.push_str(&mask_url(&rest[scheme_start..end]));
        rest = &rest[end..];
    }
    out.push_str(rest);
    mask_password_params(&out)
}

/// `password=secret` (a libpq/SQLAlchemy query parameter) becomes `password=***`.
fn mask_password_params(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("password=") {
        let value_start = i + "password=".len();
        let value_len = rest[value_start..]
            .find(|c: char| c == '&' || c == '#' || c.is_whitespace() || c == '\'' || c == '"')
            .unwrap_or(rest.len() - value_start);
        out.push_str(&rest[..value_start]);
        if value_len > 0 {
            out.push_str("***");
        }
        rest = &rest[value_start + value_len..];
    }
    out.push_str(rest);
    out
}

/// Reads a SQLAlchemy URL (`make_url`) and translates it for sqlx. Relative SQLite paths are
/// resolved against `cwd`, as `sqlite3.connect` would in a process started there.
pub fn parse_url(raw: &str, cwd: &Path) -> Result<DbUrl, DbError> {
    let invalid = |reason: String| DbError::InvalidUrl {
        url: mask_all(raw),
        reason,
    };
    let parts = split_sqlalchemy(raw).ok_or_else(|| {
        invalid(
            "not a SQLAlchemy URL; expected e.g. postgresql://user:password@host:5432/dbname, \
             mysql+pymysql://user@host/dbname or sqlite:///relative/path.db"
                .to_string(),
        )
    })?;
    let (dialect, driver) = match parts.scheme.split_once('+') {
        Some((d, drv)) => (d, Some(drv.to_string())),
        None => (parts.scheme, None),
    };
    let backend = match dialect {
        "postgresql" | "postgres" => Backend::Postgres,
        "mysql" | "mariadb" => Backend::MySql,
        "sqlite" => Backend::Sqlite,
        other => {
            return Err(invalid(format!(
                "unsupported database '{other}': migscope supports postgresql, mysql, mariadb \
                 and sqlite"
            )));
        }
    };
    let mut notes = Vec::new();
    let query = parse_query(parts.query.unwrap_or(""));

    if backend == Backend::Sqlite {
        return sqlite_target(&parts, &query, cwd, &mut notes, invalid).map(|target| DbUrl {
            backend,
            driver,
            notes,
            target,
        });
    }

    let port = match parts.port {
        None | Some("") => None,
        Some(p) => Some(
            p.parse::<u16>()
                .map_err(|_| invalid(format!("invalid port '{p}'")))?,
        ),
    };
    let mut server = Server {
        user: parts.user.map(percent_decode).filter(|u| !u.is_empty()),
        password: parts.password.map(percent_decode),
        host: parts.host.filter(|h| !h.is_empty()).map(str::to_string),
        port,
        // SQLAlchemy does not unquote the database name: `my%20db` is the name `my%20db`.
        database: parts.database.filter(|d| !d.is_empty()).map(str::to_string),
        params: Vec::new(),
    };
    for (key, value) in query {
        let kept = match backend {
            Backend::Postgres => pg_param(&key, &value, &mut server),
            _ => mysql_param(&key, &value, &mut server),
        };
        match kept {
            Param::Keep(k, v) => server.params.push((k, v)),
            Param::Applied => {}
            Param::Drop(why) => notes.push(format!("dropped query parameter '{key}': {why}")),
        }
    }
    Ok(DbUrl {
        backend,
        driver,
        notes,
        target: Target::Server(server),
    })
}

enum Param {
    Keep(String, String),
    /// Folded into the URL's other fields.
    Applied,
    Drop(&'static str),
}

/// libpq/psycopg parameters sqlx's PostgreSQL driver also understands are kept; asyncpg's
/// `ssl=` is translated to `sslmode`.
fn pg_param(key: &str, value: &str, server: &mut Server) -> Param {
    match key {
        "sslmode" | "sslrootcert" | "sslcert" | "sslkey" | "application_name" | "options"
        | "port" | "dbname" | "user" => Param::Keep(key.to_string(), value.to_string()),
        // libpq: a `host` starting with '/' is a Unix socket directory.
        "host" => {
            if value.starts_with('/') {
                Param::Keep(key.to_string(), value.to_string())
            } else {
                server.host = Some(value.to_string());
                Param::Applied
            }
        }
        "password" => {
            server.password = Some(value.to_string());
            Param::Applied
        }
        "ssl" => match value {
            "true" | "True" | "1" => Param::Keep("sslmode".into(), "require".into()),
            "false" | "False" | "0" => Param::Keep("sslmode".into(), "disable".into()),
            "disable" | "allow" | "prefer" | "require" | "verify-ca" | "verify-full" => {
                Param::Keep("sslmode".into(), value.to_string())
            }
            _ => Param::Drop("not a recognised SSL mode"),
        },
        "connect_timeout" => Param::Drop("use migscope's --timeout instead"),
        _ => Param::Drop("driver-specific, not understood by migscope's PostgreSQL client"),
    }
}

/// PyMySQL/mysqlclient parameters translated to sqlx's MySQL spelling.
fn mysql_param(key: &str, value: &str, server: &mut Server) -> Param {
    let _ = server;
    match key {
        "charset" | "collation" => Param::Keep(key.to_string(), value.to_string()),
        "ssl_ca" | "ssl-ca" => Param::Keep("ssl-ca".into(), value.to_string()),
        "ssl_cert" | "ssl-cert" => Param::Keep("ssl-cert".into(), value.to_string()),
        "ssl_key" | "ssl-key" => Param::Keep("ssl-key".into(), value.to_string()),
        "ssl_mode" | "ssl-mode" | "sslmode" => Param::Keep("ssl-mode".into(), value.to_string()),
        "ssl_disabled" => match value {
            "true" | "True" | "1" => Param::Keep("ssl-mode".into(), "DISABLED".into()),
            _ => Param::Applied,
        },
        "unix_socket" | "socket" => Param::Keep("socket".into(), value.to_string()),
        "connect_timeout" => Param::Drop("use migscope's --timeout instead"),
        _ => Param::Drop("driver-specific, not understood by migscope's MySQL client"),
    }
}

fn sqlite_target(
    parts: &Parts<'_>,
    query: &[(String, String)],
    cwd: &Path,
    notes: &mut Vec<String>,
    invalid: impl Fn(String) -> DbError,
) -> Result<Target, DbError> {
    // pysqlite: anything in the authority part is an error, with this message.
    if parts.user.is_some() || parts.host.is_some_and(|h| !h.is_empty()) || parts.port.is_some() {
        return Err(invalid(
            "invalid SQLite URL; valid forms are sqlite:///:memory: (or sqlite://), \
             sqlite:///relative/path/to/file.db and sqlite:////absolute/path/to/file.db"
                .to_string(),
        ));
    }
    let uri = query
        .iter()
        .any(|(k, v)| k == "uri" && matches!(v.as_str(), "true" | "True" | "1"));
    for (k, _) in query {
        // In URI mode the other parameters belong to the SQLite URI (noted below).
        if k != "uri" && !uri {
            notes.push(format!(
                "dropped query parameter '{k}': pysqlite-specific, not needed to read the database"
            ));
        }
    }
    let mut db = parts.database.unwrap_or("");
    if uri && let Some(rest) = db.strip_prefix("file:") {
        // A SQLite URI filename: keep its path, drop its own `?mode=...` parameters.
        notes.push("a SQLite URI filename: its parameters (mode=...) are ignored".to_string());
        db = rest;
    }
    if db.is_empty() || db == ":memory:" {
        return Ok(Target::Sqlite { path: None });
    }
    let path = Path::new(db);
    let path = if path.is_absolute() {
        path.to_path_buf()
    } else {
        cwd.join(path)
    };
    Ok(Target::Sqlite { path: Some(path) })
}

/// The pieces of `sqlalchemy.engine.url._parse_url`'s regex, not yet unquoted.
struct Parts<'a> {
    scheme: &'a str,
    user: Option<&'a str>,
    password: Option<&'a str>,
    host: Option<&'a str>,
    port: Option<&'a str>,
    database: Option<&'a str>,
    query: Option<&'a str>,
}

/// SQLAlchemy's URL regex, by hand:
/// `name://[user[:password]@][host|[ipv6]][:port][/database][?query]`, where the password runs
/// to the *first* `@` and the user stops at `:` or `/`.
fn split_sqlalchemy(raw: &str) -> Option<Parts<'_>> {
    let (scheme, rest) = raw.split_once("://")?;
    if scheme.is_empty()
        || !scheme
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '+')
    {
        return None;
    }
    let (before_query, query) = match rest.split_once('?') {
        Some((a, q)) => (a, Some(q)),
        None => (rest, None),
    };
    // The user-info group is optional and needs an '@' after a user without '/' or ':' and a
    // password without '@'.
    let (user, password, after_auth) = match split_userinfo(before_query) {
        Some((u, p, rest)) => (Some(u), p, rest),
        None => (None, None, before_query),
    };
    let (hostport, database) = match after_auth.split_once('/') {
        Some((hp, db)) => (hp, Some(db)),
        None => (after_auth, None),
    };
    let (host, port) = if let Some(inner) = hostport.strip_prefix('[') {
        let (h, after) = inner.split_once(']')?;
        match after {
            "" => (Some(h), None),
            a => (Some(h), Some(a.strip_prefix(':')?)),
        }
    } else {
        match hostport.split_once(':') {
            Some((h, p)) => (Some(h), Some(p)),
            None => (Some(hostport), None),
        }
    };
    Some(Parts {
        scheme,
        user,
        password,
        host,
        port,
        database,
        query,
    })
}

fn split_userinfo(s: &str) -> Option<(&str, Option<&str>, &str)> {
    let user_end = s.find([':', '/', '@']).unwrap_or(s.len());
    let user = &s[..user_end];
    let rest = &s[user_end..];
    if let Some(after) = rest.strip_prefix('@') {
        return Some((user, None, after));
    }
    let pw_and_rest = rest.strip_prefix(':')?;
    let at = pw_and_rest.find('@')?;
    Some((user, Some(&pw_and_rest[..at]), &pw_and_rest[at + 1..]))
}

/// `urllib.parse.parse_qsl`: `&`-separated, `+` is a space, percent-decoded, blank values kept
/// out (as with `keep_blank_values=False`).
fn parse_query(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .filter_map(|p| {
            let (k, v) = p.split_once('=')?;
            let k = percent_decode(&k.replace('+', " "));
            let v = percent_decode(&v.replace('+', " "));
            (!v.is_empty()).then_some((k, v))
        })
        .collect()
}

/// `urllib.parse.unquote`: invalid escapes are kept as they are; bytes are read as UTF-8.
pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push(h * 16 + l);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Percent-encodes everything but RFC 3986 unreserved characters, so the `url` crate inside
/// sqlx gives back exactly the original text.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cwd() -> PathBuf {
        PathBuf::from("/home/app")
    }

    #[test]
    fn translation_table() {
        // (SQLAlchemy URL, sqlx URL with the password revealed, number of notes)
        let table: &[(&str, &str, usize)] = &[
            (
                "postgresql://u:p@db:5432/app",
                "postgres://u:p@db:5432/app",
                0,
            ),
            (
                "postgresql+psycopg2://u:p@db/app",
                "postgres://u:p@db/app",
                0,
            ),
            ("postgresql+psycopg://u@db/app", "postgres://u@db/app", 0),
            (
                "postgresql+asyncpg://u:p@db/app?ssl=require",
                "postgres://u:p@db/app?sslmode=require",
                0,
            ),
            ("postgres://u@db/app", "postgres://u@db/app", 0),
            (
                "postgresql:///app?host=/var/run/postgresql",
                "postgres:///app?host=%2Fvar%2Frun%2Fpostgresql",
                0,
            ),
            (
                "postgresql://u@db/app?sslmode=verify-full&sslrootcert=/ca.pem",
                "postgres://u@db/app?sslmode=verify-full&sslrootcert=%2Fca.pem",
                0,
            ),
            (
                "postgresql://u@db/app?connect_timeout=5&client_encoding=utf8",
                "postgres://u@db/app",
                2,
            ),
            (
                "postgresql://u:p%40ss%2Fw%3Ard@db/app",
                "postgres://u:p%40ss%2Fw%3Ard@db/app",
                0,
            ),
            (
                "postgresql://u:pa ss@[::1]:5433/app",
                "postgres://u:pa%20ss@[::1]:5433/app",
                0,
            ),
            ("postgresql://localhost/app", "postgres://localhost/app", 0),
            (
                "mysql://root@127.0.0.1:3306/test",
                "mysql://root@127.0.0.1:3306/test",
                0,
            ),
            (
                "mysql+pymysql://u:p@db/app?charset=utf8mb4",
                "mysql://u:p@db/app?charset=utf8mb4",
                0,
            ),
            (
                "mysql+mysqldb://u:p@db/app?ssl_mode=REQUIRED",
                "mysql://u:p@db/app?ssl-mode=REQUIRED",
                0,
            ),
            (
                "mysql+aiomysql://u:p@db/app?unix_socket=/tmp/m.sock",
                "mysql://u:p@db/app?socket=%2Ftmp%2Fm.sock",
                0,
            ),
            (
                "mysql+asyncmy://u:p@db/app?ssl_ca=/ca.pem&local_infile=1",
                "mysql://u:p@db/app?ssl-ca=%2Fca.pem",
                1,
            ),
            ("mariadb://u:p@db/app", "mysql://u:p@db/app", 0),
            (
                "mariadb+mariadbconnector://u:p@db:3307/app",
                "mysql://u:p@db:3307/app",
                0,
            ),
            ("sqlite://", "sqlite::memory:", 0),
            ("sqlite:///:memory:", "sqlite::memory:", 0),
            ("sqlite:///app.db", "sqlite:///home/app/app.db", 0),
            ("sqlite:///data/app.db", "sqlite:///home/app/data/app.db", 0),
            ("sqlite:////var/lib/app.db", "sqlite:///var/lib/app.db", 0),
            (
                "sqlite+pysqlite:///app.db?timeout=30",
                "sqlite:///home/app/app.db",
                1,
            ),
            (
                "sqlite:///file:app.db?mode=ro&uri=true",
                "sqlite:///home/app/app.db",
                1,
            ),
        ];
        for (input, want, notes) in table {
            let got = parse_url(input, &cwd()).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(&got.expose_sqlx_url(), want, "{input}");
            assert_eq!(got.notes.len(), *notes, "{input}: {:?}", got.notes);
        }
    }

    #[test]
    fn backends_and_drivers() {
        let u = parse_url("postgresql+psycopg2://u@h/d", &cwd()).unwrap();
        assert_eq!(u.backend, Backend::Postgres);
        assert_eq!(u.driver.as_deref(), Some("psycopg2"));
        assert_eq!(u.database(), Some("d"));
        assert_eq!(u.endpoint(), "h:5432");
        let u = parse_url("mariadb+pymysql://u@h/d", &cwd()).unwrap();
        assert_eq!(u.backend, Backend::MySql);
        assert_eq!(u.endpoint(), "h:3306");
        let u = parse_url("sqlite:///x.db", &cwd()).unwrap();
        assert_eq!(u.backend, Backend::Sqlite);
        assert_eq!(u.sqlite_path(), Some(Path::new("/home/app/x.db")));
    }

    #[test]
    fn password_decoding_follows_sqlalchemy() {
        // Percent escapes in the password are decoded once; sqlx gets them re-encoded.
        let u = parse_url("postgresql://me:s%3Acr%40t@h/d", &cwd()).unwrap();
        assert_eq!(u.password(), Some("s:cr@t"));
        // An unescaped '@' ends the password at the first '@', as in SQLAlchemy's regex.
        let u = parse_url("postgresql://me:a@b@h/d", &cwd()).unwrap();
        assert_eq!(u.password(), Some("a"));
    }

    #[test]
    fn rejects_bad_urls_without_leaking_the_password() {
        for bad in [
            "postgresql://u:hunter2secret@h:notaport/d",
            "oracle://u:hunter2secret@h/d",
            "sqlite://u:hunter2secret@somewhere/x.db",
            "not a url hunter2secret",
            "postgresql://h:badport/d?sslmode=require&password=hunter2secret",
        ] {
            let err = parse_url(bad, &cwd()).unwrap_err();
            let shown = format!("{err} {err:?}");
            if bad.contains("://") {
                assert!(!shown.contains("hunter2secret"), "{shown}");
            }
            assert!(matches!(err, DbError::InvalidUrl { .. }), "{shown}");
        }
    }

    #[test]
    fn masking() {
        let u = parse_url("postgresql://me:hunter2secret@h/d", &cwd()).unwrap();
        assert_eq!(u.masked(), "postgres://me:***@h/d");
        assert!(!format!("{u:?}").contains("hunter2secret"));
        assert!(!u.to_string().contains("hunter2secret"));
        assert!(u.expose_sqlx_url().contains("hunter2secret"));
        let u = parse_url("postgresql://h/d?password=hunter2secret", &cwd()).unwrap();
        assert_eq!(u.masked(), "postgres://:***@h/d");
        assert!(!format!("{u:?}").contains("hunter2secret"));
        assert_eq!(
            mask_all("a postgres://u:pw1@h/d and 'mysql+pymysql://r:x@y@z/q' end"),
            "a postgres://u:***@h/d and 'mysql+pymysql://r:***@z/q' end"
        );
        assert_eq!(
            mask_all("postgresql://h/d?password=s3cr3t&sslmode=require"),
            "postgresql://h/d?password=***&sslmode=require"
        );
    }

    #[test]
    fn url_sources() {
        let env = |k: &str| match k {
            "DATABASE_URL" => Some("postgres://from-env/db".to_string()),
            "MIGSCOPE_DATABASE_URL" => Some("  ".to_string()),
            _ => None,
        };
        let (u, s) = choose_url(Some("sqlite://"), env, None).unwrap();
        assert_eq!((u.as_str(), s), ("sqlite://", UrlSource::Flag));
        let (u, s) = choose_url(None, env, None).unwrap();
        assert_eq!(
            (u.as_str(), s),
            ("postgres://from-env/db", UrlSource::Env("DATABASE_URL"))
        );
        assert!(matches!(
            choose_url(None, |_| None, None),
            Err(DbError::NoUrl { .. })
        ));
    }
}
