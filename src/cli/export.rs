//! The commands that hand out what psconform knows, for use outside it: `init` (the built-in
//! suite written out to start one's own), `openapi` (the API as an OpenAPI 3.1 document),
//! `completions` (shell completion scripts) and `man` (the manual pages), the last two
//! generated from the clap definitions so they never disagree with `--help`. They send
//! nothing and decide nothing about a run.

use std::path::Path;

use clap::CommandFactory as _;

use super::args::{Cli, InitArgs, ManArgs, OpenapiArgs};
use super::commands::{announce, env_redactor, load_exercised, out};
use crate::coverage::{Catalog, Coverage, requests};
use crate::result::Exit;

/// `psconform init DIR`: the built-in cases and contracts written below `DIR`.
pub fn init(args: &InitArgs) -> Exit {
    match crate::suite::write_out(&args.dir, args.force) {
        Ok(n) => {
            let dir = args.dir.display();
            anstream::eprintln!(
                "init: wrote {n} files of the built-in suite into {dir}/cases and {dir}/snapshots; run them with `psconform run` from {dir}, or `psconform run --cases {dir}/cases`"
            );
            Exit::Passed
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            anstream::eprintln!("error: {e}; nothing was written");
            Exit::Invalid
        }
        Err(e) => {
            anstream::eprintln!("error: cannot write the suite: {e}");
            Exit::OutputFailed
        }
    }
}

/// `psconform openapi`: the document, on standard output or into `--output`. Whether each
/// operation is covered comes from the cases the other commands would read.
pub fn openapi(args: &OpenapiArgs) -> Exit {
    let cases = args.cases.clone().unwrap_or_else(crate::suite::default_cases);
    announce(&cases);
    let exercised = match load_exercised(std::slice::from_ref(&cases), &env_redactor()) {
        Ok(c) => c,
        Err(e) => return e,
    };
    let catalog = match Catalog::shared() {
        Ok(c) => c,
        Err(e) => {
            anstream::eprintln!("error: {e}");
            return Exit::Invalid;
        }
    };
    let covered: crate::openapi::Covered = Coverage::of_exercised(catalog, requests(&exercised), [])
        .endpoints
        .iter()
        .filter(|e| e.covered())
        .map(|e| (e.method.to_ascii_uppercase(), e.route.clone()))
        .collect();
    let document = crate::openapi::document(catalog, &covered);
    let text = serde_json::to_string_pretty(&document).unwrap_or_default() + "\n";
    write(args.output.as_deref(), &text)
}

/// `psconform completions SHELL`: the completion script, on standard output.
pub fn completions(shell: clap_complete::Shell) -> Exit {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "psconform", &mut script);
    out(&String::from_utf8_lossy(&script))
}

/// `psconform man`: the page of `psconform` on standard output, or with `--dir` one page per
/// command (`psconform.1`, `psconform-run.1`, …) written into the folder.
pub fn man(args: &ManArgs) -> Exit {
    let cmd = Cli::command();
    let Some(dir) = &args.dir else {
        return match render(cmd) {
            Ok(page) => out(&page),
            Err(e) => fail(&e),
        };
    };
    if let Err(e) = std::fs::create_dir_all(dir) {
        return fail(&format!("cannot create {}: {e}", dir.display()));
    }
    let mut pages = vec![("psconform".to_owned(), cmd.clone())];
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        let name = format!("psconform-{}", sub.get_name());
        // A page is named as man knows it (`psconform-run`), and its synopsis as it is typed.
        let page = sub.clone().display_name(name.clone()).bin_name(format!("psconform {}", sub.get_name()));
        pages.push((name, page));
    }
    for (name, cmd) in pages {
        let path = dir.join(format!("{name}.1"));
        let written = render(cmd).and_then(|page| std::fs::write(&path, page).map_err(|e| e.to_string()));
        if let Err(e) = written {
            return fail(&format!("cannot write {}: {e}", path.display()));
        }
    }
    anstream::eprintln!("man: wrote the pages into {}", dir.display());
    Exit::Passed
}

fn render(cmd: clap::Command) -> Result<String, String> {
    let mut page = Vec::new();
    clap_mangen::Man::new(cmd).render(&mut page).map_err(|e| e.to_string())?;
    String::from_utf8(page).map_err(|e| e.to_string())
}

/// Writes `text` to `path`, or to standard output without one.
fn write(path: Option<&Path>, text: &str) -> Exit {
    let Some(path) = path else { return out(text) };
    match std::fs::write(path, text) {
        Ok(()) => Exit::Passed,
        Err(e) => fail(&format!("cannot write {}: {e}", path.display())),
    }
}

fn fail(message: &str) -> Exit {
    anstream::eprintln!("error: {message}");
    Exit::OutputFailed
}
