//! The documentation is the contract (issue #16), proven against a server that is not the
//! simulator: the model-driven fixture, which re-makes every answer from its endpoint's
//! documented model with a seed (null wherever the docs allow it, optional fields left out,
//! extra fields, other values and order).
//!
//! - With the shipped cases and contracts, the suite passes against every seed.
//! - Each single violation of a documented rule (a type, a required field, a null where the
//!   docs allow none), in each response the suite checks, fails the run, and the report names
//!   the model and the JSON path.

use std::collections::BTreeSet;

use psconform::catalog::Catalog;
use psconform::catalog::documented::documented;
use psconform::fixture::perturb::targets;
use psconform::fixture::server::Break;
use psconform::fixture::{Fixture, FixtureConfig, Violation};
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

/// The documented responses the shipped suite checks: method, route, status, the model file,
/// and one field path per kind of violation.
fn breakable() -> Vec<(String, String, u16, String, Violation, Vec<String>)> {
    let catalog = Catalog::shared().expect("the catalog loads");
    let listed = psconform().args(["list", "--json"]).run();
    let cases: serde_json::Value = serde_json::from_str(&listed.stdout).expect("list --json is JSON");
    let mut exercised = BTreeSet::new();
    for c in report::list(&cases) {
        for e in report::list(&c["endpoints"]) {
            if let Some((method, route)) = report::text(e).split_once(' ') {
                exercised.insert((method.to_owned(), route.to_owned()));
            }
        }
    }
    let mut out = Vec::new();
    let mut kinds = Violation::ALL.iter().cycle();
    for (method, route) in exercised {
        let Some(doc) = catalog.doc_of(&method, &route) else { continue };
        if doc.route.to_ascii_lowercase().starts_with("auth/") {
            continue;
        }
        let status = 200;
        let Some(shape) = documented(&catalog.models, doc, status, (3, 0)) else { continue };
        let Some(node) = shape.body.json else { continue };
        let violation = *kinds.next().unwrap_or(&Violation::Retype);
        let Some(path) = targets(&node, violation).into_iter().next() else { continue };
        out.push((doc.method.clone(), doc.route.clone(), status, doc.file.display().to_string(), violation, path));
    }
    out
}

/// Breaking one documented rule in one endpoint's answers fails the run, naming the model.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_single_violation_fails_the_run_and_names_the_model() {
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
    let cases = breakable();
    assert!(cases.len() >= 10, "too few documented responses to break: {cases:?}");
    let mut failures = Vec::new();
    for (method, route, status, file, violation, path) in cases {
        let b = Break { method: method.clone(), route: route.clone(), status, path: path.clone(), violation };
        let config = FixtureConfig {
            upstream: sim.base_url().clone(),
            seed: 1,
            freedoms: Default::default(),
            violation: Some(b),
        };
        let fixture = Fixture::start(config, catalog).await.expect("the fixture starts");
        let dir = tempfile::tempdir().expect("temp");
        let json = dir.path().join("r.json");
        let secret =
            |s: &Option<secrecy::SecretString>| s.as_ref().map(|v| v.expose_secret().to_owned()).unwrap_or_default();
        let run = psconform()
            .args(["run", "--target", fixture.base_url().as_str(), "--allow-credential-release", "--report"])
            .arg(&json)
            .env("PS_API_KEY", secret(&settings.api_key))
            .env("PS_RUNAS", settings.runas.clone().unwrap_or_default())
            .env("PS_RUNAS_PASSWORD", secret(&settings.runas_password))
            .env("PS_CLIENT_ID", settings.client_id.clone().unwrap_or_default())
            .env("PS_CLIENT_SECRET", secret(&settings.client_secret))
            .env("PS_ACCOUNT", settings.account.clone().unwrap_or_default())
            .env("PS_SECRET", settings.secret_path.clone().unwrap_or_default())
            .run_async()
            .await;
        let broke = fixture.broke();
        fixture.stop().await;
        if !broke {
            // No case reached that answer with that field (an empty list, say): nothing to judge.
            continue;
        }
        let r = report::read(&json);
        let field = path.last().cloned().unwrap_or_default();
        let named = report::verdicts(&r).any(|v| {
            report::text(&v["status"]) == "breaking"
                && report::text(&v["contract"]).contains(&file)
                && report::list(&v["changes"]).any(|c| report::text(&c["at"]).ends_with(&field))
        });
        if run.code != Some(1) || !named {
            failures.push(format!(
                "{violation:?} of {method} {route} {status} at {path:?}: exit {:?}, named: {named}",
                run.code
            ));
        }
    }
    sim.stop().await;
    assert!(failures.is_empty(), "violations the suite did not catch:\n{}", failures.join("\n"));
}
