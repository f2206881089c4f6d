//! The `migscope` binary: a thin front end over the library.

mod cli;

// Reading a large project allocates hundreds of thousands of small strings from two threads;
// glibc's allocator spent a fifth of a 10,000-revision `check` in malloc/free. Built without
// transparent huge pages (`no_thp`): with them, 2 MiB pages doubled the explorer's resident
// memory at 10,000 revisions for no measurable speed.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc.h (the sys crate names no constant for it).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// For the explorer, which stays open: memory freed is given back at once instead of after
/// 10 ms. Its database worker frees what one phase computed (on several threads) just before
/// the next phase allocates; with the delay both were resident, 10 MiB above the peak of live
/// data at 10,000 revisions. One-shot commands keep the delay: purging at once made a
/// 10,000-revision `check` 13% slower.
///
/// Also sets [`migscope::heap::trim`] to collect each thread's frees (`mi_collect`).
pub(crate) fn return_freed_memory_at_once() {
    // SAFETY: mimalloc allows setting an option at any time; the value is a plain integer.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) };
    // SAFETY: mi_collect only walks and frees the calling thread's own heap.
    migscope::heap::set_trim(|| unsafe { libmimalloc_sys::mi_collect(true) });
}

fn main() -> std::process::ExitCode {
    cli::main()
}
