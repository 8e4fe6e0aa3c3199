//! psconform: a conformance test suite and runner for the BeyondTrust Password Safe public REST
//! API (v3).
//!
//! ```text
//! cases/**/*.yaml
//!   → case::load        the spanned YAML model, with file:line:col diagnostics
//!   → plan::compile     every error of every file, or a plan with everything compiled once
//!   → run               one libtest-mimic trial per case; per step: render → send → learn
//!                       secrets → evaluate every check → capture → contract
//!   → redact            each case's typed result is sealed as it ends
//!   → report            terminal · JUnit · JSON · drift (they read sealed results only)
//!   → Exit              derived from the typed results
//! ```
//!
//! The case model, the plan, checks, shapes and reports know nothing of tokio or reqwest, so
//! `validate` and `list` never touch the network. The built-in simulator (`simulator`) is the
//! default target.

#[cfg(any(test, feature = "testing"))]
pub mod arbitrary;
pub mod case;
pub mod cli;
pub mod coverage;
pub mod logging;
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
