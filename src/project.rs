//! A project on disk, read once: its configuration, its revision files in load order, and the map.

use std::path::PathBuf;

use rayon::prelude::*;

use crate::cache;
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
        let discovery = discover::revision_files(&config.version_locations, config.recursive);
        let t1 = std::time::Instant::now();
        let (records, cache_stats) = read_cached(&config, &discovery.files);
        let t2 = std::time::Instant::now();
        let map = RevisionMap::build(records);
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
        Project {
            map,
            config,
            discovery_warnings: discovery.warnings,
            missing_locations: discovery.missing_locations,
        }
    }
}

/// Reads through the record cache when the project is large enough for it to pay.
fn read_cached(
    config: &ProjectConfig,
    files: &[PathBuf],
) -> (Vec<RevisionRecord>, Option<cache::Stats>) {
    let env = |k: &str| std::env::var(k).ok();
    if files.len() >= cache::min_files_from_env(env, cache::MIN_FILES)
        && let Some(dir) = cache::dir_from_env(env)
    {
        let file = cache_file(config, &dir, "records");
        let (records, stats) = cache::read_all(files, &file);
        return (records, Some(stats));
    }
    (read_all(files), None)
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
                let entries = read.iter().map(|(read, raw)| raw.unwrap_or(read));
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
