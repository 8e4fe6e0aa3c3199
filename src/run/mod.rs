//! Running a plan: a preflight against a real target first (sign in once, probe each area the
//! cases use), then [`execute()`] runs the selected cases on worker threads (the scheduler keeps
//! cases that share a lock apart) and gives each case's sealed result to the run's listener as
//! soon as the case is final; the [`crate::result::RunResult`] it returns holds the counts and
//! the one exit code. Each case has its own cookie jar, variables and learned secrets, and runs
//! on its worker thread's own runtime and HTTP client.
//!
//! - `preflight`: before the cases: the sign-ins they need, and the areas the target offers
//! - `execute`: the run: scheduling, the run result, stopping on a signal or a closed output
//! - `scheduler`: worker threads, and locks two cases may not hold at once
//! - `trial`: one case: skip reasons, its own simulator, steps, teardown, sealing
//! - `step`: one step: render, learn secrets, evaluate, capture, log; a teardown step retried
//! - `poll`: a step sent once, or until its expectations hold
//! - `guard`: what a step may send (its checked effect, the opt-ins, a release's account), and
//!   the releases a case leaves open
//! - `observe`: a response's shape against its contract, and the run's observations
//! - `http`: a client per worker thread, body caps, transport errors, an unreachable target
//! - `stop`: a stop asked by a signal or a closed output, which ends every wait at once

pub mod execute;
pub mod guard;
pub mod http;
pub mod observe;
mod poll;
pub mod preflight;
pub mod scheduler;
pub mod step;
pub mod stop;
pub mod sweep;
pub mod trial;

use std::sync::Arc;
use std::time::Duration;

use reqwest_cookie_store::CookieStoreMutex;
use url::Url;

use crate::plan::Vars;
use crate::seal::Redactor;
use crate::secret::SecretStore;
use crate::settings::{SETTINGS, Settings};
use crate::shape::{ContractSet, Observed};
use crate::simulator::{DataVariant, Fault, Profile};
use http::Http;

pub use execute::{Listener, OutputClosed, execute};
pub use preflight::{Gate, preflight};
pub use stop::Stop;
pub use trial::{run_case, skip_reason};

/// What the runner needs to know about the target.
#[derive(Debug, Clone)]
pub struct Target {
    /// The base URL, such as `https://ps.example.com/BeyondTrust/api/public/v3`.
    pub base_url: Url,
    /// Whether it is the built-in simulator (started by this run).
    pub builtin: bool,
    /// Faults the built-in simulator runs with (also for the per-case simulators).
    pub faults: Vec<Fault>,
    /// The release the built-in simulator models (also for the per-case simulators).
    pub profile: Profile,
    /// The data the built-in simulator serves (also for the per-case simulators).
    pub data: DataVariant,
}

/// What a run is allowed to do to a real target.
#[derive(Debug, Clone, Copy, Default)]
pub struct Policy {
    /// Run cases whose effect includes `change` against a real target.
    pub allow_mutations: bool,
    /// Run cases that risk locking out the run-as user against a real target.
    pub allow_lockout_risk: bool,
    /// Run cases that release a managed account's credential against a real target.
    pub allow_credential_release: bool,
    /// Run cases whose effect is `irreversible` against a real target.
    pub allow_irreversible: bool,
}

impl Policy {
    /// The flag an effect needs against a real target, and what it means, when it needs one
    /// this policy does not give.
    pub fn missing(&self, effect: crate::plan::Effect) -> Option<(&'static str, &'static str)> {
        use crate::plan::Effect;
        match effect {
            Effect::Read | Effect::Audited => None,
            Effect::Change => (!self.allow_mutations).then_some(("--allow-mutations", "changes data on the target")),
            Effect::Release => (!self.allow_credential_release).then_some((
                "--allow-credential-release",
                "releases a managed account's credential (audited, may need approval, check-in may rotate it)",
            )),
            Effect::Irreversible => (!self.allow_irreversible)
                .then_some(("--allow-irreversible", "makes a change on the target that no teardown can undo")),
        }
    }
}

/// Contracts a run compares with and adds to.
#[derive(Debug, Default)]
pub struct Contracts {
    /// The set compared with.
    pub set: ContractSet,
    /// Compare at all (`--no-snapshots` with `--record` only records).
    pub compare: bool,
    /// Additive changes and missing contracts fail too.
    pub strict: bool,
    /// The run merges what it sees into the set (`--update-snapshots`): differences are
    /// reported, never failing.
    pub accepting: bool,
    /// The run writes what it observes (`--record`, an update, `--pending`, `--drift-report`):
    /// each observation is kept and merged. Without it, only which contracts were met is.
    pub keep: bool,
    /// What this run saw.
    pub observed: Observed,
    /// The contracts compared with so far.
    pub effective: observe::EffectiveCache,
}

/// Everything the trials share.
#[derive(Debug)]
pub struct RunContext {
    /// The runtime the trials block on.
    pub rt: tokio::runtime::Handle,
    /// The HTTP settings each test thread builds its client from, and the shared rate ceiling.
    pub http: Arc<Http>,
    /// The target.
    pub target: Target,
    /// Credentials.
    pub settings: Settings,
    /// The run's redactor: configured credentials.
    pub redactor: Redactor,
    /// What may run against a real target.
    pub policy: Policy,
    /// Contracts, when the run compares or records shapes.
    pub contracts: Option<Contracts>,
    /// How long evaluating one step's expectations may take.
    pub eval_budget: Duration,
    /// Observed expectations fail their case (`--strict`).
    pub strict: bool,
    /// Asked by a signal or when standard output closes: no new case or step starts, waits
    /// and poll intervals end at once, teardowns still run.
    pub stop: Stop,
    /// What the preflight decided: the areas the target does not offer, the sign-ins that
    /// failed.
    pub gate: Gate,
}

impl RunContext {
    fn interrupted(&self) -> bool {
        self.stop.asked()
    }
}

/// What one case carries from step to step.
pub struct CaseRun {
    /// Variables: settings, built-ins, captures.
    pub vars: Vars,
    /// Cookies.
    pub jar: CookieStoreMutex,
    /// Secrets this case learned.
    pub store: SecretStore,
    /// The run's redactor plus this case's secrets.
    pub redactor: Redactor,
    /// The case learned more secrets than a store keeps: nothing more from a body is shown.
    pub saturated: bool,
    /// Its credential releases: the lookup it verified, the requests it opened and closed.
    pub releases: guard::Releases,
    /// A capture with `if_missing` found nothing: the target has nothing for the case to
    /// check, and why. The remaining steps do not run; the teardown does.
    pub nothing_to_check: Option<String>,
}

impl CaseRun {
    /// A fresh case's state: `vars`, an empty jar and no secrets learned yet.
    pub fn new(ctx: &RunContext, vars: Vars) -> Self {
        let store = SecretStore::new();
        CaseRun {
            vars,
            jar: CookieStoreMutex::default(),
            redactor: ctx.redactor.with(store.clone()),
            store,
            saturated: false,
            releases: Default::default(),
            nothing_to_check: None,
        }
    }
}

/// Registers the configured credentials with the run's store.
pub fn configured_store(settings: &Settings) -> SecretStore {
    SecretStore::configured(settings.secret_values())
}

/// Warns about configured credentials too short to be searched for in what a target sends
/// back (they are still masked wherever psconform puts them).
pub fn warn_short_secrets(settings: &Settings) {
    for info in SETTINGS.iter().filter(|s| s.secret) {
        if settings.get(info.var).is_some_and(|v| v.chars().count() < crate::secret::store::MIN_CONFIGURED) {
            tracing::warn!(
                "{} is shorter than {} characters: it is masked where psconform sends it, but not searched for in what the target sends back",
                info.env,
                crate::secret::store::MIN_CONFIGURED
            );
        }
    }
}
