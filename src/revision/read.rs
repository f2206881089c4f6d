//! Reading a revision file into a [`RevisionRecord`]. (Placeholder: being written.)
use std::path::Path;

use super::RevisionRecord;

pub fn read_file(path: &Path) -> RevisionRecord {
    let _ = path;
    unimplemented!("revision reader")
}
