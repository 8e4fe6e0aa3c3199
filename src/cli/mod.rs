//! The command line: `args` (clap structs), `config` (the checked configuration of `run`),
//! `run` (`psconform run`, wired), `commands` (the commands that send nothing), `cleanup`
//! (`psconform cleanup`, the sweep of what runs left) and `export`
//! (what psconform hands out: the suite, the OpenAPI document, completions, man pages). `main`
//! parses, dispatches and maps the outcome to an exit code, nothing else.

pub mod args;
pub mod cleanup;
pub mod commands;
pub mod config;
pub mod export;
pub mod run;

use std::process::ExitCode;

use clap::Parser as _;

use crate::result::Exit;
use args::{Cli, Command};
use config::RunConfig;

/// Parses the command line and runs it. `main` returns what this returns.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { Exit::Invalid.into() } else { Exit::Passed.into() };
        }
    };
    crate::logging::init(cli.verbose);
    match cli.command {
        Command::Run(args) => match RunConfig::from_args(*args) {
            Ok(config) => run::run(config).into(),
            Err(e) => {
                anstream::eprintln!("error: {e}");
                Exit::Invalid.into()
            }
        },
        Command::List(args) => commands::list(&args).into(),
        Command::Validate(args) => commands::validate(&args).into(),
        Command::Serve(args) => crate::simulator::serve(args),
        Command::Drift(args) => commands::drift(&args).into(),
        Command::Coverage(args) => commands::coverage(&args).into(),
        Command::Schema => commands::out(&crate::case::schema::render()).into(),
        Command::Cleanup(args) => cleanup::cleanup(&args).into(),
        Command::Init(args) => export::init(&args).into(),
        Command::Openapi(args) => export::openapi(&args).into(),
        Command::Completions { shell } => export::completions(shell).into(),
        Command::Man(args) => export::man(&args).into(),
    }
}
