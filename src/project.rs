//! A project on disk, read once: its configuration, its revision files in load order, and the map.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use rayon::prelude::*;

use crate::cache::{self, FileKey};
use crate::config::{self, ConfigError, ConfigOptions, ProjectConfig};
use crate::diagnose::{self, Diagnostic, Expectations, Severity};
use crate::discover;
use crate::graph::RevisionMap;
use crate::revision::ops::{self, OpsStore};
use crate::revision::{self, RevisionRecord};

#[derive(Debug)]
pub struct Project {
    pub config: ProjectConfig,
    pub map: RevisionMap,
    /// Alembic's discovery warnings ("loaded twice").
    pub discovery_warnings: Vec<String>,
    /// Configured version locations that do not exist (Alembic skips them silently).
    pub missing_locations: Vec<PathBuf>,
    /// Each record's file (`map.records` order) as stat'ed before it was read; None when it
    /// could not be, or had changed too recently for the key to tell a later change apart
    /// ([`cache::SETTLE`]). What [`Project::reload`] keeps records by.
    keys: Vec<Option<FileKey>>,
}

impl Project {
    /// Resolves the configuration and reads every revision file.
    pub fn load(opts: &ConfigOptions) -> Result<Project, ConfigError> {
        let config = config::load(opts)?;
        Ok(Self::from_config(config))
    }

    /// Reads the revision files a resolved configuration points at.
    pub fn from_config(config: ProjectConfig) -> Project {
        let timing = std::env::var_os("MIGSCOPE_TIMING").is_some();
        let t0 = std::time::Instant::now();
        let started = SystemTime::now();
        let discovery = discover::revision_files(&config.version_locations, config.recursive);
        let t1 = std::time::Instant::now();
        let (read, cache_stats) = read_cached(&config, &discovery.files);
        let t2 = std::time::Instant::now();
        let (records, keys) = read.into_iter().map(|(r, k)| (Arc::new(r), k)).unzip();
        let project = Project::assemble(config, discovery, records, keys, started);
        if timing {
            // Phase timings for benchmarking, on stderr so outputs stay comparable.
            eprintln!(
                "timing: discover {:?}, read {:?}, build {:?}",
                t1 - t0,
                t2 - t1,
                t2.elapsed()
            );
            if let Some(s) = cache_stats {
                eprintln!(
                    "cache: {} hits, {} misses{}",
                    s.hits,
                    s.misses,
                    if s.written { ", rewritten" } else { "" }
                );
            }
        }
        project
    }

    /// Reads the project again after its files changed, keeping the record of every file whose
    /// stat key is what it was: an edit reads one file, and the two projects share the rest
    /// while both are alive (a reload at 10,000 revisions held every record twice, and read the
    /// whole record cache to get them). The configuration is read again too.
    pub fn reload(&self, opts: &ConfigOptions) -> Result<Project, ConfigError> {
        let config = config::load(opts)?;
        let started = SystemTime::now();
        let discovery = discover::revision_files(&config.version_locations, config.recursive);
        let old: HashMap<&Path, usize> = (self.map.records.iter().enumerate())
            .map(|(i, r)| (r.path.as_path(), i))
            .collect();
        let (records, keys) = discovery
            .files
            .par_iter()
            .map(|f| {
                let key = FileKey::of(f);
                if let Some(&i) = old.get(f.as_path())
                    && key.is_some()
                    && self.keys[i] == key
                {
                    return (Arc::clone(&self.map.records[i]), key);
                }
                (Arc::new(revision::read_file(f)), key)
            })
            .unzip();
        Ok(Project::assemble(config, discovery, records, keys, started))
    }

    fn assemble(
        config: ProjectConfig,
        discovery: discover::Discovery,
        records: Vec<Arc<RevisionRecord>>,
        keys: Vec<Option<FileKey>>,
        started: SystemTime,
    ) -> Project {
        let settled = started
            .checked_sub(cache::SETTLE)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let keys = (keys.into_iter())
            .map(|k| k.filter(|k| k.settled_before(settled)))
            .collect();
        Project {
            map: RevisionMap::build_shared(records),
            config,
            discovery_warnings: discovery.warnings,
            missing_locations: discovery.missing_locations,
            keys,
        }
    }
}

/// Reads through the record cache when the project is large enough for it to pay; each record
/// with its file's stat key.
fn read_cached(
    config: &ProjectConfig,
    files: &[PathBuf],
) -> (Vec<(RevisionRecord, Option<FileKey>)>, Option<cache::Stats>) {
    let env = |k: &str| std::env::var(k).ok();
    if files.len() >= cache::min_files_from_env(env, cache::MIN_FILES)
        && let Some(dir) = cache::dir_from_env(env)
    {
        let file = cache_file(config, &dir, "records");
        let (records, stats) = cache::read_all(files, &file);
        return (records, Some(stats));
    }
    let read = files.par_iter().map(|f| {
        let key = FileKey::of(f);
        (revision::read_file(f), key)
    });
    (read.collect(), None)
}

fn cache_file(config: &ProjectConfig, dir: &std::path::Path, kind: &str) -> PathBuf {
    let locations: Vec<PathBuf> = config
        .version_locations
        .iter()
        .map(|l| std::path::absolute(l).unwrap_or_else(|_| l.clone()))
        .collect();
    cache::file_for(dir, kind, &locations, config.recursive)
}

/// Which migration functions' operations to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpsScope {
    /// `upgrade()` only: what schema evidence and upgrade preflights need.
    Upgrade,
    /// `upgrade()` and `downgrade()`.
    Both,
}

/// The cache's entries are the store's: each revision's report, encoded ([`ops::codec`]). An
/// entry is decoded once when read back, so a damaged one is read from its file again; a good
/// one decodes to nothing, the store taking its bytes from the cache file
/// ([`cache::load_then`]) rather than from a copy of each (5 MB at 10,000 revisions).
const fn ops_kind(format: u32, read: fn(&std::path::Path) -> Vec<u8>) -> cache::Kind<Vec<u8>> {
    cache::Kind {
        format,
        read,
        encode: |v, out| out.extend_from_slice(v),
        decode: |b| ops::codec::decode(b).map(|_| Vec::new()),
        keep: |_| true,
    }
}

const UPGRADE_OPS: cache::Kind<Vec<u8>> = ops_kind(0x0100_0100 | ops::codec::FORMAT, |p| {
    ops::codec::to_vec(&ops::read_upgrade_ops_file(p))
});

const ALL_OPS: cache::Kind<Vec<u8>> = ops_kind(0x0200_0100 | ops::codec::FORMAT, |p| {
    ops::codec::to_vec(&ops::read_ops_file(p))
});

impl Project {
    /// The branches the project declares (`[tool.migscope] branches`) plus `extra` (`--branches`).
    pub fn expectations(&self, extra: &[String]) -> Expectations {
        let mut branches = self.config.migscope.branches.clone();
        branches.extend(extra.iter().cloned());
        Expectations { branches }
    }

    /// Every diagnostic `migscope check` reports for the project itself, Alembic's discovery
    /// warnings ("loaded twice") included.
    pub fn diagnostics(&self, extra_branches: &[String]) -> Vec<Diagnostic> {
        let mut diags = diagnose::diagnose(&self.map, &self.expectations(extra_branches));
        diags.extend(self.discovery_warnings.iter().map(|w| Diagnostic {
            code: "file-loaded-twice",
            severity: Severity::Warning,
            message: w.clone(),
            revision: None,
            file: None,
            line: None,
            column: None,
            fix: "List each versions directory once in version_locations".into(),
        }));
        diags
    }

    /// Every revision's operations ([`crate::evidence::load_ops`]), through the cache for
    /// projects of [`cache::MIN_OPS_FILES`] files or more: parsing every `upgrade()` is most of
    /// `migscope status`.
    pub fn ops(&self, scope: OpsScope) -> OpsStore {
        let env = |k: &str| std::env::var(k).ok();
        let map = &self.map;
        if map.len() >= cache::min_files_from_env(env, cache::MIN_OPS_FILES)
            && let Some(dir) = cache::dir_from_env(env)
        {
            let (kind, name) = match scope {
                OpsScope::Upgrade => (&UPGRADE_OPS, "upgrade-ops"),
                OpsScope::Both => (&ALL_OPS, "ops"),
            };
            let files: Vec<&std::path::Path> = (0..map.len())
                .map(|i| map.record_of(i).path.as_path())
                .collect();
            let file = cache_file(&self.config, &dir, name);
            let (store, stats) = cache::load_then(&files, &file, kind, |read| {
                let entries = read.iter().map(|(read, _, raw)| raw.unwrap_or(read));
                OpsStore::from_encoded(entries)
            });
            if std::env::var_os("MIGSCOPE_TIMING").is_some() {
                eprintln!(
                    "cache ({name}): {} hits, {} misses{}",
                    stats.hits,
                    stats.misses,
                    if stats.written { ", rewritten" } else { "" }
                );
            }
            return store;
        }
        match scope {
            OpsScope::Upgrade => crate::evidence::load_upgrade_ops(map),
            OpsScope::Both => crate::evidence::load_ops(map),
        }
    }
}

/// Reads files in parallel, keeping load order (Alembic's tie-breaker everywhere).
pub fn read_all(files: &[PathBuf]) -> Vec<RevisionRecord> {
    files.par_iter().map(|f| revision::read_file(f)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, id: &str, down: &str, message: &str) {
        let text = format!(
            "\"\"\"{message}\"\"\"\nrevision = '{id}'\ndown_revision = {down}\n\n\ndef upgrade():\n    pass\n"
        );
        std::fs::write(dir.join(format!("{id}.py")), text).unwrap();
    }

    #[test]
    fn a_reload_keeps_the_records_of_unchanged_files_and_reads_the_rest() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("versions");
        std::fs::create_dir(&dir).unwrap();
        write(&dir, "a1", "None", "first");
        write(&dir, "b2", "'a1'", "second");
        write(&dir, "c3", "'b2'", "third");
        // Keys of files changed within SETTLE of a read are not trusted: let them age.
        std::thread::sleep(cache::SETTLE + std::time::Duration::from_millis(100));
        let mut opts = ConfigOptions::new(tmp.path());
        opts.dirs = vec![dir.clone()];
        let p0 = Project::load(&opts).unwrap();

        write(&dir, "b2", "'a1'", "second, edited");
        write(&dir, "d4", "'c3'", "fourth");
        let p1 = p0.reload(&opts).unwrap();
        let rec = |p: &Project, id: &str| Arc::clone(&p.map.records[p.map.get(id).unwrap()]);
        assert!(
            Arc::ptr_eq(&rec(&p0, "a1"), &rec(&p1, "a1")),
            "unchanged: kept"
        );
        assert!(Arc::ptr_eq(&rec(&p0, "c3"), &rec(&p1, "c3")));
        assert!(
            !Arc::ptr_eq(&rec(&p0, "b2"), &rec(&p1, "b2")),
            "edited: read again"
        );
        assert_eq!(
            p1.map.rev(p1.map.get("b2").unwrap()).message,
            "second, edited"
        );
        assert_eq!(p1.map.ids(p1.map.heads()), ["d4"]);

        // The same as reading it from scratch.
        let fresh = Project::load(&opts).unwrap();
        let paths = |p: &Project| -> Vec<PathBuf> {
            p.map.records.iter().map(|r| r.path.clone()).collect()
        };
        assert_eq!(paths(&p1), paths(&fresh));
        assert_eq!(p1.map.records, fresh.map.records);

        // Just written, b2's and d4's keys cannot be trusted yet: read again, a1 still kept.
        let p2 = p1.reload(&opts).unwrap();
        assert!(!Arc::ptr_eq(&rec(&p1, "d4"), &rec(&p2, "d4")));
        assert!(Arc::ptr_eq(&rec(&p0, "a1"), &rec(&p2, "a1")));
    }
}
