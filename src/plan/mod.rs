//! The compiled plan: what `validate` proves and `run` executes.
//!
//! [`compile()`] turns every case file into typed [`CasePlan`]s in which regexes, JSONPaths,
//! durations, templates and routes are compiled once, each with its place in the file, or
//! returns every problem of every file. The engine and the reporters only ever see the plan,
//! never the YAML model, so a runtime "invalid regex" or "bad duration" cannot exist.
//!
//! - `template`: `{{ name }}` templates and the variables they render with
//! - `check`: one variant per matcher, each evaluating itself into typed outcomes
//! - `compile`: spec → plan, with every diagnostic
//! - `effect`: what each step does to the target (from the catalog), the roles of a credential
//!   release's steps, and the rules a release must follow
//! - `suite`: a run's cases without their plans, each compiled again when it starts

pub mod check;
pub mod compile;
pub mod effect;
pub mod provenance;
pub mod suite;
pub mod template;

use std::path::PathBuf;
use std::time::Duration;

pub use check::{CapturePlan, Check};
pub use compile::{compile, compile_with};
pub use suite::{CaseRef, Needs, Plans, Suite};
pub use template::{Template, ValueTemplate, Vars};

use crate::case::Diagnostic;
use crate::case::spec::Method;
pub use crate::catalog::Effect;
use crate::result::Span;

/// Every case of a run, sorted by name: its plan, or what was kept of it.
#[derive(Debug)]
pub struct Plan<T = CasePlan> {
    /// The cases.
    pub cases: Vec<T>,
    /// How many case files they came from.
    pub files: usize,
    /// What the walk skipped, with why.
    pub skipped: Vec<Diagnostic>,
}

/// One case ready to run.
#[derive(Debug, Clone)]
pub struct CasePlan {
    /// `<area>::<file>::<case>`.
    pub name: String,
    /// The case file.
    pub file: PathBuf,
    /// The line of the case's name.
    pub line: u32,
    /// The endpoint or flow the file covers.
    pub endpoint: String,
    /// What a conforming server does.
    pub summary: String,
    /// The documentation statement the case checks.
    pub source: Option<String>,
    /// Labels.
    pub tags: Vec<String>,
    /// Target settings the case needs: declared, used in templates, or implied by `ps-auth`.
    pub needs: Vec<String>,
    /// What running the case does to the target: the most consequential effect of the
    /// endpoints its steps call, or what its file declares when that is more.
    pub effect: Effect,
    /// Every effect the case has (each step's, and the declared one), each needing its own
    /// opt-in on a real target: a release case that also changes data needs both.
    pub effects: Vec<Effect>,
    /// The case may count towards locking out the run-as user.
    pub lockout_risk: bool,
    /// The sign-ins the case needs to work (with the configured credentials): a preflight
    /// signs in once each way before the cases, and a failure blocks the cases that need it.
    pub sign_in: Vec<SignIn>,
    /// The catalog's areas the case's endpoints belong to, such as `Secrets`: a case of an
    /// area the target does not offer is not sent.
    pub areas: Vec<&'static str>,
    /// Simulator states the case needs.
    pub simulator_state: Vec<String>,
    /// The case runs only against the built-in simulator.
    pub simulator_only: bool,
    /// Shared resources the case holds while it runs: two cases that hold the same lock never
    /// run at once. A release case holds [`Lock::account`]; a file may add more.
    pub locks: Vec<Lock>,
    /// A template of the case uses the built-in `random_secret`: only then is its value one of
    /// the case's secrets (each case draws its own, and registering one is most of a small
    /// case's secret bookkeeping; a value never sent cannot come back).
    pub random_secret: bool,
    /// The steps.
    pub steps: Vec<StepPlan>,
    /// Steps that always run afterwards.
    pub teardown: Vec<StepPlan>,
}

/// A named shared resource on the target, such as the managed account release cases request.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Lock(pub String);

impl Lock {
    /// The managed account `PS_ACCOUNT` names, which every release case requests: one run-as
    /// user's requests for one account end each other (a check-in, `renew`), so they take
    /// turns.
    pub fn account() -> Lock {
        Lock("account:PS_ACCOUNT".to_owned())
    }
}

/// A way of signing in with the configured credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignIn {
    /// `POST Auth/SignAppin` with the PS-Auth header of `PS_API_KEY`, `PS_RUNAS` (and
    /// `PS_RUNAS_PASSWORD`).
    PsAuth,
    /// `POST Auth/Connect/Token` with `PS_CLIENT_ID` and `PS_CLIENT_SECRET`, then
    /// `POST Auth/SignAppin` with the token.
    OAuth,
}

impl SignIn {
    /// The name a report gives it.
    pub fn name(self) -> &'static str {
        match self {
            SignIn::PsAuth => "ps-auth",
            SignIn::OAuth => "oauth",
        }
    }
}

/// What a step is to a credential release, which the runner guards and tracks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// `GET ManagedAccounts?systemName={{ account_system }}&accountName={{ account_name }}`:
    /// its answer must name `PS_ACCOUNT`, and only its ids may be released.
    Lookup,
    /// A release (`POST Requests`): its ids must be the lookup's, and the request id it answers
    /// is kept in the variable `request_id`.
    Release {
        /// The variable the request id is captured into.
        request_id: String,
    },
    /// A check-in of the request id in the variable `request_id` (`PUT Requests/{id}/Checkin`
    /// or its alias `PUT Requests/Release/{id}`).
    CheckIn {
        /// The variable that holds the request id.
        request_id: String,
    },
    /// Deletes, or rewrites in place, an object the case made itself (its ids come from the
    /// case's own `POST`, see `plan::provenance`): a `change`, though the catalog calls the
    /// endpoint irreversible for objects the run did not make.
    OwnObject,
}

impl CasePlan {
    /// Every step, then every teardown step.
    pub fn all_steps(&self) -> impl Iterator<Item = &StepPlan> {
        self.steps.iter().chain(&self.teardown)
    }
}

/// One request and its expectations.
#[derive(Debug, Clone)]
pub struct StepPlan {
    /// The step's name, or its method and path.
    pub name: String,
    /// Where the step's request is.
    pub span: Span,
    /// Time to wait before sending.
    pub wait: Option<Duration>,
    /// Repeat until the expectations hold.
    pub poll: Option<Poll>,
    /// The request.
    pub request: RequestPlan,
    /// Every expectation, in file order.
    pub checks: Vec<Check>,
    /// Values to keep for later steps.
    pub captures: Vec<CapturePlan>,
    /// Check the shape against the contract: `None` means for 2xx responses.
    pub contract: Option<bool>,
    /// What the step does to the target: the most consequential effect of every endpoint its
    /// path may name (a check-in of the case's own release counts as that release). The runner
    /// refuses to send a request whose path turns out to name a more consequential endpoint.
    pub effect: Effect,
    /// What the step is to a credential release, if anything.
    pub role: Option<Role>,
}

/// How a step repeats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Poll {
    /// Requests at most.
    pub attempts: u32,
    /// Time between them.
    pub interval: Duration,
    /// Repeat only while the status is one of these.
    pub while_status: Option<crate::case::spec::StatusSpec>,
}

/// A request, compiled.
#[derive(Debug, Clone)]
pub struct RequestPlan {
    /// HTTP method.
    pub method: Method,
    /// Path relative to the base URL.
    pub path: Template,
    /// The route template, as the case file spells it: declared, or derived from the path.
    pub route: String,
    /// Query parameters, in order.
    pub query: Vec<(Template, Template)>,
    /// Extra headers.
    pub headers: Vec<(String, Template)>,
    /// How it authenticates.
    pub auth: AuthPlan,
    /// The body.
    pub body: Option<BodyPlan>,
}

/// How a request authenticates.
#[derive(Debug, Clone)]
pub enum AuthPlan {
    /// No Authorization header.
    None,
    /// `PS-Auth key=…; runas=…; pwd=[…];`.
    PsAuth {
        /// The key.
        key: Template,
        /// The run-as user.
        runas: Template,
        /// The password part.
        pwd: PwdPlan,
        /// `key=K;runas=U;` without spaces, as the official clients send it.
        compact: bool,
    },
    /// `Bearer <token>`.
    Bearer(Template),
}

/// The `pwd` part of a PS-Auth header.
#[derive(Debug, Clone)]
pub enum PwdPlan {
    /// The run-as password setting, when it is set.
    Default,
    /// Left out.
    Omit,
    /// This value.
    Value(Template),
}

/// A request body.
#[derive(Debug, Clone)]
pub enum BodyPlan {
    /// JSON.
    Json(ValueTemplate),
    /// `application/x-www-form-urlencoded`, fields in order.
    Form(Vec<(Template, Template)>),
    /// Raw text.
    Text(Template),
}
