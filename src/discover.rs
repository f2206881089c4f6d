//! Which files Alembic treats as revision files, and in which order it loads them.
//!
//! The load order matters beyond cosmetics: it is the tie-break order of Alembic's heads, bases
//! and topological sort (ALEMBIC.md §0.1), so this module mirrors
//! `ScriptDirectory._load_revisions` + `Script._list_py_dir` + `Script._from_path` step by step:
//!
//! 1. Locations that do not exist are skipped silently (we report them in
//!    [`Discovery::missing_locations`]).
//! 2. Each existing location is walked like Python's `os.walk(top, topdown=True)`: the top
//!    directory's files in sorted order, then (only with `recursive`) the sub-directories in
//!    pre-order, their names sorted. Symlinked sub-directories are not entered.
//! 3. A directory whose name ends with `__pycache__` contributes no files. Alembic `continue`s
//!    past it *before* its `break` (non-recursive mode) and before its `dirs.sort()`, so a
//!    `__pycache__` directory's sub-directories are still walked, in raw directory order. We
//!    reproduce that quirk rather than "fixing" it.
//! 4. Every listed file (not only `.py` files) is resolved to its real path and de-duplicated
//!    across locations, with Alembic's warning text.
//! 5. Only then is the name filter applied, to the *resolved* file name (so a symlink
//!    `notes.txt -> rev.py` is a revision file and `rev.py -> rev.txt` is not).
//!
//! Sourceless mode (`.pyc` files) is not supported; `config::load` rejects `sourceless = true`.

use std::cmp::Ordering;
use std::collections::HashSet;
use std::ffi::{OsStr, OsString};
use std::fs;
use std::path::{Path, PathBuf};

/// The result of listing the version locations.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Discovery {
    /// Real (symlink-resolved) paths of the revision files, in Alembic's load order.
    pub files: Vec<PathBuf>,
    /// Alembic's own "loaded twice" warnings, plus notes about directories we could not read
    /// (Alembic skips those silently) and names Alembic would crash on.
    pub warnings: Vec<String>,
    /// Configured locations that do not exist (Alembic skips them silently).
    pub missing_locations: Vec<PathBuf>,
}

/// Lists the revision files of `locations` (absolute paths, configuration order).
///
/// `recursive` is `recursive_version_locations`. Never fails: unreadable directories are
/// skipped (as Alembic does) and noted in [`Discovery::warnings`].
pub fn revision_files(locations: &[PathBuf], recursive: bool) -> Discovery {
    let mut out = Discovery::default();
    let mut listed: Vec<Listed> = Vec::new();
    for location in locations {
        // `Path.exists()` follows symlinks: a dangling symlink counts as missing.
        if fs::metadata(location).is_err() {
            out.missing_locations.push(location.clone());
            continue;
        }
        list_location(location, recursive, &mut listed, &mut out.warnings);
    }
    // Alembic's `dupes` set spans all locations and holds every listed file, not only `.py`
    // files, so overlapping locations warn about README files too. The set borrows the paths
    // (keyed by raw bytes: `Path`'s Hash walks components, which is several times slower, and
    // canonical paths have nothing to normalise), so de-duplication allocates nothing per file.
    let mut keep = vec![false; listed.len()];
    {
        let mut seen: HashSet<&OsStr> = HashSet::with_capacity(listed.len());
        for (item, keep) in listed.iter().zip(keep.iter_mut()) {
            if !seen.insert(item.real.as_os_str()) {
                out.warnings.push(format!(
                    "File {} loaded twice! ignoring. Please ensure version_locations is unique.",
                    item.real.display()
                ));
                continue;
            }
            *keep = item.is_revision;
            if item.is_revision && item.real.as_os_str().as_encoded_bytes().ends_with(b"\n") {
                out.warnings.push(format!(
                    "{}: the file name ends with a newline; Alembic's name filter accepts it \
                     but Alembic then fails with an AssertionError when loading it. Rename \
                     the file.",
                    item.real.display()
                ));
            }
        }
    }
    out.files = listed
        .into_iter()
        .zip(keep)
        .filter_map(|(item, keep)| keep.then_some(item.real))
        .collect();
    out
}

/// Alembic's name filter for source revision files, `(?!\.\#|__init__)(.*\.py)$` matched at the
/// start of the name.
///
/// `.` does not match a newline, and `$` also matches just before one trailing newline, so a
/// name may contain at most one newline, at its very end. Names starting with `_` or `.` *are*
/// revision files; only `__init__*` and Emacs lock files `.#*` are excluded. The suffix check is
/// case-sensitive (`x.PY` is not a revision file).
pub fn is_revision_file_name(name: &OsStr) -> bool {
    let bytes = name.as_encoded_bytes();
    if bytes.starts_with(b".#") || bytes.starts_with(b"__init__") {
        return false;
    }
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    body.ends_with(b".py") && !body.contains(&b'\n')
}

/// One directory entry, classified the way `os.walk` classifies it.
struct Entry {
    name: OsString,
    /// `DirEntry.is_dir()`, which follows symlinks.
    is_dir: bool,
    is_symlink: bool,
}

/// A listed file: its real path, and whether the name filter accepts the real name.
struct Listed {
    real: PathBuf,
    is_revision: bool,
}

/// A directory waiting to be visited: the path as walked (its last component decides the
/// `__pycache__` rule) and its real path (so files need no per-file `canonicalize`).
struct Pending {
    path: PathBuf,
    real: PathBuf,
}

/// Appends one location's files (every name, unfiltered) to `files` as real paths, in walk
/// order.
fn list_location(
    location: &Path,
    recursive: bool,
    files: &mut Vec<Listed>,
    warnings: &mut Vec<String>,
) {
    let real_root = match fs::canonicalize(location) {
        Ok(real) => real,
        Err(err) => {
            warnings.push(format!(
                "cannot resolve version location {}: {err}; skipping it",
                location.display()
            ));
            return;
        }
    };
    if !real_root.is_dir() {
        // `os.walk` on a regular file yields nothing.
        warnings.push(format!(
            "version location {} is not a directory; skipping it",
            location.display()
        ));
        return;
    }
    // An explicit stack visits directories in the same pre-order as the recursive generator
    // in Python 3.11's `os.walk` (and 3.12's `Path.walk`), without deep native recursion.
    let mut stack = vec![Pending {
        path: location.to_path_buf(),
        real: real_root,
    }];
    while let Some(dir) = stack.pop() {
        let Some(entries) = read_entries(&dir.path, warnings) else {
            continue;
        };
        let (mut subdirs, mut names): (Vec<Entry>, Vec<Entry>) =
            entries.into_iter().partition(|e| e.is_dir);
        let is_pycache = dir
            .path
            .file_name()
            .is_some_and(|n| n.as_encoded_bytes().ends_with(b"__pycache__"));
        if !is_pycache {
            sort_py(&mut names);
            for entry in &names {
                files.push(listed_file(&dir.real, &dir.path, entry));
            }
            if !recursive {
                break;
            }
            sort_py(&mut subdirs);
        }
        // Pushed in reverse so the first name is visited first. Symlinked directories are
        // listed by `os.walk` as directories but never entered (`followlinks=False`).
        for sub in subdirs.into_iter().rev() {
            if sub.is_symlink {
                continue;
            }
            stack.push(Pending {
                path: dir.path.join(&sub.name),
                real: dir.real.join(&sub.name),
            });
        }
    }
}

/// Reads one directory. Like `os.walk` without `onerror`, any error (also midway through the
/// listing) drops the whole directory; unlike it, we say so.
fn read_entries(dir: &Path, warnings: &mut Vec<String>) -> Option<Vec<Entry>> {
    let note = |warnings: &mut Vec<String>, err: std::io::Error| {
        warnings.push(format!(
            "cannot read directory {}: {err}; skipping it (Alembic skips it silently)",
            dir.display()
        ));
    };
    let iter = match fs::read_dir(dir) {
        Ok(iter) => iter,
        Err(err) => {
            note(warnings, err);
            return None;
        }
    };
    let mut entries = Vec::new();
    for item in iter {
        let entry = match item {
            Ok(entry) => entry,
            Err(err) => {
                note(warnings, err);
                return None;
            }
        };
        // `file_type()` comes from the directory listing itself on Linux (no stat). Only
        // symlinks need a `stat` to learn whether they point at a directory; a dangling or
        // unreadable one counts as a file, like `DirEntry.is_dir()` raising OSError.
        let (is_dir, is_symlink) = match entry.file_type() {
            Ok(ft) if ft.is_symlink() => {
                (fs::metadata(entry.path()).is_ok_and(|m| m.is_dir()), true)
            }
            Ok(ft) => (ft.is_dir(), false),
            Err(_) => (false, false),
        };
        entries.push(Entry {
            name: entry.file_name(),
            is_dir,
            is_symlink,
        });
    }
    Some(entries)
}

/// The real path Alembic's `Path.resolve()` gives for an entry, and the name filter applied
/// to the real name. A non-symlink entry of a directory whose real path is known resolves to
/// `real_dir/name` without a syscall.
fn listed_file(real_dir: &Path, dir: &Path, entry: &Entry) -> Listed {
    if !entry.is_symlink {
        return Listed {
            real: real_dir.join(&entry.name),
            is_revision: is_revision_file_name(&entry.name),
        };
    }
    let real = resolve_lenient(&dir.join(&entry.name), 0);
    let is_revision = real.file_name().is_some_and(is_revision_file_name);
    Listed { real, is_revision }
}

/// `Path.resolve(strict=False)`: like `canonicalize`, but a dangling symlink resolves as far
/// as possible instead of failing (Alembic still lists such a file and fails later when it
/// loads it; we keep it so the reader reports it).
fn resolve_lenient(path: &Path, depth: u32) -> PathBuf {
    if let Ok(real) = fs::canonicalize(path) {
        return real;
    }
    // Bounded like the kernel's ELOOP limit, so a symlink loop cannot hang us.
    if depth > 40 {
        return path.to_path_buf();
    }
    if let Ok(target) = fs::read_link(path) {
        let next = match path.parent() {
            Some(parent) if target.is_relative() => parent.join(target),
            _ => target,
        };
        return resolve_lenient(&next, depth + 1);
    }
    match (path.parent(), path.file_name()) {
        (Some(parent), Some(name)) if !parent.as_os_str().is_empty() => {
            resolve_lenient(parent, depth + 1).join(name)
        }
        _ => path.to_path_buf(),
    }
}

/// Sorts entries the way Python's `sorted()` sorts `str` names: by code point. For valid
/// UTF-8 that is byte order; undecodable bytes become lone surrogates U+DC80..U+DCFF
/// (`surrogateescape`), which sort between U+D7FF and U+E000, unlike their raw bytes.
fn sort_py(entries: &mut [Entry]) {
    if entries
        .iter()
        .all(|e| std::str::from_utf8(e.name.as_encoded_bytes()).is_ok())
    {
        entries.sort_unstable_by(|a, b| a.name.as_encoded_bytes().cmp(b.name.as_encoded_bytes()));
    } else {
        entries.sort_by_cached_key(|e| py_code_points(e.name.as_encoded_bytes()));
    }
}

/// The code points Python sees for a file name decoded with UTF-8 + `surrogateescape`.
fn py_code_points(bytes: &[u8]) -> Vec<u32> {
    let mut out = Vec::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        out.extend(chunk.valid().chars().map(u32::from));
        out.extend(chunk.invalid().iter().map(|&b| 0xDC00 + u32::from(b)));
    }
    out
}

/// Compares two file names the way Python's `sorted()` would. Exposed for callers that sort
/// names themselves (e.g. when writing a new revision file next to existing ones).
pub fn py_name_cmp(a: &OsStr, b: &OsStr) -> Ordering {
    let (a, b) = (a.as_encoded_bytes(), b.as_encoded_bytes());
    match (std::str::from_utf8(a), std::str::from_utf8(b)) {
        (Ok(_), Ok(_)) => a.cmp(b),
        _ => py_code_points(a).cmp(&py_code_points(b)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::{File, create_dir_all};

    fn touch(dir: &Path, rel: &str) {
        let p = dir.join(rel);
        if let Some(parent) = p.parent() {
            create_dir_all(parent).expect("mkdir");
        }
        File::create(p).expect("create");
    }

    fn names(d: &Discovery, root: &Path) -> Vec<String> {
        let root = fs::canonicalize(root).expect("canonicalize");
        d.files
            .iter()
            .map(|f| {
                f.strip_prefix(&root)
                    .unwrap_or(f)
                    .to_string_lossy()
                    .into_owned()
            })
            .collect()
    }

    #[test]
    fn name_filter_matches_alembic_regex() {
        let yes = [
            "a.py",
            "_helper.py",
            ".hidden.py",
            "_.py",
            ".py",
            "x.py\n",
            "__ini__.py",
            "abc__init__.py",
        ];
        let no = [
            "__init__.py",
            "__init__x.py",
            ".#lock.py",
            "x.PY",
            "x.py.txt",
            "x.pyc",
            "a\nb.py",
            "x.py\n\n",
            "py",
        ];
        for n in yes {
            assert!(is_revision_file_name(OsStr::new(n)), "{n:?} should match");
        }
        for n in no {
            assert!(
                !is_revision_file_name(OsStr::new(n)),
                "{n:?} should not match"
            );
        }
    }

    #[test]
    fn helper_and_hidden_files_count_init_and_lock_files_do_not() {
        let t = tempfile::tempdir().expect("tempdir");
        for n in [
            "_helper.py",
            "__init__.py",
            ".#x.py",
            ".hidden.py",
            "a.py",
            "README.md",
            "b.PY",
            "c.pyc",
        ] {
            touch(t.path(), n);
        }
        let d = revision_files(&[t.path().to_path_buf()], false);
        assert_eq!(names(&d, t.path()), [".hidden.py", "_helper.py", "a.py"]);
        assert!(d.warnings.is_empty() && d.missing_locations.is_empty());
    }

    #[test]
    fn files_sorted_by_code_point_uppercase_underscore_unicode() {
        let t = tempfile::tempdir().expect("tempdir");
        for n in [
            "b.py",
            "B.py",
            "_a.py",
            "a.py",
            "Z.py",
            "é.py",
            "z.py",
            "1.py",
            "~.py",
            "ä.py",
            "\u{E000}.py",
            "\u{1F600}.py",
        ] {
            touch(t.path(), n);
        }
        let d = revision_files(&[t.path().to_path_buf()], false);
        assert_eq!(
            names(&d, t.path()),
            [
                "1.py",
                "B.py",
                "Z.py",
                "_a.py",
                "a.py",
                "b.py",
                "z.py",
                "~.py",
                "ä.py",
                "é.py",
                "\u{E000}.py",
                "\u{1F600}.py"
            ]
        );
    }

    #[cfg(unix)]
    #[test]
    fn non_utf8_names_sort_like_surrogateescape_and_do_not_panic() {
        use std::os::unix::ffi::OsStrExt;
        let t = tempfile::tempdir().expect("tempdir");
        let bad = OsStr::from_bytes(b"\xff.py");
        // Some file systems refuse non-UTF-8 names; then there is nothing to test.
        if File::create(t.path().join(bad)).is_err() {
            return;
        }
        touch(t.path(), "\u{E000}.py");
        touch(t.path(), "\u{D7FF}.py");
        let d = revision_files(&[t.path().to_path_buf()], false);
        let got: Vec<Vec<u8>> = d
            .files
            .iter()
            .map(|f| f.file_name().expect("name").as_bytes().to_vec())
            .collect();
        // U+D7FF < U+DCFF (the escaped 0xFF) < U+E000, although 0xFF > 0xEE in bytes.
        assert_eq!(
            got,
            [
                "\u{D7FF}.py".as_bytes().to_vec(),
                b"\xff.py".to_vec(),
                "\u{E000}.py".as_bytes().to_vec()
            ]
        );
        assert_eq!(py_name_cmp(bad, OsStr::new("\u{E000}.py")), Ordering::Less);
    }

    #[test]
    fn non_recursive_reads_top_directory_only() {
        let t = tempfile::tempdir().expect("tempdir");
        touch(t.path(), "a.py");
        touch(t.path(), "sub/b.py");
        let d = revision_files(&[t.path().to_path_buf()], false);
        assert_eq!(names(&d, t.path()), ["a.py"]);
    }

    #[test]
    fn recursive_is_preorder_with_sorted_subdirectories_including_hidden() {
        let t = tempfile::tempdir().expect("tempdir");
        for n in [
            "z.py",
            "a.py",
            "b/2.py",
            "b/1.py",
            "b/c/x.py",
            "a/y.py",
            ".hid/h.py",
            "B/u.py",
            "b/__pycache__/p.py",
            "b/__pycache__/deep/q.py",
            "x__pycache__/r.py",
        ] {
            touch(t.path(), n);
        }
        let d = revision_files(&[t.path().to_path_buf()], true);
        assert_eq!(
            names(&d, t.path()),
            [
                "a.py",
                "z.py",
                ".hid/h.py",
                "B/u.py",
                "a/y.py",
                "b/1.py",
                "b/2.py",
                "b/__pycache__/deep/q.py",
                "b/c/x.py",
            ]
        );
    }

    #[test]
    fn pycache_location_in_non_recursive_mode_falls_through_to_a_subdirectory() {
        // Alembic's `continue` for `__pycache__` skips its `break`, so the walk goes on.
        let t = tempfile::tempdir().expect("tempdir");
        touch(t.path(), "__pycache__/a.py");
        touch(t.path(), "__pycache__/only/b.py");
        touch(t.path(), "__pycache__/only/deeper/c.py");
        let d = revision_files(&[t.path().join("__pycache__")], false);
        assert_eq!(names(&d, t.path()), ["__pycache__/only/b.py"]);
    }

    #[cfg(unix)]
    #[test]
    fn symlinked_directories_are_not_followed_but_symlinked_files_resolve() {
        use std::os::unix::fs::symlink;
        let t = tempfile::tempdir().expect("tempdir");
        touch(t.path(), "other/o.py");
        touch(t.path(), "other/target.txt");
        touch(t.path(), "v/a.py");
        symlink(t.path().join("other"), t.path().join("v/linkdir")).expect("symlink");
        symlink(t.path().join("other/o.py"), t.path().join("v/notes.txt")).expect("symlink");
        symlink(t.path().join("other/target.txt"), t.path().join("v/z.py")).expect("symlink");
        let d = revision_files(&[t.path().join("v")], true);
        // notes.txt resolves to o.py (accepted); z.py resolves to target.txt (rejected).
        assert_eq!(names(&d, t.path()), ["v/a.py", "other/o.py"]);
    }

    #[cfg(unix)]
    #[test]
    fn dangling_symlink_is_listed_by_its_lenient_real_path() {
        use std::os::unix::fs::symlink;
        let t = tempfile::tempdir().expect("tempdir");
        create_dir_all(t.path().join("v")).expect("mkdir");
        symlink("gone.py", t.path().join("v/a.py")).expect("symlink");
        let d = revision_files(&[t.path().join("v")], false);
        assert_eq!(names(&d, t.path()), ["v/gone.py"]);
    }

    #[test]
    fn duplicate_locations_warn_and_keep_first() {
        let t = tempfile::tempdir().expect("tempdir");
        touch(t.path(), "v/a.py");
        touch(t.path(), "v/notes.md");
        let v = t.path().join("v");
        let d = revision_files(&[v.clone(), t.path().join("v/../v")], false);
        assert_eq!(names(&d, t.path()), ["v/a.py"]);
        let real = fs::canonicalize(&v).expect("canon");
        assert_eq!(
            d.warnings,
            [
                format!(
                    "File {} loaded twice! ignoring. Please ensure version_locations is unique.",
                    real.join("a.py").display()
                ),
                format!(
                    "File {} loaded twice! ignoring. Please ensure version_locations is unique.",
                    real.join("notes.md").display()
                ),
            ]
        );
    }

    #[test]
    fn nested_locations_in_recursive_mode_dedupe_in_location_order() {
        let t = tempfile::tempdir().expect("tempdir");
        touch(t.path(), "v/a.py");
        touch(t.path(), "v/sub/b.py");
        let d = revision_files(&[t.path().join("v/sub"), t.path().join("v")], true);
        assert_eq!(names(&d, t.path()), ["v/sub/b.py", "v/a.py"]);
        assert_eq!(d.warnings.len(), 1);
    }

    #[test]
    fn missing_locations_are_reported_and_skipped() {
        let t = tempfile::tempdir().expect("tempdir");
        touch(t.path(), "v/a.py");
        let missing = t.path().join("nope");
        let d = revision_files(&[missing.clone(), t.path().join("v")], false);
        assert_eq!(d.missing_locations, [missing]);
        assert_eq!(names(&d, t.path()), ["v/a.py"]);
    }

    #[test]
    fn file_location_yields_nothing() {
        let t = tempfile::tempdir().expect("tempdir");
        touch(t.path(), "a.py");
        let d = revision_files(&[t.path().join("a.py")], false);
        assert!(d.files.is_empty() && d.missing_locations.is_empty());
    }

    #[test]
    fn ten_thousand_files_list_quickly() {
        let t = tempfile::tempdir().expect("tempdir");
        for i in 0..10_000 {
            touch(t.path(), &format!("{i:05}_rev.py"));
        }
        let start = std::time::Instant::now();
        let d = revision_files(&[t.path().to_path_buf()], false);
        let took = start.elapsed();
        assert_eq!(d.files.len(), 10_000);
        assert!(d.files.windows(2).all(|w| w[0] < w[1]));
        // Generous bound: debug build on a shared machine. Release is a few ms.
        assert!(took.as_millis() < 2_000, "took {took:?}");
    }
}
