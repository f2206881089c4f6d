//! A project on disk, read once: its configuration, its revision files in load order, and the map.

use std::path::PathBuf;

use rayon::prelude::*;

use crate::cache;
use crate::config::{self, ConfigError, ConfigOptions, ProjectConfig};
use crate::discover;
use crate::graph::RevisionMap;
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
    if files.len() >= cache::min_files_from_env(env)
        && let Some(dir) = cache::dir_from_env(env)
    {
        let locations: Vec<PathBuf> = config
            .version_locations
            .iter()
            .map(|l| std::path::absolute(l).unwrap_or_else(|_| l.clone()))
            .collect();
        let file = cache::file_for(&dir, &locations, config.recursive);
        let (records, stats) = cache::read_all(files, &file);
        return (records, Some(stats));
    }
    (read_all(files), None)
}

/// Reads files in parallel, keeping load order (Alembic's tie-breaker everywhere).
pub fn read_all(files: &[PathBuf]) -> Vec<RevisionRecord> {
    files.par_iter().map(|f| revision::read_file(f)).collect()
}
