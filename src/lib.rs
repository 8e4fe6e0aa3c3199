//! psconform: a conformance test suite and runner for the BeyondTrust Password Safe public REST
//! API (v3).
//!
//! ```text
//! cases/**/*.yaml
//!   → case (load a spanned model, validate every file, all errors at once)
//!   → runner (one libtest-mimic trial per case)
//!   → per step: template (render) → http (send) → expect (eval) → capture
//!   → report (terminal, JUnit, JSON) → exit code
//! ```
//!
//! The case model and its loader know nothing of tokio, reqwest or insta, so `validate` and
//! `list` never touch the network. The built-in simulator (`simulator`) is the default target.

pub mod case;
pub mod cli;
pub mod compiled;
pub mod drift;
pub mod expect;
pub mod http;
pub mod logging;
pub mod report;
pub mod result;
pub mod runner;
pub mod secrets;
pub mod settings;
pub mod shape;
pub mod simulator;
pub mod snapshot;
pub mod template;
