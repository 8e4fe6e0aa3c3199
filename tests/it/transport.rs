//! The HTTP options against real listeners: `--ca-cert` trusts a self-signed server,
//! `--client-cert`/`--client-key` present a client certificate to a server that requires one,
//! `--proxy` sends every request through the proxy, and `--rate` spaces requests out.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use psconform::settings::Settings;
use psconform::simulator::{Listen, SimConfig, Simulator};
use secrecy::SecretString;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "transport-test-key-0123456789";
const RUNAS: &str = "svc-transport";
const BASE: &str = "/BeyondTrust/api/public/v3";

/// One case: sign in, then a session call.
const CASE: &str = r#"endpoint: POST Auth/SignAppin
cases:
  - name: sign-in
    summary: Sign in and use the session.
    effect: audited
    steps:
      - request: { method: POST, path: Auth/SignAppin, auth: ps-auth }
        expect: { status: 200 }
      - request: { method: GET, path: Configuration/Version }
        expect: { status: 200 }
"#;

fn cases(dir: &Path) -> std::path::PathBuf {
    let cases = dir.join("cases");
    std::fs::create_dir_all(&cases).expect("mkdir");
    std::fs::write(cases.join("transport.yaml"), CASE).expect("write");
    cases
}

fn psconform(cases: &Path, target: &str, extra: &[&str]) -> (Option<i32>, String) {
    let out = Command::cargo_bin("psconform")
        .expect("binary")
        .args(["run", "--no-snapshots", "--timeout", "5", "--target", target, "--cases"])
        .arg(cases)
        .args(extra)
        .env("PS_API_KEY", KEY)
        .env("PS_RUNAS", RUNAS)
        .env_remove("PS_RUNAS_PASSWORD")
        .env_remove("PS_TARGET")
        .env("CI", "true")
        .timeout(Duration::from_secs(60))
        .output()
        .expect("run");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code(), text)
}

fn settings() -> Settings {
    Settings { api_key: Some(SecretString::from(KEY)), runas: Some(RUNAS.to_owned()), ..Settings::default() }
}

#[tokio::test(flavor = "multi_thread")]
async fn ca_cert_trusts_a_self_signed_server() {
    psconform::run::http::install_crypto();
    let addr: SocketAddr = "127.0.0.1:0".parse().expect("addr");
    let sim = Simulator::start(SimConfig::new(settings()), addr, Listen::SelfSignedTls).await.expect("start");
    let dir = tempfile::tempdir().expect("temp");
    let ca = dir.path().join("server.pem");
    std::fs::write(&ca, sim.certificate_pem().expect("a self-signed certificate")).expect("write");
    let cases = cases(dir.path());
    let url = sim.base_url().to_string();

    let (code, text) = tokio::task::spawn_blocking({
        let (cases, url) = (cases.clone(), url.clone());
        move || psconform(&cases, &url, &[])
    })
    .await
    .expect("join");
    assert_eq!(code, Some(3), "untrusted certificate: {text}");
    assert!(text.contains("--ca-cert"), "{text}");

    let ca_arg = ca.display().to_string();
    let (code, text) =
        tokio::task::spawn_blocking(move || psconform(&cases, &url, &["--ca-cert", &ca_arg])).await.expect("join");
    assert_eq!(code, Some(0), "trusted with --ca-cert: {text}");
    sim.stop().await;
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, as PEM.
struct Pki {
    ca: String,
    server: (String, String),
    client: (String, String),
}

fn pki() -> Pki {
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca_key = rcgen::KeyPair::generate().expect("key");
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).expect("ca");
    let leaf = |names: Vec<String>| {
        let key = rcgen::KeyPair::generate().expect("key");
        let cert = rcgen::CertificateParams::new(names).expect("params").signed_by(&key, &ca).expect("sign");
        (cert.pem(), key.serialize_pem())
    };
    Pki { ca: ca.pem(), server: leaf(vec!["127.0.0.1".into()]), client: leaf(vec!["psconform-client".into()]) }
}

#[tokio::test(flavor = "multi_thread")]
async fn client_certificate_is_presented_to_a_server_that_requires_one() {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    psconform::run::http::install_crypto();
    let pki = pki();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from_pem_slice(pki.ca.as_bytes()).expect("ca pem")).expect("root");
    let verifier = rustls::server::WebPkiClientVerifier::builder(Arc::new(roots)).build().expect("verifier");
    let certs = vec![CertificateDer::from_pem_slice(pki.server.0.as_bytes()).expect("cert pem")];
    let key = PrivateKeyDer::from_pem_slice(pki.server.1.as_bytes()).expect("key pem");
    let mut config = rustls::ServerConfig::builder()
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)
        .expect("config");
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let app = axum::Router::new()
        .route(&format!("{BASE}/Auth/SignAppin"), axum::routing::post(|| async { "{}" }))
        .route(&format!("{BASE}/Configuration/Version"), axum::routing::get(|| async { "{}" }));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server =
        axum_server::from_tcp_rustls(listener, axum_server::tls_rustls::RustlsConfig::from_config(Arc::new(config)))
            .expect("server");
    let handle = tokio::spawn(async move { server.serve(app.into_make_service()).await });

    let dir = tempfile::tempdir().expect("temp");
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).expect("write");
        p.display().to_string()
    };
    let (ca, cert, key) =
        (write("ca.pem", &pki.ca), write("client.pem", &pki.client.0), write("client.key", &pki.client.1));
    let cases = cases(dir.path());
    let url = format!("https://127.0.0.1:{port}{BASE}");

    let (code, text) = tokio::task::spawn_blocking({
        let (cases, url, ca) = (cases.clone(), url.clone(), ca.clone());
        move || psconform(&cases, &url, &["--ca-cert", &ca])
    })
    .await
    .expect("join");
    assert_ne!(code, Some(0), "without a client certificate the server refuses: {text}");

    let (code, text) = tokio::task::spawn_blocking(move || {
        psconform(&cases, &url, &["--ca-cert", &ca, "--client-cert", &cert, "--client-key", &key])
    })
    .await
    .expect("join");
    assert_eq!(code, Some(0), "with --client-cert and --client-key: {text}");
    handle.abort();
}

#[tokio::test(flavor = "multi_thread")]
async fn every_request_goes_through_the_proxy() {
    let proxy = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{BASE}/Auth/SignAppin")))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&proxy)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{BASE}/Configuration/Version")))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&proxy)
        .await;
    let dir = tempfile::tempdir().expect("temp");
    let cases = cases(dir.path());
    let uri = proxy.uri();
    // The target's host does not resolve: only the proxy can have answered.
    let (code, text) = tokio::task::spawn_blocking(move || {
        psconform(&cases, &format!("http://ps.psconform.invalid{BASE}"), &["--proxy", &uri, "--allow-plain-http"])
    })
    .await
    .expect("join");
    assert_eq!(code, Some(0), "{text}");
    let requests = proxy.received_requests().await.expect("recorded");
    assert!(
        requests.iter().all(|r| r.url.host_str() == Some("ps.psconform.invalid") || r.url.path().starts_with(BASE))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn rate_spaces_requests_out() {
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(200)).mount(&server).await;
    Mock::given(method("GET")).respond_with(ResponseTemplate::new(200)).mount(&server).await;
    let dir = tempfile::tempdir().expect("temp");
    let cases = cases(dir.path());
    // Three cases of two requests: six requests at 4 a second take at least 1.25 s.
    for name in ["b", "c"] {
        std::fs::write(cases.join(format!("{name}.yaml")), CASE).expect("write");
    }
    let url = format!("{}{BASE}", server.uri());
    let started = Instant::now();
    let (code, text) =
        tokio::task::spawn_blocking(move || psconform(&cases, &url, &["--rate", "4", "--test-threads", "3"]))
            .await
            .expect("join");
    let took = started.elapsed();
    assert_eq!(code, Some(0), "{text}");
    assert!(took >= Duration::from_millis(1250), "six requests at --rate 4 took only {took:?}");
    assert!(took < Duration::from_secs(10), "{took:?}");
}
