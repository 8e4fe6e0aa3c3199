//! The `psconform` binary: everything lives in the library; `main` only returns the exit code.

/// Runs allocate many small values per step (outcomes, shapes, redacted strings): mimalloc
/// serves them faster than the system allocator (measured in bench/README.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    psconform::cli::main()
}
