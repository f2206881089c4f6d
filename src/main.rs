//! The `migscope` binary: a thin front end over the library.

mod cli;

// Reading a large project allocates hundreds of thousands of small strings from two threads;
// glibc's allocator spent a fifth of a 10,000-revision `check` in malloc/free.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    cli::main()
}
