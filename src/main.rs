//! The `migscope` binary: a thin front end over the library.

mod cli;

// Reading a large project allocates hundreds of thousands of small strings from two threads;
// glibc's allocator spent a fifth of a 10,000-revision `check` in malloc/free. Built without
// transparent huge pages (`no_thp`): with them, 2 MiB pages doubled the explorer's resident
// memory at 10,000 revisions for no measurable speed.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    cli::main()
}
