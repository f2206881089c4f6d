//! A new revision's id, file name and create date, as `alembic revision` / `alembic merge`
//! choose them (`util.rev_id`, `ScriptDirectory._rev_path`).

use std::io::Read;

use super::FixError;

/// A fresh revision id: 12 lowercase hex digits (Alembic takes the last 12 of a uuid4), not
/// already `taken`.
pub fn new_rev_id(taken: impl Fn(&str) -> bool) -> String {
    loop {
        let id = random_hex12();
        if !taken(&id) {
            return id;
        }
    }
}

fn random_hex12() -> String {
    let mut bytes = [0u8; 6];
    let from_os = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .is_ok();
    if !from_os {
        // No /dev/urandom (not Unix): the std hasher's per-process random keys, mixed with time.
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        bytes.copy_from_slice(&h.finish().to_le_bytes()[..6]);
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A point in time, broken down in some zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateTime {
    /// Seconds since the Unix epoch (UTC).
    pub epoch: u64,
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub micros: u32,
    /// Seconds east of UTC of the fields above.
    pub offset: i32,
    /// Printed with its offset (Python's aware datetime): Alembic's `timezone` option. Local
    /// time is naive.
    pub aware: bool,
}

impl DateTime {
    /// Now, as Alembic's `_generate_create_date` takes it: `datetime.now()` in the local zone
    /// (`TZ`, else `/etc/localtime`, as the C library reads them), or, with `timezone`
    /// configured, that zone (tried as written, then upper-cased, like `ZoneInfo`).
    pub fn now(timezone: Option<&str>) -> Result<DateTime, FixError> {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let secs = d.as_secs();
        let (zone, aware) = match timezone {
            None => (local_zone(), false),
            Some(name) => {
                let zone = named_zone(name)
                    .or_else(|| named_zone(&name.to_uppercase()))
                    .ok_or_else(|| FixError::Config {
                        message: format!(
                            "Can't locate timezone: {name} (the `timezone` option takes a zone \
                             name from /usr/share/zoneinfo, e.g. Europe/Berlin)"
                        ),
                    })?;
                (Some(zone), true)
            }
        };
        let offset = zone
            .and_then(|z| Some(z.find_local_time_type(secs as i64).ok()?.ut_offset()))
            .unwrap_or(0);
        Ok(DateTime::at(secs, d.subsec_micros(), offset, aware))
    }

    /// UTC, naive.
    pub fn from_epoch(secs: u64, micros: u32) -> DateTime {
        DateTime::at(secs, micros, 0, false)
    }

    /// `secs` shown `offset` seconds east of UTC.
    pub fn at(secs: u64, micros: u32, offset: i32, aware: bool) -> DateTime {
        // "YYYY-MM-DDTHH:MM:SSZ"
        let s = crate::journal::format_utc(secs.saturating_add_signed(i64::from(offset)));
        let num = |r: std::ops::Range<usize>| s[r].parse::<u32>().unwrap_or(0);
        DateTime {
            epoch: secs,
            year: i64::from(num(0..4)),
            month: num(5..7),
            day: num(8..10),
            hour: num(11..13),
            minute: num(14..16),
            second: num(17..19),
            micros,
            offset,
            aware,
        }
    }

    /// Python's `str(datetime)`: microseconds only when not zero.
    pub fn python_str(&self) -> String {
        let base = format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        );
        let mut out = if self.micros == 0 {
            base
        } else {
            format!("{base}.{:06}", self.micros)
        };
        if self.aware {
            // `+HH:MM`, with `:SS` only when the offset has seconds.
            let sign = if self.offset < 0 { '-' } else { '+' };
            let o = self.offset.unsigned_abs();
            out.push_str(&format!("{sign}{:02}:{:02}", o / 3600, o / 60 % 60));
            if !o.is_multiple_of(60) {
                out.push_str(&format!(":{:02}", o % 60));
            }
        }
        out
    }
}

/// The zone `datetime.now()` uses: `TZ` (a zone name or a POSIX rule; empty or unreadable is
/// UTC, as in the C library), else the system's `/etc/localtime`; None: UTC.
fn local_zone() -> Option<tz::TimeZone> {
    match std::env::var("TZ") {
        Ok(tz) => {
            let tz = tz.strip_prefix(':').unwrap_or(&tz);
            named_zone(tz).or_else(|| tz::TimeZone::from_posix_tz(tz).ok())
        }
        Err(_) => tz::TimeZone::local().ok(),
    }
}

/// A zone by its IANA name, from the system's zone files (`ZoneInfo`'s default search path).
fn named_zone(name: &str) -> Option<tz::TimeZone> {
    let relative = std::path::Path::new(name);
    let plain = relative
        .components()
        .all(|c| matches!(c, std::path::Component::Normal(_)));
    if name.is_empty() || !plain {
        return None;
    }
    [
        "/usr/share/zoneinfo",
        "/usr/lib/zoneinfo",
        "/usr/share/lib/zoneinfo",
        "/etc/zoneinfo",
    ]
    .iter()
    .find_map(|dir| {
        let bytes = std::fs::read(std::path::Path::new(dir).join(relative)).ok()?;
        tz::TimeZone::from_tz_data(&bytes).ok()
    })
}

/// Alembic's slug: the message's `\w+` runs joined by `_`, lowercased, cut at a word boundary
/// to `truncate` characters (with a trailing `_`).
pub fn slug(message: &str, truncate: usize) -> String {
    let words: Vec<String> = message
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect();
    let slug = words.join("_").to_lowercase();
    if slug.chars().count() <= truncate {
        return slug;
    }
    let cut: String = slug.chars().take(truncate).collect();
    let head = cut.rsplit_once('_').map_or(cut.as_str(), |(h, _)| h);
    format!("{head}_")
}

/// `file_template % {...}` with Python's `%` formatting of the keys Alembic provides.
pub fn file_name(
    template: &str,
    rev: &str,
    slug: &str,
    date: &DateTime,
) -> Result<String, FixError> {
    let bad = |message: String| FixError::Config { message };
    let mut out = String::new();
    let mut rest = template;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        rest = &rest[at + 1..];
        if let Some(r) = rest.strip_prefix('%') {
            out.push('%');
            rest = r;
            continue;
        }
        let Some(r) = rest.strip_prefix('(') else {
            return Err(bad(format!(
                "file_template {template:?}: `%` must be followed by `(name)`"
            )));
        };
        let close = r
            .find(')')
            .ok_or_else(|| bad(format!("file_template {template:?}: unclosed `%(`")))?;
        let key = &r[..close];
        let spec_and_rest = &r[close + 1..];
        let conv_at = spec_and_rest
            .find(|c: char| c.is_ascii_alphabetic())
            .ok_or_else(|| {
                bad(format!(
                    "file_template {template:?}: `%({key})` has no type"
                ))
            })?;
        let spec = &spec_and_rest[..conv_at];
        let conv = spec_and_rest[conv_at..].chars().next().unwrap_or('s');
        rest = &spec_and_rest[conv_at + conv.len_utf8()..];
        let value = match key {
            "rev" => Field::Str(rev.to_string()),
            "slug" => Field::Str(slug.to_string()),
            "epoch" => Field::Int(date.epoch as i64),
            "year" => Field::Int(date.year),
            "month" => Field::Int(i64::from(date.month)),
            "day" => Field::Int(i64::from(date.day)),
            "hour" => Field::Int(i64::from(date.hour)),
            "minute" => Field::Int(i64::from(date.minute)),
            "second" => Field::Int(i64::from(date.second)),
            other => {
                return Err(bad(format!(
                    "file_template {template:?}: unknown key `{other}` (Alembic fails with \
                     KeyError; it provides rev, slug, epoch, year, month, day, hour, minute, \
                     second)"
                )));
            }
        };
        out.push_str(&format_one(&value, spec, conv).ok_or_else(|| {
            bad(format!(
                "file_template {template:?}: `%({key}){spec}{conv}` is not a format migscope \
                 supports"
            ))
        })?);
    }
    out.push_str(rest);
    Ok(format!("{out}.py"))
}

enum Field {
    Str(String),
    Int(i64),
}

/// One `%[flags][width][.precision]conv` conversion.
fn format_one(value: &Field, spec: &str, conv: char) -> Option<String> {
    let (flags, rest) = spec.split_at(
        spec.find(|c: char| !"-0 +#".contains(c))
            .unwrap_or(spec.len()),
    );
    let (width, precision) = match rest.split_once('.') {
        Some((w, p)) => (w, Some(p.parse::<usize>().ok()?)),
        None => (rest, None),
    };
    let width: usize = if width.is_empty() {
        0
    } else {
        width.parse().ok()?
    };
    let body = match (value, conv) {
        (Field::Str(s), 's') => match precision {
            Some(p) => s.chars().take(p).collect(),
            None => s.clone(),
        },
        (Field::Int(n), 's' | 'd' | 'i') => {
            let digits = n.unsigned_abs().to_string();
            let digits = match precision {
                Some(p) if conv != 's' && digits.len() < p => {
                    format!("{}{digits}", "0".repeat(p - digits.len()))
                }
                _ => digits,
            };
            let sign = if *n < 0 {
                "-"
            } else if flags.contains('+') {
                "+"
            } else if flags.contains(' ') {
                " "
            } else {
                ""
            };
            if flags.contains('0') && !flags.contains('-') && width > sign.len() + digits.len() {
                let pad = width - sign.len() - digits.len();
                return Some(format!("{sign}{}{digits}", "0".repeat(pad)));
            }
            format!("{sign}{digits}")
        }
        _ => return None,
    };
    let len = body.chars().count();
    Some(if len >= width {
        body
    } else if flags.contains('-') {
        format!("{body}{}", " ".repeat(width - len))
    } else {
        format!("{}{body}", " ".repeat(width - len))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_like_alembic() {
        assert_eq!(slug("merge heads", 40), "merge_heads");
        assert_eq!(slug("Add: user's e-mail!", 40), "add_user_s_e_mail");
        assert_eq!(
            slug(
                "merge the intents branch with the system settings branch",
                40
            ),
            "merge_the_intents_branch_with_the_"
        );
        assert_eq!(slug("", 40), "");
    }

    #[test]
    fn aware_dates_print_their_offset_like_python() {
        let t = 1_795_478_399; // 2026-11-23 23:59:59 UTC
        assert_eq!(
            DateTime::at(t, 0, 5 * 3600 + 1800, true).python_str(),
            "2026-11-24 05:29:59+05:30"
        );
        assert_eq!(
            DateTime::at(t, 7, -5 * 3600, true).python_str(),
            "2026-11-23 18:59:59.000007-05:00"
        );
        assert_eq!(
            DateTime::at(t, 0, 0, true).python_str(),
            "2026-11-23 23:59:59+00:00"
        );
        assert_eq!(
            DateTime::at(t, 0, 3661, true).python_str(),
            "2026-11-24 01:01:00+01:01:01"
        );
        // Local time is naive: no offset printed, the fields moved.
        let d = DateTime::at(t, 0, 3600, false);
        assert_eq!(
            (d.python_str().as_str(), d.epoch),
            ("2026-11-24 00:59:59", t)
        );
    }

    #[test]
    fn zones_are_found_by_name_in_the_system_zone_files() {
        let offset = |name: &str, t: i64| {
            named_zone(name).map(|z| z.find_local_time_type(t).unwrap().ut_offset())
        };
        // Winter and summer in Berlin; no DST in Kolkata.
        assert_eq!(offset("Europe/Berlin", 1_795_478_399), Some(3600));
        assert_eq!(offset("Europe/Berlin", 1_784_000_000), Some(7200));
        assert_eq!(offset("Asia/Kolkata", 1_795_478_399), Some(19_800));
        assert_eq!(offset("UTC", 0), Some(0));
        for bad in [
            "Nope/Zone",
            "",
            "../zoneinfo/UTC",
            "/etc/localtime",
            "europe/berlin",
        ] {
            assert!(named_zone(bad).is_none(), "{bad}");
        }
        // Alembic tries the name upper-cased too.
        assert!(DateTime::now(Some("utc")).is_ok_and(|d| d.aware && d.offset == 0));
        assert!(DateTime::now(Some("Nope/Zone")).is_err());
    }

    #[test]
    fn file_templates_like_python() {
        let d = DateTime::from_epoch(1_795_478_399, 5);
        assert_eq!(d.python_str(), "2026-11-23 23:59:59.000005");
        assert_eq!(
            file_name("%(rev)s_%(slug)s", "abc", "merge", &d).unwrap(),
            "abc_merge.py"
        );
        assert_eq!(
            file_name(
                "%(year)d_%(month).2d_%(day).2d_%(hour).2d%(minute).2d-%(rev)s_%(slug)s",
                "abc",
                "m",
                &d
            )
            .unwrap(),
            "2026_11_23_2359-abc_m.py"
        );
        assert_eq!(
            file_name("%(epoch)s_%(second)03d%%", "r", "s", &d).unwrap(),
            "1795478399_059%.py"
        );
        assert!(file_name("%(nope)s", "r", "s", &d).is_err());
    }

    #[test]
    fn ids_are_twelve_hex_digits_and_fresh() {
        let id = new_rev_id(|_| false);
        assert_eq!(id.len(), 12);
        assert!(
            id.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_uppercase())
        );
        let first = id.clone();
        assert_ne!(new_rev_id(|c| c == first), first);
    }
}
