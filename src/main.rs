//! The `psconform` binary: everything lives in the library; `main` only returns the exit code.
//!
//! The system allocator: mimalloc served the same run in the same CPU time at twice the
//! resident memory (its arenas are backed by transparent huge pages; bench/README.md has the
//! figures).

fn main() -> std::process::ExitCode {
    psconform::cli::main()
}
