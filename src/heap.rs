//! Giving freed memory back to the system, for the explorer, which stays open and replaces
//! large structures (a reloaded project, a new database reading) built on other threads.
//!
//! The allocator is the binary's choice, so the library holds only a hook the binary sets. With
//! mimalloc, a block freed by a thread other than the one that allocated it waits on its owner's
//! list until the owner allocates again: the evidence and records built on rayon's threads and
//! dropped by the explorer stayed resident until the next parallel job.

use std::sync::OnceLock;

static TRIM: OnceLock<fn()> = OnceLock::new();

/// Sets what [`trim`] runs on each thread (once; later calls are ignored).
pub fn set_trim(f: fn()) {
    let _ = TRIM.set(f);
}

/// Returns what this thread has freed, and asks rayon's workers to do the same without
/// waiting for them (they may be busy with a long job: the explorer's thread must not stall).
/// Nothing without a hook.
pub fn trim() {
    if let Some(&f) = TRIM.get() {
        rayon::spawn_broadcast(move |_| f());
        f();
    }
}
