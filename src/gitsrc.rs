//! Reading an Alembic project straight from git objects, without checking anything out.
//!
//! Everything goes through the git command line (`rev-parse`, `ls-tree`, `cat-file --batch`), so
//! there is no libgit2 dependency and the answers are exactly git's. The configuration at the
//! commit is resolved by the ordinary [`config::load`]: the commit's config files are written into a
//! scratch directory that mirrors the commit's directory tree (empty directories, no other file),
//! which is all `config` needs to resolve `script_location` and `version_locations`. The resolved
//! locations are then mapped back to repository paths, listed with `ls-tree` and walked in
//! Alembic's load order (the same rules as [`crate::discover`]).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};

use crate::config::{self, ConfigOptions, MigscopeSettings};
use crate::discover::{is_revision_file_name, py_name_cmp};

/// Why a project could not be read from git.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("cannot run git ({0}); install git or compare two directories instead")]
    Spawn(std::io::Error),
    #[error(
        "{dir} is not inside a git repository (git: {stderr}); run migscope from the repository, or compare directories"
    )]
    NotARepo { dir: PathBuf, stderr: String },
    #[error(
        "`{reference}` is not a commit of this repository; check `git branch -a` / `git log` for the name"
    )]
    UnknownRef { reference: String },
    #[error("git {command} failed: {stderr}")]
    Failed { command: String, stderr: String },
    #[error("the configuration at {reference}: {message}")]
    Config { reference: String, message: String },
    #[error(
        "version location {location} is outside the git repository ({root}); migscope can only read files of the repository at {reference}"
    )]
    OutsideRepo {
        reference: String,
        location: String,
        root: PathBuf,
    },
    #[error("scratch directory for the configuration at {reference}: {source}")]
    Scratch {
        reference: String,
        source: std::io::Error,
    },
}

/// The repository containing a working directory.
#[derive(Debug, Clone)]
pub struct GitRepo {
    /// `git rev-parse --show-toplevel`.
    pub root: PathBuf,
    /// The working directory relative to `root` (empty at the top level).
    pub prefix: PathBuf,
}

/// One revision file read from a commit.
#[derive(Debug, Clone)]
pub struct GitFile {
    /// Path from the repository root (`/`-separated).
    pub repo_path: PathBuf,
    /// Index of the version location it was found under.
    pub location: usize,
    /// Path relative to that location.
    pub rel: PathBuf,
    /// The blob's object id (to read it again: [`GitRepo::read_blobs`]).
    pub oid: String,
    pub bytes: Vec<u8>,
}

/// What a commit says about the project: its version locations and revision files.
#[derive(Debug, Clone)]
pub struct GitProject {
    pub repo: GitRepo,
    /// The reference as the user spelled it.
    pub reference: String,
    /// The full commit id it resolved to.
    pub commit: String,
    /// Version locations, relative to the repository root, in configuration order.
    pub version_locations: Vec<PathBuf>,
    /// Revision files in Alembic's load order.
    pub files: Vec<GitFile>,
    pub migscope: MigscopeSettings,
    /// Configuration and discovery warnings (paths already shown as `REF:path`).
    pub warnings: Vec<String>,
}

impl GitRepo {
    /// The repository `cwd` is in.
    pub fn discover(cwd: &Path) -> Result<GitRepo, GitError> {
        let out = git(cwd, &["rev-parse", "--show-toplevel", "--show-prefix"])?;
        if !out.status.success() {
            return Err(GitError::NotARepo {
                dir: cwd.to_path_buf(),
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            });
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let mut lines = text.lines();
        let root = PathBuf::from(lines.next().unwrap_or_default());
        let prefix = PathBuf::from(lines.next().unwrap_or_default().trim_end_matches('/'));
        Ok(GitRepo { root, prefix })
    }

    /// The full commit id a reference names.
    pub fn resolve_commit(&self, reference: &str) -> Result<String, GitError> {
        let spec = format!("{reference}^{{commit}}");
        let out = git(
            &self.root,
            &[
                "rev-parse",
                "--verify",
                "--quiet",
                "--end-of-options",
                &spec,
            ],
        )?;
        let commit = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if !out.status.success() || commit.is_empty() {
            return Err(GitError::UnknownRef {
                reference: reference.to_string(),
            });
        }
        Ok(commit)
    }

    /// Every blob (and symlink) under `paths` at `commit`, paths relative to the root. An empty
    /// `paths` lists the whole tree.
    pub fn ls_tree(&self, commit: &str, paths: &[PathBuf]) -> Result<Vec<TreeEntry>, GitError> {
        let mut args: Vec<&OsStr> = ["--literal-pathspecs", "ls-tree", "-r", "-z", commit, "--"]
            .into_iter()
            .map(OsStr::new)
            .collect();
        args.extend(paths.iter().map(|p| p.as_os_str()));
        let out = git_checked(&self.root, &args)?;
        Ok(parse_ls_tree(&out))
    }

    /// Every directory of the tree at `commit`, relative to the root.
    pub fn tree_dirs(&self, commit: &str) -> Result<Vec<PathBuf>, GitError> {
        let args = ["ls-tree", "-r", "-d", "-z", "--name-only", commit];
        let out = git_checked(&self.root, &args.map(OsStr::new))?;
        Ok(out
            .split(|b| *b == 0)
            .filter(|s| !s.is_empty())
            .map(path_from_bytes)
            .collect())
    }

    /// The contents of many objects, in order. `None` for an object git does not have (or that is
    /// not a blob). Inflating objects is most of the work and git does it on one core per process,
    /// so a long list is split over one `git cat-file --batch` per core.
    pub fn read_blobs(&self, oids: &[String]) -> Result<Vec<Option<Vec<u8>>>, GitError> {
        const MIN_CHUNK: usize = 1000;
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
        let parts = cores.min(oids.len() / MIN_CHUNK).max(1);
        if parts == 1 {
            return self.read_blobs_batch(oids);
        }
        let chunk = oids.len().div_ceil(parts);
        std::thread::scope(|scope| {
            let readers: Vec<_> = oids
                .chunks(chunk)
                .map(|c| scope.spawn(move || self.read_blobs_batch(c)))
                .collect();
            let mut all = Vec::with_capacity(oids.len());
            for r in readers {
                all.extend(r.join().expect("a git reader thread panicked")?);
            }
            Ok(all)
        })
    }

    /// [`Self::read_blobs`] in one `git cat-file --batch` process.
    fn read_blobs_batch(&self, oids: &[String]) -> Result<Vec<Option<Vec<u8>>>, GitError> {
        if oids.is_empty() {
            return Ok(Vec::new());
        }
        let mut child = Command::new("git")
            .arg("-C")
            .arg(&self.root)
            .args(["cat-file", "--batch"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(GitError::Spawn)?;
        let mut stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        // Requests are written from another thread: git answers while we still write, and
        // neither pipe may fill up while the other side waits.
        let mut request = Vec::with_capacity(oids.len() * 41);
        for oid in oids {
            request.extend_from_slice(oid.as_bytes());
            request.push(b'\n');
        }
        let writer = std::thread::spawn(move || stdin.write_all(&request));
        let mut reader = BufReader::with_capacity(1 << 16, stdout);
        let mut blobs = Vec::with_capacity(oids.len());
        let mut header = Vec::new();
        let failed = |what: String| GitError::Failed {
            command: "cat-file --batch".into(),
            stderr: what,
        };
        for oid in oids {
            header.clear();
            reader
                .read_until(b'\n', &mut header)
                .map_err(|e| failed(e.to_string()))?;
            let text = String::from_utf8_lossy(&header);
            let fields: Vec<&str> = text.trim_end().split(' ').collect();
            match fields.as_slice() {
                [_, kind, size] => {
                    let size: usize = size
                        .parse()
                        .map_err(|_| failed(format!("bad header {text:?}")))?;
                    let mut body = vec![0; size + 1];
                    reader
                        .read_exact(&mut body)
                        .map_err(|e| failed(e.to_string()))?;
                    body.pop();
                    blobs.push((*kind == "blob").then_some(body));
                }
                [_, "missing"] | [_, "ambiguous"] => blobs.push(None),
                _ => {
                    return Err(failed(format!(
                        "unexpected answer {text:?} for object {oid}"
                    )));
                }
            }
        }
        let _ = writer.join();
        let _ = child.wait();
        Ok(blobs)
    }

    /// Files under `paths` (relative to the root) that some commit of any ref deleted, newest
    /// first, each with the commit that still had it (the deleting commit's first parent).
    pub fn deleted_files(&self, paths: &[PathBuf]) -> Result<Vec<(String, PathBuf)>, GitError> {
        let out = self.on_paths(
            &[
                "-c",
                "core.quotePath=false",
                "log",
                "--all",
                "--diff-filter=D",
                "--name-only",
                "--format=@%H",
            ],
            paths,
        )?;
        let mut found = Vec::new();
        let mut commit = "";
        for line in std::str::from_utf8(&out).unwrap_or_default().lines() {
            if let Some(c) = line.strip_prefix('@') {
                commit = c;
            } else if !line.is_empty() && !line.starts_with('"') {
                found.push((format!("{commit}^"), PathBuf::from(line)));
            }
        }
        Ok(found)
    }

    /// `git ARGS -- PATHS...` at the root.
    fn on_paths(&self, args: &[&str], paths: &[PathBuf]) -> Result<Vec<u8>, GitError> {
        let mut all: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
        all.push(OsStr::new("--"));
        all.extend(paths.iter().map(|p| p.as_os_str()));
        git_checked(&self.root, &all)
    }

    /// `commit:path` of files under `paths` whose text contains `needle`, in every commit (of
    /// any ref) that added or removed an occurrence of it, newest first.
    pub fn files_mentioning(
        &self,
        needle: &str,
        paths: &[PathBuf],
    ) -> Result<Vec<(String, PathBuf)>, GitError> {
        let pickaxe = format!("-S{needle}");
        let out = self.on_paths(&["log", "--all", "--format=%H", pickaxe.as_str()], paths)?;
        let mut found = Vec::new();
        for commit in String::from_utf8_lossy(&out).lines() {
            // The commit itself, then its parent: one of them has the file.
            for at in [commit.to_string(), format!("{commit}^")] {
                // `git grep` exits 1 when nothing matches.
                let grep = ["grep", "-l", "-F", "-e", needle, at.as_str()];
                let Ok(out) = self.on_paths(&grep, paths) else {
                    continue;
                };
                for line in String::from_utf8_lossy(&out).lines() {
                    if let Some(path) = line.strip_prefix(&format!("{at}:")) {
                        found.push((at.clone(), PathBuf::from(path)));
                    }
                }
            }
        }
        Ok(found)
    }

    /// One file at a commit, or `None` when the commit has no such file.
    pub fn read_file(&self, commit: &str, repo_path: &Path) -> Result<Option<Vec<u8>>, GitError> {
        let spec = format!("{commit}:{}", slash_path(repo_path));
        let out = self.read_blobs(&[spec])?;
        Ok(out.into_iter().next().flatten())
    }
}

/// One `ls-tree` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeEntry {
    pub mode: String,
    pub oid: String,
    pub path: PathBuf,
}

fn parse_ls_tree(out: &[u8]) -> Vec<TreeEntry> {
    out.split(|b| *b == 0)
        .filter(|s| !s.is_empty())
        .filter_map(|rec| {
            let tab = rec.iter().position(|b| *b == b'\t')?;
            let meta = std::str::from_utf8(&rec[..tab]).ok()?;
            let mut parts = meta.split(' ');
            let (mode, kind, oid) = (parts.next()?, parts.next()?, parts.next()?);
            // Submodules (`commit`) hold no files of this repository.
            (kind == "blob").then(|| TreeEntry {
                mode: mode.to_string(),
                oid: oid.to_string(),
                path: path_from_bytes(&rec[tab + 1..]),
            })
        })
        .collect()
}

#[cfg(unix)]
pub(crate) fn path_from_bytes(b: &[u8]) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    PathBuf::from(OsStr::from_bytes(b))
}

#[cfg(not(unix))]
pub(crate) fn path_from_bytes(b: &[u8]) -> PathBuf {
    PathBuf::from(String::from_utf8_lossy(b).into_owned())
}

/// A repository path as git spells it (`/` separators).
pub(crate) fn slash_path(p: &Path) -> String {
    p.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

fn git(dir: &Path, args: &[&str]) -> Result<std::process::Output, GitError> {
    Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(GitError::Spawn)
}

pub(crate) fn git_checked(dir: &Path, args: &[&OsStr]) -> Result<Vec<u8>, GitError> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(GitError::Spawn)?;
    if !out.status.success() {
        return Err(GitError::Failed {
            command: args
                .iter()
                .map(|a| a.to_string_lossy())
                .collect::<Vec<_>>()
                .join(" "),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(out.stdout)
}

/// Removes `.` and resolves `..` lexically; `None` when the path climbs above its start.
fn normalize_relative(p: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::Normal(n) => out.push(n),
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

/// Reads the project that the working directory `opts.cwd` holds, as it is at `reference`.
///
/// `opts` are the options the user would give for the working tree (`-c`, `-n`, `--dir`,
/// `--recursive`); relative paths mean the same place in the commit as in the working tree.
pub fn load_project(opts: &ConfigOptions, reference: &str) -> Result<GitProject, GitError> {
    let cwd = if opts.cwd.as_os_str().is_empty() {
        std::env::current_dir().map_err(|e| GitError::Scratch {
            reference: reference.to_string(),
            source: e,
        })?
    } else {
        opts.cwd.clone()
    };
    let repo = GitRepo::discover(&cwd)?;
    let commit = repo.resolve_commit(reference)?;
    let scratch = Scratch::new().map_err(|e| GitError::Scratch {
        reference: reference.to_string(),
        source: e,
    })?;
    let resolved = resolve_config(&repo, &commit, reference, opts, &scratch.0)?;
    drop(scratch);
    let (files, mut warnings) = list_files(
        &repo,
        &commit,
        reference,
        &resolved.locations,
        resolved.recursive,
    )?;
    let mut all_warnings = resolved.warnings;
    all_warnings.append(&mut warnings);
    Ok(GitProject {
        repo,
        reference: reference.to_string(),
        commit,
        version_locations: resolved.locations,
        files,
        migscope: resolved.migscope,
        warnings: all_warnings,
    })
}

/// A private temporary directory, removed when dropped. (`tempfile` is only a dev-dependency.)
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> std::io::Result<Scratch> {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        for attempt in 0..100 {
            let name = format!(
                "migscope-git-{}-{}-{nanos:x}-{attempt}",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::Relaxed)
            );
            let dir = std::env::temp_dir().join(name);
            // `create_dir` (not `_all`) fails if it exists: nobody else's directory is reused.
            match std::fs::create_dir(&dir) {
                Ok(()) => return Ok(Scratch(dir)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(std::io::Error::other(
            "cannot create a unique temporary directory",
        ))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What the configuration at a commit resolves to.
struct Resolved {
    /// Version locations relative to the repository root, in configuration order.
    locations: Vec<PathBuf>,
    recursive: bool,
    migscope: MigscopeSettings,
    warnings: Vec<String>,
}

fn resolve_config(
    repo: &GitRepo,
    commit: &str,
    reference: &str,
    opts: &ConfigOptions,
    scratch: &Path,
) -> Result<Resolved, GitError> {
    let scratch_err = |e: std::io::Error| GitError::Scratch {
        reference: reference.to_string(),
        source: e,
    };
    // The directory tree, so that `script_location` exists and package lookups find their
    // directories, exactly as they would in a checkout of the commit.
    let scratch_root = scratch.join("repo");
    std::fs::create_dir_all(scratch_root.join(&repo.prefix)).map_err(scratch_err)?;
    for dir in repo.tree_dirs(commit)? {
        std::fs::create_dir_all(scratch_root.join(dir)).map_err(scratch_err)?;
    }
    // A path the user gave for the working tree, as the same place in the scratch copy.
    let to_scratch = |p: &Path| -> PathBuf {
        match p.strip_prefix(&repo.root) {
            Ok(rel) if p.is_absolute() => scratch_root.join(rel),
            _ => p.to_path_buf(),
        }
    };
    let mut wanted: Vec<PathBuf> = vec!["alembic.ini".into(), "pyproject.toml".into()];
    wanted.extend(opts.config.iter().cloned());
    wanted.extend(opts.alembic_config_env.iter().map(PathBuf::from));
    let scratch_cwd = scratch_root.join(&repo.prefix);
    for file in &wanted {
        let in_repo = if file.is_absolute() {
            file.strip_prefix(&repo.root).ok().map(Path::to_path_buf)
        } else {
            normalize_relative(&repo.prefix.join(file))
        };
        // A config file outside the repository is not part of the commit: config::load reports
        // it as missing (or reads it from disk when it is absolute, as Alembic would).
        let Some(in_repo) = in_repo else { continue };
        if let Some(bytes) = repo.read_file(commit, &in_repo)? {
            let dest = scratch_root.join(&in_repo);
            if let Some(parent) = dest.parent() {
                std::fs::create_dir_all(parent).map_err(scratch_err)?;
            }
            std::fs::write(&dest, bytes).map_err(scratch_err)?;
        }
    }
    let scratch_opts = ConfigOptions {
        cwd: scratch_cwd,
        config: opts.config.iter().map(|p| to_scratch(p)).collect(),
        name: opts.name.clone(),
        dirs: opts.dirs.iter().map(|p| to_scratch(p)).collect(),
        recursive: opts.recursive,
        alembic_config_env: opts
            .alembic_config_env
            .as_ref()
            .map(|p| to_scratch(Path::new(p)).into_os_string()),
    };
    // Messages name `REF:path` rather than the scratch directory nobody can look at.
    let scratch_text = scratch_root.to_string_lossy().into_owned();
    let show = |s: String| s.replace(&format!("{scratch_text}/"), &format!("{reference}:"));
    let cfg = config::load(&scratch_opts).map_err(|e| GitError::Config {
        reference: reference.to_string(),
        message: show(e.to_string()),
    })?;
    let mut locations = Vec::new();
    for loc in &cfg.version_locations {
        let rel = loc
            .strip_prefix(&scratch_root)
            .ok()
            .and_then(normalize_relative);
        match rel {
            Some(rel) => locations.push(rel),
            None => {
                return Err(GitError::OutsideRepo {
                    reference: reference.to_string(),
                    location: show(loc.display().to_string()),
                    root: repo.root.clone(),
                });
            }
        }
    }
    let warnings = cfg.warnings.iter().map(|w| show(w.to_string())).collect();
    Ok(Resolved {
        locations,
        recursive: cfg.recursive,
        migscope: cfg.migscope.clone(),
        warnings,
    })
}

/// The revision files under the locations, in Alembic's load order, with their contents.
fn list_files(
    repo: &GitRepo,
    commit: &str,
    reference: &str,
    locations: &[PathBuf],
    recursive: bool,
) -> Result<(Vec<GitFile>, Vec<String>), GitError> {
    let mut warnings = Vec::new();
    // One ls-tree for all locations; an empty location (the repository root) lists everything.
    let pathspecs: Vec<PathBuf> = if locations.iter().any(|l| l.as_os_str().is_empty()) {
        Vec::new()
    } else {
        locations.to_vec()
    };
    let entries = repo.ls_tree(commit, &pathspecs)?;
    let mut seen: HashSet<PathBuf> = HashSet::new();
    let mut listed: Vec<(usize, PathBuf, PathBuf, String)> = Vec::new();
    for (li, loc) in locations.iter().enumerate() {
        let under: Vec<(PathBuf, &TreeEntry)> = entries
            .iter()
            .filter_map(|e| e.path.strip_prefix(loc).ok().map(|r| (r.to_path_buf(), e)))
            .filter(|(r, _)| !r.as_os_str().is_empty())
            .collect();
        if under.is_empty() {
            warnings.push(format!(
                "version location {reference}:{} has no files at this commit",
                slash_path(loc)
            ));
        }
        for (rel, entry) in walk_order(under, recursive) {
            if !seen.insert(entry.path.clone()) {
                warnings.push(format!(
                    "File {reference}:{} loaded twice! ignoring. Please ensure version_locations is unique.",
                    slash_path(&entry.path)
                ));
                continue;
            }
            if entry.mode == "120000" {
                // A symlink's blob is its target's name; following it would need the target
                // tree. Rare in versions directories: say so instead of guessing.
                warnings.push(format!(
                    "{reference}:{} is a symbolic link; migscope does not follow symlinks in git objects (skipped)",
                    slash_path(&entry.path)
                ));
                continue;
            }
            listed.push((li, rel, entry.path.clone(), entry.oid.clone()));
        }
    }
    // Identical blobs (common across locations or copies) are fetched once.
    let mut unique: Vec<String> = Vec::new();
    let mut slot: HashMap<&str, usize> = HashMap::new();
    for (_, _, _, oid) in &listed {
        if !slot.contains_key(oid.as_str()) {
            slot.insert(oid.as_str(), unique.len());
            unique.push(oid.clone());
        }
    }
    let mut blobs = repo.read_blobs(&unique)?;
    // Each blob is moved into the last file that uses it (copied only for the others): a second
    // copy of every file is most of a git side's memory and a good part of its time.
    let mut uses = vec![0usize; unique.len()];
    for (_, _, _, oid) in &listed {
        uses[slot[oid.as_str()]] += 1;
    }
    let files = listed
        .iter()
        .map(|(li, rel, path, oid)| {
            let k = slot[oid.as_str()];
            uses[k] -= 1;
            let bytes = if uses[k] == 0 {
                blobs[k].take()
            } else {
                blobs[k].clone()
            };
            GitFile {
                repo_path: path.clone(),
                location: *li,
                rel: rel.clone(),
                oid: oid.clone(),
                bytes: bytes.unwrap_or_default(),
            }
        })
        .collect();
    Ok((files, warnings))
}

/// Entries of one location in `os.walk` order, filtered by Alembic's name rule. `rel` is the
/// path relative to the location.
fn walk_order(entries: Vec<(PathBuf, &TreeEntry)>, recursive: bool) -> Vec<(PathBuf, &TreeEntry)> {
    #[derive(Default)]
    struct Dir<'a> {
        files: Vec<(PathBuf, &'a TreeEntry)>,
        subdirs: BTreeMap<Vec<u8>, Dir<'a>>,
        name: Option<std::ffi::OsString>,
    }
    let mut top = Dir::default();
    for (rel, entry) in entries {
        let comps: Vec<&OsStr> = rel.iter().collect();
        let Some((_, dirs)) = comps.split_last() else {
            continue;
        };
        if !recursive && !dirs.is_empty() {
            continue;
        }
        let mut node = &mut top;
        for d in dirs {
            node = node
                .subdirs
                .entry(d.as_encoded_bytes().to_vec())
                .or_insert_with(|| Dir {
                    name: Some(d.to_os_string()),
                    ..Default::default()
                });
        }
        node.files.push((rel, entry));
    }
    fn emit<'a>(dir: Dir<'a>, out: &mut Vec<(PathBuf, &'a TreeEntry)>) {
        // Alembic lists no file of a `__pycache__` directory but still walks below it.
        let pycache = dir
            .name
            .as_ref()
            .is_some_and(|n| n.as_encoded_bytes().ends_with(b"__pycache__"));
        let mut files = dir.files;
        files.retain(|(rel, _)| rel.file_name().is_some_and(is_revision_file_name));
        files.sort_by(|a, b| {
            py_name_cmp(
                a.0.file_name().unwrap_or_default(),
                b.0.file_name().unwrap_or_default(),
            )
        });
        if !pycache {
            out.extend(files);
        }
        let mut subdirs: Vec<Dir<'a>> = dir.subdirs.into_values().collect();
        subdirs.sort_by(|a, b| {
            py_name_cmp(
                a.name.as_deref().unwrap_or_default(),
                b.name.as_deref().unwrap_or_default(),
            )
        });
        for sub in subdirs {
            emit(sub, out);
        }
    }
    let mut out = Vec::new();
    emit(top, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str) -> TreeEntry {
        TreeEntry {
            mode: "100644".into(),
            oid: format!("oid-{path}"),
            path: PathBuf::from(path),
        }
    }

    fn order(paths: &[&str], recursive: bool) -> Vec<String> {
        let entries: Vec<TreeEntry> = paths.iter().map(|p| entry(p)).collect();
        let under = entries.iter().map(|e| (e.path.clone(), e)).collect();
        walk_order(under, recursive)
            .into_iter()
            .map(|(rel, _)| rel.display().to_string())
            .collect()
    }

    #[test]
    fn walk_order_is_alembics_load_order() {
        let files = [
            "b.py",
            "a.py",
            "__init__.py",
            ".#lock.py",
            "notes.txt",
            "sub/z.py",
            "sub/deeper/y.py",
            "sub/a.py",
            "aaa/x.py",
            "__pycache__/cached.py",
            "__pycache__/inner/kept.py",
        ];
        // Top-level files only, sorted, Alembic's name filter applied.
        assert_eq!(order(&files, false), ["a.py", "b.py"]);
        // Recursive: a directory's files, then its sub-directories in sorted pre-order; a
        // `__pycache__` directory lists nothing but is still walked below.
        assert_eq!(
            order(&files, true),
            [
                "a.py",
                "b.py",
                "__pycache__/inner/kept.py",
                "aaa/x.py",
                "sub/a.py",
                "sub/z.py",
                "sub/deeper/y.py"
            ]
        );
    }

    #[test]
    fn ls_tree_output_is_parsed() {
        let out = b"100644 blob 1111\tversions/a b.py\x00160000 commit 2222\tvendored\x00120000 blob 3333\tversions/link.py\x00";
        let entries = parse_ls_tree(out);
        assert_eq!(entries.len(), 2, "submodules are skipped");
        assert_eq!(entries[0].path, PathBuf::from("versions/a b.py"));
        assert_eq!(entries[0].oid, "1111");
        assert_eq!(entries[1].mode, "120000");
    }

    #[test]
    fn relative_paths_are_normalized_inside_the_repository() {
        assert_eq!(
            normalize_relative(Path::new("app/./migrations/../versions")),
            Some(PathBuf::from("app/versions"))
        );
        assert_eq!(normalize_relative(Path::new("../outside")), None);
        assert_eq!(normalize_relative(Path::new("")), Some(PathBuf::new()));
    }
}
