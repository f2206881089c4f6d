//! Comparing two copies of a project: two checkouts, a Windows and a WSL copy, two git branches.
//!
//! A revision present on one side only is how databases end up stamped with revisions the other
//! side cannot find, and two branches that each add a migration merge into two heads. So this
//! module matches the two sides' revisions by id, says how each pair differs (bytes, cosmetics
//! only, graph identifiers, file name), and builds the map the *union* of both sides would give
//! (left's files, then the revisions only right has), with its heads and diagnostics.
//! [`sync`] turns the comparison into a plan of copies.

mod cached;
pub mod diff;
pub mod sync;
pub mod winpath;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

use crate::config::{self, ConfigError, ConfigOptions};
use crate::diagnose::{self, Diagnostic, Expectations, Severity};
use crate::discover;
use crate::gitsrc::{self, GitError};
use crate::graph::{ErrorReport, RevisionMap};
use crate::revision::{self, RevisionRecord};

pub use diff::Cosmetic;

/// Which side of a comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Which {
    Left,
    Right,
}

impl Which {
    pub fn name(self) -> &'static str {
        match self {
            Which::Left => "LEFT",
            Which::Right => "RIGHT",
        }
    }
    pub fn other(self) -> Which {
        match self {
            Which::Left => Which::Right,
            Which::Right => Which::Left,
        }
    }
}

/// What a side argument names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SideSpec {
    /// A project directory, a bare versions directory, or a config file.
    Path {
        path: PathBuf,
        /// The argument as typed, when it was a Windows path translated for WSL.
        typed: Option<String>,
    },
    /// `git:REF`: the working directory's project as it is at a commit.
    Git(String),
}

impl SideSpec {
    /// Parses `git:REF` or a path (Windows spellings translated under WSL when the path does not
    /// exist as given).
    pub fn parse(arg: &str) -> SideSpec {
        Self::parse_with_mount_root(arg, &winpath::mount_root())
    }

    pub fn parse_with_mount_root(arg: &str, mount_root: &Path) -> SideSpec {
        if let Some(reference) = arg.strip_prefix("git:") {
            return SideSpec::Git(reference.to_string());
        }
        let (path, translated) = winpath::resolve(arg, mount_root);
        SideSpec::Path {
            path,
            typed: translated.then(|| arg.to_string()),
        }
    }

    pub fn is_git(&self) -> bool {
        matches!(self, SideSpec::Git(_))
    }
}

impl fmt::Display for SideSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SideSpec::Path { path, typed: None } => write!(f, "{}", path.display()),
            SideSpec::Path {
                path,
                typed: Some(t),
            } => write!(f, "{t} (= {})", path.display()),
            SideSpec::Git(r) => write!(f, "git:{r}"),
        }
    }
}

/// Why a side could not be read. Always names the side and what to do.
#[derive(Debug, thiserror::Error)]
#[error("{which} side {spec}: {message}")]
pub struct SideError {
    pub which: &'static str,
    pub spec: String,
    pub message: String,
}

/// Where a side's files came from.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Source {
    /// An Alembic project (config file found) or a bare versions directory (`config` is None).
    Directory {
        root: PathBuf,
        config: Option<PathBuf>,
    },
    Git {
        reference: String,
        commit: String,
        #[serde(skip)]
        repo: gitsrc::GitRepo,
    },
}

/// What identifies a file's content: its length and a 128-bit hash.
///
/// Sides keep this instead of the bytes (two 10,000-file checkouts are 60 MB, and allocating
/// that much costs more than hashing it). Files whose fingerprints differ are read again when
/// their content matters (cosmetic check, diff, copy), and applying a sync plan re-checks the
/// fingerprint, so a file edited since the comparison is never copied blindly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint {
    pub len: u64,
    pub hash: u128,
}

impl Fingerprint {
    /// Two independent multiply-rotate lanes over 16-byte blocks. Each step is a bijection of the
    /// lane state, so two inputs differing in a single 8-byte word always get different hashes;
    /// anything else collides with probability about 2^-64 per lane. Not cryptographic: nobody
    /// forges migration files to fool a comparison of their own checkouts.
    pub fn of(bytes: &[u8]) -> Fingerprint {
        const P1: u64 = 0x9E37_79B9_7F4A_7C15;
        const P2: u64 = 0xC2B2_AE3D_27D4_EB4F;
        let len = bytes.len() as u64;
        let (mut a, mut b) = (0x243F_6A88_85A3_08D3 ^ len, 0x1319_8A2E_0370_7344 ^ len);
        let mut blocks = bytes.chunks_exact(16);
        for block in &mut blocks {
            let w0 = u64::from_le_bytes(block[..8].try_into().expect("8 bytes"));
            let w1 = u64::from_le_bytes(block[8..].try_into().expect("8 bytes"));
            a = (a ^ w0).wrapping_mul(P1).rotate_left(29);
            b = (b ^ w1).wrapping_mul(P2).rotate_left(31);
        }
        let mut tail = [0u8; 16];
        let rest = blocks.remainder();
        tail[..rest.len()].copy_from_slice(rest);
        let w0 = u64::from_le_bytes(tail[..8].try_into().expect("8 bytes"));
        let w1 = u64::from_le_bytes(tail[8..].try_into().expect("8 bytes"));
        a = (a ^ w0).wrapping_mul(P1).rotate_left(29);
        b = (b ^ w1).wrapping_mul(P2).rotate_left(31);
        // murmur3's finalizer on each lane, then a cross-mix.
        let fmix = |mut h: u64| {
            h ^= h >> 33;
            h = h.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
            h ^= h >> 33;
            h = h.wrapping_mul(0xC4CE_B9FE_1A85_EC53);
            h ^ (h >> 33)
        };
        let (a, b) = (fmix(a), fmix(b));
        Fingerprint {
            len,
            hash: (u128::from(a ^ b.rotate_left(17)) << 64) | u128::from(b),
        }
    }
}

/// One revision file of a side; `Side::files[i]` is the file of `Side::map.records[i]`.
#[derive(Debug, Clone)]
pub struct SideFile {
    /// Index into [`Side::version_locations`].
    pub location: usize,
    /// Path relative to that location (the file name, for non-recursive locations).
    pub rel: PathBuf,
    pub fingerprint: Fingerprint,
    /// For git sides: the blob's object id.
    pub blob: Option<String>,
}

/// One side, read: its files in Alembic's load order and its map.
#[derive(Debug, Clone)]
pub struct Side {
    pub which: Which,
    /// The argument as the user gave it.
    pub label: String,
    pub source: Source,
    /// Absolute for directories, repository-relative for git.
    pub version_locations: Vec<PathBuf>,
    pub files: Vec<SideFile>,
    pub map: RevisionMap,
    /// `[tool.migscope] branches`.
    pub branches: Vec<String>,
    pub warnings: Vec<String>,
    /// Per file: how it is matched with the other side, and whether it is the file Alembic uses
    /// for that key (not an earlier duplicate).
    keys: Vec<(Key, bool)>,
}

impl Side {
    pub fn is_git(&self) -> bool {
        matches!(self.source, Source::Git { .. })
    }

    /// The version location a file found at `location` of the other side goes to: the same
    /// position, or this side's last location when it has fewer.
    pub fn location_index(&self, location: usize) -> usize {
        location.min(self.version_locations.len().saturating_sub(1))
    }

    /// The path a file of this side would have at `location`/`rel` (for git: `REF:path`).
    pub fn path_for(&self, location: usize, rel: &Path) -> PathBuf {
        let loc = self
            .version_locations
            .get(self.location_index(location))
            .cloned()
            .unwrap_or_default();
        match &self.source {
            Source::Git { reference, .. } => git_display_path(reference, &loc.join(rel)),
            Source::Directory { .. } => loc.join(rel),
        }
    }

    /// The current content of file `i` (read again from disk, or from the git object).
    pub fn bytes(&self, i: usize) -> std::io::Result<Vec<u8>> {
        match (&self.source, &self.files[i].blob) {
            (Source::Git { repo, .. }, Some(oid)) => repo
                .read_blobs(std::slice::from_ref(oid))
                .map_err(std::io::Error::other)?
                .pop()
                .flatten()
                .ok_or_else(|| std::io::Error::other(format!("git object {oid} is missing"))),
            _ => std::fs::read(&self.map.records[i].path),
        }
    }

    /// Revisions (not counting earlier duplicates of an id).
    pub fn revision_count(&self) -> usize {
        self.map.revisions().iter().filter(|r| !r.phantom).count()
    }
}

fn git_display_path(reference: &str, repo_path: &Path) -> PathBuf {
    let slashed: Vec<String> = repo_path
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    PathBuf::from(format!("{reference}:{}", slashed.join("/")))
}

/// A side before parsing: where its files are.
struct RawSide {
    which: Which,
    label: String,
    source: Source,
    version_locations: Vec<PathBuf>,
    files: Vec<RawFile>,
    branches: Vec<String>,
    warnings: Vec<String>,
}

struct RawFile {
    /// The record's path: the real path, or `REF:path` for git.
    path: PathBuf,
    location: usize,
    rel: PathBuf,
    /// Git blobs arrive in one batch; directory files are read while parsing.
    content: Option<Vec<u8>>,
    blob: Option<String>,
}

/// Both sides, read, and the map their union gives.
#[derive(Debug, Clone)]
pub struct Pair {
    pub left: Side,
    pub right: Side,
    /// LEFT's files, then the files of revisions only RIGHT has, each in load order. `None`
    /// when RIGHT has no revision LEFT lacks: the union is then LEFT's map.
    union: Option<RevisionMap>,
    union_report: UnionReport,
}

impl Pair {
    /// The map of LEFT's files followed by the files of revisions only RIGHT has.
    pub fn union(&self) -> &RevisionMap {
        self.union.as_ref().unwrap_or(&self.left.map)
    }
}

/// Reads both sides (in parallel). `project` holds the working directory's options (`-n`,
/// `--recursive`, and for `git:` sides also `-c`/`--dir`, which mean the same paths at the commit).
///
/// `extra_branches` (the `--branches` flag) adds to both sides' `[tool.migscope] branches` for
/// the union's verdict.
pub fn load_pair(
    left: &SideSpec,
    right: &SideSpec,
    project: &ConfigOptions,
    extra_branches: &[String],
) -> Result<Pair, SideError> {
    let t0 = std::time::Instant::now();
    let (l, r) = rayon::join(
        || read_raw(Which::Left, left, project),
        || read_raw(Which::Right, right, project),
    );
    let t1 = std::time::Instant::now();
    let pair = finish_pair(l?, r?, extra_branches);
    if std::env::var_os("MIGSCOPE_TIMING").is_some() {
        // Phase timings for benchmarking, on stderr so outputs stay comparable.
        eprintln!(
            "timing: read sides {:?}, parse and build {:?}",
            t1 - t0,
            t1.elapsed()
        );
    }
    Ok(pair)
}

/// Reads `against` as LEFT and the working directory's project (found from `project`, exactly as
/// other commands find it) as RIGHT, in parallel: the two sides of `check --against`.
pub fn load_against(
    against: &SideSpec,
    project: &ConfigOptions,
    label: &str,
    extra_branches: &[String],
) -> Result<Pair, SideError> {
    load_with_project(Which::Right, against, project, label, extra_branches)
}

/// Reads the project found from `project` as side `project_side` (shown as `label`) and `other`
/// as the other side, in parallel (the explorer compares its project, on the left, with another
/// checkout).
pub fn load_with_project(
    project_side: Which,
    other: &SideSpec,
    project: &ConfigOptions,
    label: &str,
    extra_branches: &[String],
) -> Result<Pair, SideError> {
    let (mine, theirs) = rayon::join(
        || read_project_raw(project_side, label, project),
        || read_raw(project_side.other(), other, project),
    );
    let (l, r) = match project_side {
        Which::Left => (mine, theirs),
        Which::Right => (theirs, mine),
    };
    Ok(finish_pair(l?, r?, extra_branches))
}

/// Reads one side.
pub fn load_side(
    which: Which,
    spec: &SideSpec,
    project: &ConfigOptions,
) -> Result<Side, SideError> {
    let raw = read_raw(which, spec, project)?;
    let p = parse_records(&raw, None);
    Ok(into_side(
        raw,
        RevisionMap::build(p.records),
        p.keys,
        p.files,
    ))
}

/// Parses both sides and builds the three maps. The builds are independent and each is
/// single-threaded, so they run side by side: this is most of what keeps comparing two
/// checkouts within twice the time of checking one.
fn finish_pair(l: RawSide, r: RawSide, extra_branches: &[String]) -> Pair {
    let lp = parse_records(&l, None);
    let rp = parse_records(
        &r,
        Some(Reuse {
            raw: &l,
            records: &lp.records,
            keys: &lp.keys,
            files: &lp.files,
        }),
    );
    let left_keys: HashSet<&Key> = lp.keys.iter().map(|(k, _)| k).collect();
    let only_right: Vec<&RevisionRecord> = rp
        .keys
        .iter()
        .zip(&rp.records)
        .filter(|((k, _), _)| !left_keys.contains(k))
        .map(|(_, rec)| rec)
        .collect();
    // With nothing only on the right, the union is left itself: no third map to build.
    let union_records = (!only_right.is_empty()).then(|| {
        let mut records: Vec<RevisionRecord> = lp.records.par_iter().cloned().collect();
        records.extend(only_right.into_iter().cloned());
        records
    });
    drop(left_keys);
    let mut branches: Vec<String> = l.branches.iter().chain(&r.branches).cloned().collect();
    branches.extend(extra_branches.iter().cloned());
    branches.sort();
    branches.dedup();
    // Three independent single-threaded builds, and the union's diagnostics right after its
    // build, all side by side.
    let union_is_left = union_records.is_none();
    let (((l_map, l_report), r_map), union) = rayon::join(
        || {
            rayon::join(
                || {
                    let map = RevisionMap::build(lp.records);
                    let report = union_is_left.then(|| union_report(&map, &branches));
                    (map, report)
                },
                || RevisionMap::build(rp.records),
            )
        },
        || {
            union_records.map(|records| {
                let map = RevisionMap::build(records);
                let report = union_report(&map, &branches);
                (map, report)
            })
        },
    );
    let (union, union_report) = match (union, l_report) {
        (Some((map, report)), _) => (Some(map), report),
        (None, Some(report)) => (None, report),
        (None, None) => unreachable!("the left task reports when there is no union map"),
    };
    Pair {
        left: into_side(l, l_map, lp.keys, lp.files),
        right: into_side(r, r_map, rp.keys, rp.files),
        union,
        union_report,
    }
}

fn read_project_raw(which: Which, label: &str, opts: &ConfigOptions) -> Result<RawSide, SideError> {
    let cfg = config::load(opts).map_err(|e| SideError {
        which: which.name(),
        spec: label.to_string(),
        message: e.to_string(),
    })?;
    let root = if opts.cwd.as_os_str().is_empty() {
        std::env::current_dir().unwrap_or_default()
    } else {
        opts.cwd.clone()
    };
    Ok(raw_from_config(which, label.to_string(), root, cfg))
}

fn read_raw(which: Which, spec: &SideSpec, project: &ConfigOptions) -> Result<RawSide, SideError> {
    let err = |message: String| SideError {
        which: which.name(),
        spec: spec.to_string(),
        message,
    };
    match spec {
        SideSpec::Git(reference) => {
            if reference.is_empty() {
                return Err(err(
                    "`git:` needs a reference, e.g. git:main or git:origin/main".into(),
                ));
            }
            let gp = gitsrc::load_project(project, reference).map_err(|e| err(git_message(e)))?;
            let locations = gp.version_locations.clone();
            let files = gp
                .files
                .into_iter()
                .map(|f| RawFile {
                    path: git_display_path(reference, &f.repo_path),
                    location: f.location,
                    rel: f.rel,
                    content: Some(f.bytes),
                    blob: Some(f.oid),
                })
                .collect();
            Ok(RawSide {
                which,
                label: spec.to_string(),
                source: Source::Git {
                    reference: reference.clone(),
                    commit: gp.commit,
                    repo: gp.repo,
                },
                version_locations: locations,
                files,
                branches: gp.migscope.branches,
                warnings: gp.warnings,
            })
        }
        SideSpec::Path { path, typed } => {
            let meta = std::fs::metadata(path).map_err(|e| {
                let hint = match typed {
                    Some(t) => format!(
                        "{t} was read as the WSL path {} ({e}); check the drive is mounted",
                        path.display()
                    ),
                    None if path.to_str().is_some_and(|s| !s.contains(['/', '\\'])) => format!(
                        "{e}; give a project directory, a versions directory, or git:{} for a git reference",
                        path.display()
                    ),
                    None => format!("{e}; give a project directory or a versions directory"),
                };
                err(hint)
            })?;
            let base = ConfigOptions {
                name: project.name.clone(),
                recursive: project.recursive,
                ..Default::default()
            };
            let abs = std::path::absolute(path).map_err(|e| err(e.to_string()))?;
            if !meta.is_dir() {
                // A config file (alembic.ini or pyproject.toml): the project it describes, read
                // from its directory like `alembic -c FILE` run there.
                let dir = abs.parent().map(Path::to_path_buf).unwrap_or_default();
                let opts = ConfigOptions {
                    cwd: dir.clone(),
                    config: vec![abs.clone()],
                    ..base
                };
                let cfg = config::load(&opts).map_err(|e| err(e.to_string()))?;
                return Ok(raw_from_config(which, spec.to_string(), dir, cfg));
            }
            let opts = ConfigOptions {
                cwd: abs.clone(),
                ..base.clone()
            };
            match config::load(&opts) {
                Ok(cfg) => Ok(raw_from_config(which, spec.to_string(), abs, cfg)),
                Err(ConfigError::NotFound { .. }) => {
                    // No config: a bare versions directory, if it holds revision files.
                    let has_py = std::fs::read_dir(&abs)
                        .map_err(|e| err(e.to_string()))?
                        .filter_map(Result::ok)
                        .any(|e| discover::is_revision_file_name(&e.file_name()));
                    if !has_py {
                        return Err(err(
                            "neither an Alembic project (no alembic.ini, no [tool.alembic] in \
                             pyproject.toml) nor a versions directory (no .py files); give the \
                             project directory or its versions directory"
                                .into(),
                        ));
                    }
                    let opts = ConfigOptions {
                        dirs: vec![abs.clone()],
                        ..opts
                    };
                    let cfg = config::load(&opts).map_err(|e| err(e.to_string()))?;
                    let mut raw = raw_from_config(which, spec.to_string(), abs, cfg);
                    if let Source::Directory { config, .. } = &mut raw.source {
                        *config = None;
                    }
                    Ok(raw)
                }
                Err(e) => Err(err(e.to_string())),
            }
        }
    }
}

fn git_message(e: GitError) -> String {
    e.to_string()
}

/// Lists the files a resolved configuration points at (they are read while parsing).
fn raw_from_config(
    which: Which,
    label: String,
    root: PathBuf,
    cfg: config::ProjectConfig,
) -> RawSide {
    let discovery = discover::revision_files(&cfg.version_locations, cfg.recursive);
    // Discovery returns real paths; locations are as configured. Match files to locations by
    // their real paths.
    let real_locs: Vec<Option<PathBuf>> = cfg
        .version_locations
        .iter()
        .map(|l| std::fs::canonicalize(l).ok())
        .collect();
    let files: Vec<RawFile> = discovery
        .files
        .iter()
        .map(|path| {
            let (location, rel) = real_locs
                .iter()
                .enumerate()
                .filter_map(|(i, l)| {
                    let l = l.as_ref()?;
                    path.strip_prefix(l).ok().map(|r| (i, r.to_path_buf()))
                })
                // The deepest location wins when locations nest.
                .min_by_key(|(_, r)| r.components().count())
                .unwrap_or_else(|| (0, path.file_name().map(PathBuf::from).unwrap_or_default()));
            RawFile {
                path: path.clone(),
                location,
                rel,
                content: None,
                blob: None,
            }
        })
        .collect();
    let mut warnings: Vec<String> = cfg.warnings.iter().map(ToString::to_string).collect();
    warnings.extend(discovery.warnings);
    warnings.extend(
        discovery
            .missing_locations
            .iter()
            .map(|l| format!("version location {} does not exist", l.display())),
    );
    RawSide {
        which,
        label,
        source: Source::Directory {
            root,
            config: cfg.ini_path.clone().or(cfg.toml_path.clone()),
        },
        version_locations: cfg.version_locations.clone(),
        files,
        branches: cfg.migscope.branches.clone(),
        warnings,
    }
}

/// Reads (directory sides), fingerprints and parses a side's files, with each record's [`Key`].
/// Files identical to the same-named file of `reuse` take its record (with their own path)
/// instead of being parsed again: two checkouts of one project mostly share their files, and
/// this halves the parsing.
fn parse_records(raw: &RawSide, reuse: Option<Reuse>) -> Parsed {
    // Keyed by the raw name: hashing a `Path` walks its components, several times slower.
    let by_rel: HashMap<&std::ffi::OsStr, usize> = reuse
        .map(|o| {
            o.raw
                .files
                .iter()
                .enumerate()
                .map(|(i, f)| (f.rel.as_os_str(), i))
                .collect()
        })
        .unwrap_or_default();
    let directory = matches!(raw.source, Source::Directory { .. });
    let cached = directory
        .then(|| {
            let paths: Vec<PathBuf> = raw.files.iter().map(|f| f.path.clone()).collect();
            cached::load(&paths, &raw.version_locations)
        })
        .flatten();
    if let Some(cached) = cached {
        let parsed = cached
            .into_iter()
            .zip(&raw.files)
            .map(|((rec, fingerprint), raw_file)| {
                let key = record_key(&rec, raw_file);
                (rec, key, raw_file.side_file(fingerprint))
            })
            .collect();
        return assemble(parsed);
    }
    let parsed: Vec<(RevisionRecord, Key, SideFile)> = raw
        .files
        .par_iter()
        .map(|raw_file| {
            with_content(raw_file, |bytes| {
                let fingerprint = bytes.map_or(Fingerprint::of(b""), Fingerprint::of);
                let cached = reuse.and_then(|other| {
                    let &i = by_rel.get(raw_file.rel.as_os_str())?;
                    let rec = &other.records[i];
                    // Only clean records: a parser message may mention the other side's path.
                    (other.files[i].fingerprint == fingerprint && rec.issues.is_empty())
                        .then_some((rec, &other.keys[i].0))
                });
                let (rec, key) = match (cached, bytes) {
                    // Same name, same bytes: same key too.
                    (Some((rec, key)), _) => (
                        // Field by field: `..rec.clone()` would clone the path only to drop it.
                        RevisionRecord {
                            path: raw_file.path.clone(),
                            revision: rec.revision.clone(),
                            down_revision: rec.down_revision.clone(),
                            branch_labels: rec.branch_labels.clone(),
                            depends_on: rec.depends_on.clone(),
                            docstring: rec.docstring.clone(),
                            issues: Vec::new(),
                        },
                        key.clone(),
                    ),
                    (None, bytes) => {
                        let rec = match bytes {
                            Some(bytes) => revision::read::read_source(&raw_file.path, bytes),
                            // Unreadable: let the reader describe the I/O error.
                            None => revision::read_file(&raw_file.path),
                        };
                        let key = record_key(&rec, raw_file);
                        (rec, key)
                    }
                };
                (rec, key, raw_file.side_file(fingerprint))
            })
        })
        .collect();
    assemble(parsed)
}

/// The map knows a revision by its normalized id (the last file with an id wins); a file with
/// no usable id is matched by its name.
fn record_key(rec: &RevisionRecord, raw_file: &RawFile) -> Key {
    match rec.normalized() {
        Ok(n) => Key::Id(n.id),
        Err(_) => Key::File(raw_file.rel.clone()),
    }
}

impl RawFile {
    fn side_file(&self, fingerprint: Fingerprint) -> SideFile {
        SideFile {
            location: self.location,
            rel: self.rel.clone(),
            fingerprint,
            blob: self.blob.clone(),
        }
    }
}

/// Marks which file is each key's main one (the last, as the map keeps it) and splits the columns.
fn assemble(parsed: Vec<(RevisionRecord, Key, SideFile)>) -> Parsed {
    let mut last: HashMap<&Key, usize> = HashMap::with_capacity(parsed.len());
    for (i, (_, k, _)) in parsed.iter().enumerate() {
        last.insert(k, i);
    }
    let main: Vec<bool> = parsed
        .iter()
        .enumerate()
        .map(|(i, (_, k, _))| last[k] == i)
        .collect();
    drop(last);
    let mut out = Parsed {
        records: Vec::with_capacity(parsed.len()),
        keys: Vec::with_capacity(parsed.len()),
        files: Vec::with_capacity(parsed.len()),
    };
    for ((rec, key, file), main) in parsed.into_iter().zip(main) {
        out.records.push(rec);
        out.keys.push((key, main));
        out.files.push(file);
    }
    out
}

/// The other side's parsed files, for [`parse_records`] to take identical records from.
#[derive(Clone, Copy)]
struct Reuse<'a> {
    raw: &'a RawSide,
    records: &'a [RevisionRecord],
    keys: &'a [(Key, bool)],
    files: &'a [SideFile],
}

/// A side's parsed files, before its map is built.
struct Parsed {
    records: Vec<RevisionRecord>,
    keys: Vec<(Key, bool)>,
    files: Vec<SideFile>,
}

/// Calls `f` with a file's bytes (`None` when it cannot be read). Directory files are read into
/// a per-thread buffer reused from file to file, with plain `read` calls: nothing is allocated
/// per file, and there is no `statx`/`lseek` per file as `read_to_end` would make (on 20,000
/// files, system calls are most of the cost).
fn with_content<T>(file: &RawFile, f: impl FnOnce(Option<&[u8]>) -> T) -> T {
    use std::cell::RefCell;
    use std::io::{ErrorKind, Read};
    thread_local! {
        static BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    }
    if let Some(bytes) = &file.content {
        return f(Some(bytes));
    }
    BUF.with(|buf| {
        let mut buf = buf.borrow_mut();
        if buf.is_empty() {
            // Initialized once per thread, so reads can go straight into it.
            buf.resize(256 * 1024, 0);
        }
        let mut len = 0;
        let ok = match std::fs::File::open(&file.path) {
            Ok(mut h) => loop {
                if len == buf.len() {
                    let grown = buf.len() * 2;
                    buf.resize(grown, 0);
                }
                match h.read(&mut buf[len..]) {
                    Ok(0) => break true,
                    Ok(n) => len += n,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(_) => break false,
                }
            },
            Err(_) => false,
        };
        f(ok.then_some(&buf[..len]))
    })
}

fn into_side(raw: RawSide, map: RevisionMap, keys: Vec<(Key, bool)>, files: Vec<SideFile>) -> Side {
    Side {
        which: raw.which,
        label: raw.label,
        source: raw.source,
        version_locations: raw.version_locations,
        files,
        map,
        branches: raw.branches,
        warnings: raw.warnings,
        keys,
    }
}

/// How one revision's two copies relate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Identical,
    /// Differs only by line endings, BOM, trailing whitespace: harmless (the WSL/Windows case).
    EolOnly,
    /// The text differs, the graph identifiers do not.
    ContentDiffers,
    /// `down_revision`, `branch_labels` or `depends_on` differ.
    GraphDiffers,
    OnlyLeft,
    OnlyRight,
}

impl Status {
    pub fn describe(self) -> &'static str {
        match self {
            Status::Identical => "identical",
            Status::EolOnly => "line endings / whitespace only",
            Status::ContentDiffers => "content differs",
            Status::GraphDiffers => "graph differs",
            Status::OnlyLeft => "only on LEFT",
            Status::OnlyRight => "only on RIGHT",
        }
    }
}

/// A graph identifier that differs between the two copies of a revision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GraphChange {
    /// `down_revision`, `branch_labels` or `depends_on`.
    pub field: &'static str,
    pub left: Vec<String>,
    pub right: Vec<String>,
}

/// One file of a compared revision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileRef {
    pub path: PathBuf,
    /// Relative to its version location.
    pub name: PathBuf,
    #[serde(skip)]
    pub index: usize,
}

/// One revision (or, for a file with no readable id, one file name) across the two sides.
#[derive(Debug, Clone, Serialize)]
pub struct RevisionDiff {
    /// The revision id; for a file Alembic cannot read an id from, its file name.
    pub revision: String,
    /// The message (first docstring paragraph), from left when both have one.
    pub message: String,
    pub status: Status,
    pub left: Option<FileRef>,
    pub right: Option<FileRef>,
    /// Same revision id under different file names.
    pub renamed: bool,
    /// For [`Status::EolOnly`]: what differs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cosmetic: Vec<Cosmetic>,
    /// For [`Status::GraphDiffers`]: which identifiers.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub graph: Vec<GraphChange>,
}

/// Heads, bases and load state of one side.
#[derive(Debug, Clone, Serialize)]
pub struct SideSummary {
    pub label: String,
    pub source: Source,
    pub version_locations: Vec<PathBuf>,
    pub revisions: usize,
    pub heads: Vec<String>,
    pub bases: Vec<String>,
    pub alembic_error: Option<ErrorReport>,
    pub warnings: Vec<String>,
}

impl SideSummary {
    fn of(side: &Side) -> SideSummary {
        let map = &side.map;
        SideSummary {
            label: side.label.clone(),
            source: side.source.clone(),
            version_locations: side.version_locations.clone(),
            revisions: side.revision_count(),
            heads: map.ids(map.heads()),
            bases: map.ids(map.bases()),
            alembic_error: map.alembic_error().map(|e| e.report()),
            warnings: side.warnings.clone(),
        }
    }
}

/// What merging both sides would give.
#[derive(Debug, Clone, Serialize)]
pub struct UnionReport {
    pub revisions: usize,
    pub heads: Vec<String>,
    pub bases: Vec<String>,
    pub errors: usize,
    pub warnings: usize,
    pub diagnostics: Vec<Diagnostic>,
    pub alembic_error: Option<ErrorReport>,
}

impl UnionReport {
    /// The CI verdict: merging is fine when the union has no error-level finding. (Several heads
    /// are an error unless `[tool.migscope] branches` declares them.)
    pub fn is_clean(&self) -> bool {
        self.errors == 0
    }
}

/// The whole comparison.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub left: SideSummary,
    pub right: SideSummary,
    /// Count per status (identical included), and renamed files.
    pub counts: Counts,
    /// Every revision that is not byte-identical under the same name: left's load order, then
    /// right-only revisions in right's load order.
    pub revisions: Vec<RevisionDiff>,
    pub union: UnionReport,
    /// Revisions only left has: a database stamped at one of them is unknown to right (Alembic:
    /// "Can't locate revision identified by ...").
    pub unknown_to_right: Vec<String>,
    pub unknown_to_left: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Counts {
    pub identical: usize,
    pub eol_only: usize,
    pub content_differs: usize,
    pub graph_differs: usize,
    pub only_left: usize,
    pub only_right: usize,
    pub renamed: usize,
}

impl Comparison {
    /// No revision is missing or different (cosmetic differences and renames aside).
    pub fn is_equivalent(&self) -> bool {
        let c = &self.counts;
        c.content_differs + c.graph_differs + c.only_left + c.only_right == 0
    }

    pub fn find(&self, rev: &str) -> Vec<&RevisionDiff> {
        let exact: Vec<&RevisionDiff> = self
            .revisions
            .iter()
            .filter(|d| d.revision == rev)
            .collect();
        if !exact.is_empty() {
            return exact;
        }
        self.revisions
            .iter()
            .filter(|d| d.revision.starts_with(rev))
            .collect()
    }
}

/// How a file takes part in matching: by revision id, or by file name when it has no readable id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Id(String),
    File(PathBuf),
}

/// Compares two sides, revision by revision.
pub fn compare(pair: &Pair) -> Comparison {
    let (left, right) = (&pair.left, &pair.right);
    let (lk, rk) = (&left.keys, &right.keys);
    let l_index: HashMap<&Key, usize> = lk
        .iter()
        .enumerate()
        .filter(|(_, (_, main))| *main)
        .map(|(i, (k, _))| (k, i))
        .collect();
    let r_index: HashMap<&Key, usize> = rk
        .iter()
        .enumerate()
        .filter(|(_, (_, main))| *main)
        .map(|(i, (k, _))| (k, i))
        .collect();

    let mut counts = Counts::default();
    let pairs: Vec<(Option<usize>, Option<usize>, &Key)> = lk
        .iter()
        .enumerate()
        .filter(|(_, (_, main))| *main)
        .map(|(i, (k, _))| (Some(i), r_index.get(k).copied(), k))
        .chain(
            rk.iter()
                .enumerate()
                .filter(|(_, (k, main))| *main && !l_index.contains_key(k))
                .map(|(j, (k, _))| (None, Some(j), k)),
        )
        .collect();
    let diffs: Vec<Option<RevisionDiff>> = pairs
        .par_iter()
        .map(|&(l, r, key)| compare_pair(left, right, l, r, key))
        .collect();
    let mut revisions = Vec::new();
    let (mut unknown_to_right, mut unknown_to_left) = (Vec::new(), Vec::new());
    for (d, (_, _, key)) in diffs.into_iter().zip(&pairs) {
        let Some(d) = d else {
            counts.identical += 1;
            continue;
        };
        match d.status {
            Status::Identical => counts.identical += 1,
            Status::EolOnly => counts.eol_only += 1,
            Status::ContentDiffers => counts.content_differs += 1,
            Status::GraphDiffers => counts.graph_differs += 1,
            Status::OnlyLeft => counts.only_left += 1,
            Status::OnlyRight => counts.only_right += 1,
        }
        if d.renamed {
            counts.renamed += 1;
        }
        // Only real ids can be stamped in a database; an unreadable file has none.
        if let Key::Id(id) = key {
            match d.status {
                Status::OnlyLeft => unknown_to_right.push(id.clone()),
                Status::OnlyRight => unknown_to_left.push(id.clone()),
                _ => {}
            }
        }
        revisions.push(d);
    }
    let union = pair.union_report.clone();
    Comparison {
        left: SideSummary::of(left),
        right: SideSummary::of(right),
        counts,
        revisions,
        union,
        unknown_to_right,
        unknown_to_left,
    }
}

/// The revision diff of one matched key, and whether it is byte-identical under the same name.
/// The revision diff of one matched key; `None` when the two files are identical under the same
/// name (most of them: nothing is allocated for those).
fn compare_pair(
    left: &Side,
    right: &Side,
    l: Option<usize>,
    r: Option<usize>,
    key: &Key,
) -> Option<RevisionDiff> {
    if let (Some(i), Some(j)) = (l, r) {
        let (a, b) = (&left.files[i], &right.files[j]);
        if a.fingerprint == b.fingerprint && a.rel == b.rel {
            return None;
        }
    }
    let file_ref = |side: &Side, i: usize| FileRef {
        path: side.map.records[i].path.clone(),
        name: side.files[i].rel.clone(),
        index: i,
    };
    let message = |side: &Side, i: usize| {
        side.map.records[i]
            .docstring
            .as_ref()
            .map(|d| d.message.clone())
            .unwrap_or_default()
    };
    let revision = match key {
        Key::Id(id) => id.clone(),
        Key::File(f) => f.display().to_string(),
    };
    let mut d = RevisionDiff {
        revision,
        message: String::new(),
        status: Status::Identical,
        left: l.map(|i| file_ref(left, i)),
        right: r.map(|j| file_ref(right, j)),
        renamed: false,
        cosmetic: Vec::new(),
        graph: Vec::new(),
    };
    let (i, j) = match (l, r) {
        (Some(i), Some(j)) => (i, j),
        (Some(i), None) => {
            d.status = Status::OnlyLeft;
            d.message = message(left, i);
            return Some(d);
        }
        (None, Some(j)) => {
            d.status = Status::OnlyRight;
            d.message = message(right, j);
            return Some(d);
        }
        (None, None) => unreachable!("a key comes from one side"),
    };
    d.message = message(left, i);
    d.renamed = left.files[i].rel != right.files[j].rel;
    if left.files[i].fingerprint == right.files[j].fingerprint {
        return Some(d);
    }
    if let Key::Id(id) = key {
        d.graph = graph_changes(left, right, id);
    }
    d.status = if !d.graph.is_empty() {
        Status::GraphDiffers
    } else {
        // Only differing pairs are read again; an unreadable one simply counts as different.
        let cosmetic = match (left.bytes(i), right.bytes(j)) {
            (Ok(a), Ok(b)) => diff::cosmetic_difference(&a, &b),
            _ => None,
        };
        match cosmetic {
            Some(kinds) => {
                d.cosmetic = kinds;
                Status::EolOnly
            }
            None => Status::ContentDiffers,
        }
    };
    Some(d)
}

fn graph_changes(left: &Side, right: &Side, id: &str) -> Vec<GraphChange> {
    let (Some(li), Some(ri)) = (left.map.get(id), right.map.get(id)) else {
        return Vec::new();
    };
    let (a, b) = (left.map.rev(li), right.map.rev(ri));
    [
        ("down_revision", &a.down, &b.down),
        ("branch_labels", &a.own_labels, &b.own_labels),
        ("depends_on", &a.depends_on, &b.depends_on),
    ]
    .into_iter()
    .filter(|(_, x, y)| x != y)
    .map(|(field, x, y)| GraphChange {
        field,
        left: x.clone(),
        right: y.clone(),
    })
    .collect()
}

fn union_report(map: &RevisionMap, branches: &[String]) -> UnionReport {
    let diagnostics = diagnose::diagnose(
        map,
        &Expectations {
            branches: branches.to_vec(),
        },
    );
    UnionReport {
        revisions: map.revisions().iter().filter(|r| !r.phantom).count(),
        heads: map.ids(map.heads()),
        bases: map.ids(map.bases()),
        errors: diagnose::count(&diagnostics, Severity::Error),
        warnings: diagnose::count(&diagnostics, Severity::Warning),
        diagnostics,
        alembic_error: map.alembic_error().map(|e| e.report()),
    }
}

/// A unified diff of a compared revision's two files (`None` when one side lacks it). Empty when
/// they differ only cosmetically.
pub fn revision_diff(
    d: &RevisionDiff,
    left: &Side,
    right: &Side,
    context: usize,
) -> Option<std::io::Result<String>> {
    let (l, r) = (d.left.as_ref()?, d.right.as_ref()?);
    let read = || -> std::io::Result<String> {
        Ok(diff::unified(
            &left.bytes(l.index)?,
            &right.bytes(r.index)?,
            &l.path.display().to_string(),
            &r.path.display().to_string(),
            context,
        ))
    };
    Some(read())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_tell_contents_apart() {
        let base: Vec<u8> = (0..1000u32).map(|i| (i * 7 % 251) as u8).collect();
        let f = Fingerprint::of(&base);
        assert_eq!(f, Fingerprint::of(&base.clone()));
        assert_eq!(f.len, 1000);
        // Every single-byte change, at every position (block and tail), changes the hash.
        for i in 0..base.len() {
            let mut changed = base.clone();
            changed[i] ^= 1;
            assert_ne!(Fingerprint::of(&changed).hash, f.hash, "byte {i}");
        }
        // Trailing zeros are not padding.
        assert_ne!(Fingerprint::of(b"abc"), Fingerprint::of(b"abc\0"));
        assert_ne!(Fingerprint::of(b"").hash, Fingerprint::of(b"\0").hash);
        // Swapped blocks differ.
        let (a, b) = (b"0123456789abcdef", b"fedcba9876543210");
        let ab: Vec<u8> = a.iter().chain(b.iter()).copied().collect();
        let ba: Vec<u8> = b.iter().chain(a.iter()).copied().collect();
        assert_ne!(Fingerprint::of(&ab), Fingerprint::of(&ba));
    }

    #[test]
    fn side_specs() {
        let mnt = Path::new("/nonexistent-mount-root");
        assert_eq!(
            SideSpec::parse_with_mount_root("git:origin/main", mnt),
            SideSpec::Git("origin/main".into())
        );
        let spec = SideSpec::parse_with_mount_root(r"D:\genAI\app\backend", mnt);
        if cfg!(windows) {
            return;
        }
        assert_eq!(
            spec,
            SideSpec::Path {
                path: mnt.join("d/genAI/app/backend"),
                typed: Some(r"D:\genAI\app\backend".into()),
            }
        );
        assert!(
            spec.to_string()
                .contains("(= /nonexistent-mount-root/d/genAI/app/backend)")
        );
        assert_eq!(
            SideSpec::parse_with_mount_root("/tmp", mnt),
            SideSpec::Path {
                path: PathBuf::from("/tmp"),
                typed: None
            }
        );
    }
}
