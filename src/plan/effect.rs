//! What each step does to the target, from the catalog, and what a credential release must
//! look like. A case's effect is never what its file says alone: it is the most consequential
//! effect of the endpoints its steps call, which the catalog knows (`Catalog::effect`); a file
//! may only ask for more. A step whose path holds variables is fitted by its literal segments,
//! a variable standing for one parameter; the runner checks the path it actually sends against
//! the same catalog and refuses one that names a more consequential endpoint (see
//! `run::guard`), so a variable cannot smuggle a release past these rules.
//!
//! A release (`POST Requests`) is allowed only in this form: its `SystemID` and `AccountID` are
//! each exactly one variable captured from a `GET ManagedAccounts` lookup of `PS_ACCOUNT` in the
//! same case, `DurationMinutes` is a literal from 1 to 10 (or left out, and then 5 is sent), the
//! request id it answers is captured, and a teardown step checks that id in.
//!
//! It reads specs and the catalog, and reports problems through the compiler; it sends nothing.

use std::collections::{BTreeSet, HashMap};
use std::sync::LazyLock;

use serde_json::Value;

use super::compile::Compiler;
use super::template::Template;
use super::{Lock, Role, SignIn};
use crate::case::spec::{AuthSpec, BodySpec, CaseSpec, Method, Spanned, StepSpec};
use crate::catalog::Effect;
use crate::catalog::endpoints::segments;

/// The longest release a case may ask for, in minutes.
pub const MAX_RELEASE_MINUTES: u64 = 10;
/// What psconform sends as `DurationMinutes` when a release step leaves it out.
pub const DEFAULT_RELEASE_MINUTES: u64 = 5;

/// One catalog endpoint, split once so that fitting a path allocates nothing per endpoint.
struct Known {
    segments: Vec<Segment>,
    effect: Effect,
    area: &'static str,
    route: &'static str,
}

enum Segment {
    /// `{param}`: any one segment.
    Param,
    /// A literal segment, lower case (routes match ignoring case).
    Literal(String),
}

/// The methods the catalog's routes use, by which [`KNOWN`] files them.
const METHODS: [&str; 5] = ["GET", "POST", "PUT", "DELETE", "PATCH"];

/// Where a request with `method` to `path` could fit: a path can only fit a route of its own
/// method and number of segments. `None` for a method no route uses.
fn shape(method: &str, path: &str) -> Option<(usize, usize)> {
    METHODS.iter().position(|m| m.eq_ignore_ascii_case(method)).map(|m| (m, segments(path).count()))
}

/// Endpoints by [`shape`].
type ByShape = HashMap<(usize, usize), Vec<Known>>;

/// The catalog's endpoints, ready to fit and filed by [`shape`], from the table `build.rs`
/// reads out of the catalog's files (the same files `Catalog` reads; a test below proves they
/// agree). An error when an effect in it is not a word the catalog knows or a method not one
/// of [`METHODS`] (a bug).
static KNOWN: LazyLock<Result<ByShape, &'static str>> = LazyLock::new(|| {
    let mut known = ByShape::new();
    for (method, route, area, effect, _) in crate::suite::EFFECTS {
        let shape = shape(method, route).ok_or("an endpoint's method is not one the catalog uses")?;
        known.entry(shape).or_default().push(Known {
            segments: segments(route)
                .map(|s| {
                    if s.starts_with('{') && s.ends_with('}') {
                        Segment::Param
                    } else {
                        Segment::Literal(s.to_ascii_lowercase())
                    }
                })
                .collect(),
            effect: Effect::parse(effect).ok_or("an endpoint's effect is not a word the catalog knows")?,
            area,
            route,
        });
    }
    Ok(known)
});

/// The route a target is asked for to learn whether it offers `area` at all: the area's first
/// catalog `GET` without path parameters, if it has one.
pub fn entry(area: &str) -> Option<&'static str> {
    crate::suite::EFFECTS
        .iter()
        .find(|(method, route, a, _, verified)| *verified && *a == area && *method == "GET" && !route.contains('{'))
        .map(|(_, route, ..)| *route)
}

/// What a request's path names in the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fit {
    /// What calling it does: the endpoint's effect, or for an endpoint the catalog does not
    /// know, `read` for GET, HEAD and OPTIONS and `change` for anything else.
    pub effect: Effect,
    /// The endpoint's area and route, when the catalog knows it.
    pub endpoint: Option<(&'static str, &'static str)>,
}

impl Fit {
    /// Whether the catalog knows the endpoint.
    pub fn known(&self) -> bool {
        self.endpoint.is_some()
    }

    /// The endpoint's route, if the catalog knows it.
    pub fn route(&self) -> Option<&'static str> {
        self.endpoint.map(|(_, route)| route)
    }
}

/// What a request with `method` to `path` names: a path as sent, or a case's path template
/// (where a segment holding a `{{ variable }}` stands for one parameter). Of the endpoints that
/// fit, the one with the most literal segments is the endpoint, as a server's typed routes
/// decide; of two equally literal ones, the more consequential counts.
pub fn fit(method: &str, path: &str) -> Result<Fit, &'static str> {
    let known = KNOWN.as_ref().map_err(|e| *e)?;
    let mut best: Option<(usize, &Known)> = None;
    for k in shape(method, path).and_then(|shape| known.get(&shape)).into_iter().flatten() {
        let mut literal = 0;
        let fits = k.segments.iter().zip(segments(path)).all(|(seg, part)| match seg {
            Segment::Param => true,
            // A variable is a value for a parameter, never a route's own word.
            Segment::Literal(_) if part.contains("{{") => false,
            Segment::Literal(l) => {
                literal += 1;
                l.eq_ignore_ascii_case(part)
            }
        });
        if fits && best.is_none_or(|(n, b)| literal > n || (literal == n && k.effect > b.effect)) {
            best = Some((literal, k));
        }
    }
    Ok(match best {
        Some((_, k)) => Fit { effect: k.effect, endpoint: Some((k.area, k.route)) },
        None => {
            let reads = ["GET", "HEAD", "OPTIONS"].iter().any(|m| m.eq_ignore_ascii_case(method));
            Fit { effect: if reads { Effect::Read } else { Effect::Change }, endpoint: None }
        }
    })
}

/// What the effect pass found for one step.
#[derive(Debug, Clone)]
pub(super) struct StepFacts {
    pub(super) effect: Effect,
    pub(super) role: Option<Role>,
    pub(super) sign_in: Option<SignIn>,
    pub(super) area: Option<&'static str>,
    /// A release step without `DurationMinutes`: psconform adds the default.
    pub(super) default_duration: bool,
}

/// What the effect pass found for one case.
#[derive(Debug, Clone)]
pub(super) struct CaseFacts {
    pub(super) steps: Vec<StepFacts>,
    pub(super) teardown: Vec<StepFacts>,
    pub(super) effect: Effect,
    pub(super) effects: Vec<Effect>,
    pub(super) sign_in: Vec<SignIn>,
    pub(super) areas: Vec<&'static str>,
    pub(super) locks: Vec<super::Lock>,
}

/// A step, where it is, and which endpoint it calls.
struct Called<'s> {
    spec: &'s StepSpec,
    teardown: bool,
    index: usize,
    fit: Fit,
}

impl Called<'_> {
    fn place(&self) -> String {
        let phase = if self.teardown { "teardown step" } else { "step" };
        let req = &self.spec.request.value;
        let route = self.fit.route().map_or_else(|| req.path.value.clone(), str::to_owned);
        format!("{phase} {} (`{} {route}`)", self.index, req.method.as_str())
    }
}

/// The words `effect:` accepts, and the old word for `change`.
const EFFECT_WORDS: &[&str] = &["read", "audited", "change", "release", "irreversible"];

static LOCK_NAME: LazyLock<regex::Regex> =
    LazyLock::new(|| regex::Regex::new(r"^[a-z0-9][a-z0-9:._-]*$").expect("the lock-name pattern is a valid regex"));

impl Compiler<'_> {
    /// The effect pass of one case: each step's effect, role and sign-in, the case's effect,
    /// its areas and locks, and every problem with its place.
    pub(super) fn effects(&mut self, case: &CaseSpec) -> CaseFacts {
        let mut called = Vec::new();
        for (teardown, list) in [(false, &case.steps), (true, &case.teardown)] {
            for (i, spec) in list.iter().enumerate() {
                let req = &spec.request.value;
                let fit = match fit(req.method.as_str(), &req.path.value) {
                    Ok(f) => f,
                    Err(why) => {
                        let d = self.at(&spec.request, format!("the built-in catalog does not load (a bug): {why}"));
                        self.push(d);
                        Fit { effect: Effect::Irreversible, endpoint: None }
                    }
                };
                if !fit.known() {
                    let d = self
                        .at(&spec.request, format!(
                            "`{} {}` is not in the catalog: it counts as `{}`",
                            req.method.as_str(),
                            req.path.value,
                            fit.effect
                        ))
                        .with_hint("psconform knows what an endpoint does from the catalog; `psconform coverage` lists the endpoints it knows");
                    self.warn(d);
                }
                called.push(Called { spec, teardown, index: i + 1, fit });
            }
        }
        if let Some(flag) = &case.releases_credential {
            let d = self
                .at(flag, "`releases_credential` is no longer written: a case that calls `POST Requests` releases a credential")
                .with_hint("remove the line; the case's effect comes from the endpoints it calls");
            self.push(d);
        }
        let lookups: BTreeSet<String> = called
            .iter()
            .filter(|c| !c.teardown && is_lookup(c))
            .flat_map(|c| c.spec.capture.iter().map(|(k, _)| k.value.clone()))
            .collect();
        let mut facts: Vec<StepFacts> = called
            .iter()
            .map(|c| StepFacts {
                effect: c.fit.effect,
                role: is_lookup(c).then_some(Role::Lookup),
                sign_in: sign_in(c),
                area: c.fit.endpoint.map(|(area, _)| area),
                default_duration: false,
            })
            .collect();
        // Releases, and the check-ins of their request ids.
        let mut released = BTreeSet::new();
        let mut simulated_release = false;
        for (i, c) in called.iter().enumerate() {
            if c.fit.effect != Effect::Release {
                continue;
            }
            // A case that never runs against a real instance cannot release a real credential:
            // the rules of the form of a release are for the cases that can.
            if case.simulator_only {
                simulated_release = true;
                continue;
            }
            if let Some((request_id, default_duration)) = self.release(c, &called, &lookups) {
                facts[i].role = Some(Role::Release { request_id: request_id.clone() });
                facts[i].default_duration = default_duration;
                released.insert(request_id);
            }
        }
        for (i, c) in called.iter().enumerate() {
            if let Some(request_id) = check_in_of(c.spec).filter(|v| released.contains(v)) {
                // Undoing the case's own release is part of that release.
                facts[i].effect = facts[i].effect.max(Effect::Release);
                facts[i].role = Some(Role::CheckIn { request_id });
            }
        }
        // Deleting or rewriting an object the case made itself undoes or changes only that.
        if let Ok(catalog) = crate::catalog::Catalog::shared() {
            let steps = case.steps.len();
            for (teardown, index) in super::provenance::own_objects(case, catalog) {
                let i = if teardown { steps + index } else { index };
                if facts[i].effect == Effect::Irreversible && facts[i].role.is_none() {
                    facts[i].effect = Effect::Change;
                    facts[i].role = Some(Role::OwnObject);
                }
            }
        }
        let mut effects: BTreeSet<Effect> = facts.iter().map(|f| f.effect).collect();
        let derived = effects.iter().next_back().copied().unwrap_or(Effect::Read);
        let mut effect = derived;
        if let Some(declared) = &case.effect {
            match Effect::parse(declared.value.trim()) {
                Some(e) if e >= derived => {
                    effect = e;
                    effects.insert(e);
                }
                Some(e) => {
                    let raiser = called.iter().zip(&facts).find(|(_, f)| f.effect == derived).map(|(c, _)| c.place());
                    let d = self
                        .at(declared, format!(
                            "the case declares `effect: {e}`, but {} is `{derived}`",
                            raiser.unwrap_or_else(|| "one of its steps".to_owned())
                        ))
                        .with_hint(format!("a case's effect comes from the endpoints it calls: remove `effect:`, or declare `{derived}` or more"));
                    self.push(d);
                }
                None if declared.value.trim() == "mutating" => {
                    let d = self
                        .at(declared, "unknown effect `mutating`")
                        .with_hint("did you mean `change`? (the catalog's word for a case that changes data)");
                    self.push(d);
                }
                None => {
                    let d = self.unknown(declared, "effect", EFFECT_WORDS.iter().copied());
                    self.push(d);
                }
            }
        }
        let mut locks: BTreeSet<Lock> = BTreeSet::new();
        for lock in &case.locks {
            if LOCK_NAME.is_match(&lock.value) {
                locks.insert(Lock(lock.value.clone()));
            } else {
                let d = self
                    .at(lock, format!("`{}` is not a valid lock name", lock.value))
                    .with_hint("use lower-case letters, digits, `-`, `_`, `.` and `:`, such as `run-as-sessions`");
                self.push(d);
            }
        }
        // A case with a simulator of its own never shares the account with another case.
        let own_simulator = case.simulator_only && !case.simulator_state.is_empty();
        if (!released.is_empty() || simulated_release) && !own_simulator {
            locks.insert(Lock::account());
        }
        let sign_ins: BTreeSet<SignIn> = facts.iter().filter_map(|f| f.sign_in).collect();
        let mut areas: Vec<&'static str> = facts.iter().filter_map(|f| f.area).collect();
        areas.sort_unstable();
        areas.dedup();
        let teardown = facts.split_off(case.steps.len());
        CaseFacts {
            steps: facts,
            teardown,
            effect,
            effects: effects.into_iter().collect(),
            sign_in: sign_ins.into_iter().collect(),
            areas,
            locks: locks.into_iter().collect(),
        }
    }

    /// Checks a release step against the rules; returns the variable its request id is
    /// captured into, and whether `DurationMinutes` is left to psconform.
    fn release(&mut self, c: &Called<'_>, all: &[Called<'_>], lookups: &BTreeSet<String>) -> Option<(String, bool)> {
        let before = self.diag_count();
        let req = &c.spec.request;
        let place = c.place();
        let is_post_requests = req.value.method == Method::Post && c.fit.route() == Some("Requests");
        if !is_post_requests {
            let d = self
                .at(req, format!("{place} releases a credential, and a case may release one only with `POST Requests`"))
                .with_hint("psconform releases only the account PS_ACCOUNT names, through POST Requests with the ids its lookup answered");
            self.push(d);
            return None;
        }
        if c.teardown {
            let d = self
                .at(req, format!("{place} releases a credential in the teardown, where nothing could check it in"))
                .with_hint("move the release to `steps:`, and check it in from `teardown:`");
            self.push(d);
        }
        let lookup_hint = "capture it from a step `GET ManagedAccounts` with query `systemName: \"{{ account_system }}\"` and `accountName: \"{{ account_name }}\"`, such as `system_id: { path: $.SystemId }`, and write `SystemID: \"{{ system_id }}\"`";
        let fields = match req.value.body.as_ref().map(|b| (b, &b.value)) {
            Some((at, BodySpec::Json(Value::Object(fields)))) => Some((at, fields)),
            _ => None,
        };
        let mut default_duration = false;
        match fields {
            None => {
                let d = self
                    .at(
                        req,
                        format!(
                            "{place} releases a credential: its body must be a JSON object with SystemID and AccountID"
                        ),
                    )
                    .with_hint(lookup_hint);
                self.push(d);
            }
            Some((at, fields)) => {
                for (name, key) in [("SystemID", "systemid"), ("AccountID", "accountid")] {
                    let given: Vec<&Value> =
                        fields.iter().filter(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v).collect();
                    let from_lookup = match given.as_slice() {
                        [Value::String(s)] => Template::parse(s)
                            .ok()
                            .and_then(|t| t.sole_var().map(str::to_owned))
                            .filter(|v| lookups.contains(v)),
                        _ => None,
                    };
                    if from_lookup.is_none() {
                        let what = match given.as_slice() {
                            [] => "has none".to_owned(),
                            [Value::String(s)] => {
                                format!("is `{s}`, not a variable captured from the PS_ACCOUNT lookup")
                            }
                            [v] => format!("is the literal `{v}`"),
                            _ => "is given more than once".to_owned(),
                        };
                        let d = self
                            .at(at, format!("{place} releases a credential: its {name} {what}"))
                            .with_hint(lookup_hint);
                        self.push(d);
                    }
                }
                if fields.keys().any(|k| k.contains("{{")) {
                    let d = self.at(
                        at,
                        format!(
                            "{place} releases a credential: the keys of its body must be written out, not templates"
                        ),
                    );
                    self.push(d);
                }
                let duration: Vec<&Value> =
                    fields.iter().filter(|(k, _)| k.eq_ignore_ascii_case("durationminutes")).map(|(_, v)| v).collect();
                let minutes = |v: &Value| match v {
                    Value::Number(n) => n.as_u64(),
                    Value::String(s) => s.trim().parse::<u64>().ok(),
                    _ => None,
                };
                match duration.as_slice() {
                    [] => default_duration = true,
                    [v] if minutes(v).is_some_and(|m| (1..=MAX_RELEASE_MINUTES).contains(&m)) => {}
                    _ => {
                        let d = self
                            .at(at, format!("{place} releases a credential: DurationMinutes must be a whole number from 1 to {MAX_RELEASE_MINUTES}"))
                            .with_hint(format!("a conformance check needs the credential for moments; leave it out and psconform sends {DEFAULT_RELEASE_MINUTES}"));
                        self.push(d);
                    }
                }
            }
        }
        let request_id = c
            .spec
            .capture
            .iter()
            .find(|(_, cap)| cap.path.as_ref().is_some_and(|p| p.value.trim() == "$"))
            .map(|(k, _)| k.value.clone());
        match &request_id {
            None => {
                let d = self
                    .at(req, format!("{place} releases a credential but does not capture the request id it answers"))
                    .with_hint("add `capture: { request_id: { path: $ } }`, so that the teardown can check it in");
                self.push(d);
            }
            Some(id) => {
                let checked_in = all.iter().any(|o| o.teardown && check_in_of(o.spec).as_deref() == Some(id.as_str()));
                if !checked_in {
                    let d = self
                        .at(req, format!("{place} releases a credential, but no teardown step checks `{id}` in"))
                        .with_hint(format!("add to `teardown:` a step `{{ method: PUT, path: \"Requests/{{{{ {id} }}}}/Checkin\", body: {{ json: {{}} }} }}`"));
                    self.push(d);
                }
            }
        }
        (self.diag_count() == before).then(|| request_id.map(|id| (id, default_duration))).flatten()
    }
}

/// Whether a step is the lookup of `PS_ACCOUNT`: `GET ManagedAccounts` with `systemName` and
/// `accountName` (spelled in any case) exactly `{{ account_system }}` and `{{ account_name }}`.
fn is_lookup(c: &Called<'_>) -> bool {
    let req = &c.spec.request.value;
    let query_is = |key: &str, var: &str| {
        let values: Vec<&Spanned<String>> =
            req.query.iter().filter(|(k, _)| k.value.eq_ignore_ascii_case(key)).map(|(_, v)| v).collect();
        matches!(values.as_slice(), [v] if Template::parse(&v.value).is_ok_and(|t| t.sole_var() == Some(var)))
    };
    req.method == Method::Get
        && c.fit.route() == Some("ManagedAccounts")
        && query_is("systemName", "account_system")
        && query_is("accountName", "account_name")
}

/// The variable a step checks in: `PUT Requests/{{ v }}/Checkin` or `PUT Requests/Release/{{ v }}`.
fn check_in_of(spec: &StepSpec) -> Option<String> {
    let req = &spec.request.value;
    if req.method != Method::Put {
        return None;
    }
    let parts: Vec<&str> = segments(&req.path.value).collect();
    let var = |s: &str| Template::parse(s).ok().and_then(|t| t.sole_var().map(str::to_owned));
    match parts.as_slice() {
        [r, id, c] if r.eq_ignore_ascii_case("requests") && c.eq_ignore_ascii_case("checkin") => var(id),
        [r, rel, id] if r.eq_ignore_ascii_case("requests") && rel.eq_ignore_ascii_case("release") => var(id),
        _ => None,
    }
}

/// The sign-in a step makes with the configured credentials, if it is one: PS-Auth with the
/// configured key, user and password, or a token from the configured OAuth client.
fn sign_in(c: &Called<'_>) -> Option<SignIn> {
    let req = &c.spec.request.value;
    if req.method != Method::Post {
        return None;
    }
    let sole = |t: &Spanned<String>, var: &str| Template::parse(&t.value).is_ok_and(|t| t.sole_var() == Some(var));
    match (c.fit.route(), &req.auth) {
        (Some("Auth/SignAppin"), AuthSpec::PsAuth(p)) if p.key.is_none() && p.runas.is_none() && p.pwd.is_none() => {
            Some(SignIn::PsAuth)
        }
        (Some("Auth/Connect/Token"), _) => {
            let Some(BodySpec::Form(form)) = req.body.as_ref().map(|b| &b.value) else { return None };
            let has = |key: &str, var: &str| form.iter().any(|(k, v)| k.value == key && sole(v, var));
            (has("client_id", "client_id") && has("client_secret", "client_secret")).then_some(SignIn::OAuth)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalogued_endpoint_is_filed_by_its_shape() {
        for (method, route, ..) in crate::suite::EFFECTS {
            let path = route.replace(['{', '}'], "");
            assert_eq!(
                fit(&method.to_ascii_lowercase(), &path).expect("the catalog loads").route(),
                Some(*route),
                "{route}"
            );
        }
    }

    fn effect(method: &str, path: &str) -> Effect {
        fit(method, path).expect("the catalog loads").effect
    }

    #[test]
    fn each_path_fits_the_endpoint_the_catalog_names() {
        assert_eq!(effect("POST", "Requests"), Effect::Release);
        assert_eq!(effect("post", "requests/"), Effect::Release);
        assert_eq!(effect("GET", "Credentials/{{ request_id }}"), Effect::Audited);
        assert_eq!(effect("PUT", "Requests/{{ id }}/checkin"), Effect::Change);
        assert_eq!(effect("PUT", "Requests/Release/{{ id }}"), Effect::Change);
        assert_eq!(effect("PUT", "Requests/5/RotateOnCheckin"), Effect::Irreversible);
        assert_eq!(effect("GET", "ManagedAccounts?systemName=x"), Effect::Read);
        // A variable stands for a parameter, never a route's own word: the runner checks the
        // path it sends (`PUT Requests/5/RotateOnCheckin` above) against the step's effect.
        assert_eq!(effect("PUT", "Requests/{{ a }}/{{ b }}"), Effect::Change);
        assert!(!fit("PUT", "Requests/{{ a }}/{{ b }}").expect("loads").known());
        assert_eq!(effect("GET", "No/Such/Thing"), Effect::Read);
        assert_eq!(effect("DELETE", "No/Such/Thing"), Effect::Change);
        let f = fit("GET", "Secrets-Safe/Folders").expect("loads");
        assert_eq!(f.endpoint, Some(("Folders", "Secrets-Safe/Folders")));
    }

    /// The table `build.rs` reads at build time is what the catalog says, endpoint by endpoint:
    /// its area and its effect.
    #[test]
    fn the_build_time_table_is_the_catalog() {
        let catalog = crate::catalog::Catalog::builtin().expect("the catalog loads");
        let all: Vec<&crate::catalog::Endpoint> = catalog.endpoints.iter().chain(&catalog.unverified).collect();
        assert_eq!(crate::suite::EFFECTS.len(), all.len(), "one row per endpoint");
        for e in all {
            let f = fit(&e.method, &e.route).expect("loads");
            let effect = catalog.effect(&e.method, &e.route).unwrap_or_else(|| Effect::of_catalog(&e.effect));
            assert_eq!((f.effect, f.endpoint), (effect, Some((e.area.as_str(), e.route.as_str()))), "{e:?}");
        }
        for area in catalog.areas() {
            let first =
                catalog.endpoints.iter().find(|e| e.area == area && e.method == "GET" && !e.route.contains('{'));
            assert_eq!(entry(area), first.map(|e| e.route.as_str()), "{area}");
        }
        assert_eq!(entry("Folders"), Some("Secrets-Safe/Folders"));
        assert_eq!(entry("Authentication"), None, "an area without an entry route is not probed");
    }
}
