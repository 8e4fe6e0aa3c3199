//! Hostile targets through the built binary: refused connections, DNS and TLS failures, silence,
//! broken and oversized bodies, HTML instead of JSON, redirect loops. Each gives a failed case
//! with a reason that names the problem and the documented exit code, never a panic or a hang,
//! and a misbehaving endpoint does not stop the other cases.
//!
//! Malformed HTTP comes from raw `tokio::net::TcpListener` servers on 127.0.0.1:0, which stop
//! when the test ends; well-formed but unwelcome answers come from wiremock.

use std::time::Duration;

use wiremock::{MockServer, ResponseTemplate};

use crate::harness::bin::{Run, psconform};
use crate::harness::files::{Project, sign_in};
use crate::harness::target::{
    BASE, RawServer, base_url, nothing_listening, on, once, read_head, sign_in_answering, tls_simulator,
};

/// The `--timeout` every run gets, in seconds.
const TIMEOUT: u64 = 2;

/// What the sign-in case expects: a 200.
const OK: &str = "status: 200";
/// What the sign-in case expects: a 200 with the user model.
const USER_MODEL: &str = "status: 200\npaths:\n  $.UserId: { type: integer }";

/// The sign-in case expecting `expect`, run against `target` with `extra`.
async fn sign_in_at(expect: &str, target: &str, extra: &[&str]) -> Run {
    psconform_run(&cases(&sign_in(expect)), target, extra).await
}

/// The run failed on the `--timeout` of 2 seconds, and ended soon after it.
fn assert_timed_out(run: &Run) {
    run.assert(1, &["no complete response", "within 2.0s (--timeout)"]);
    assert!(run.took < Duration::from_secs(TIMEOUT + 5), "took {:?}", run.took);
}

/// A project whose one case file is `hostile.yaml`.
fn cases(yaml: &str) -> Project {
    Project::new(&[("hostile.yaml", yaml)])
}

/// `psconform run --target <target> --cases <dir> --timeout 2 <extra>` with the test
/// credentials. A run that hangs is killed after 60 seconds and fails its test.
async fn psconform_run(project: &Project, target: &str, extra: &[&str]) -> Run {
    psconform()
        .credentials()
        .args(["run", "--target", target, "--cases"])
        .arg(project.cases())
        .args(["--timeout", &TIMEOUT.to_string()])
        .args(extra)
        .timeout(Duration::from_secs(60))
        .run_async()
        .await
}

#[tokio::test]
async fn connection_refused_is_unreachable_exit_3() {
    let run = sign_in_at(OK, &nothing_listening(), &[]).await;
    run.assert(3, &["could not connect", "refused", "the target could not be reached at all"]);
}

#[tokio::test]
async fn dns_failure_is_unreachable_exit_3() {
    let run = sign_in_at(OK, &format!("http://nonexistent.invalid{BASE}"), &["--allow-plain-http"]).await;
    run.assert(3, &["could not connect to http://nonexistent.invalid", "dns"]);
    assert!(!run.text().contains("TLS"), "{}", run.text());
}

/// The host name is not evidence of TLS: a DNS failure for `ssl-gw.…` over plain http was
/// reported as a failed TLS handshake, because the error text quotes the URL.
#[tokio::test]
async fn a_host_named_like_tls_does_not_make_a_dns_failure_a_tls_failure() {
    let run = sign_in_at(OK, &format!("http://ssl-tls-gw.nonexistent.invalid{BASE}"), &["--allow-plain-http"]).await;
    run.assert(3, &["could not connect to http://ssl-tls-gw.nonexistent.invalid"]);
    assert!(!run.text().contains("TLS handshake"), "{}", run.text());
}

#[tokio::test]
async fn an_untrusted_certificate_is_unreachable_exit_3_with_a_hint() {
    let sim = tls_simulator().await;
    let run = sign_in_at(OK, sim.base_url().as_str(), &[]).await;
    run.assert(3, &["TLS handshake", "certificate", "--ca-cert", "--insecure"]);
    let run = sign_in_at(OK, sim.base_url().as_str(), &["--insecure"]).await;
    run.assert(0, &["1 passed; 0 failed"]);
    sim.stop().await;
}

#[tokio::test]
async fn a_target_that_never_answers_times_out_within_the_limit() {
    let silent = RawServer::start(|mut stream| async move {
        read_head(&mut stream).await;
        // Hold the connection open and say nothing until the test ends.
        std::future::pending::<()>().await;
        drop(stream);
    })
    .await;
    let run = sign_in_at(OK, &silent.url(), &[]).await;
    assert_timed_out(&run);
}

#[tokio::test]
async fn a_body_trickled_forever_times_out_within_the_limit() {
    // One byte at a time, far below --max-body: only --timeout can end this.
    let trickle = RawServer::trickling("Transfer-Encoding: chunked", b"1\r\n \r\n", Duration::from_millis(200)).await;
    let run = sign_in_at(OK, &trickle.url(), &[]).await;
    assert_timed_out(&run);
}

#[tokio::test]
async fn a_body_that_stops_short_of_its_length_is_reported_broken() {
    let server = RawServer::json("Content-Length: 1000", b"{\"UserId\":").await;
    let run = sign_in_at(OK, &server.url(), &[]).await;
    run.assert(1, &["broke off"]);
}

#[tokio::test]
async fn an_announced_body_over_max_body_fails() {
    let server = RawServer::json("Content-Length: 2048", &[b' '; 2048]).await;
    let run = sign_in_at(OK, &server.url(), &["--max-body", "1KiB"]).await;
    run.assert(1, &["larger than --max-body (1024 bytes)", "announced 2048 bytes"]);
}

#[tokio::test]
async fn a_chunked_body_over_max_body_fails() {
    let mut body = Vec::new();
    for _ in 0..4 {
        body.extend_from_slice(b"200\r\n");
        body.extend_from_slice(&[b' '; 0x200]);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"0\r\n\r\n");
    let server = RawServer::json("Transfer-Encoding: chunked", &body).await;
    let run = sign_in_at(OK, &server.url(), &["--max-body", "1KiB"]).await;
    run.assert(1, &["larger than --max-body (1024 bytes)"]);
}

#[tokio::test]
async fn a_gigabyte_announced_body_fails_fast_on_the_cap() {
    // Trickle the body: a client that tried to read it all would hang for days, and one that
    // read until its timeout would take the whole 30 s. The announced size ends it at once
    // (0.3 s here; the bound leaves room for a loaded CI machine).
    let server = RawServer::trickling("Content-Length: 1073741824", b" ", Duration::from_millis(100)).await;
    let run = psconform()
        .credentials()
        .args(["run", "--target", &server.url(), "--cases"])
        .arg(cases(&sign_in(OK)).cases())
        .args(["--timeout", "30"])
        .timeout(Duration::from_secs(60))
        .run_async()
        .await;
    run.assert(1, &["larger than --max-body", "announced 1073741824 bytes"]);
    assert!(run.took < Duration::from_secs(10), "took {:?}", run.took);
}

#[tokio::test]
async fn invalid_json_fails_the_path_check_saying_so() {
    // Signed in twice: once before the cases (a 200 is all the preflight asks), once by the case.
    let server =
        sign_in_answering(ResponseTemplate::new(200).set_body_raw("{\"UserId\": 7,", "application/json"), 2).await;
    let run = sign_in_at(USER_MODEL, &base_url(&server), &[]).await;
    run.assert(1, &["$.UserId", "the body is not JSON", "{\\\"UserId\\\": 7,"]);
}

#[tokio::test]
async fn an_html_error_page_fails_with_the_status_and_the_page() {
    let page = "<html><body><h1>Server Error in '/' Application.</h1></body></html>";
    let server = sign_in_answering(ResponseTemplate::new(500).set_body_raw(page, "text/html"), 1).await;
    let run = sign_in_at(USER_MODEL, &base_url(&server), &[]).await;
    // The sign-in before the cases meets it once; the case that needs it is not sent.
    run.assert(1, &["preflight::sign-in::ps-auth", "status: expected 200, got 500", "<html><body>"]);
}

#[tokio::test]
async fn a_redirect_loop_is_not_followed_and_names_the_location() {
    let server = MockServer::start().await;
    let location = format!("{}/Auth/SignAppin", base_url(&server));
    let redirect = ResponseTemplate::new(302).insert_header("location", location.as_str());
    once(&server, on("POST", "Auth/SignAppin"), redirect).await;
    let run = sign_in_at(OK, &base_url(&server), &[]).await;
    run.assert(1, &["expected 200, got 302", &format!("a redirect to {location}"), "does not follow redirects"]);
    server.verify().await;
}

#[tokio::test]
async fn one_misbehaving_endpoint_does_not_stop_the_run() {
    let server = MockServer::start().await;
    // Each twice: the preflight signs in and probes Configuration (the area of the version
    // endpoint), then the cases.
    let user = serde_json::json!({"UserId": 1, "SID": null, "EmailAddress": "", "UserName": crate::harness::RUNAS, "Name": "n"});
    on("POST", "Auth/SignAppin")
        .respond_with(ResponseTemplate::new(200).set_body_json(user))
        .expect(2)
        .mount(&server)
        .await;
    let hang = ResponseTemplate::new(200).set_delay(Duration::from_secs(TIMEOUT + 3));
    on("GET", "Configuration/Version").respond_with(hang).expect(2).mount(&server).await;
    let dir = cases(
        "\
endpoint: two endpoints
cases:
  - name: sign-in
    summary: works
    effect: audited
    steps:
      - request: { method: POST, path: Auth/SignAppin, auth: ps-auth }
        expect: { status: 200 }
  - name: version
    summary: hangs
    effect: read
    steps:
      - request: { method: GET, path: Configuration/Version }
        expect: { status: 200 }
",
    );
    let run = psconform_run(&dir, &base_url(&server), &[]).await;
    run.assert(1, &["hostile::version", "no complete response", "1 passed; 1 failed"]);
    server.verify().await;
}
