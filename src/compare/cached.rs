//! A directory side's records and fingerprints through the record cache: comparing two large
//! checkouts would otherwise read every byte of both, which `check` no longer does.

use std::path::{Path, PathBuf};

use super::Fingerprint;
use crate::cache::{self, Kind};
use crate::revision::{self, ReadIssue, RevisionRecord, codec};

/// Bumped with the layout below (or the record codec's).
const FORMAT: u32 = 0x0300_0000 + codec::FORMAT;

const SIDE: Kind<(RevisionRecord, Fingerprint)> = Kind {
    format: FORMAT,
    read,
    encode,
    decode,
    keep: |(r, _)| !r.issues.iter().any(|i| matches!(i, ReadIssue::Io { .. })),
};

/// Each file's record and fingerprint, or None when the side is too small for the cache or the
/// cache is off.
pub(super) fn load(
    paths: &[PathBuf],
    locations: &[PathBuf],
) -> Option<Vec<(RevisionRecord, Fingerprint)>> {
    let env = |k: &str| std::env::var(k).ok();
    if paths.len() < cache::min_files_from_env(env, cache::MIN_FILES) {
        return None;
    }
    let dir = cache::dir_from_env(env)?;
    let locations: Vec<PathBuf> = locations
        .iter()
        .map(|l| std::path::absolute(l).unwrap_or_else(|_| l.clone()))
        .collect();
    let file = cache::file_for(&dir, "compare", &locations, false);
    Some(cache::load(paths, &file, &SIDE).0)
}

/// What an uncached directory side does with a file: an unreadable one is fingerprinted as
/// empty and described by the reader.
fn read(path: &Path) -> (RevisionRecord, Fingerprint) {
    match std::fs::read(path) {
        Ok(bytes) => (
            revision::read::read_source(path, &bytes),
            Fingerprint::of(&bytes),
        ),
        Err(_) => (revision::read_file(path), Fingerprint::of(b"")),
    }
}

fn encode((record, fp): &(RevisionRecord, Fingerprint), out: &mut Vec<u8>) {
    out.extend_from_slice(&fp.len.to_le_bytes());
    out.extend_from_slice(&fp.hash.to_le_bytes());
    codec::encode(record, out);
}

fn decode(b: &[u8]) -> Option<(RevisionRecord, Fingerprint)> {
    let len = u64::from_le_bytes(b.get(..8)?.try_into().ok()?);
    let hash = u128::from_le_bytes(b.get(8..24)?.try_into().ok()?);
    Some((codec::decode(&b[24..])?, Fingerprint { len, hash }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo/migrations/versions");
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let value = read(&path);
            let mut buf = Vec::new();
            encode(&value, &mut buf);
            assert_eq!(decode(&buf), Some(value));
            assert_eq!(decode(&buf[..20]), None);
        }
    }
}
