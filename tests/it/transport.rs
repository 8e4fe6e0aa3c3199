//! The HTTP options against real listeners: `--ca-cert` trusts a self-signed server,
//! `--client-cert`/`--client-key` present a client certificate to a server that requires one,
//! `--proxy` sends every request through the proxy, and `--rate` spaces requests out.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::harness::bin::{Run, psconform};
use crate::harness::files::{Project, SIGN_IN_STEP, one_case};
use crate::harness::target::{BASE, base_url, on, tls_simulator};

/// One case: sign in, then a session call.
fn sign_in_and_call() -> String {
    one_case(
        "sign-in",
        &format!(
            "effect: audited\nsteps:\n  {SIGN_IN_STEP}\n    expect: {{ status: 200 }}\n  \
             - request: {{ method: GET, path: Configuration/Version }}\n    expect: {{ status: 200 }}"
        ),
    )
}

/// A project whose one case file, `transport.yaml`, signs in and calls.
fn project() -> Project {
    Project::new(&[("transport.yaml", &sign_in_and_call())])
}

/// `psconform run --no-snapshots --timeout 5 --target <target> --cases <cases> <extra>` with the
/// test credentials, on a blocking thread; killed after 60 seconds.
async fn psconform_run(cases: &Path, target: &str, extra: &[&str]) -> Run {
    psconform()
        .credentials()
        .args(["run", "--no-snapshots", "--timeout", "5", "--target", target, "--cases"])
        .arg(cases)
        .args(extra)
        .timeout(Duration::from_secs(60))
        .run_async()
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn ca_cert_trusts_a_self_signed_server() {
    psconform::run::http::install_crypto();
    let sim = tls_simulator().await;
    let dir = project();
    let ca = dir.join("server.pem");
    std::fs::write(&ca, sim.certificate_pem().expect("a self-signed certificate")).expect("write");
    let url = sim.base_url().to_string();

    let run = psconform_run(&dir.cases(), &url, &[]).await;
    assert_eq!(run.code, Some(3), "untrusted certificate: {}", run.text());
    assert!(run.text().contains("--ca-cert"), "{}", run.text());

    let run = psconform_run(&dir.cases(), &url, &["--ca-cert", &ca.display().to_string()]).await;
    assert_eq!(run.code, Some(0), "trusted with --ca-cert: {}", run.text());
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

    let dir = project();
    let write = |name: &str, text: &str| {
        dir.write(name, text);
        dir.join(name).display().to_string()
    };
    let (ca, cert, key) =
        (write("ca.pem", &pki.ca), write("client.pem", &pki.client.0), write("client.key", &pki.client.1));
    let url = format!("https://127.0.0.1:{port}{BASE}");

    let run = psconform_run(&dir.cases(), &url, &["--ca-cert", &ca]).await;
    assert_ne!(run.code, Some(0), "without a client certificate the server refuses: {}", run.text());

    let run =
        psconform_run(&dir.cases(), &url, &["--ca-cert", &ca, "--client-cert", &cert, "--client-key", &key]).await;
    assert_eq!(run.code, Some(0), "with --client-cert and --client-key: {}", run.text());
    handle.abort();
}

#[tokio::test(flavor = "multi_thread")]
async fn every_request_goes_through_the_proxy() {
    let proxy = MockServer::start().await;
    // Each twice: the sign-in and the probe of the version's area before the cases, then the
    // case's own.
    on("POST", "Auth/SignAppin").respond_with(ResponseTemplate::new(200)).expect(2).mount(&proxy).await;
    on("GET", "Configuration/Version").respond_with(ResponseTemplate::new(200)).expect(2).mount(&proxy).await;
    let dir = project();
    // The target's host does not resolve: only the proxy can have answered.
    let target = format!("http://ps.psconform.invalid{BASE}");
    let run = psconform_run(&dir.cases(), &target, &["--proxy", &proxy.uri(), "--allow-plain-http"]).await;
    assert_eq!(run.code, Some(0), "{}", run.text());
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
    // Three cases of two requests: six requests at 4 a second take at least 1.25 s.
    let case = sign_in_and_call();
    let dir = Project::new(&[("a.yaml", &case), ("b.yaml", &case), ("c.yaml", &case)]);
    let started = Instant::now();
    let run = psconform_run(&dir.cases(), &base_url(&server), &["--rate", "4", "--test-threads", "3"]).await;
    let took = started.elapsed();
    assert_eq!(run.code, Some(0), "{}", run.text());
    assert!(took >= Duration::from_millis(1250), "six requests at --rate 4 took only {took:?}");
    assert!(took < Duration::from_secs(10), "{took:?}");
}
