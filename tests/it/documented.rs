//! The documentation is the contract (issue #16), proven against a server that is not the
//! simulator: the model-driven fixture, which re-makes every answer from its endpoint's
//! documented model with a seed (null wherever the docs allow it, optional fields left out,
//! extra fields, other values and order).
//!
//! - With the shipped cases and contracts, the suite passes against every seed.
//! - Each single violation of a documented rule (a type, a required field, a null where the
//!   docs allow none), in each response the suite checks, fails the run, and the report names
//!   the model and the JSON path.

use std::collections::{BTreeMap, BTreeSet};

use futures_util::StreamExt as _;
use psconform::catalog::documented::documented;
use psconform::catalog::{Catalog, Effect};
use psconform::fixture::perturb::targets;
use psconform::fixture::server::Break;
use psconform::fixture::{Fixture, FixtureConfig, Violation};
use psconform::report::json::Report;
use psconform::report::list::Entry;
use psconform::result::RequestLine;
use psconform::shape::VerdictStatus;
use psconform::simulator::{Listen, SimConfig, SimState, Simulator, generate_missing};
use secrecy::ExposeSecret as _;

use crate::harness::bin::{in_parallel, psconform};
use crate::harness::report;

/// Seeds each `cargo test` tries: `PSCONFORM_FIXTURE_SEEDS=100 cargo test documented::` tries more.
fn seeds() -> u64 {
    std::env::var("PSCONFORM_FIXTURE_SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(6)
}

/// Every seed of the fixture in front of the built-in simulator passes the shipped suite with
/// its contracts: the cases assert only what the documentation promises.
#[test]
fn the_suite_passes_every_server_the_documentation_allows() {
    let seeds: Vec<u64> = (0..seeds()).collect();
    let runs = in_parallel(&seeds, |seed| psconform().args(["run", "--sim-vary", &seed.to_string()]).run());
    for (seed, run) in seeds.iter().zip(runs) {
        assert_eq!(
            run.code,
            Some(0),
            "seed {seed} failed (rerun with `cargo run -- run --sim-vary {seed}`):\n{}",
            run.text()
        );
    }
}

/// One documented response the shipped suite checks, broken one way.
#[derive(Debug, Clone)]
struct Breakable {
    method: String,
    route: String,
    status: u16,
    /// The model file the report must name.
    file: String,
    violation: Violation,
    path: Vec<String>,
    /// The first shipped case whose step compared this answer with its contract in a run against
    /// an unbroken fixture: the run that breaks it is that case alone, so the test takes a few
    /// seconds per endpoint, not the whole suite's time.
    case: String,
    /// The file of that case, run alone (`--cases FILE`): loading one file instead of the whole
    /// suite halves each run's start.
    case_file: String,
    /// Whether that case releases a credential: only then does its run allow it (a run that
    /// allows it looks the account up first, and would meet the broken answer before the case).
    releases: bool,
}

/// The documented responses the shipped suite checks (found in `reference`, the report of a run
/// against an unbroken fixture): method, route, status, the model file, one field path per kind of
/// violation, and the case that checked it.
fn breakable(reference: &Report) -> Vec<Breakable> {
    let catalog = Catalog::shared().expect("the catalog loads");
    let listed = psconform().args(["list", "--json"]).run();
    let listed: Vec<Entry> = serde_json::from_str(&listed.stdout).expect("list --json is the case list");
    let releasing: BTreeSet<&str> =
        listed.iter().filter(|c| c.effect == Effect::Release).map(|c| c.name.as_str()).collect();
    let status = 200;
    let mut checked = BTreeMap::new();
    for c in &reference.cases {
        for s in &c.steps {
            if s.contract.is_none() || s.status != Some(status) {
                continue;
            }
            let Some(RequestLine { method, route: Some(route), .. }) = &s.request else { continue };
            let Some(doc) = catalog.doc_of(method, route) else { continue };
            checked.entry((doc.method.clone(), doc.route.clone())).or_insert_with(|| (c.name.clone(), c.file.clone()));
        }
    }
    let mut out = Vec::new();
    let mut kinds = Violation::ALL.iter().cycle();
    for ((method, route), (case, case_file)) in checked {
        let Some(doc) = catalog.doc_of(&method, &route) else { continue };
        if doc.route.to_ascii_lowercase().starts_with("auth/") {
            continue;
        }
        let Some(shape) = documented(&catalog.models, doc, status, (3, 0)) else { continue };
        let Some(node) = shape.body.json else { continue };
        let violation = *kinds.next().unwrap_or(&Violation::Retype);
        let Some(path) = targets(&node, violation).into_iter().next() else { continue };
        out.push(Breakable {
            method: doc.method.clone(),
            route: doc.route.clone(),
            status,
            file: doc.file.display().to_string(),
            violation,
            path,
            releases: releasing.contains(case.as_str()),
            case,
            case_file,
        });
    }
    out
}

/// `psconform run` against `target` with every setting of `settings`, writing its JSON report;
/// `extra` adds options. Returns the exit code and the report.
async fn run_against(
    target: &url::Url,
    settings: &psconform::settings::Settings,
    extra: &[&str],
) -> (Option<i32>, Report) {
    let dir = tempfile::tempdir().expect("temp");
    let json = dir.path().join("r.json");
    let secret =
        |s: &Option<secrecy::SecretString>| s.as_ref().map(|v| v.expose_secret().to_owned()).unwrap_or_default();
    let run = psconform()
        .args(["run", "--target", target.as_str(), "--report"])
        .arg(&json)
        .args(extra)
        .env("PS_API_KEY", secret(&settings.api_key))
        .env("PS_RUNAS", settings.runas.clone().unwrap_or_default())
        .env("PS_RUNAS_PASSWORD", secret(&settings.runas_password))
        .env("PS_CLIENT_ID", settings.client_id.clone().unwrap_or_default())
        .env("PS_CLIENT_SECRET", secret(&settings.client_secret))
        .env("PS_ACCOUNT", settings.account.clone().unwrap_or_default())
        .env("PS_SECRET", settings.secret_path.clone().unwrap_or_default())
        .run_async()
        .await;
    (run.code, report::read(&json))
}

/// A retyped field in one endpoint's answers fails the run, naming the model and the field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_retyped_field_fails_the_run_and_names_the_model() {
    violations_fail_the_run_and_name_the_model(Violation::Retype).await;
}

/// A required field left out of one endpoint's answers fails the run, naming the model.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_dropped_required_field_fails_the_run_and_names_the_model() {
    violations_fail_the_run_and_name_the_model(Violation::DropRequired).await;
}

/// A null where the documentation allows none fails the run, naming the model.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_null_where_none_is_allowed_fails_the_run_and_names_the_model() {
    violations_fail_the_run_and_name_the_model(Violation::NullWhereNot).await;
}

/// Breaking one documented rule of the kind `kind` in one endpoint's answers at a time (the
/// endpoints the suite checks take the three kinds in turn) fails the run, naming the model
/// and the field. Three tests, one per kind, so each ends well inside a minute.
async fn violations_fail_the_run_and_name_the_model(kind: Violation) {
    let settings = generate_missing(psconform::settings::Settings::default());
    let sim_config = SimConfig {
        settings: settings.clone(),
        state: SimState::default(),
        faults: Vec::new(),
        profile: Default::default(),
        data: Default::default(),
    };
    let sim = Simulator::start(sim_config, std::net::SocketAddr::from(([127, 0, 0, 1], 0)), Listen::Plain)
        .await
        .expect("the simulator starts");
    let catalog = Catalog::shared().expect("the catalog loads");
    let fixture_config = |violation| FixtureConfig {
        upstream: sim.base_url().clone(),
        seed: 1,
        freedoms: Default::default(),
        violation,
    };

    // Which case checks which answer: the whole suite once against the unbroken fixture.
    let unbroken = Fixture::start(fixture_config(None), catalog).await.expect("the fixture starts");
    let (code, reference) = run_against(unbroken.base_url(), &settings, &["--allow-credential-release"]).await;
    unbroken.stop().await;
    assert_eq!(code, Some(0), "the unbroken fixture fails the suite");
    let cases: Vec<Breakable> = breakable(&reference).into_iter().filter(|b| b.violation == kind).collect();
    assert!(cases.len() >= 20, "too few documented responses to break: {cases:?}");

    // Then each answer broken in turn, with the one case that checks it, a few at a time.
    let verdicts = futures_util::stream::iter(cases.clone())
        .map(|b| {
            let (settings, fixture_config) = (&settings, &fixture_config);
            async move {
                let broken = Break {
                    method: b.method.clone(),
                    route: b.route.clone(),
                    status: b.status,
                    path: b.path.clone(),
                    violation: b.violation,
                };
                let fixture = Fixture::start(fixture_config(Some(broken)), catalog).await.expect("the fixture starts");
                // Named from its file alone, a case loses its folder: `nodes::nodes::list`
                // is `nodes::list`.
                let alone = b.case.split_once("::").map_or(b.case.as_str(), |(_, rest)| rest);
                let mut args = vec!["--cases", b.case_file.as_str(), "--snapshots", "snapshots", "--exact", alone];
                if b.releases {
                    args.push("--allow-credential-release");
                }
                let (code, r) = run_against(fixture.base_url(), settings, &args).await;
                let broke = fixture.broke();
                fixture.stop().await;
                (b, code, r, broke)
            }
        })
        .buffer_unordered(4)
        .collect::<Vec<_>>()
        .await;
    sim.stop().await;

    let (mut failures, mut judged) = (Vec::new(), 0);
    for (Breakable { method, route, status, file, violation, path, case, .. }, code, r, broke) in verdicts {
        if !broke {
            // The field is not in that answer (an empty list, say): nothing to judge.
            continue;
        }
        judged += 1;
        let field = path.last().cloned().unwrap_or_default();
        let named = report::verdicts(&r).any(|v| {
            v.status == VerdictStatus::Breaking
                && v.contract.contains(&file)
                && v.changes.iter().any(|c| c.at.ends_with(&field))
        });
        // The case checked this answer against the unbroken fixture, so it must meet the broken one.
        if code != Some(1) || !named {
            failures.push(format!(
                "{violation:?} of {method} {route} {status} at {path:?} ({case}): exit {code:?}, named: {named}: {}",
                report::verdicts(&r).map(|v| format!("{v:?}")).collect::<Vec<_>>().join("; ")
            ));
        }
    }
    assert!(failures.is_empty(), "violations the suite did not catch:\n{}", failures.join("\n"));
    assert!(judged >= 15, "only {judged} broken answers reached a case");
    println!("{kind:?}: {judged} answers broken, each failed its case naming the model and the field");
}
