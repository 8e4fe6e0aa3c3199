//! psconform: a conformance test suite and runner for the BeyondTrust Password Safe public REST
//! API (v3).
//!
//! ```text
//! cases/**/*.yaml
//!   → case::load        the spanned YAML model, with file:line:col diagnostics
//!   → plan::compile     every error of every file, or a plan with everything compiled once
//!   → run::execute      cases on worker threads (cases sharing a lock apart); per step:
//!                       render → send → learn secrets → evaluate every check → capture →
//!                       contract
//!   → seal              each case's typed result is sealed as it ends (secret: the leaf
//!                       layer of stores, encodings and field policy under it)
//!   → result::RunResult when each case is final (the not-offered rule), the counts, the one
//!                       exit code
//!   → report            terminal · JUnit · JSON · HTML · drift · list (sealed values only,
//!                       counts and exit code from the RunResult)
//! ```
//!
//! The case model, the plan, checks, shapes and reports know nothing of tokio or reqwest, so
//! `validate` and `list` never touch the network. The built-in simulator (`simulator`) is the
//! default target.

#[cfg(any(test, feature = "testing"))]
pub mod arbitrary;
pub mod case;
pub mod catalog;
pub mod cli;
pub mod coverage;
pub mod escape;
pub mod files;
pub mod fixture;
pub mod logging;
pub mod openapi;
pub mod plan;
pub mod report;
pub mod response;
pub mod result;
pub mod run;
pub mod seal;
pub mod secret;
pub mod settings;
pub mod shape;
pub mod simulator;
pub mod strings;
pub mod suite;

/// The layers, lowest first: a module imports only from layers below its own. The simulator,
/// a server beside the runner that `run` and `cli` start, is exempt either way. Checked over every `crate::` path in the code
/// outside tests, so no upward import and no cycle can come back unnoticed.
#[cfg(test)]
mod layers {
    const LAYERS: &[&[&str]] = &[
        &["suite"],
        &["secret", "files", "escape", "strings"],
        &["seal"],
        &["settings", "response", "case", "logging"],
        &["shape"],
        &["catalog"],
        &["result"],
        &["plan"],
        &["coverage", "fixture", "openapi"],
        &["run"],
        &["report"],
        &["cli"],
    ];

    fn layer(module: &str) -> Option<usize> {
        LAYERS.iter().position(|l| l.contains(&module))
    }

    #[test]
    fn every_module_imports_only_from_lower_layers() {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let path = regex::Regex::new(r"crate::([a-z_]+)").expect("a valid pattern");
        let mut upward = Vec::new();
        for entry in walkdir::WalkDir::new(&src).into_iter().flatten() {
            let file = entry.path();
            if file.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = file.strip_prefix(&src).unwrap_or(file);
            let module = rel.iter().next().and_then(|m| m.to_str()).unwrap_or("").trim_end_matches(".rs");
            let Some(own) = layer(module) else { continue };
            let text = std::fs::read_to_string(file).unwrap_or_default();
            let code = text.split("#[cfg(test)]").next().unwrap_or("");
            for (n, line) in code.lines().enumerate().filter(|(_, l)| !l.trim_start().starts_with("//")) {
                for m in path.captures_iter(line) {
                    let target = &m[1];
                    // The simulator stands beside the layers: anything may start it.
                    if target != module && target != "simulator" && layer(target).is_none_or(|t| t >= own) {
                        upward.push(format!("{}:{}: {module} imports {target}", rel.display(), n + 1));
                    }
                }
            }
        }
        assert!(upward.is_empty(), "imports that are not downward:\n{}", upward.join("\n"));
    }
}
