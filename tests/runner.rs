//! The runner against wiremock: what `run_case` sends (authorization, captured values, cookies,
//! bodies, teardown order), and that every expectation kind fails against a response that
//! deviates from it. A conformance runner that cannot fail is the worst bug it can have.

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use psconform::case::{Suite, load_suite};
use psconform::expect::CheckResult;
use psconform::http::{Http, HttpOptions};
use psconform::result::{CaseResult, Outcome, Phase};
use psconform::runner::{Policy, RunContext, Target, run_case};
use psconform::secrets::SecretStore;
use psconform::settings::Settings;
use psconform::simulator::SimState;
use serde_json::json;
use wiremock::matchers::{any, body_json, body_string, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const BASE: &str = "/BeyondTrust/api/public/v3";
const KEY: &str = "test-key-0123";
const RUNAS: &str = "svc-conform";
const PWD: &str = "test-pwd-4567";

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// Settings read from `vars` instead of the process environment.
fn settings(vars: &[(&str, &str)]) -> Settings {
    Settings::from_lookup(|name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned()))
}

/// An API key and a run-as user, no password: what most cases need.
fn key_and_runas() -> Settings {
    settings(&[("PS_API_KEY", KEY), ("PS_RUNAS", RUNAS)])
}

fn with_password() -> Settings {
    settings(&[("PS_API_KEY", KEY), ("PS_RUNAS", RUNAS), ("PS_RUNAS_PASSWORD", PWD)])
}

/// A run against `server` as a real (not built-in) target.
fn context(server: &MockServer, settings: Settings, policy: Policy) -> RunContext {
    let options = HttpOptions { timeout: Duration::from_secs(5), ..HttpOptions::default() };
    RunContext {
        rt: tokio::runtime::Handle::current(),
        http: Arc::new(Http::new(options).expect("the HTTP client builds")),
        target: Target {
            base_url: format!("{}{BASE}", server.uri()).parse().expect("the mock server's URI is a valid base URL"),
            builtin: false,
            faults: vec![],
            profile: Default::default(),
            data: Default::default(),
        },
        settings,
        secrets: SecretStore::new(),
        policy,
        records: Default::default(),
        responses: AtomicUsize::new(0),
        unreachable: AtomicUsize::new(0),
        snapshots: None,
        shapes: None,
    }
}

/// Strips the indentation common to all non-blank lines, so YAML can be written indented
/// inside a test.
fn dedent(text: &str) -> String {
    let depth =
        text.lines().filter(|l| !l.trim().is_empty()).map(|l| l.len() - l.trim_start().len()).min().unwrap_or(0);
    text.lines().map(|l| l.get(depth..).unwrap_or("").trim_end()).collect::<Vec<_>>().join("\n")
}

fn indent(text: &str, by: usize) -> String {
    let pad = " ".repeat(by);
    dedent(text).lines().map(|l| format!("{pad}{l}\n")).collect()
}

/// Loads a case file written into a fresh temporary folder; panics with the diagnostics when
/// the YAML is not a valid case file (a broken test, not a runner failure).
fn suite(yaml: &str) -> Suite {
    let dir = tempfile::tempdir().expect("a temporary folder");
    std::fs::write(dir.path().join("t.yaml"), dedent(yaml)).expect("the case file is written");
    let states: Vec<&str> = SimState::NAMES.iter().map(|(n, _)| *n).collect();
    match load_suite(&[dir.path().to_path_buf()], &states) {
        Ok(s) => s,
        Err(diags) => panic!(
            "the test's case file is invalid:\n{}",
            diags.iter().map(|d| d.render()).collect::<Vec<_>>().join("\n")
        ),
    }
}

/// A file with one case `t::c`; `body` holds its `steps` (and `effect`, `needs`, `teardown`
/// when the test needs them; `effect` defaults to `read`).
fn one_case(body: &str) -> String {
    let mut yaml = String::from("endpoint: X\ncases:\n  - name: c\n    summary: s\n");
    if !body.contains("effect:") {
        yaml.push_str("    effect: read\n");
    }
    yaml.push_str(&indent(body, 4));
    yaml
}

async fn run_with(server: &MockServer, settings: Settings, policy: Policy, body: &str) -> CaseResult {
    let ctx = context(server, settings, policy);
    let suite = suite(&one_case(body));
    run_case(&ctx, &suite.cases[0]).await
}

async fn run(server: &MockServer, body: &str) -> CaseResult {
    run_with(server, key_and_runas(), Policy::default(), body).await
}

fn failed(r: &CaseResult) -> Vec<CheckResult> {
    r.steps.iter().flat_map(|s| s.checks.iter()).filter(|c| !c.passed).cloned().collect()
}

fn whats(checks: &[CheckResult]) -> Vec<&str> {
    checks.iter().map(|c| c.what.as_str()).collect()
}

fn api(p: &str) -> String {
    format!("{BASE}/{p}")
}

/// Serves `resp` once at `GET X` and returns the failed checks of a one-step case expecting
/// `expect`; the case must have failed.
async fn failures(resp: ResponseTemplate, expect: &str) -> Vec<CheckResult> {
    let server = MockServer::start().await;
    Mock::given(method("GET")).and(path(api("X"))).respond_with(resp).expect(1).mount(&server).await;
    let body = format!("steps:\n  - request: {{ method: GET, path: X }}\n    expect:\n{}", indent(expect, 6));
    let r = run(&server, &body).await;
    assert_eq!(r.outcome, Outcome::Failed, "{r:#?}");
    let f = failed(&r);
    assert!(!f.is_empty(), "a failed case with no failed check: {r:#?}");
    f
}

/// The single failed check of a case; panics when there is not exactly one.
fn single(f: Vec<CheckResult>) -> CheckResult {
    assert_eq!(f.len(), 1, "{f:#?}");
    f.into_iter().next().expect("exactly one failed check")
}

fn json_body(v: serde_json::Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(v)
}

// ---------------------------------------------------------------------------------------------
// What the runner sends
// ---------------------------------------------------------------------------------------------

const SIGN_IN: &str = "
    steps:
      - request: { method: POST, path: Auth/SignAppin, auth: ps-auth }
        expect: { status: 200 }
";

/// Answers 200 to `POST Auth/SignAppin` only when the Authorization header is exactly `auth`.
async fn expect_authorization(server: &MockServer, auth: &str) {
    Mock::given(method("POST"))
        .and(path(api("Auth/SignAppin")))
        .and(header("authorization", auth))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(server)
        .await;
}

#[tokio::test]
async fn ps_auth_sends_key_runas_and_the_configured_password() {
    let server = MockServer::start().await;
    expect_authorization(&server, &format!("PS-Auth key={KEY}; runas={RUNAS}; pwd=[{PWD}];")).await;
    let r = run_with(&server, with_password(), Policy::default(), SIGN_IN).await;
    assert_eq!(r.outcome, Outcome::Passed, "{r:#?}");
    server.verify().await;
}

#[tokio::test]
async fn ps_auth_leaves_pwd_out_when_no_password_is_set() {
    let server = MockServer::start().await;
    expect_authorization(&server, &format!("PS-Auth key={KEY}; runas={RUNAS};")).await;
    let r = run(&server, SIGN_IN).await;
    assert_eq!(r.outcome, Outcome::Passed, "{r:#?}");
    server.verify().await;
}

#[tokio::test]
async fn ps_auth_sends_a_given_password_even_when_none_is_set() {
    let server = MockServer::start().await;
    expect_authorization(&server, &format!("PS-Auth key={KEY}; runas={RUNAS}; pwd=[given-pwd];")).await;
    let r = run(
        &server,
        "
        steps:
          - request:
              method: POST
              path: Auth/SignAppin
              auth: { ps-auth: { pwd: given-pwd } }
            expect: { status: 200 }
        ",
    )
    .await;
    assert_eq!(r.outcome, Outcome::Passed, "{r:#?}");
    server.verify().await;
}

#[tokio::test]
async fn ps_auth_compact_form_without_pwd_even_when_a_password_is_set() {
    let server = MockServer::start().await;
    expect_authorization(&server, &format!("PS-Auth key={KEY};runas={RUNAS};")).await;
    let r = run_with(
        &server,
        with_password(),
        Policy::default(),
        "
        steps:
          - request:
              method: POST
              path: Auth/SignAppin
              auth: { ps-auth: { compact: true, pwd: false } }
            expect: { status: 200 }
        ",
    )
    .await;
    assert_eq!(r.outcome, Outcome::Passed, "{r:#?}");
    server.verify().await;
}

#[tokio::test]
async fn bearer_sends_the_token_captured_from_a_previous_body() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(api("Auth/Connect/Token")))
        .respond_with(json_body(json!({
            "access_token": "tok-abc123",
            "token_type": "Bearer",
            "expires_in": 3600
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(api("X")))
        .and(header("authorization", "Bearer tok-abc123"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let r = run(
        &server,
        r#"
        steps:
          - request:
              method: POST
              path: Auth/Connect/Token
              body: { form: { grant_type: client_credentials } }
            expect: { status: 200 }
            capture:
              token: { path: $.access_token }
          - request: { method: GET, path: X, auth: { bearer: "{{ token }}" } }
            expect: { status: 200 }
        "#,
    )
    .await;
    assert_eq!(r.outcome, Outcome::Passed, "{r:#?}");
    server.verify().await;
}

#[tokio::test]
async fn a_captured_value_fills_path_query_json_and_form_bodies() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(api("Items")))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({ "Name": "n" })))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({ "Id": 42 })))
        .expect(1)
        .mount(&server)
        .await;
    // `body_json` compares parsed JSON, so `"Id": "42"` would not match: a whole-string
    // template keeps the captured integer an integer, a template inside text renders as text.
    Mock::given(method("PUT"))
        .and(path(api("Items/42")))
        .and(query_param("q", "42"))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({ "Id": 42, "Label": "item-42" })))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(api("Items/42/Notes")))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string("ItemId=42&Text=a+b%26c"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let r = run(
        &server,
        r#"
        steps:
          - request: { method: POST, path: Items, body: { json: { Name: n } } }
            expect: { status: 201 }
            capture:
              id: { path: $.Id }
          - request:
              method: PUT
              path: "Items/{{ id }}"
              query: { q: "{{ id }}" }
              body: { json: { Id: "{{ id }}", Label: "item-{{ id }}" } }
            expect: { status: 200 }
          - request:
              method: POST
              path: "Items/{{ id }}/Notes"
              body: { form: { ItemId: "{{ id }}", Text: "a b&c" } }
            expect: { status: 200 }
        "#,
    )
    .await;
    assert_eq!(r.outcome, Outcome::Passed, "{r:#?}");
    server.verify().await;
    let put = server
        .received_requests()
        .await
        .expect("requests are recorded")
        .into_iter()
        .find(|q| q.method.as_str() == "PUT")
        .expect("the PUT was sent");
    let sent: serde_json::Value = serde_json::from_slice(&put.body).expect("a JSON body");
    assert!(sent["Id"].is_i64(), "{sent}");
}

const TWO_CASES_ONE_JAR_EACH: &str = "
    endpoint: X
    cases:
      - name: a-signs-in
        summary: the session cookie is sent back
        effect: audited
        steps:
          - request: { method: POST, path: Auth/SignAppin, auth: ps-auth }
            expect: { status: 200 }
          - request: { method: GET, path: X }
            expect: { status: 200 }
      - name: b-does-not
        summary: another case has no session
        effect: read
        steps:
          - request: { method: GET, path: X }
            expect: { status: 401 }
";

#[tokio::test]
async fn the_session_cookie_goes_back_in_one_header_and_cases_do_not_share_jars() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(api("Auth/SignAppin")))
        .respond_with(ResponseTemplate::new(200).insert_header("set-cookie", "ASP.NET_SessionId=abc; path=/"))
        .expect(1)
        .mount(&server)
        .await;
    // `header` compares every value of every Cookie header, so two headers would not match.
    Mock::given(method("GET"))
        .and(path(api("X")))
        .and(header("cookie", "ASP.NET_SessionId=abc"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(api("X")))
        .and(|req: &Request| !req.headers.contains_key("cookie"))
        .respond_with(ResponseTemplate::new(401))
        .expect(1)
        .mount(&server)
        .await;
    let ctx = context(&server, key_and_runas(), Policy::default());
    let suite = suite(TWO_CASES_ONE_JAR_EACH);
    assert_eq!(suite.cases.len(), 2);
    for case in &suite.cases {
        let r = run_case(&ctx, case).await;
        assert_eq!(r.outcome, Outcome::Passed, "{r:#?}");
    }
    server.verify().await;
    let cookie_headers: Vec<usize> = server
        .received_requests()
        .await
        .expect("requests are recorded")
        .iter()
        .filter(|q| q.method.as_str() == "GET")
        .map(|q| q.headers.get_all("cookie").iter().count())
        .collect();
    assert_eq!(cookie_headers, [1, 0]);
}

#[tokio::test]
async fn teardown_runs_after_a_failure_and_later_steps_are_skipped() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(api("Auth/SignAppin")))
        .respond_with(ResponseTemplate::new(500))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(api("X")))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(api("Auth/Signout")))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let r = run(
        &server,
        "
        steps:
          - request: { method: POST, path: Auth/SignAppin, auth: ps-auth }
            expect: { status: 200 }
          - request: { method: GET, path: X }
            expect: { status: 200 }
        teardown:
          - request: { method: POST, path: Auth/Signout }
            expect: { status: 200 }
        ",
    )
    .await;
    assert_eq!(r.outcome, Outcome::Failed);
    assert_eq!(r.steps.len(), 3, "{r:#?}");
    assert!(r.steps[0].failed() && r.steps[0].status == Some(500));
    assert!(r.steps[1].skipped && r.steps[1].status.is_none());
    assert_eq!(r.steps[2].phase, Phase::Teardown);
    assert!(!r.steps[2].skipped && r.steps[2].status == Some(200));
    server.verify().await;
}

const DELETE_ITEM: &str = "
    effect: mutating
    steps:
      - request: { method: DELETE, path: Items/1 }
        expect: { status: 204 }
";

#[tokio::test]
async fn a_mutating_case_is_ignored_on_a_real_target_without_allow_mutations() {
    let server = MockServer::start().await;
    Mock::given(any()).respond_with(ResponseTemplate::new(204)).expect(0).mount(&server).await;
    let r = run(&server, DELETE_ITEM).await;
    match &r.outcome {
        Outcome::Ignored(why) => assert!(why.contains("--allow-mutations"), "{why}"),
        other => panic!("expected ignored, got {other:?}"),
    }
    assert!(r.steps.is_empty());
    server.verify().await;
}

#[tokio::test]
async fn a_mutating_case_runs_with_allow_mutations() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path(api("Items/1")))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let policy = Policy { allow_mutations: true, ..Policy::default() };
    let r = run_with(&server, key_and_runas(), policy, DELETE_ITEM).await;
    assert_eq!(r.outcome, Outcome::Passed, "{r:#?}");
    server.verify().await;
}

#[tokio::test]
async fn a_case_whose_setting_is_missing_is_ignored_naming_the_variable() {
    let server = MockServer::start().await;
    Mock::given(any()).respond_with(ResponseTemplate::new(200)).expect(0).mount(&server).await;
    let used_in_a_template = r#"
        steps:
          - request:
              method: POST
              path: Auth/Connect/Token
              body: { form: { client_id: "{{ client_id }}", client_secret: "{{ client_secret }}" } }
            expect: { status: 200 }
    "#;
    let only_client_id = settings(&[("PS_CLIENT_ID", "cid")]);
    let r = run_with(&server, only_client_id, Policy::default(), used_in_a_template).await;
    assert_eq!(r.outcome, Outcome::Ignored("needs PS_CLIENT_SECRET, which is not set".into()));
    let declared = "
        needs: [runas_password]
        steps:
          - request: { method: POST, path: Auth/SignAppin, auth: ps-auth }
            expect: { status: 200 }
    ";
    let r = run(&server, declared).await;
    match &r.outcome {
        Outcome::Ignored(why) => assert!(why.contains("PS_RUNAS_PASSWORD"), "{why}"),
        other => panic!("expected ignored, got {other:?}"),
    }
    server.verify().await;
}

#[tokio::test]
async fn a_capture_from_a_path_that_selects_nothing_fails_the_step() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(api("X")))
        .respond_with(json_body(json!({ "Id": 1 })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(any()).respond_with(ResponseTemplate::new(200)).expect(0).mount(&server).await;
    let r = run(
        &server,
        r#"
        steps:
          - request: { method: GET, path: X }
            expect: { status: 200 }
            capture:
              id: { path: $.Nope }
          - request: { method: GET, path: "Items/{{ id }}" }
            expect: { status: 200 }
        "#,
    )
    .await;
    assert_eq!(r.outcome, Outcome::Failed);
    let c = single(failed(&r));
    assert_eq!(c.what, "capture id");
    assert!(c.actual.contains("$.Nope"), "{c:?}");
    assert!(r.steps[1].skipped);
    server.verify().await;
}

#[tokio::test]
async fn every_failure_of_a_step_is_reported_not_only_the_first() {
    let resp = ResponseTemplate::new(500).set_body_raw(r#"{"UserId":"7"}"#, "text/plain");
    let f = failures(
        resp,
        r#"
        status: 200
        headers:
          Content-Type: { matches: "^application/json" }
        paths:
          $.UserId: { type: integer }
          $.UserName: { exists: true }
        "#,
    )
    .await;
    assert_eq!(whats(&f), ["status", "header Content-Type", "$.UserId type", "$.UserName"]);
}

// ---------------------------------------------------------------------------------------------
// Every expectation kind fails against a deviating response
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn status_exact_fails_on_another_code() {
    let c = single(failures(ResponseTemplate::new(401), "status: 200").await);
    assert_eq!((c.what.as_str(), c.expected.as_str(), c.actual.as_str()), ("status", "200", "401"));
}

#[tokio::test]
async fn status_list_fails_on_a_code_not_listed() {
    let c = single(failures(ResponseTemplate::new(500), "status: [200, 204]").await);
    assert_eq!(c.what, "status");
    assert_eq!(c.expected, "one of 200, 204");
}

#[tokio::test]
async fn status_class_fails_on_another_class() {
    let c = single(failures(ResponseTemplate::new(404), "status: 2xx").await);
    assert_eq!((c.what.as_str(), c.expected.as_str(), c.actual.as_str()), ("status", "2xx", "404"));
}

fn text_plain() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw("hello", "text/plain")
}

#[tokio::test]
async fn header_equals_fails_on_another_value() {
    let c = single(failures(text_plain(), "headers:\n  Content-Type: { equals: application/json }").await);
    assert_eq!(c.what, "header Content-Type");
    assert_eq!(c.actual, "text/plain");
}

#[tokio::test]
async fn header_matches_fails_on_a_value_not_matching() {
    let c = single(failures(text_plain(), "headers:\n  Content-Type: { matches: \"^application/json\" }").await);
    assert_eq!(c.what, "header Content-Type");
}

#[tokio::test]
async fn header_contains_fails_on_a_value_without_the_text() {
    let c = single(failures(text_plain(), "headers:\n  Content-Type: { contains: json }").await);
    assert_eq!(c.what, "header Content-Type");
}

#[tokio::test]
async fn header_absent_true_fails_when_the_header_is_there() {
    let resp = ResponseTemplate::new(200).insert_header("x-powered-by", "ASP.NET");
    let c = single(failures(resp, "headers:\n  X-Powered-By: { absent: true }").await);
    assert_eq!((c.what.as_str(), c.expected.as_str(), c.actual.as_str()), ("header X-Powered-By", "absent", "present"));
}

#[tokio::test]
async fn header_absent_false_fails_when_the_header_is_missing() {
    let c = single(failures(ResponseTemplate::new(200), "headers:\n  X-Request-Id: { absent: false }").await);
    assert_eq!((c.what.as_str(), c.expected.as_str(), c.actual.as_str()), ("header X-Request-Id", "present", "absent"));
}

fn session_cookie(attributes: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).insert_header("set-cookie", format!("ASP.NET_SessionId=s3cret{attributes}").as_str())
}

#[tokio::test]
async fn cookie_expected_set_fails_when_it_is_not() {
    let c = single(failures(ResponseTemplate::new(200), "cookies:\n  ASP.NET_SessionId: {}").await);
    assert_eq!(
        (c.what.as_str(), c.expected.as_str(), c.actual.as_str()),
        ("cookie ASP.NET_SessionId", "set", "not set")
    );
}

#[tokio::test]
async fn cookie_expected_not_set_fails_when_it_is() {
    let c = single(failures(session_cookie("; path=/"), "cookies:\n  ASP.NET_SessionId: { set: false }").await);
    assert_eq!(
        (c.what.as_str(), c.expected.as_str(), c.actual.as_str()),
        ("cookie ASP.NET_SessionId", "not set", "set")
    );
}

#[tokio::test]
async fn cookie_http_only_fails_without_the_attribute() {
    let c = single(failures(session_cookie("; path=/"), "cookies:\n  ASP.NET_SessionId: { http_only: true }").await);
    assert_eq!(c.what, "cookie ASP.NET_SessionId HttpOnly");
}

#[tokio::test]
async fn cookie_secure_fails_without_the_attribute() {
    let c =
        single(failures(session_cookie("; path=/; HttpOnly"), "cookies:\n  ASP.NET_SessionId: { secure: true }").await);
    assert_eq!(c.what, "cookie ASP.NET_SessionId Secure");
}

#[tokio::test]
async fn cookie_path_fails_on_another_path() {
    let c = single(failures(session_cookie("; path=/other"), "cookies:\n  ASP.NET_SessionId: { path: / }").await);
    assert_eq!((c.what.as_str(), c.actual.as_str()), ("cookie ASP.NET_SessionId Path", "/other"));
}

#[tokio::test]
async fn cookie_same_site_fails_on_another_mode() {
    let c = single(
        failures(
            session_cookie("; path=/; SameSite=None; Secure"),
            "cookies:\n  ASP.NET_SessionId: { same_site: Lax }",
        )
        .await,
    );
    assert_eq!(c.what, "cookie ASP.NET_SessionId SameSite");
}

#[tokio::test]
async fn cookie_value_matches_fails_without_showing_the_value() {
    let c = single(
        failures(session_cookie("; path=/"), "cookies:\n  ASP.NET_SessionId: { value_matches: \"^[0-9]+$\" }").await,
    );
    assert_eq!(c.what, "cookie ASP.NET_SessionId value");
    assert!(!c.actual.contains("s3cret"), "{c:?}");
}

#[tokio::test]
async fn body_exact_fails_on_an_extra_key() {
    let c = single(failures(json_body(json!({ "UserId": 7, "Extra": true })), "body: { exact: { UserId: 7 } }").await);
    assert_eq!(c.what, "body (exact)");
    assert!(c.actual.contains("$.Extra is not expected"), "{c:?}");
}

#[tokio::test]
async fn body_exact_fails_on_a_wrong_value() {
    let c = single(failures(json_body(json!({ "UserId": 8 })), "body: { exact: { UserId: 7 } }").await);
    assert_eq!(c.what, "body (exact)");
    assert!(c.actual.contains("$.UserId is 8"), "{c:?}");
}

#[tokio::test]
async fn body_exact_fails_on_another_bare_string() {
    let c =
        single(failures(json_body(json!("User not authorized")), "body: { exact: \"User not authenticated\" }").await);
    assert_eq!(c.what, "body (exact)");
    assert!(c.actual.contains("User not authorized"), "{c:?}");
}

#[tokio::test]
async fn body_exact_fails_on_another_bare_number() {
    let c = single(failures(json_body(json!(4092)), "body: { exact: 4091 }").await);
    assert_eq!(c.what, "body (exact)");
    assert!(c.actual.contains("4092"), "{c:?}");
}

#[tokio::test]
async fn body_partial_fails_on_a_missing_key() {
    let c = single(failures(json_body(json!({ "UserId": 7 })), "body: { partial: { UserName: svc } }").await);
    assert_eq!(c.what, "body (partial)");
    assert!(c.actual.contains("$.UserName is missing"), "{c:?}");
}

#[tokio::test]
async fn body_partial_fails_on_a_nested_mismatch() {
    let c = single(failures(json_body(json!({ "A": { "B": 1, "C": 2 } })), "body: { partial: { A: { B: 2 } } }").await);
    assert_eq!(c.what, "body (partial)");
    assert!(c.actual.contains("$.A.B is 1"), "{c:?}");
}

#[tokio::test]
async fn body_partial_fails_on_an_array_of_another_length() {
    let c = single(failures(json_body(json!({ "Tags": [1, 2, 3] })), "body: { partial: { Tags: [1, 2] } }").await);
    assert_eq!(c.what, "body (partial)");
    assert!(c.actual.contains("$.Tags has 3 elements, expected 2"), "{c:?}");
}

#[tokio::test]
async fn body_empty_true_fails_on_a_body() {
    let c = single(failures(text_plain(), "body: { empty: true }").await);
    assert_eq!((c.what.as_str(), c.expected.as_str(), c.actual.as_str()), ("body", "empty", "5 bytes"));
}

#[tokio::test]
async fn body_empty_false_fails_on_an_empty_body() {
    let c = single(failures(ResponseTemplate::new(200), "body: { empty: false }").await);
    assert_eq!((c.what.as_str(), c.expected.as_str(), c.actual.as_str()), ("body", "not empty", "empty"));
}

#[tokio::test]
async fn body_text_equals_fails_on_other_text() {
    let c = single(failures(text_plain(), "body: { text: { equals: goodbye } }").await);
    assert_eq!((c.what.as_str(), c.actual.as_str()), ("body text", "hello"));
}

#[tokio::test]
async fn body_text_matches_fails_on_text_not_matching() {
    let c = single(failures(text_plain(), "body: { text: { matches: \"^<html>\" } }").await);
    assert_eq!(c.what, "body text");
}

#[tokio::test]
async fn body_text_contains_fails_on_text_without_it() {
    let c = single(failures(text_plain(), "body: { text: { contains: Error } }").await);
    assert_eq!(c.what, "body text");
}

fn user() -> ResponseTemplate {
    json_body(json!({
        "UserId": 7,
        "UserName": "svc-conform",
        "SID": "S-1-5-21",
        "Tags": ["a", "b", "c"],
        "Score": 50
    }))
}

#[tokio::test]
async fn path_exists_true_fails_when_nothing_is_selected() {
    let c = single(failures(user(), "paths:\n  $.Nope: { exists: true }").await);
    assert_eq!((c.what.as_str(), c.expected.as_str(), c.actual.as_str()), ("$.Nope", "present", "nothing selected"));
}

#[tokio::test]
async fn path_exists_false_fails_when_a_value_is_selected() {
    let c = single(failures(user(), "paths:\n  $.UserId: { exists: false }").await);
    assert_eq!((c.what.as_str(), c.expected.as_str()), ("$.UserId", "absent"));
}

#[tokio::test]
async fn path_equals_fails_on_another_value() {
    let c = single(failures(user(), "paths:\n  $.UserName: { equals: other }").await);
    assert_eq!(c.what, "$.UserName");
    assert_eq!(c.actual, "\"svc-conform\"");
}

#[tokio::test]
async fn path_equals_null_fails_on_a_value() {
    let c = single(failures(user(), "paths:\n  $.SID: { equals: null }").await);
    assert_eq!((c.what.as_str(), c.expected.as_str()), ("$.SID", "equal to null"));
}

#[tokio::test]
async fn path_type_fails_on_another_type() {
    let c = single(failures(user(), "paths:\n  $.UserId: { type: string }").await);
    assert_eq!((c.what.as_str(), c.expected.as_str(), c.actual.as_str()), ("$.UserId type", "string", "integer"));
}

#[tokio::test]
async fn path_type_union_fails_on_a_type_outside_it() {
    let c = single(failures(user(), "paths:\n  $.UserId: { type: [string, \"null\"] }").await);
    assert_eq!(
        (c.what.as_str(), c.expected.as_str(), c.actual.as_str()),
        ("$.UserId type", "string or null", "integer")
    );
}

#[tokio::test]
async fn path_matches_fails_on_a_string_not_matching() {
    let c = single(failures(user(), "paths:\n  $.SID: { matches: \"^S-1-5-32\" }").await);
    assert_eq!(c.what, "$.SID");
    assert!(c.expected.contains("^S-1-5-32"), "{c:?}");
}

#[tokio::test]
async fn path_one_of_fails_on_a_value_not_listed() {
    let c = single(failures(user(), "paths:\n  $.UserName: { one_of: [a, b] }").await);
    assert_eq!((c.what.as_str(), c.expected.as_str()), ("$.UserName", "one of \"a\", \"b\""));
}

#[tokio::test]
async fn path_length_exact_fails_on_another_length() {
    let c = single(failures(user(), "paths:\n  $.Tags: { length: 2 }").await);
    assert_eq!((c.what.as_str(), c.expected.as_str(), c.actual.as_str()), ("$.Tags length", "2", "3"));
}

#[tokio::test]
async fn path_length_range_fails_outside_the_range() {
    let c = single(failures(user(), "paths:\n  $.UserName: { length: { min: 1, max: 5 } }").await);
    assert_eq!(
        (c.what.as_str(), c.expected.as_str(), c.actual.as_str()),
        ("$.UserName length", "between 1 and 5", "11")
    );
}

#[tokio::test]
async fn path_min_fails_below_it() {
    let c = single(failures(user(), "paths:\n  $.Score: { min: 51 }").await);
    assert_eq!((c.what.as_str(), c.expected.as_str(), c.actual.as_str()), ("$.Score", "a number at least 51", "50"));
}

#[tokio::test]
async fn path_max_fails_above_it() {
    let c = single(failures(user(), "paths:\n  $.Score: { max: 49.5 }").await);
    assert_eq!((c.what.as_str(), c.expected.as_str(), c.actual.as_str()), ("$.Score", "a number at most 49.5", "50"));
}
