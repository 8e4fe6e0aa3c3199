//! What the integration tests share, written once: running the built binary, temporary
//! projects and case files, targets that are not the simulator, the leak oracle and reading
//! the JSON report. Helpers here assert only their own preconditions (a file that must exist,
//! a process that must end); what psconform must do is asserted in the test modules.

pub mod bin;
pub mod files;
pub mod oracle;
pub mod report;
pub mod target;

use psconform::settings::Settings;

/// The API key the tests give targets that are not the simulator (and the simulator, where a
/// test starts one itself).
pub const KEY: &str = "test-key-0123";
/// The run-as user that goes with [`KEY`].
pub const RUNAS: &str = "svc-conform";

/// Settings read from `vars` instead of the process environment.
pub fn settings(vars: &[(&str, &str)]) -> Settings {
    Settings::from_lookup(|name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned()))
}

/// [`KEY`] and [`RUNAS`], no password: what most cases need.
pub fn credentials() -> Settings {
    settings(&[("PS_API_KEY", KEY), ("PS_RUNAS", RUNAS)])
}
