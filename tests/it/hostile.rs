//! Hostile targets through the built binary: refused connections, DNS and TLS failures, silence,
//! broken and oversized bodies, HTML instead of JSON, redirect loops. Each gives a failed case
//! with a reason that names the problem and the documented exit code, never a panic or a hang,
//! and a misbehaving endpoint does not stop the other cases.
//!
//! Malformed HTTP comes from raw `tokio::net::TcpListener` servers on 127.0.0.1:0, which stop
//! when the test ends; well-formed but unwelcome answers come from wiremock.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use psconform::settings::Settings;
use psconform::simulator::{Listen, SimConfig, Simulator, generate_missing};
use secrecy::ExposeSecret as _;
use tempfile::TempDir;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const BASE: &str = "/BeyondTrust/api/public/v3";
const KEY: &str = "test-key-0123";
const RUNAS: &str = "svc-conform";

/// The `--timeout` every run gets, in seconds.
const TIMEOUT: u64 = 2;

const SIGN_IN: &str = "\
endpoint: POST Auth/SignAppin
cases:
  - name: sign-in
    summary: signs in
    effect: audited
    steps:
      - request: { method: POST, path: Auth/SignAppin, auth: ps-auth }
        expect: { status: 200 }
";

const SIGN_IN_JSON: &str = "\
endpoint: POST Auth/SignAppin
cases:
  - name: sign-in
    summary: signs in and answers the user model
    effect: audited
    steps:
      - request: { method: POST, path: Auth/SignAppin, auth: ps-auth }
        expect:
          status: 200
          paths:
            $.UserId: { type: integer }
";

/// A folder holding one case file.
fn cases(yaml: &str) -> TempDir {
    let dir = tempfile::tempdir().expect("a temporary folder");
    std::fs::write(dir.path().join("hostile.yaml"), yaml).expect("the case file is written");
    dir
}

/// What a run of the binary left behind.
#[derive(Debug)]
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    took: Duration,
}

impl Run {
    /// Everything the user saw.
    fn text(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    /// No panic, the exit code, and every piece of text (case-insensitive) in the output.
    fn assert(&self, code: i32, texts: &[&str]) {
        assert!(!self.text().contains("panicked"), "{self:#?}");
        assert_eq!(self.code, Some(code), "{self:#?}");
        let lower = self.text().to_ascii_lowercase();
        for t in texts {
            assert!(lower.contains(&t.to_ascii_lowercase()), "the output does not mention {t:?}:\n{}", self.text());
        }
    }
}

/// `psconform run --target <target> --cases <dir> --timeout 2 <extra>` with test credentials
/// (or `env`), on a blocking thread so servers on the test's runtime keep answering. A run that
/// hangs is killed after 60 seconds and fails its test.
async fn psconform(cases: &Path, target: &str, extra: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = assert_cmd::Command::cargo_bin("psconform").expect("the binary is built");
    cmd.args(["run", "--target", target, "--cases"])
        .arg(cases)
        .args(["--timeout", &TIMEOUT.to_string()])
        .args(extra)
        .env("NO_COLOR", "1")
        .env("PS_API_KEY", KEY)
        .env("PS_RUNAS", RUNAS)
        .env_remove("PS_TARGET")
        .env_remove("PS_RUNAS_PASSWORD")
        .env_remove("PS_CLIENT_ID")
        .env_remove("PS_CLIENT_SECRET")
        .env_remove("RUST_LOG")
        .timeout(Duration::from_secs(60));
    for (k, v) in env {
        cmd.env(k, v);
    }
    let started = Instant::now();
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("the blocking task ends")
        .expect("the binary runs");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        took: started.elapsed(),
    }
}

fn target(addr: SocketAddr) -> String {
    format!("http://{addr}{BASE}")
}

/// A raw TCP server: every connection is handed to `serve`. Dropping it stops the listener and
/// every connection it accepted.
struct RawServer {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for RawServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl RawServer {
    async fn start<F, Fut>(serve: F) -> RawServer
    where
        F: Fn(TcpStream) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free loopback port");
        let addr = listener.local_addr().expect("a bound address");
        let task = tokio::spawn(async move {
            // Owned here so that aborting the accept loop drops (and aborts) every connection.
            let mut connections = JoinSet::new();
            while let Ok((stream, _)) = listener.accept().await {
                connections.spawn(serve(stream));
            }
        });
        RawServer { addr, task }
    }

    /// Reads the request head, then writes `head` and `body` and closes.
    async fn answering(head: String, body: Vec<u8>) -> RawServer {
        RawServer::start(move |mut stream| {
            let (head, body) = (head.clone(), body.clone());
            async move {
                read_head(&mut stream).await;
                let _ = stream.write_all(head.as_bytes()).await;
                let _ = stream.write_all(&body).await;
                let _ = stream.shutdown().await;
            }
        })
        .await
    }
}

/// Reads until the end of the request head (the cases send no body).
async fn read_head(stream: &mut TcpStream) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// A port nothing listens on: bound, then released.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free loopback port").port()
}

#[tokio::test]
async fn connection_refused_is_unreachable_exit_3() {
    let dir = cases(SIGN_IN);
    let run = psconform(dir.path(), &format!("http://127.0.0.1:{}{BASE}", free_port()), &[], &[]).await;
    run.assert(3, &["could not connect", "refused", "the target could not be reached at all"]);
}

#[tokio::test]
async fn dns_failure_is_unreachable_exit_3() {
    let dir = cases(SIGN_IN);
    let run = psconform(dir.path(), &format!("http://nonexistent.invalid{BASE}"), &["--allow-plain-http"], &[]).await;
    run.assert(3, &["could not connect to http://nonexistent.invalid", "dns"]);
    assert!(!run.text().contains("TLS"), "{}", run.text());
}

/// The host name is not evidence of TLS: a DNS failure for `ssl-gw.…` over plain http was
/// reported as a failed TLS handshake, because the error text quotes the URL.
#[tokio::test]
async fn a_host_named_like_tls_does_not_make_a_dns_failure_a_tls_failure() {
    let dir = cases(SIGN_IN);
    let run =
        psconform(dir.path(), &format!("http://ssl-tls-gw.nonexistent.invalid{BASE}"), &["--allow-plain-http"], &[])
            .await;
    run.assert(3, &["could not connect to http://ssl-tls-gw.nonexistent.invalid"]);
    assert!(!run.text().contains("TLS handshake"), "{}", run.text());
}

/// Starts the simulator with a self-signed certificate and returns it with the environment
/// holding the credentials it accepts.
async fn tls_simulator() -> (Simulator, Vec<(&'static str, String)>) {
    let settings = generate_missing(Settings::default());
    let env = vec![
        ("PS_API_KEY", settings.api_key.as_ref().expect("generated").expose_secret().to_owned()),
        ("PS_RUNAS", settings.runas.clone().expect("generated")),
    ];
    let sim =
        Simulator::start(SimConfig::new(settings), "127.0.0.1:0".parse().expect("an address"), Listen::SelfSignedTls)
            .await
            .expect("the simulator starts");
    (sim, env)
}

#[tokio::test]
async fn an_untrusted_certificate_is_unreachable_exit_3_with_a_hint() {
    let (sim, env) = tls_simulator().await;
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let dir = cases(SIGN_IN);
    let run = psconform(dir.path(), sim.base_url().as_str(), &[], &env).await;
    run.assert(3, &["TLS handshake", "certificate", "--ca-cert", "--insecure"]);
    let run = psconform(dir.path(), sim.base_url().as_str(), &["--insecure"], &env).await;
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
    let dir = cases(SIGN_IN);
    let run = psconform(dir.path(), &target(silent.addr), &[], &[]).await;
    run.assert(1, &["no complete response", "within 2.0s (--timeout)"]);
    assert!(run.took < Duration::from_secs(TIMEOUT + 5), "took {:?}", run.took);
}

#[tokio::test]
async fn a_body_trickled_forever_times_out_within_the_limit() {
    let trickle = RawServer::start(|mut stream| async move {
        read_head(&mut stream).await;
        let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
        if stream.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        // One byte at a time, far below --max-body: only --timeout can end this.
        while stream.write_all(b"1\r\n \r\n").await.is_ok() {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await;
    let dir = cases(SIGN_IN);
    let run = psconform(dir.path(), &target(trickle.addr), &[], &[]).await;
    run.assert(1, &["no complete response", "within 2.0s (--timeout)"]);
    assert!(run.took < Duration::from_secs(TIMEOUT + 5), "took {:?}", run.took);
}

#[tokio::test]
async fn a_body_that_stops_short_of_its_length_is_reported_broken() {
    let server = RawServer::answering(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n".into(),
        b"{\"UserId\":".to_vec(),
    )
    .await;
    let dir = cases(SIGN_IN);
    let run = psconform(dir.path(), &target(server.addr), &[], &[]).await;
    run.assert(1, &["broke off"]);
}

#[tokio::test]
async fn an_announced_body_over_max_body_fails() {
    let server = RawServer::answering(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2048\r\n\r\n".into(),
        vec![b' '; 2048],
    )
    .await;
    let dir = cases(SIGN_IN);
    let run = psconform(dir.path(), &target(server.addr), &["--max-body", "1KiB"], &[]).await;
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
    let server = RawServer::answering(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".into(),
        body,
    )
    .await;
    let dir = cases(SIGN_IN);
    let run = psconform(dir.path(), &target(server.addr), &["--max-body", "1KiB"], &[]).await;
    run.assert(1, &["larger than --max-body (1024 bytes)"]);
}

#[tokio::test]
async fn a_gigabyte_announced_body_fails_fast_on_the_cap() {
    let server = RawServer::start(|mut stream| async move {
        read_head(&mut stream).await;
        let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1073741824\r\n\r\n";
        if stream.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        // Trickle the body: a client that tried to read it all would hang for days.
        loop {
            if stream.write_all(b" ").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    let dir = cases(SIGN_IN);
    let run = psconform(dir.path(), &target(server.addr), &[], &[]).await;
    run.assert(1, &["larger than --max-body", "announced 1073741824 bytes"]);
    assert!(run.took < Duration::from_secs(TIMEOUT), "took {:?}", run.took);
}

/// A wiremock server answering `POST Auth/SignAppin` with `resp`.
async fn sign_in_answers(resp: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{BASE}/Auth/SignAppin")))
        .respond_with(resp)
        .expect(1)
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn invalid_json_fails_the_path_check_saying_so() {
    let server = sign_in_answers(ResponseTemplate::new(200).set_body_raw("{\"UserId\": 7,", "application/json")).await;
    let dir = cases(SIGN_IN_JSON);
    let run = psconform(dir.path(), &format!("{}{BASE}", server.uri()), &[], &[]).await;
    run.assert(1, &["$.UserId", "the body is not JSON", "{\\\"UserId\\\": 7,"]);
}

#[tokio::test]
async fn an_html_error_page_fails_with_the_status_and_the_page() {
    let server = sign_in_answers(
        ResponseTemplate::new(500)
            .set_body_raw("<html><body><h1>Server Error in '/' Application.</h1></body></html>", "text/html"),
    )
    .await;
    let dir = cases(SIGN_IN_JSON);
    let run = psconform(dir.path(), &format!("{}{BASE}", server.uri()), &[], &[]).await;
    run.assert(1, &["status: expected 200, got 500", "not JSON", "<html><body>"]);
}

#[tokio::test]
async fn a_redirect_loop_is_not_followed_and_names_the_location() {
    let server = MockServer::start().await;
    let location = format!("{}{BASE}/Auth/SignAppin", server.uri());
    Mock::given(method("POST"))
        .and(path(format!("{BASE}/Auth/SignAppin")))
        .respond_with(ResponseTemplate::new(302).insert_header("location", location.as_str()))
        .expect(1)
        .mount(&server)
        .await;
    let dir = cases(SIGN_IN);
    let run = psconform(dir.path(), &format!("{}{BASE}", server.uri()), &[], &[]).await;
    run.assert(1, &["expected 200, got 302", &format!("a redirect to {location}"), "does not follow redirects"]);
    server.verify().await;
}

#[tokio::test]
async fn one_misbehaving_endpoint_does_not_stop_the_run() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{BASE}/Auth/SignAppin")))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{BASE}/Configuration/Version")))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(TIMEOUT + 3)))
        .expect(1)
        .mount(&server)
        .await;
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
    let run = psconform(dir.path(), &format!("{}{BASE}", server.uri()), &[], &[]).await;
    run.assert(1, &["hostile::version", "no complete response", "1 passed; 1 failed"]);
    server.verify().await;
}
