//! Issue #14: psconform on a production vault. Each test stands a hostile target up (a wiremock
//! server that records every request it gets) in front of the built binary and proves one
//! promise: no release without the opt-in or of another account, a check-in and a sign-out on
//! every way out (SIGINT, SIGTERM, SIGHUP, a wait cut short), a check-in retried after a 500, a
//! hung target given up on quickly, one finding for one sign-in fault, and a run that checks
//! nothing never passing for green.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use psconform::result::LeftoverWhy;
use serde_json::json;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::harness::bin::{Psconform, Run};
use crate::harness::files::{Project, read};
use crate::harness::report;
use crate::harness::target::{RawServer, base_url, on, read_head};
use crate::harness::{KEY, RUNAS};

/// The account `PS_ACCOUNT` names in these tests.
const ACCOUNT: &str = "lab-linux-01/svc-conform";

/// A release case as a user would write it: sign in, look `PS_ACCOUNT` up, request it, then
/// `then` (more steps), and check in and sign out from the teardown.
fn release_case(then: &str) -> String {
    format!(
        r#"endpoint: POST Requests
cases:
  - name: release
    summary: releases the PS_ACCOUNT credential and checks it in
    needs: [account]
    steps:
      - request: {{ method: POST, path: Auth/SignAppin, auth: ps-auth }}
        expect: {{ status: 200 }}
      - request:
          method: GET
          path: ManagedAccounts
          query: {{ systemName: "{{{{ account_system }}}}", accountName: "{{{{ account_name }}}}" }}
        expect: {{ status: 200 }}
        capture:
          system_id: {{ path: $.SystemId }}
          account_id: {{ path: $.AccountId }}
      - request:
          method: POST
          path: Requests
          body: {{ json: {{ SystemID: "{{{{ system_id }}}}", AccountID: "{{{{ account_id }}}}", DurationMinutes: 5 }} }}
        expect: {{ status: 201 }}
        capture:
          request_id: {{ path: $ }}
{then}    teardown:
      - request: {{ method: PUT, path: "Requests/{{{{ request_id }}}}/Checkin", body: {{ json: {{}} }} }}
        expect: {{ status: 204 }}
      - request: {{ method: POST, path: Auth/Signout }}
"#
    )
}

/// Reads the credential, once.
const READ_CREDENTIAL: &str = r#"      - request: { method: GET, path: "Credentials/{{ request_id }}" }
        expect: { status: 200 }
"#;

/// Waits 40 seconds, then reads the credential.
const WAIT_40S: &str = r#"      - name: a long wait
        wait: 40s
        request: { method: GET, path: "Credentials/{{ request_id }}" }
        expect: { status: 200 }
"#;

/// A vault that answers like Password Safe for `PS_ACCOUNT`, and records every request: the
/// lookup answers `answered` (`system/account`), a release answers request id 7, everything
/// else 200 with an empty list.
async fn vault(answered: &str) -> MockServer {
    let server = MockServer::start().await;
    let (system, account) = answered.split_once('/').expect("system/account");
    let user = json!({"UserId": 1, "SID": null, "EmailAddress": "", "UserName": RUNAS, "Name": "n"});
    on("POST", "Auth/SignAppin").respond_with(ResponseTemplate::new(200).set_body_json(user)).mount(&server).await;
    let found = json!({"SystemId": 12, "AccountId": 34, "SystemName": system, "AccountName": account});
    on("GET", "ManagedAccounts").respond_with(ResponseTemplate::new(200).set_body_json(found)).mount(&server).await;
    on("POST", "Requests").respond_with(ResponseTemplate::new(201).set_body_json(7)).mount(&server).await;
    on("GET", "Credentials/7").respond_with(ResponseTemplate::new(200).set_body_json("pw")).mount(&server).await;
    on("PUT", "Requests/7/Checkin").respond_with(ResponseTemplate::new(204)).mount(&server).await;
    // Every other route (the area probes, sign-out).
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .with_priority(10)
        .mount(&server)
        .await;
    server
}

/// The requests `server` got, as `METHOD path` below the API, in order.
async fn log(server: &MockServer) -> Vec<String> {
    let got: Vec<Request> = server.received_requests().await.unwrap_or_default();
    got.iter()
        .map(|r| format!("{} {}", r.method, r.url.path().trim_start_matches(crate::harness::target::BASE)))
        .collect()
}

/// How many requests of `server` were `line` (`METHOD /path`, ignoring case).
async fn count(server: &MockServer, line: &str) -> usize {
    log(server).await.iter().filter(|l| l.eq_ignore_ascii_case(line)).count()
}

/// `psconform run` of `project` against `server` with the test credentials and `PS_ACCOUNT`.
fn run_at(project: &Project, server: &MockServer) -> Psconform {
    project.psconform().credentials().env("PS_ACCOUNT", ACCOUNT).args([
        "run",
        "--no-snapshots",
        "--timeout",
        "5",
        "--target",
        &base_url(server),
    ])
}

// ---------------------------------------------------------------------------------------------
// Releases: only with the opt-in, only of PS_ACCOUNT's lookup, only as the rules say
// ---------------------------------------------------------------------------------------------

/// The issue's case: `effect: read`, no `releases_credential`, literal ids, 600 minutes, no
/// check-in. Refused at validation, at its place, and nothing is sent.
#[tokio::test]
async fn a_case_that_releases_against_the_rules_is_refused_before_anything_is_sent() {
    let server = vault(ACCOUNT).await;
    let project = Project::new(&[(
        "sneaky.yaml",
        "endpoint: x\ncases:\n  - name: sneaky\n    summary: s\n    effect: read\n    steps:\n      \
         - request: { method: POST, path: Auth/SignAppin, auth: ps-auth }\n      \
         - request:\n          method: POST\n          path: Requests\n          \
         body: { json: { SystemID: 999, AccountID: 777, DurationMinutes: 600 } }\n      \
         - request: { method: GET, path: Credentials/42 }\n",
    )]);
    let r = run_at(&project, &server).run_async().await;
    r.assert(
        2,
        &[
            "sneaky.yaml:5:13",
            "declares `effect: read`, but step 2 (`POST Requests`) is `release`",
            "its SystemID is the literal `999`",
            "DurationMinutes must be a whole number from 1 to 10",
            "does not capture the request id it answers",
            "nothing was sent",
        ],
    );
    assert_eq!(log(&server).await, Vec::<String>::new(), "nothing reached the target");
}

/// Without `--allow-credential-release`, no shipped case posts a release or reads a
/// credential, whatever settings it has.
#[tokio::test]
async fn no_release_endpoint_is_called_without_the_opt_in() {
    let server = vault(ACCOUNT).await;
    let project = Project::shipped("");
    let r = run_at(&project, &server).args(["--allow-mutations"]).run_async().await;
    assert!(!r.text().contains("panicked"), "{r:#?}");
    let sent = log(&server).await;
    assert!(sent.len() > 10, "the cases ran: {sent:#?}");
    // `GET Credentials/{id}` of an unknown id is `audited` in the catalog: it releases nothing.
    assert!(!sent.iter().any(|l| l.eq_ignore_ascii_case("POST /Requests")), "{sent:#?}");
    assert!(r.stdout.contains("--allow-credential-release"), "{}", r.stdout);
}

/// A lookup that answers another account than `PS_ACCOUNT` stops the case before anything is
/// released, with the opt-in given: no `POST Requests` reaches the target.
#[tokio::test]
async fn a_lookup_that_answers_another_account_releases_nothing() {
    let server = vault("other-sys/root").await;
    let project = Project::shipped("requests");
    let r = run_at(&project, &server).args(["--allow-credential-release", "requests::release::"]).run_async().await;
    r.assert(
        1,
        &["the lookup answered the account other-sys/root, not lab-linux-01/svc-conform", "nothing is released"],
    );
    assert_eq!(count(&server, "POST /Requests").await, 0, "{:#?}", log(&server).await);
    assert!(!r.stdout.contains("test result: ok"), "{}", r.stdout);
}

/// The release case of the issue, written by the rules, releases exactly the ids the lookup
/// answered, once, and checks them in.
#[tokio::test]
async fn a_release_sends_the_looked_up_ids_and_checks_in() {
    let server = vault(ACCOUNT).await;
    let project = Project::new(&[("r.yaml", &release_case(READ_CREDENTIAL))]);
    let r = run_at(&project, &server).arg("--allow-credential-release").run_async().await;
    r.assert(0, &["test result: ok. 1 passed"]);
    let got: Vec<Request> = server.received_requests().await.unwrap_or_default();
    let release: Vec<&Request> =
        got.iter().filter(|q| q.method.as_str() == "POST" && q.url.path().ends_with("/Requests")).collect();
    assert_eq!(release.len(), 1);
    let body: serde_json::Value = serde_json::from_slice(&release[0].body).expect("a JSON body");
    assert_eq!((body["SystemID"].clone(), body["AccountID"].clone()), (json!(12), json!(34)), "{body}");
    assert_eq!(count(&server, "PUT /Requests/7/Checkin").await, 1);
}

// ---------------------------------------------------------------------------------------------
// Check-in on every way out
// ---------------------------------------------------------------------------------------------

/// The release case with a 40-second wait after the release, started against `server`.
fn start_release(project: &Project, server: &MockServer) -> Child {
    run_at(project, server)
        .arg("--allow-credential-release")
        .command()
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("psconform starts")
}

/// Waits until `server` got `line`, for at most 30 seconds.
async fn until_sent(server: &MockServer, line: &str) {
    let started = Instant::now();
    while count(server, line).await == 0 {
        assert!(started.elapsed() < Duration::from_secs(30), "{line} never came: {:#?}", log(server).await);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn signal(child: &Child, name: &str) {
    let sent = Command::new("kill").args([&format!("-{name}"), &child.id().to_string()]).status().expect("kill runs");
    assert!(sent.success(), "kill -{name}");
}

/// Waits for `child` to end, for at most `limit`; what it printed, its code and how long after
/// the call it ended.
async fn ended(child: Child, limit: Duration) -> (Run, Duration) {
    let started = Instant::now();
    let pid = child.id();
    let waiter = tokio::task::spawn_blocking(move || child.wait_with_output());
    let out = match tokio::time::timeout(limit, waiter).await {
        Ok(done) => done.expect("joins").expect("waits"),
        Err(_) => {
            let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
            panic!("psconform (pid {pid}) did not end within {limit:?}");
        }
    };
    let took = started.elapsed();
    let run = Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        took,
        peak_rss_kib: 0,
    };
    (run, took)
}

/// SIGINT, SIGTERM and SIGHUP in the middle of a release (a 40-second wait after `POST
/// Requests`): the wait ends at once, the credential is not read, the request is checked in,
/// every session psconform opened is signed out, all within 2 seconds; exit 1 (interrupted).
#[tokio::test(flavor = "multi_thread")]
async fn each_signal_mid_release_checks_in_and_signs_out_within_two_seconds() {
    for name in ["INT", "TERM", "HUP"] {
        let server = vault(ACCOUNT).await;
        let project = Project::new(&[("r.yaml", &release_case(WAIT_40S))]);
        let child = start_release(&project, &server);
        until_sent(&server, "POST /Requests").await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        signal(&child, name);
        let (r, took) = ended(child, Duration::from_secs(20)).await;
        assert!(took < Duration::from_secs(2), "SIG{name}: ended {took:?} after the signal\n{}", r.text());
        assert_eq!(r.code, Some(1), "SIG{name}: {}", r.text());
        assert!(r.stderr.contains(&format!("SIG{name}: stopping")), "SIG{name}: {}", r.stderr);
        assert_eq!(count(&server, "PUT /Requests/7/Checkin").await, 1, "SIG{name}: {:#?}", log(&server).await);
        assert_eq!(count(&server, "GET /Credentials/7").await, 0, "SIG{name}: the wait's step is not sent");
        let (ins, outs) = (count(&server, "POST /Auth/SignAppin").await, count(&server, "POST /Auth/Signout").await);
        assert!(ins >= 2 && ins == outs, "SIG{name}: {ins} sign-ins, {outs} sign-outs: {:#?}", log(&server).await);
    }
}

/// A second signal while the teardown runs ends the process at once with the shell's code for
/// that signal: 130, 143, 129.
#[tokio::test(flavor = "multi_thread")]
async fn a_second_signal_stops_at_once_with_its_code() {
    for (name, code) in [("INT", 130), ("TERM", 143), ("HUP", 129)] {
        let server = vault(ACCOUNT).await;
        // The check-in hangs, so the second signal comes while the teardown runs.
        on("PUT", "Requests/7/Checkin")
            .respond_with(ResponseTemplate::new(204).set_delay(Duration::from_secs(30)))
            .with_priority(1)
            .mount(&server)
            .await;
        let project = Project::new(&[("r.yaml", &release_case(WAIT_40S))]);
        let child = start_release(&project, &server);
        until_sent(&server, "POST /Requests").await;
        signal(&child, name);
        until_sent(&server, "PUT /Requests/7/Checkin").await;
        signal(&child, name);
        let (r, took) = ended(child, Duration::from_secs(20)).await;
        assert_eq!(r.code, Some(code), "SIG{name}: {}", r.text());
        assert!(took < Duration::from_secs(2), "SIG{name}: {took:?}");
    }
}

/// A check-in that answers 500 is tried again (0.5 s, then 1 s later) until it answers 204:
/// the case passes and nothing is left over.
#[tokio::test]
async fn a_500_on_check_in_is_retried() {
    let server = vault(ACCOUNT).await;
    on("PUT", "Requests/7/Checkin")
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    on("PUT", "Requests/7/Checkin").respond_with(ResponseTemplate::new(204)).with_priority(2).mount(&server).await;
    let project = Project::new(&[("r.yaml", &release_case(READ_CREDENTIAL))]);
    let r = run_at(&project, &server).arg("--allow-credential-release").run_async().await;
    r.assert(0, &["test result: ok. 1 passed"]);
    assert_eq!(count(&server, "PUT /Requests/7/Checkin").await, 3, "{:#?}", log(&server).await);
    assert!(!r.text().contains("left open"), "{}", r.text());
}

/// A check-in that never succeeds (four tries) is a leftover: said last on the terminal with
/// the request id and what to do, listed in the JSON report, JUnit and the HTML page, and the
/// run does not exit 0.
#[tokio::test]
async fn a_check_in_that_keeps_failing_is_a_leftover_in_every_report() {
    let server = vault(ACCOUNT).await;
    on("PUT", "Requests/7/Checkin").respond_with(ResponseTemplate::new(503)).with_priority(1).mount(&server).await;
    let project = Project::new(&[("r.yaml", &release_case(READ_CREDENTIAL))]);
    let (json, junit, html) = (project.join("r.json"), project.join("r.xml"), project.join("r.html"));
    let r = run_at(&project, &server)
        .arg("--allow-credential-release")
        .arg("--report")
        .arg(&json)
        .arg("--junit")
        .arg(&junit)
        .arg("--html")
        .arg(&html)
        .run_async()
        .await;
    r.assert(1, &["PUT Requests/7/Checkin", ACCOUNT]);
    assert_eq!(count(&server, "PUT /Requests/7/Checkin").await, 4, "{:#?}", log(&server).await);
    let last = r.stderr.trim_end().lines().rev().take(6).collect::<Vec<_>>().join("\n");
    assert!(last.contains("request 7") && last.contains("check it in"), "said last:\n{}", r.stderr);
    let leftovers = report::read(&json).leftovers;
    assert_eq!(leftovers.len(), 1, "{leftovers:#?}");
    assert_eq!((leftovers[0].request_id.as_deref(), leftovers[0].why), (Some("7"), LeftoverWhy::CheckInFailed));
    assert!(read(&junit).contains("Requests/7/Checkin"), "{}", read(&junit));
    assert!(read(&html).contains("Requests/7/Checkin"), "the HTML page lists it");
}

// ---------------------------------------------------------------------------------------------
// A target that cannot go on, one fault, a run that checks nothing
// ---------------------------------------------------------------------------------------------

/// A target that accepts connections and never answers: the whole shipped suite, every opt-in,
/// `--timeout 2`, ends in well under the sum of its timeouts (88 cases), exit 3.
#[tokio::test(flavor = "multi_thread")]
async fn a_hung_target_ends_the_run_quickly_with_exit_3() {
    let silent = RawServer::start(|mut stream| async move {
        read_head(&mut stream).await;
        tokio::time::sleep(Duration::from_secs(600)).await;
        drop(stream);
    })
    .await;
    let project = Project::shipped("");
    let r = project
        .psconform()
        .credentials()
        .env("PS_ACCOUNT", ACCOUNT)
        .args(["run", "--timeout", "2", "--allow-mutations", "--allow-credential-release", "--target", &silent.url()])
        .timeout(Duration::from_secs(90))
        .run_async()
        .await;
    r.assert(3, &["the target stopped answering"]);
    assert!(r.took < Duration::from_secs(20), "took {:?}", r.took);
}

/// A wrong API key: one finding (the sign-in before the cases) that says which settings to
/// check, and the cases that need the sign-in blocked by it with their count, not each failed.
#[tokio::test]
async fn a_sign_in_fault_is_one_finding_with_its_affected_count() {
    let server = MockServer::start().await;
    let unauthenticated = ResponseTemplate::new(401).set_body_json("User not authenticated");
    Mock::given(any()).respond_with(unauthenticated).mount(&server).await;
    let project = Project::shipped("");
    let r = project
        .psconform()
        .credentials()
        .args(["run", "--no-snapshots", "--target", &base_url(&server)])
        .run_async()
        .await;
    r.assert(
        1,
        &["preflight::sign-in::ps-auth", "PS_API_KEY", "PS_RUNAS_PASSWORD", "blocked by preflight::sign-in::ps-auth"],
    );
    // The preflight's one, and those of the cases that sign in wrongly on purpose (a wrong key,
    // an unknown run-as user), not one per case that needs a session.
    let sign_ins = count(&server, "POST /Auth/SignAppin").await;
    assert!(sign_ins < 8, "{sign_ins} sign-ins: {:#?}", log(&server).await);
    let line = r.stdout.lines().find(|l| l.starts_with("test result:")).unwrap_or_default();
    assert!(line.contains(" 1 failed"), "{line}");
    let blocked =
        r.text().lines().find(|l| l.contains("blocked by preflight::sign-in::ps-auth:")).unwrap_or_default().to_owned();
    let n: usize = blocked
        .rsplit_once(": ")
        .and_then(|(_, t)| t.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(n > 20, "the count of blocked cases: {blocked:?}\n{}", r.text());
}

/// Without any setting, against a real target, the run says loudly which areas checked nothing
/// and what to set; `--require` makes it a usage error before anything is sent.
#[tokio::test]
async fn a_run_without_settings_is_not_silently_green() {
    let server = MockServer::start().await;
    let unauthenticated = ResponseTemplate::new(401).set_body_json("User not authenticated");
    Mock::given(any()).respond_with(unauthenticated).mount(&server).await;
    let project = Project::shipped("");
    let r = project.psconform().args(["run", "--no-snapshots", "--target", &base_url(&server)]).run_async().await;
    assert!(!r.text().contains("panicked"), "{r:#?}");
    let text = r.text();
    assert!(text.contains("warning: not checked: these cases were ignored for missing settings"), "{text}");
    assert!(text.contains("(the area checked nothing)"), "{text}");
    assert!(text.contains("PS_API_KEY") && text.contains("PS_RUNAS"), "{text}");
    let sent = count(&server, "POST /Auth/SignAppin").await;
    let server = MockServer::start().await;
    let r = project
        .psconform()
        .args(["run", "--no-snapshots", "--require", "api-key,account", "--target", &base_url(&server)])
        .run_async()
        .await;
    r.assert(2, &["PS_API_KEY (--require api-key)", "PS_ACCOUNT (--require account)", "nothing was sent"]);
    assert_eq!(
        log(&server).await,
        Vec::<String>::new(),
        "nothing reached the target (the first run sent {sent} sign-ins)"
    );
}

/// A key that is right, but a password-required registration: `compact-header` sends
/// `pwd=[…]` when `PS_RUNAS_PASSWORD` is set.
#[tokio::test]
async fn compact_header_sends_the_password_when_it_is_set() {
    let server = vault(ACCOUNT).await;
    let project = Project::shipped("auth");
    let r = project
        .psconform()
        .credentials()
        .env("PS_RUNAS_PASSWORD", "hunter2-pw")
        .args(["run", "--no-snapshots", "--target", &base_url(&server), "auth::sign-app-in::compact-header"])
        .run_async()
        .await;
    assert!(!r.text().contains("hunter2-pw"), "the password is never shown");
    let got: Vec<Request> = server.received_requests().await.unwrap_or_default();
    let compact = got
        .iter()
        .filter_map(|q| q.headers.get("authorization").and_then(|v| v.to_str().ok()))
        .any(|v| v == format!("PS-Auth key={KEY};runas={RUNAS};pwd=[hunter2-pw];"));
    assert!(compact, "{:#?}", got.iter().map(|q| q.headers.get("authorization")).collect::<Vec<_>>());
}
