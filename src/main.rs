//! The `migscope` binary: a thin front end over the library.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
