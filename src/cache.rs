//! The record cache: what each revision file said last time, so a large project is not re-read.
//!
//! On 10,000 files, opening, reading and lexing every file is most of a `check`; a `stat` per file
//! is a fraction of that. A file whose size, modification and change times, inode and device all
//! match the entry written last time is taken from the cache; anything else is read again. A file
//! changed less than [`SETTLE`] before it was read is never cached: within the file system's
//! timestamp granularity a later edit could leave every field unchanged (git's "racy clean").
//!
//! Only projects of at least [`MIN_FILES`] files use it (below that, reading everything takes a
//! few milliseconds), and only on Unix. Location: `$MIGSCOPE_CACHE_DIR`, else
//! `$XDG_CACHE_HOME/migscope`, else `~/.cache/migscope`; one file per set of version locations.
//! `MIGSCOPE_NO_CACHE=1` turns it off. A cache that cannot be read or written is ignored: it only
//! ever saves time.
//!
//! File layout: a header (magic, codec format, the identity of the migscope binary that wrote it,
//! so a rebuilt reader never trusts an older one's records), then per file: path, stat fields,
//! and the record in [`crate::revision::codec`] form.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use rayon::prelude::*;

use crate::revision::{self, ReadIssue, RevisionRecord, codec};

/// Projects smaller than this are read directly (override: `MIGSCOPE_CACHE_MIN_FILES`).
pub const MIN_FILES: usize = 1000;

/// Operations need the full Python parser (a few hundred microseconds a file), so they are
/// cached from smaller projects on.
pub const MIN_OPS_FILES: usize = 200;

/// How long a file must have been left alone before its record is cached.
pub const SETTLE: Duration = Duration::from_secs(2);

const MAGIC: &[u8; 16] = b"migscope-records";

/// What the cache did on one load, for `MIGSCOPE_TIMING`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    pub hits: usize,
    pub misses: usize,
    pub written: bool,
}

/// Where the cache lives, from the environment; `None` when it is turned off or there is no home.
pub fn dir_from_env(env: impl Fn(&str) -> Option<String>) -> Option<PathBuf> {
    if env("MIGSCOPE_NO_CACHE").is_some_and(|v| !v.is_empty() && v != "0") {
        return None;
    }
    let nonempty = |k: &str| env(k).filter(|v| !v.is_empty());
    if let Some(d) = nonempty("MIGSCOPE_CACHE_DIR") {
        return Some(PathBuf::from(d));
    }
    if let Some(d) = nonempty("XDG_CACHE_HOME") {
        return Some(Path::new(&d).join("migscope"));
    }
    nonempty("HOME").map(|h| Path::new(&h).join(".cache").join("migscope"))
}

/// The minimum project size, from the environment (`default`: [`MIN_FILES`] for records,
/// [`MIN_OPS_FILES`] for operations).
pub fn min_files_from_env(env: impl Fn(&str) -> Option<String>, default: usize) -> usize {
    env("MIGSCOPE_CACHE_MIN_FILES")
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The cache file of `kind` for one set of version locations.
pub fn file_for(dir: &Path, kind: &str, locations: &[PathBuf], recursive: bool) -> PathBuf {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    locations.hash(&mut h);
    recursive.hash(&mut h);
    dir.join(format!("{kind}-{:016x}.bin", h.finish()))
}

/// What one cache holds per file, and how it is made and stored.
pub struct Kind<T> {
    /// Distinguishes layouts: a cache written for another kind or format is ignored.
    pub format: u32,
    pub read: fn(&Path) -> T,
    pub encode: fn(&T, &mut Vec<u8>),
    /// `None` for bytes this kind did not write.
    pub decode: fn(&[u8]) -> Option<T>,
    /// False for values that must be read again next time (the file could not be read).
    pub keep: fn(&T) -> bool,
}

/// Revision records (what `Project::load` reads).
pub const RECORDS: Kind<RevisionRecord> = Kind {
    format: codec::FORMAT,
    read: revision::read_file,
    encode: codec::encode,
    decode: codec::decode,
    keep: |r| !r.issues.iter().any(|i| matches!(i, ReadIssue::Io { .. })),
};

/// Reads every file's revision record, through the cache at `cache_file`, keeping load order;
/// each with its file's stat key, taken before the file was read.
pub fn read_all(
    files: &[PathBuf],
    cache_file: &Path,
) -> (Vec<(RevisionRecord, Option<FileKey>)>, Stats) {
    load_then(files, cache_file, &RECORDS, |read| {
        read.into_iter().map(|(r, key, _)| (r, key)).collect()
    })
}

/// Reads every file's `T`, through the cache at `cache_file`, keeping load order.
pub fn load<T: Send>(
    files: &[impl AsRef<Path> + Sync],
    cache_file: &Path,
    kind: &Kind<T>,
) -> (Vec<T>, Stats) {
    load_then(files, cache_file, kind, |read| {
        read.into_iter().map(|(value, _, _)| value).collect()
    })
}

/// [`load`], handing `finish` each file's value with its stat key (taken before it was read)
/// and, for a cache hit, its encoded bytes while the cache file is still in memory: a caller
/// that keeps the encoding (the operations store) need not copy each entry out first.
pub fn load_then<T: Send, R>(
    files: &[impl AsRef<Path> + Sync],
    cache_file: &Path,
    kind: &Kind<T>,
    finish: impl FnOnce(Vec<Loaded<'_, T>>) -> R,
) -> (R, Stats) {
    let started = SystemTime::now();
    let identity = binary_identity();
    let data = read_if_ours(cache_file, kind.format, identity).unwrap_or_default();
    let old = Index::parse(&data, kind.format, identity).unwrap_or_default();
    let read: Vec<Loaded<T>> = files
        .par_iter()
        .enumerate()
        .map(|(i, f)| {
            let f = f.as_ref();
            let key = FileKey::of(f);
            if let Some(key) = key
                && let Some(raw) = old.lookup(i, f, &key)
                && let Some(value) = (kind.decode)(raw)
            {
                return (value, Some(key), Some(raw));
            }
            ((kind.read)(f), key, None)
        })
        .collect();
    let hits = read.iter().filter(|r| r.2.is_some()).count();
    let mut stats = Stats {
        hits,
        misses: files.len() - hits,
        written: false,
    };
    if stats.misses > 0 || old.entries.len() != files.len() {
        let settled = started
            .checked_sub(SETTLE)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        stats.written = write(cache_file, identity, files, &read, kind, settled).is_ok();
    }
    (finish(read), stats)
}

/// The cache file's bytes, when its header says this binary wrote it for this kind: the first
/// run of a new build would otherwise read a whole stale cache (7 MB at 10,000 revisions) only
/// to find nothing in it.
fn read_if_ours(cache_file: &Path, format: u32, identity: [u8; 16]) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let header = header(format, identity);
    let mut f = std::fs::File::open(cache_file)?;
    let mut data = vec![0; header.len()];
    f.read_exact(&mut data)?;
    if data != header {
        return Ok(Vec::new());
    }
    f.read_to_end(&mut data)?;
    Ok(data)
}

/// What a cache file starts with: the magic, the kind's format, the writing binary's identity.
fn header(format: u32, identity: [u8; 16]) -> Vec<u8> {
    let mut header = MAGIC.to_vec();
    header.extend_from_slice(&format.to_le_bytes());
    header.extend_from_slice(&identity);
    header
}

/// One file of a load: its value, its stat key (when it could be stat'ed), and the encoded
/// value when it came from the cache (written back as is).
pub type Loaded<'a, T> = (T, Option<FileKey>, Option<&'a [u8]>);

/// What must match for a cached record to be trusted (or a reloaded project to keep one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileKey {
    size: u64,
    mtime_ns: i64,
    ctime_ns: i64,
    ino: u64,
    dev: u64,
}

impl FileKey {
    /// Stat'ed before the file is read: a change after that shows as a different key.
    #[cfg(unix)]
    pub fn of(path: &Path) -> Option<FileKey> {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(path).ok()?;
        Some(FileKey {
            size: m.size(),
            mtime_ns: m.mtime() * 1_000_000_000 + m.mtime_nsec(),
            ctime_ns: m.ctime() * 1_000_000_000 + m.ctime_nsec(),
            ino: m.ino(),
            dev: m.dev(),
        })
    }

    #[cfg(not(unix))]
    pub fn of(_: &Path) -> Option<FileKey> {
        None
    }

    /// Last changed before `t`: a later change within the file system's timestamp granularity
    /// cannot leave the same key.
    pub fn settled_before(&self, t: SystemTime) -> bool {
        let ns = |t: SystemTime| {
            t.duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as i64)
        };
        self.mtime_ns.max(self.ctime_ns) < ns(t)
    }

    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.size.to_le_bytes());
        out.extend_from_slice(&self.mtime_ns.to_le_bytes());
        out.extend_from_slice(&self.ctime_ns.to_le_bytes());
        out.extend_from_slice(&self.ino.to_le_bytes());
        out.extend_from_slice(&self.dev.to_le_bytes());
    }
}

/// The running binary's size and modification time: a rebuilt migscope may read files
/// differently, so it starts from an empty cache.
fn binary_identity() -> [u8; 16] {
    let mut id = [0u8; 16];
    if let Some(m) = std::env::current_exe()
        .ok()
        .and_then(|p| std::fs::metadata(p).ok())
    {
        id[..8].copy_from_slice(&m.len().to_le_bytes());
        let t = m
            .modified()
            .ok()
            .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos() as u64);
        id[8..].copy_from_slice(&t.to_le_bytes());
    }
    id
}

/// The entries of a cache file, borrowed from its bytes.
#[derive(Default)]
struct Index<'a> {
    /// Path, stat key, encoded record; in the load order of the run that wrote them.
    entries: Vec<(&'a [u8], FileKey, &'a [u8])>,
    /// Built only when a file is not at its old position (a file was added or removed): hashing
    /// 10,000 long paths costs more than comparing them in place.
    by_path: std::sync::OnceLock<HashMap<&'a [u8], usize>>,
}

impl<'a> Index<'a> {
    fn parse(data: &'a [u8], format: u32, identity: [u8; 16]) -> Option<Index<'a>> {
        let header = header(format, identity);
        let mut c = Reader { b: data, at: 0 };
        if c.take(header.len())? != header.as_slice() {
            return None;
        }
        let n = c.u32()? as usize;
        let mut index = Index {
            entries: Vec::with_capacity(n.min(1 << 20)),
            by_path: std::sync::OnceLock::new(),
        };
        for _ in 0..n {
            let path = c.bytes()?;
            let key = FileKey {
                size: c.u64()?,
                mtime_ns: c.u64()? as i64,
                ctime_ns: c.u64()? as i64,
                ino: c.u64()?,
                dev: c.u64()?,
            };
            let record = c.bytes()?;
            index.entries.push((path, key, record));
        }
        (c.at == data.len()).then_some(index)
    }

    /// The record for `path`, the `position`-th file of this run, if its key still matches.
    fn lookup(&self, position: usize, path: &Path, key: &FileKey) -> Option<&'a [u8]> {
        let path = path_bytes(path)?;
        let at = match self.entries.get(position) {
            Some(e) if e.0 == path => position,
            _ => *self
                .by_path
                .get_or_init(|| {
                    let entries = self.entries.iter().enumerate();
                    entries.map(|(i, e)| (e.0, i)).collect()
                })
                .get(path)?,
        };
        let (_, k, raw) = self.entries[at];
        (k == *key).then_some(raw)
    }
}

#[cfg(unix)]
fn path_bytes(p: &Path) -> Option<&[u8]> {
    use std::os::unix::ffi::OsStrExt;
    Some(p.as_os_str().as_bytes())
}

#[cfg(not(unix))]
fn path_bytes(_: &Path) -> Option<&[u8]> {
    None
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.b.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(s)
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }
}

/// Writes a new cache file next to the old one and renames it into place, so a reader never
/// sees half a file and concurrent runs at worst replace each other's complete files.
fn write<T>(
    file: &Path,
    identity: [u8; 16],
    files: &[impl AsRef<Path>],
    read: &[Loaded<T>],
    kind: &Kind<T>,
    settled: SystemTime,
) -> std::io::Result<()> {
    use std::io::{Seek, SeekFrom, Write};
    let dir = file.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        file.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("records"),
        std::process::id()
    ));
    // Streamed: at 10,000 files the whole cache built in memory first was the peak of a cold
    // explorer start.
    let written = (|| {
        let mut out = std::io::BufWriter::with_capacity(1 << 16, std::fs::File::create(&tmp)?);
        let header = header(kind.format, identity);
        out.write_all(&header)?;
        let count_at = header.len() as u64;
        out.write_all(&0u32.to_le_bytes())?;
        let mut count = 0u32;
        let (mut scratch, mut entry) = (Vec::new(), Vec::new());
        for (path, (value, key, raw)) in files.iter().zip(read) {
            let Some(key) = key else { continue };
            let Some(path) = path_bytes(path.as_ref()) else {
                continue;
            };
            if !(kind.keep)(value) || !key.settled_before(settled) {
                continue;
            }
            let raw = match raw {
                Some(raw) => *raw,
                None => {
                    scratch.clear();
                    (kind.encode)(value, &mut scratch);
                    &scratch
                }
            };
            entry.clear();
            entry.extend_from_slice(&(path.len() as u32).to_le_bytes());
            entry.extend_from_slice(path);
            key.write(&mut entry);
            entry.extend_from_slice(&(raw.len() as u32).to_le_bytes());
            out.write_all(&entry)?;
            out.write_all(raw)?;
            count += 1;
        }
        let mut f = out.into_inner().map_err(|e| e.into_error())?;
        f.seek(SeekFrom::Start(count_at))?;
        f.write_all(&count.to_le_bytes())?;
        Ok(())
    })();
    written
        .and_then(|()| std::fs::rename(&tmp, file))
        .inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| vars.iter().find(|v| v.0 == k).map(|v| v.1.to_string())
    }

    #[test]
    fn location_follows_the_environment() {
        assert_eq!(
            dir_from_env(env(&[("MIGSCOPE_CACHE_DIR", "/c"), ("HOME", "/h")])),
            Some(PathBuf::from("/c"))
        );
        assert_eq!(
            dir_from_env(env(&[("XDG_CACHE_HOME", "/x"), ("HOME", "/h")])),
            Some(PathBuf::from("/x/migscope"))
        );
        assert_eq!(
            dir_from_env(env(&[("HOME", "/h")])),
            Some(PathBuf::from("/h/.cache/migscope"))
        );
        assert_eq!(
            dir_from_env(env(&[("MIGSCOPE_NO_CACHE", "1"), ("HOME", "/h")])),
            None
        );
        assert_eq!(dir_from_env(env(&[])), None);
        assert_eq!(min_files_from_env(env(&[]), MIN_FILES), MIN_FILES);
        assert_eq!(
            min_files_from_env(env(&[("MIGSCOPE_CACHE_MIN_FILES", "1")]), MIN_FILES),
            1
        );
    }

    /// Files read, then read again through the cache, give the same records; a changed,
    /// added or removed file is read afresh; garbage in the cache file is ignored.
    #[test]
    fn cached_records_equal_fresh_ones_and_edits_are_seen() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("versions");
        std::fs::create_dir(&dir).unwrap();
        let write = |name: &str, id: &str, down: &str| {
            let p = dir.join(name);
            std::fs::write(
                &p,
                format!("\"\"\"m {id}\"\"\"\nrevision = '{id}'\ndown_revision = {down}\n"),
            )
            .unwrap();
            p
        };
        let mut files = vec![write("a.py", "a", "None"), write("b.py", "b", "'a'")];
        let cache = tmp.path().join("cache.bin");
        let records_of = |(read, stats): (Vec<(RevisionRecord, Option<FileKey>)>, Stats)| {
            (read.into_iter().map(|r| r.0).collect::<Vec<_>>(), stats)
        };
        let fresh = |files: &[PathBuf]| -> Vec<RevisionRecord> {
            files.iter().map(|f| revision::read_file(f)).collect()
        };
        // A settle time in the future would cache nothing, so backdate the files instead.
        let old = SystemTime::now() - Duration::from_secs(60);
        let backdate = |p: &Path| {
            std::fs::File::options()
                .write(true)
                .open(p)
                .unwrap()
                .set_modified(old)
                .unwrap()
        };
        files.iter().for_each(|f| backdate(f));
        // ctime cannot be backdated: wait out the settle time once.
        std::thread::sleep(SETTLE + Duration::from_millis(100));

        let (records, stats) = records_of(read_all(&files, &cache));
        assert_eq!(records, fresh(&files));
        assert_eq!((stats.hits, stats.misses, stats.written), (0, 2, true));
        let (records, stats) = records_of(read_all(&files, &cache));
        assert_eq!(records, fresh(&files));
        assert_eq!((stats.hits, stats.misses, stats.written), (2, 0, false));

        // Same size, same (backdated) mtime: only the change time tells.
        write("b.py", "c", "'a'");
        backdate(&files[1]);
        files.push(write("d.py", "d", "'c'"));
        let (records, stats) = records_of(read_all(&files, &cache));
        assert_eq!(records, fresh(&files));
        assert_eq!((stats.hits, stats.misses), (1, 2));

        files.remove(0);
        let (records, stats) = records_of(read_all(&files, &cache));
        assert_eq!(records, fresh(&files));
        assert_eq!(stats.hits, 0, "unsettled files must not have been cached");

        std::fs::write(&cache, b"migscope-records garbage").unwrap();
        let (records, _) = records_of(read_all(&files, &cache));
        assert_eq!(records, fresh(&files));
    }
}
