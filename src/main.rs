//! The `psconform` binary: everything lives in the library; `main` only returns the exit code.

fn main() -> std::process::ExitCode {
    psconform::cli::main()
}
