//! The `psconform` binary. This minimal version only dispatches `psconform serve`; the full
//! command line replaces it.

use std::process::ExitCode;

use clap::Parser;

#[derive(Parser, Debug)]
#[command(
    name = "psconform",
    version,
    about = "Conformance runner for the BeyondTrust Password Safe public API v3"
)]
enum Cli {
    /// Run the built-in Password Safe simulator.
    Serve(psconform::simulator::ServeArgs),
}

fn main() -> ExitCode {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .try_init();
    match Cli::parse() {
        Cli::Serve(args) => psconform::simulator::serve(args),
    }
}
