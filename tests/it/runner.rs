//! The runner against wiremock: what `run_case` sends (authorization, captured values, cookies,
//! bodies, teardown order), and that every expectation kind fails against a response that
//! deviates from it. A conformance runner that cannot fail is the worst bug it can have.

use std::sync::Arc;
use std::time::Duration;

use psconform::plan::{CasePlan, Plan};
use psconform::result::{CaseResult, CheckKind, CheckOutcome, IgnoreReason, Matcher, Outcome, Phase, Skipped};
use psconform::run::http::{Http, HttpOptions};
use psconform::run::{Gate, Policy, RunContext, Stop, Target, configured_store, run_case};
use psconform::seal::Redactor;
use psconform::settings::Settings;
use serde_json::{Value, json};
use wiremock::matchers::{any, body_json, body_string, header, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::harness::files::{Project, dedent, indent, one_case, sign_in};
use crate::harness::target::{base_url, on, once};
use crate::harness::{KEY, RUNAS, credentials, settings};

const PWD: &str = "test-pwd-4567";

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

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
            base_url: base_url(server).parse().expect("the mock server's URI is a valid base URL"),
            builtin: false,
            faults: vec![],
            profile: Default::default(),
            data: Default::default(),
        },
        redactor: Redactor::new(vec![configured_store(&settings)]),
        settings,
        policy,
        contracts: None,
        eval_budget: Duration::from_secs(5),
        strict: false,
        stop: Stop::default(),
        gate: Gate::default(),
    }
}

/// Compiles `yaml` as the case file `t.yaml`; panics with the diagnostics when it is not a
/// valid case file (a broken test, not a runner failure).
fn plan(yaml: &str) -> Plan {
    match Project::new(&[("t.yaml", &dedent(yaml))]).compile() {
        Ok(plan) => plan,
        Err(diags) => panic!(
            "the test's case file is invalid:\n{}",
            diags.iter().map(|d| d.render()).collect::<Vec<_>>().join("\n")
        ),
    }
}

async fn run_plan(ctx: &RunContext, case: &CasePlan) -> CaseResult {
    run_case(ctx, case).await.into_inner()
}

/// Runs the one case of the case file `yaml` against `server`.
async fn run_file(server: &MockServer, settings: Settings, policy: Policy, yaml: &str) -> CaseResult {
    let ctx = context(server, settings, policy);
    run_plan(&ctx, &plan(yaml).cases[0]).await
}

/// Runs a case `c` (see [`one_case`] for `body`) against `server`.
async fn run_with(server: &MockServer, settings: Settings, policy: Policy, body: &str) -> CaseResult {
    run_file(server, settings, policy, &one_case("c", body)).await
}

/// [`run_with`] the test credentials and the default policy.
/// Runs a case `c` that may change the target (as `--allow-mutations` lets it) against `server`.
async fn run_mutating(server: &MockServer, body: &str) -> CaseResult {
    run_with(server, credentials(), Policy { allow_mutations: true, ..Policy::default() }, body).await
}

async fn run(server: &MockServer, body: &str) -> CaseResult {
    run_with(server, credentials(), Policy::default(), body).await
}

fn failed(r: &CaseResult) -> Vec<CheckOutcome> {
    r.steps.iter().flat_map(|s| s.outcomes.iter()).filter(|c| !c.passed).cloned().collect()
}

/// What an outcome is about: kind, matcher and subject.
fn about(c: &CheckOutcome) -> (CheckKind, Matcher, &str) {
    (c.kind, c.matcher, c.subject.as_str())
}

/// Serves `resp` once at `GET X` and returns the failed checks of a one-step case expecting
/// `expect`; the case must have failed.
async fn failures(resp: ResponseTemplate, expect: &str) -> Vec<CheckOutcome> {
    let server = MockServer::start().await;
    once(&server, on("GET", "X"), resp).await;
    let body = format!("steps:\n  - request: {{ method: GET, path: X }}\n    expect:\n{}", indent(expect, 6));
    let r = run(&server, &body).await;
    assert_eq!(r.outcome, Outcome::Failed, "{r:#?}");
    let f = failed(&r);
    assert!(!f.is_empty(), "a failed case with no failed check: {r:#?}");
    f
}

/// The single failed check of a case; panics when there is not exactly one.
fn single(f: Vec<CheckOutcome>) -> CheckOutcome {
    assert_eq!(f.len(), 1, "{f:#?}");
    f.into_iter().next().expect("exactly one failed check")
}

fn json_body(v: serde_json::Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(v)
}

// ---------------------------------------------------------------------------------------------
// What the runner sends
// ---------------------------------------------------------------------------------------------

/// Runs `case_file` with `settings` against a target that answers 200 to `POST
/// Auth/SignAppin` only when the Authorization header is exactly `authorization`, once: the
/// case passes, and the sign-in was sent.
async fn assert_sends_authorization(authorization: &str, settings: Settings, case_file: &str) {
    let server = MockServer::start().await;
    once(&server, on("POST", "Auth/SignAppin").and(header("authorization", authorization)), ResponseTemplate::new(200))
        .await;
    let r = run_file(&server, settings, Policy::default(), case_file).await;
    assert_eq!(r.outcome, Outcome::Passed, "{r:#?}");
    server.verify().await;
}

/// A case that signs in with PS-Auth given as `auth`.
fn sign_in_with(auth: &str) -> String {
    one_case(
        "c",
        &format!(
            "steps:\n  - request: {{ method: POST, path: Auth/SignAppin, auth: {{ ps-auth: {auth} }} }}\n    expect: {{ status: 200 }}"
        ),
    )
}

#[tokio::test]
async fn ps_auth_sends_key_runas_and_the_configured_password() {
    let auth = format!("PS-Auth key={KEY}; runas={RUNAS}; pwd=[{PWD}];");
    assert_sends_authorization(&auth, with_password(), &sign_in("status: 200")).await;
}

#[tokio::test]
async fn ps_auth_leaves_pwd_out_when_no_password_is_set() {
    let auth = format!("PS-Auth key={KEY}; runas={RUNAS};");
    assert_sends_authorization(&auth, credentials(), &sign_in("status: 200")).await;
}

#[tokio::test]
async fn ps_auth_sends_a_given_password_even_when_none_is_set() {
    let auth = format!("PS-Auth key={KEY}; runas={RUNAS}; pwd=[given-pwd-from-a-setting];");
    let settings =
        settings(&[("PS_API_KEY", KEY), ("PS_RUNAS", RUNAS), ("PS_CLIENT_SECRET", "given-pwd-from-a-setting")]);
    assert_sends_authorization(&auth, settings, &sign_in_with(r#"{ pwd: "{{ client_secret }}" }"#)).await;
}

#[tokio::test]
async fn ps_auth_compact_form_without_pwd_even_when_a_password_is_set() {
    let auth = format!("PS-Auth key={KEY};runas={RUNAS};");
    assert_sends_authorization(&auth, with_password(), &sign_in_with("{ compact: true, pwd: false }")).await;
}

#[tokio::test]
async fn bearer_sends_the_token_captured_from_a_previous_body() {
    let server = MockServer::start().await;
    once(
        &server,
        on("POST", "Auth/Connect/Token"),
        json_body(json!({
            "access_token": "tok-abc123",
            "token_type": "Bearer",
            "expires_in": 3600
        })),
    )
    .await;
    once(&server, on("GET", "X").and(header("authorization", "Bearer tok-abc123")), ResponseTemplate::new(200)).await;
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
    once(
        &server,
        on("POST", "Items").and(header("content-type", "application/json")).and(body_json(json!({ "Name": "n" }))),
        ResponseTemplate::new(201).set_body_json(json!({ "Id": 42 })),
    )
    .await;
    // `body_json` compares parsed JSON, so `"Id": "42"` would not match: a whole-string
    // template keeps the captured integer an integer, a template inside text renders as text.
    once(
        &server,
        on("PUT", "Items/42")
            .and(query_param("q", "42"))
            .and(header("content-type", "application/json"))
            .and(body_json(json!({ "Id": 42, "Label": "item-42" }))),
        ResponseTemplate::new(200),
    )
    .await;
    once(
        &server,
        on("POST", "Items/42/Notes")
            .and(header("content-type", "application/x-www-form-urlencoded"))
            .and(body_string("ItemId=42&Text=a+b%26c")),
        ResponseTemplate::new(200),
    )
    .await;
    let r = run_mutating(
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

#[tokio::test]
async fn the_random_secret_a_case_sends_is_masked_where_the_target_echoes_it() {
    // A case that uses `random_secret` registers it: the target echoes the body it was sent,
    // and a failed check shows what it got, masked. `Note` is not a field the catalog knows
    // to be secret, so only the registration masks it. (A case that never uses it registers
    // nothing: it has nothing to mask.)
    let server = MockServer::start().await;
    once(&server, on("POST", "Users"), |req: &wiremock::Request| {
        ResponseTemplate::new(201).set_body_raw(req.body.clone(), "application/json")
    })
    .await;
    let r = run_mutating(
        &server,
        r#"
        steps:
          - request: { method: POST, path: Users, body: { json: { Note: "{{ random_secret }}" } } }
            expect:
              status: 201
              paths:
                $.Note: { equals: "not it" }
        "#,
    )
    .await;
    let sent = server.received_requests().await.expect("requests are recorded");
    let body: serde_json::Value = serde_json::from_slice(&sent[0].body).expect("a JSON body");
    let secret = body["Note"].as_str().expect("the secret was sent");
    assert_eq!(secret.len(), 48, "{secret}");
    let shown = format!("{r:?}");
    assert!(!shown.contains(secret) && !shown.contains(&secret[..16]), "the secret leaked: {shown}");
    let check = single(failed(&r));
    assert_eq!(check.actual.as_str(), Some(psconform::secret::MASK), "{check:#?}");
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
    once(
        &server,
        on("POST", "Auth/SignAppin"),
        ResponseTemplate::new(200).insert_header("set-cookie", "ASP.NET_SessionId=abc; path=/"),
    )
    .await;
    // `header` compares every value of every Cookie header, so two headers would not match.
    once(&server, on("GET", "X").and(header("cookie", "ASP.NET_SessionId=abc")), ResponseTemplate::new(200)).await;
    once(&server, on("GET", "X").and(|req: &Request| !req.headers.contains_key("cookie")), ResponseTemplate::new(401))
        .await;
    let ctx = context(&server, credentials(), Policy::default());
    let suite = plan(TWO_CASES_ONE_JAR_EACH);
    assert_eq!(suite.cases.len(), 2);
    for case in &suite.cases {
        let r = run_plan(&ctx, case).await;
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
    once(&server, on("POST", "Auth/SignAppin"), ResponseTemplate::new(500)).await;
    on("GET", "X").respond_with(ResponseTemplate::new(200)).expect(0).mount(&server).await;
    once(&server, on("POST", "Auth/Signout"), ResponseTemplate::new(200)).await;
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
    assert!(r.steps[1].skipped == Some(Skipped::AfterFailure) && r.steps[1].status.is_none());
    assert_eq!(r.steps[2].phase, Phase::Teardown);
    assert!(r.steps[2].skipped.is_none() && r.steps[2].status == Some(200));
    server.verify().await;
}

/// `DELETE Items/1`: an endpoint the catalog does not know, so a change.
const DELETE_ITEM: &str = "
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
        Outcome::Ignored(IgnoreReason::NeedsOptIn { flag, .. }) => assert_eq!(flag, "--allow-mutations"),
        other => panic!("expected ignored, got {other:?}"),
    }
    assert!(r.steps.is_empty());
    server.verify().await;
}

#[tokio::test]
async fn a_mutating_case_runs_with_allow_mutations() {
    let server = MockServer::start().await;
    once(&server, on("DELETE", "Items/1"), ResponseTemplate::new(204)).await;
    let policy = Policy { allow_mutations: true, ..Policy::default() };
    let r = run_with(&server, credentials(), policy, DELETE_ITEM).await;
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
    assert_eq!(
        r.outcome,
        Outcome::Ignored(IgnoreReason::MissingSettings { variables: vec!["PS_CLIENT_SECRET".into()] })
    );
    let declared = "
        needs: [runas_password]
        steps:
          - request: { method: POST, path: Auth/SignAppin, auth: ps-auth }
            expect: { status: 200 }
    ";
    let r = run(&server, declared).await;
    match &r.outcome {
        Outcome::Ignored(IgnoreReason::MissingSettings { variables }) => assert_eq!(variables, &["PS_RUNAS_PASSWORD"]),
        other => panic!("expected ignored, got {other:?}"),
    }
    server.verify().await;
}

#[tokio::test]
async fn a_capture_from_a_path_that_selects_nothing_fails_the_step() {
    let server = MockServer::start().await;
    once(&server, on("GET", "X"), json_body(json!({ "Id": 1 }))).await;
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
    assert_eq!(about(&c), (CheckKind::Capture, Matcher::Captured, "id"));
    assert!(c.note.as_ref().is_some_and(|n| n.to_string().contains("$.Nope")), "{c:?}");
    assert_eq!(r.steps[1].skipped, Some(Skipped::AfterFailure));
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
    let got: Vec<_> = f.iter().map(about).collect();
    assert_eq!(
        got,
        [
            (CheckKind::Status, Matcher::Status, "status"),
            (CheckKind::Header, Matcher::Matches, "Content-Type"),
            (CheckKind::Path, Matcher::Type, "$.UserId"),
            (CheckKind::Path, Matcher::Exists, "$.UserName"),
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Every expectation kind fails against a deviating response: each assertion is on the typed
// outcome (kind, matcher, subject, expected and actual as JSON); the words are the golden
// tests' business (tests/cli.rs, report::terminal).
// ---------------------------------------------------------------------------------------------

/// The single failed outcome's kind, matcher, subject, expected and actual.
async fn fails(resp: ResponseTemplate, expect: &str) -> (CheckKind, Matcher, String, Value, Value, Option<String>) {
    let c = single(failures(resp, expect).await);
    (c.kind, c.matcher, c.subject, c.expected, c.actual, c.note.map(|n| n.to_string()))
}

use CheckKind as K;
use Matcher as M;

#[tokio::test]
async fn status_matchers_fail_on_another_code() {
    let (k, m, _, e, a, _) = fails(ResponseTemplate::new(401), "status: 200").await;
    assert_eq!((k, m, e, a), (K::Status, M::Status, json!(200), json!(401)));
    let (_, _, _, e, a, _) = fails(ResponseTemplate::new(500), "status: [200, 204]").await;
    assert_eq!((e, a), (json!([200, 204]), json!(500)));
    let (_, _, _, e, a, _) = fails(ResponseTemplate::new(403), "status: 2xx").await;
    assert_eq!((e, a), (json!("2xx"), json!(403)));
}

fn text_plain() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw("hello", "text/plain")
}

#[tokio::test]
async fn header_matchers_fail_on_another_value() {
    let (k, m, s, e, a, _) = fails(text_plain(), "headers:\n  Content-Type: { equals: application/json }").await;
    assert_eq!(
        (k, m, s.as_str(), e, a),
        (K::Header, M::Equals, "Content-Type", json!("application/json"), json!("text/plain"))
    );
    let (_, m, _, e, _, _) = fails(text_plain(), "headers:\n  Content-Type: { matches: \"^application/json\" }").await;
    assert_eq!((m, e), (M::Matches, json!("^application/json")));
    let (_, m, _, e, _, _) = fails(text_plain(), "headers:\n  Content-Type: { contains: json }").await;
    assert_eq!((m, e), (M::Contains, json!("json")));
    let resp = ResponseTemplate::new(200).insert_header("x-powered-by", "ASP.NET");
    let (_, m, s, e, a, _) = fails(resp, "headers:\n  X-Powered-By: { absent: true }").await;
    assert_eq!((m, s.as_str(), e, a), (M::Absent, "X-Powered-By", json!(true), json!(false)));
    let (_, m, _, e, a, _) = fails(ResponseTemplate::new(200), "headers:\n  X-Request-Id: { absent: false }").await;
    assert_eq!((m, e, a), (M::Absent, json!(false), json!(true)));
}

fn session_cookie(attributes: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).insert_header("set-cookie", format!("ASP.NET_SessionId=s3cret{attributes}").as_str())
}

#[tokio::test]
async fn cookie_matchers_fail_and_never_show_the_value() {
    let c = "ASP.NET_SessionId";
    let (k, m, s, e, a, _) = fails(ResponseTemplate::new(200), "cookies:\n  ASP.NET_SessionId: {}").await;
    assert_eq!((k, m, s.as_str(), e, a), (K::Cookie, M::Set, c, json!(true), json!(false)));
    let (_, m, _, e, a, _) = fails(session_cookie("; path=/"), "cookies:\n  ASP.NET_SessionId: { set: false }").await;
    assert_eq!((m, e, a), (M::Set, json!(false), json!(true)));
    let (_, m, _, e, a, _) =
        fails(session_cookie("; path=/"), "cookies:\n  ASP.NET_SessionId: { http_only: true }").await;
    assert_eq!((m, e, a), (M::HttpOnly, json!(true), json!(false)));
    let (_, m, _, _, a, _) =
        fails(session_cookie("; path=/; HttpOnly"), "cookies:\n  ASP.NET_SessionId: { secure: true }").await;
    assert_eq!((m, a), (M::Secure, json!(false)));
    let (_, m, _, e, a, _) = fails(session_cookie("; path=/other"), "cookies:\n  ASP.NET_SessionId: { path: / }").await;
    assert_eq!((m, e, a), (M::CookiePath, json!("/"), json!("/other")));
    let (_, m, _, e, a, _) =
        fails(session_cookie("; path=/; SameSite=None; Secure"), "cookies:\n  ASP.NET_SessionId: { same_site: Lax }")
            .await;
    assert_eq!((m, e, a), (M::SameSite, json!("Lax"), json!("None")));
    let (_, m, _, _, a, n) =
        fails(session_cookie("; path=/"), "cookies:\n  ASP.NET_SessionId: { value_matches: \"^[0-9]+$\" }").await;
    assert_eq!((m, a), (M::ValueMatches, json!(false)));
    assert!(!format!("{n:?}").contains("s3cret"));
}

#[tokio::test]
async fn body_matchers_fail_naming_each_difference() {
    let note = |n: Option<String>| n.unwrap_or_default();
    let (k, m, _, e, _, n) =
        fails(json_body(json!({ "UserId": 7, "Extra": true })), "body: { exact: { UserId: 7 } }").await;
    assert_eq!((k, m, e), (K::Body, M::Exact, json!({"UserId": 7})));
    assert!(note(n).contains("$.Extra is not expected"));
    let (_, _, _, _, _, n) = fails(json_body(json!({ "UserId": 8 })), "body: { exact: { UserId: 7 } }").await;
    assert!(note(n).contains("$.UserId is 8"));
    let (_, _, _, _, _, n) =
        fails(json_body(json!("User not authorized")), "body: { exact: \"User not authenticated\" }").await;
    assert!(note(n).contains("User not authorized"));
    let (_, _, _, _, _, n) = fails(json_body(json!(4092)), "body: { exact: 4091 }").await;
    assert!(note(n).contains("4092"));
    let (_, m, _, _, _, n) = fails(json_body(json!({ "UserId": 7 })), "body: { partial: { UserName: svc } }").await;
    assert_eq!(m, M::Partial);
    assert!(note(n).contains("$.UserName is missing"));
    let (_, _, _, _, _, n) =
        fails(json_body(json!({ "A": { "B": 1, "C": 2 } })), "body: { partial: { A: { B: 2 } } }").await;
    assert!(note(n).contains("$.A.B is 1"));
    let (_, _, _, _, _, n) =
        fails(json_body(json!({ "Tags": [1, 2, 3] })), "body: { partial: { Tags: [1, 2] } }").await;
    assert!(note(n).contains("$.Tags has 3 elements, expected 2"));
    let (_, m, _, e, a, _) = fails(text_plain(), "body: { empty: true }").await;
    assert_eq!((m, e, a), (M::Empty, json!(true), json!(false)));
    let (_, m, _, e, a, _) = fails(ResponseTemplate::new(200), "body: { empty: false }").await;
    assert_eq!((m, e, a), (M::Empty, json!(false), json!(true)));
    let (k, m, _, e, a, _) = fails(text_plain(), "body: { text: { equals: goodbye } }").await;
    assert_eq!((k, m, e, a), (K::Body, M::Equals, json!("goodbye"), json!("hello")));
    let (_, m, _, _, _, _) = fails(text_plain(), "body: { text: { matches: \"^<html>\" } }").await;
    assert_eq!(m, M::Matches);
    let (_, m, _, _, _, _) = fails(text_plain(), "body: { text: { contains: Error } }").await;
    assert_eq!(m, M::Contains);
}

fn user() -> ResponseTemplate {
    json_body(json!({
        "UserId": 7,
        "UserName": "svc-conform",
        "SID": "S-1-5-21",
        "Tags": ["a", "b", "c"],
        "Score": 50,
        "Id": "not-a-guid"
    }))
}

#[tokio::test]
async fn path_matchers_fail_with_expected_and_actual() {
    let cases: [(&str, Matcher, &str, Value, Value); 13] = [
        ("$.Nope: { exists: true }", M::Exists, "$.Nope", json!(true), json!(false)),
        ("$.UserId: { exists: false }", M::Exists, "$.UserId", json!(false), json!(true)),
        ("$.UserName: { equals: other }", M::Equals, "$.UserName", json!("other"), json!("svc-conform")),
        ("$.SID: { equals: null }", M::Equals, "$.SID", Value::Null, json!("S-1-5-21")),
        ("$.UserId: { type: string }", M::Type, "$.UserId", json!(["string"]), json!("integer")),
        ("$.UserId: { type: [string, \"null\"] }", M::Type, "$.UserId", json!(["string", "null"]), json!("integer")),
        ("$.SID: { matches: \"^S-1-5-32\" }", M::Matches, "$.SID", json!("^S-1-5-32"), json!("S-1-5-21")),
        ("$.UserName: { one_of: [a, b] }", M::OneOf, "$.UserName", json!(["a", "b"]), json!("svc-conform")),
        ("$.Tags: { length: 2 }", M::Length, "$.Tags", json!(2), json!(3)),
        ("$.UserName: { length: { min: 1, max: 5 } }", M::Length, "$.UserName", json!({"min": 1, "max": 5}), json!(11)),
        ("$.Score: { min: 51 }", M::Min, "$.Score", json!(51), json!(50)),
        ("$.Score: { max: 49.5 }", M::Max, "$.Score", json!(49.5), json!(50)),
        ("$.Id: { format: guid }", M::Format, "$.Id", json!("guid"), json!("not-a-guid")),
    ];
    for (expect, matcher, subject, expected, actual) in cases {
        let (k, m, s, e, a, _) = fails(user(), &format!("paths:\n  {expect}")).await;
        assert_eq!((k, m, s.as_str(), e, a), (K::Path, matcher, subject, expected, actual), "{expect}");
    }
}

#[tokio::test]
async fn a_path_that_selects_many_lists_at_most_ten_failures() {
    let many: Vec<Value> = (0..5000).map(|i| json!({"Id": i})).collect();
    let f = failures(json_body(Value::Array(many)), "paths:\n  \"$[*].Id\": { type: string }").await;
    assert_eq!(f.len(), 11, "ten failures and one that counts the rest");
    assert_eq!(f[0].subject, "$[0]['Id']");
    assert!(f[10].note.as_ref().is_some_and(|n| n.to_string().contains("4990 more of 5000")), "{:?}", f[10]);
}

/// A failed step keeps the start of its response body for the reports (issue #20), with its
/// credential fields and every configured secret masked; a step that passed keeps none.
#[tokio::test]
async fn a_failed_step_keeps_a_masked_excerpt_of_its_body_and_a_passed_one_none() {
    let server = MockServer::start().await;
    once(&server, on("GET", "Y"), json_body(json!({ "Name": "passed-body" }))).await;
    let failing = json!({ "Name": "account-7", "Password": "hunter2-excerpt", "Note": format!("key {KEY}") });
    once(&server, on("GET", "X"), ResponseTemplate::new(500).set_body_json(failing)).await;
    let steps = "steps:\n  - request: { method: GET, path: Y }\n    expect: { status: 200 }\n  - request: { method: GET, path: X }\n    expect: { status: 200 }\n";
    let r = run(&server, steps).await;
    assert_eq!(r.outcome, Outcome::Failed, "{r:#?}");
    assert_eq!(r.steps[0].body_excerpt, None, "a passed step keeps no body");
    let excerpt = r.steps[1].body_excerpt.clone().expect("the failed step keeps an excerpt");
    assert!(excerpt.contains("account-7"), "{excerpt}");
    assert!(!excerpt.contains("hunter2-excerpt") && !excerpt.contains(KEY), "masked: {excerpt}");
}

// ---------------------------------------------------------------------------------------------
// Polling
// ---------------------------------------------------------------------------------------------

/// Answers `first` for the first `n` calls of `GET X`, then `then`.
async fn answers_then(server: &MockServer, n: u64, first: ResponseTemplate, then: ResponseTemplate) {
    on("GET", "X").respond_with(first).up_to_n_times(n).with_priority(1).mount(server).await;
    on("GET", "X").respond_with(then).with_priority(2).mount(server).await;
}

#[tokio::test]
async fn a_polled_step_repeats_until_its_expectations_hold_and_keeps_each_attempt() {
    let server = MockServer::start().await;
    answers_then(&server, 2, ResponseTemplate::new(403).set_body_json(json!(4034)), json_body(json!("pw-0123456789")))
        .await;
    let r = run(
        &server,
        "steps:\n  - poll: { attempts: 5, interval: 10ms, while_status: 403 }\n    request: { method: GET, path: X }\n    expect: { status: 200, paths: { $: { type: string } } }",
    )
    .await;
    assert_eq!(r.outcome, Outcome::Passed, "{r:#?}");
    let step = &r.steps[0];
    assert_eq!(step.attempts.len(), 2);
    assert!(
        step.attempts.iter().all(|a| a.status == Some(403) && a.failed.iter().any(|o| o.matcher == Matcher::Status))
    );
    assert_eq!(server.received_requests().await.map(|r| r.len()), Some(3));
}

#[tokio::test]
async fn a_poll_stops_at_once_on_a_status_it_does_not_wait_through() {
    let server = MockServer::start().await;
    answers_then(&server, 1, ResponseTemplate::new(403), ResponseTemplate::new(500)).await;
    let r = run(
        &server,
        "steps:\n  - poll: { attempts: 10, interval: 10ms, while_status: 403 }\n    request: { method: GET, path: X }\n    expect: { status: 200 }",
    )
    .await;
    assert_eq!(r.outcome, Outcome::Failed, "{r:#?}");
    assert_eq!((r.steps[0].attempts.len(), r.steps[0].status), (1, Some(500)));
    assert_eq!(server.received_requests().await.map(|r| r.len()), Some(2));
}

#[tokio::test]
async fn an_exhausted_poll_fails_with_every_attempt() {
    let server = MockServer::start().await;
    answers_then(&server, 100, ResponseTemplate::new(403), ResponseTemplate::new(200)).await;
    let r = run(&server, "steps:\n  - poll: { attempts: 3, interval: 10ms }\n    request: { method: GET, path: X }\n    expect: { status: 200 }").await;
    assert_eq!(r.outcome, Outcome::Failed);
    assert_eq!((r.steps[0].attempts.len(), r.steps[0].status), (2, Some(403)));
}

// ---------------------------------------------------------------------------------------------
// Documented and observed expectations (issue #16), nothing to check, the run's id
// ---------------------------------------------------------------------------------------------

const OBSERVED: &str = "steps:
  - request: { method: GET, path: X }
    expect: { status: [200, 404] }
    observed:
      on: \"Password Safe 24.3 (a lab instance)\"
      status: 404
";

/// An observed expectation that does not hold is reported with what it was observed on, and
/// does not fail the case; under `--strict` it does.
#[tokio::test]
async fn an_observed_expectation_is_reported_and_fails_only_when_strict() {
    let server = MockServer::start().await;
    Mock::given(any()).respond_with(ResponseTemplate::new(200).set_body_json(json!([]))).mount(&server).await;
    let r = run(&server, OBSERVED).await;
    assert_eq!(r.outcome, Outcome::Passed, "{r:#?}");
    let missed: Vec<&CheckOutcome> = r.steps[0].outcomes.iter().filter(|o| !o.passed).collect();
    assert_eq!(missed.len(), 1, "{r:#?}");
    let obs = missed[0].observed.as_ref().expect("marked observed");
    assert_eq!((obs.on.as_str(), obs.fails), ("Password Safe 24.3 (a lab instance)", false));
    let json = serde_json::to_value(missed[0]).expect("serializes");
    assert_eq!(json["observed"]["on"], "Password Safe 24.3 (a lab instance)");
    let mut ctx = context(&server, credentials(), Policy::default());
    ctx.strict = true;
    let strict = run_plan(&ctx, &plan(&one_case("c", OBSERVED)).cases[0]).await;
    assert_eq!(strict.outcome, Outcome::Failed, "{strict:#?}");
    // A server that does what was observed passes either way.
    let server = MockServer::start().await;
    Mock::given(any()).respond_with(ResponseTemplate::new(404).set_body_json(json!("not found"))).mount(&server).await;
    assert_eq!(run(&server, OBSERVED).await.outcome, Outcome::Passed);
}

/// `on:` belongs under `observed:`, and `observed:` needs one.
#[test]
fn observed_needs_on_and_expect_refuses_it() {
    for (body, message) in [
        (
            "steps:\n  - request: { method: GET, path: X }\n    expect: { status: 200, on: lab }\n",
            "`on:` belongs under `observed:`",
        ),
        ("steps:\n  - request: { method: GET, path: X }\n    observed: { status: 404 }\n", "`observed:` needs `on:`"),
    ] {
        let diags = match Project::new(&[("t.yaml", &one_case("c", body))]).compile() {
            Ok(_) => panic!("accepted: {body}"),
            Err(d) => d,
        };
        assert!(diags.iter().any(|d| d.message.contains(message) && d.line > 0), "{diags:#?}");
    }
}

/// A capture with `if_missing` that finds nothing ends the case as ignored, with the first
/// reason (two such captures of one step both finding nothing too); the remaining steps do not
/// run and the teardown does.
#[tokio::test]
async fn a_capture_that_finds_nothing_to_check_ignores_the_case_and_still_tears_down() {
    let server = MockServer::start().await;
    once(&server, on("GET", "Things"), ResponseTemplate::new(200).set_body_json(json!([]))).await;
    Mock::given(wiremock::matchers::path_regex("Things/.+"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    once(&server, on("POST", "Auth/Signout"), ResponseTemplate::new(200)).await;
    let r = run(
        &server,
        "steps:
  - request: { method: GET, path: Things }
    expect: { status: 200 }
    capture:
      thing: { path: \"$[0].Id\", if_missing: the target has no things }
      name: { path: \"$[0].Name\", if_missing: the target has no named things }
  - request: { method: GET, path: \"Things/{{ thing }}\" }
    expect: { status: 200 }
teardown:
  - request: { method: POST, path: Auth/Signout }
",
    )
    .await;
    assert_eq!(
        r.outcome,
        Outcome::Ignored(IgnoreReason::NothingToCheck { why: "the target has no things".into() }),
        "{r:#?}"
    );
    assert_eq!(r.steps[1].skipped, Some(Skipped::NothingToCheck));
    assert_eq!(r.steps[2].phase, Phase::Teardown);
    assert_eq!(r.steps[2].status, Some(200), "the teardown ran");
    // Without `if_missing` the same answer fails the case.
    let server = MockServer::start().await;
    once(&server, on("GET", "Things"), ResponseTemplate::new(200).set_body_json(json!([]))).await;
    let r = run(
        &server,
        "steps:\n  - request: { method: GET, path: Things }\n    capture:\n      thing: { path: \"$[0].Id\" }\n",
    )
    .await;
    assert_eq!(r.outcome, Outcome::Failed);
}

/// `{{ run_id }}` is 8 hex characters, the same in every case of one run.
#[tokio::test]
async fn run_id_is_one_per_run() {
    let server = MockServer::start().await;
    Mock::given(any()).respond_with(ResponseTemplate::new(200)).mount(&server).await;
    let body = "steps:\n  - request: { method: GET, path: \"psconform-{{ run_id }}-x\" }\n";
    let (a, b) = (run(&server, body).await, run(&server, body).await);
    let path = |r: &CaseResult| r.steps[0].request.as_ref().map(|l| l.path.clone()).unwrap_or_default();
    assert_eq!(path(&a), path(&b));
    let id = path(&a).trim_start_matches('/').trim_start_matches("psconform-").trim_end_matches("-x").to_owned();
    assert!(id.len() == 8 && id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
}
