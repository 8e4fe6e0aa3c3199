//! The simulator over real sockets: reqwest against `Simulator::start` on 127.0.0.1:0.

use std::time::Duration;

use psconform::settings::Settings;
use psconform::simulator::{Fault, Listen, SimConfig, SimState, Simulator, generate_missing};
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, SET_COOKIE};
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::{Value, json};

const NOT_AUTHENTICATED: &str = "\"User not authenticated\"";

/// A running simulator with the credentials it accepts.
struct Sim {
    sim: Simulator,
    settings: Settings,
}

impl Sim {
    async fn start(state: SimState, faults: &[Fault]) -> Sim {
        Sim::start_on(state, faults, Listen::Plain).await
    }

    async fn start_on(state: SimState, faults: &[Fault], listen: Listen) -> Sim {
        let settings = generate_missing(Settings {
            runas_password: Some(SecretString::from("p;a]ss word")),
            ..Settings::default()
        });
        let config = SimConfig {
            settings: settings.clone(),
            state,
            faults: faults.to_vec(),
            profile: Default::default(),
            data: Default::default(),
        };
        let addr = "127.0.0.1:0".parse().expect("addr");
        let sim = Simulator::start(config, addr, listen).await.expect("simulator starts");
        Sim { sim, settings }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/{path}", self.sim.base_url())
    }

    fn key(&self) -> &str {
        self.settings.api_key.as_ref().expect("generated").expose_secret()
    }

    fn runas(&self) -> &str {
        self.settings.runas.as_deref().expect("generated")
    }

    fn ps_auth(&self) -> String {
        format!("PS-Auth key={}; runas={};", self.key(), self.runas())
    }

    fn client_id(&self) -> &str {
        self.settings.client_id.as_deref().expect("generated")
    }

    fn client_secret(&self) -> &str {
        self.settings.client_secret.as_ref().expect("generated").expose_secret()
    }

    async fn sign_in(&self, authorization: &str) -> reqwest::Response {
        client().post(self.url("Auth/SignAppin")).header(AUTHORIZATION, authorization).send().await.expect("request")
    }

    /// Signs in with PS-Auth and returns the `Cookie` header value to send afterwards.
    async fn session(&self) -> String {
        let r = self.sign_in(&self.ps_auth()).await;
        assert_eq!(r.status(), StatusCode::OK);
        cookie_header(&r)
    }

    async fn version(&self, cookie: Option<&str>) -> reqwest::Response {
        let mut req = client().get(self.url("Configuration/Version"));
        if let Some(cookie) = cookie {
            req = req.header(COOKIE, cookie);
        }
        req.send().await.expect("request")
    }

    async fn sign_out(&self, cookie: Option<&str>) -> reqwest::Response {
        let mut req = client().post(self.url("Auth/Signout"));
        if let Some(cookie) = cookie {
            req = req.header(COOKIE, cookie);
        }
        req.send().await.expect("request")
    }

    async fn token(&self, form: &[(&str, &str)]) -> reqwest::Response {
        client().post(self.url("Auth/connect/token")).form(form).send().await.expect("request")
    }

    async fn good_token(&self) -> String {
        let r = self
            .token(&[
                ("client_id", self.client_id()),
                ("client_secret", self.client_secret()),
                ("grant_type", "client_credentials"),
            ])
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        let body: Value = r.json().await.expect("json");
        body["access_token"].as_str().expect("access_token").to_owned()
    }
}

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().no_proxy().tls_danger_accept_invalid_certs(true).build().expect("client")
}

fn set_cookies(r: &reqwest::Response) -> Vec<String> {
    r.headers().get_all(SET_COOKIE).iter().map(|v| v.to_str().expect("ascii").to_owned()).collect()
}

/// What a correct client sends back: every cookie in one `Cookie` header.
fn cookie_header(r: &reqwest::Response) -> String {
    set_cookies(r).iter().map(|c| c.split(';').next().expect("name=value").to_owned()).collect::<Vec<_>>().join("; ")
}

fn content_type(r: &reqwest::Response) -> String {
    r.headers().get(CONTENT_TYPE).map(|v| v.to_str().expect("ascii").to_owned()).unwrap_or_default()
}

async fn status_and_text(r: reqwest::Response) -> (StatusCode, String, String) {
    let ct = content_type(&r);
    (r.status(), ct, r.text().await.expect("body"))
}

#[tokio::test]
async fn sign_in_accepts_every_header_spelling() {
    let s = Sim::start(SimState::default(), &[]).await;
    let (k, u) = (s.key().to_owned(), s.runas().to_owned());
    let spellings = [
        format!("PS-Auth key={k}; runas={u}; pwd=[whatever];"),
        format!("PS-Auth key={k}; runas={u};"),
        format!("PS-Auth key={k}; runas={u}"),
        format!("PS-Auth key={k};runas={u};pwd=[x];"),
        format!("PS-Auth key={k};runas={u}"),
        format!("PS-Auth key={k};runas={u};"),
        format!("ps-auth key={k} ; runas={}", u.to_uppercase()),
    ];
    for auth in &spellings {
        let r = s.sign_in(auth).await;
        assert_eq!(r.status(), StatusCode::OK, "{auth}");
        assert_eq!(content_type(&r), "application/json; charset=utf-8");
        let cookies = set_cookies(&r);
        assert_eq!(cookies.len(), 2, "{cookies:?}");
        let sid = cookies[0]
            .strip_prefix("ASP.NET_SessionId=")
            .and_then(|rest| rest.split(';').next())
            .expect("session cookie first");
        assert_eq!(sid.len(), 24);
        assert!(sid.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()), "{sid}");
        assert!(cookies[0].ends_with("; path=/; HttpOnly; SameSite=Lax"), "{}", cookies[0]);
        assert!(cookies[1].starts_with("__RequestVerificationToken="));
        assert!(cookies[1].ends_with("; path=/; HttpOnly"), "{}", cookies[1]);
        let user: Value = r.json().await.expect("json");
        assert_eq!(user["UserName"], json!(u), "UserName is the run-as user as configured");
        assert!(user["UserId"].is_i64());
        assert!(user["SID"].is_string());
        assert!(user["EmailAddress"].is_string());
        assert!(user["Name"].is_string());
    }

    // An empty body with Content-Type: application/json, as GOLIB sends it.
    let r = client()
        .post(s.url("Auth/SignAppIn"))
        .header(AUTHORIZATION, s.ps_auth())
        .header(CONTENT_TYPE, "application/json")
        .body("")
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn sign_in_failures_are_401_json_strings() {
    let s = Sim::start(SimState::default(), &[]).await;
    let r = client().post(s.url("Auth/SignAppin")).send().await.expect("request");
    assert_eq!(status_and_text(r).await, (StatusCode::UNAUTHORIZED, ct(), NOT_AUTHENTICATED.into()));
    let bad = [
        "PS-Auth".to_owned(),
        "Basic dXNlcjpwYXNz".to_owned(),
        format!("PS-Auth key=wrong; runas={};", s.runas()),
        format!("PS-Auth key={}; runas=someone-else;", s.key()),
        format!("PS-Auth key={};", s.key()),
        "Bearer not-a-token".to_owned(),
    ];
    for auth in &bad {
        let r = s.sign_in(auth).await;
        assert!(set_cookies(&r).is_empty(), "{auth}");
        assert_eq!(status_and_text(r).await, (StatusCode::UNAUTHORIZED, ct(), NOT_AUTHENTICATED.into()), "{auth}");
    }
}

fn ct() -> String {
    "application/json; charset=utf-8".into()
}

#[tokio::test]
async fn session_call_then_signout_then_401() {
    let s = Sim::start(SimState::default(), &[]).await;
    let r = s.version(None).await;
    assert_eq!(status_and_text(r).await, (StatusCode::UNAUTHORIZED, ct(), NOT_AUTHENTICATED.into()));

    let cookie = s.session().await;
    let r = s.version(Some(&cookie)).await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.expect("json");
    assert!(v["Version"].is_string(), "{v}");

    // Only the session id matters; the verification token alone is not a session.
    let only_sid = cookie.split("; ").next().expect("sid").to_owned();
    assert_eq!(s.version(Some(&only_sid)).await.status(), StatusCode::OK);
    let only_token = cookie.split("; ").nth(1).expect("token").to_owned();
    assert_eq!(s.version(Some(&only_token)).await.status(), StatusCode::UNAUTHORIZED);

    let r = s.sign_out(Some(&cookie)).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.text().await.expect("body"), "");
    let r = s.version(Some(&cookie)).await;
    assert_eq!(status_and_text(r).await, (StatusCode::UNAUTHORIZED, ct(), NOT_AUTHENTICATED.into()));

    // Signing out again, or without any session, is still 200.
    assert_eq!(s.sign_out(Some(&cookie)).await.status(), StatusCode::OK);
    assert_eq!(s.sign_out(None).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn oauth_token_then_bearer_sign_in() {
    let s = Sim::start(SimState::default(), &[]).await;
    let r = s
        .token(&[
            ("grant_type", "client_credentials"),
            ("client_secret", s.client_secret()),
            ("client_id", s.client_id()),
        ])
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(content_type(&r), "application/json; charset=utf-8");
    assert_eq!(r.headers().get("cache-control").map(|v| v.as_bytes()), Some(&b"no-store"[..]));
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["expires_in"], json!(3600));
    assert_eq!(body["token_type"], json!("Bearer"));
    assert_eq!(body["scope"], json!("publicapi"));
    let token = body["access_token"].as_str().expect("token");
    assert!(token.len() >= 32);

    let r = s.sign_in(&format!("Bearer {token}")).await;
    assert_eq!(r.status(), StatusCode::OK);
    let cookie = cookie_header(&r);
    let user: Value = r.json().await.expect("json");
    assert_eq!(user["UserName"], json!(s.client_id()));
    assert_eq!(user["SID"], Value::Null);
    assert_eq!(s.version(Some(&cookie)).await.status(), StatusCode::OK);

    // The token may sign in again until it expires.
    assert_eq!(s.sign_in(&format!("Bearer {token}")).await.status(), StatusCode::OK);
    let r = s.sign_in(&format!("Bearer {token}x")).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

/// A form body, as field/value pairs.
type Form<'a> = &'a [(&'a str, &'a str)];

#[tokio::test]
async fn token_errors() {
    let s = Sim::start(SimState::default(), &[]).await;
    let (id, secret) = (s.client_id().to_owned(), s.client_secret().to_owned());
    let cc = "client_credentials";
    let cases: [(Form, StatusCode, &str); 5] = [
        (
            &[("grant_type", cc), ("client_id", &id), ("client_secret", "nope")],
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (
            &[("grant_type", cc), ("client_id", "nope"), ("client_secret", &secret)],
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (&[("grant_type", cc), ("client_id", &id)], StatusCode::BAD_REQUEST, "invalid_request"),
        (&[("client_id", &id), ("client_secret", &secret)], StatusCode::BAD_REQUEST, "invalid_request"),
        (
            &[("grant_type", "password"), ("client_id", &id), ("client_secret", &secret)],
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
        ),
    ];
    for (form, status, error) in cases {
        let r = s.token(form).await;
        assert_eq!(r.status(), status, "{form:?}");
        assert_eq!(content_type(&r), ct());
        assert_eq!(r.json::<Value>().await.expect("json"), json!({ "error": error }), "{form:?}");
    }
    let r = client()
        .post(s.url("Auth/Connect/Token"))
        .json(&json!({"grant_type": cc, "client_id": id, "client_secret": secret}))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = client().get(s.url("Auth/Connect/Token")).send().await.expect("request");
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn paths_are_case_insensitive_and_tolerate_a_trailing_slash() {
    let s = Sim::start(SimState::default(), &[]).await;
    let origin = s.sim.base_url().origin().ascii_serialization();
    for path in [
        "/BeyondTrust/api/public/v3/Auth/SignAppin",
        "/beyondtrust/api/public/V3/auth/signappin/",
        "/BEYONDTRUST/API/PUBLIC/V3/AUTH/SIGNAPPIN?Version=3.1",
        "/eEye.RetinaCS.Server/api/public/v3/Auth/SignAppIn",
    ] {
        let r =
            client().post(format!("{origin}{path}")).header(AUTHORIZATION, s.ps_auth()).send().await.expect("request");
        assert_eq!(r.status(), StatusCode::OK, "{path}");
    }
    let cookie = s.session().await;
    let r = client()
        .get(format!("{origin}/beyondtrust/api/public/v3/configuration/version/?VERSION=3.0"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), StatusCode::OK);
    let r = client()
        .post(format!("{origin}/BeyondTrust/api/public/v3/auth/CONNECT/token/"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", s.client_id()),
            ("client_secret", s.client_secret()),
        ])
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn unknown_routes_and_wrong_methods_answer_json() {
    let s = Sim::start(SimState::default(), &[]).await;
    let origin = s.sim.base_url().origin().ascii_serialization();
    for url in [format!("{origin}/"), format!("{origin}/index.html"), s.url("Nope"), s.url("Auth/SignAppin/more")] {
        let (status, content_type, body) = status_and_text(client().get(&url).send().await.expect("request")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{url}");
        assert_eq!(content_type, ct());
        assert!(serde_json::from_str::<Value>(&body).expect("json").is_string(), "{body}");
    }
    let r = client().get(s.url("Auth/SignAppin")).send().await.expect("request");
    assert_eq!(r.headers().get("allow").map(|v| v.as_bytes()), Some(&b"POST"[..]));
    let (status, content_type, body) = status_and_text(r).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(content_type, ct());
    assert!(serde_json::from_str::<Value>(&body).expect("json").is_string(), "{body}");
    let r = client().post(s.url("Configuration/Version")).send().await.expect("request");
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn licence_invalid_is_403_after_authentication() {
    let s = Sim::start(SimState { licence_invalid: true, ..SimState::default() }, &[]).await;
    let (status, content_type, body) = status_and_text(s.sign_in(&s.ps_auth()).await).await;
    assert_eq!((status, content_type.as_str()), (StatusCode::FORBIDDEN, "application/json; charset=utf-8"));
    assert!(serde_json::from_str::<Value>(&body).expect("json").is_string(), "{body}");
    assert_eq!(s.sign_in("PS-Auth key=wrong; runas=x").await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn disabled_version_is_410_everywhere() {
    let s = Sim::start(SimState::from_names(&["api-version-disabled"]).expect("state"), &[]).await;
    let responses = [
        s.sign_in(&s.ps_auth()).await,
        s.version(None).await,
        s.sign_out(None).await,
        s.token(&[("grant_type", "client_credentials")]).await,
        client().get(s.url("Anything")).send().await.expect("request"),
    ];
    for r in responses {
        let (status, content_type, body) = status_and_text(r).await;
        assert_eq!(status, StatusCode::GONE);
        assert_eq!(content_type, ct());
        assert!(serde_json::from_str::<Value>(&body).expect("json").is_string(), "{body}");
    }
}

#[tokio::test]
async fn rejected_source_address_is_401_for_both_sign_ins() {
    let s = Sim::start(SimState::from_names(&["source-address-rejected"]).expect("state"), &[]).await;
    assert_eq!(s.sign_in(&s.ps_auth()).await.status(), StatusCode::UNAUTHORIZED);
    let token = s.good_token().await;
    assert_eq!(s.sign_in(&format!("Bearer {token}")).await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn password_required_checks_pwd() {
    let s = Sim::start(SimState::from_names(&["password-required"]).expect("state"), &[]).await;
    let (k, u) = (s.key().to_owned(), s.runas().to_owned());
    assert_eq!(s.sign_in(&format!("PS-Auth key={k}; runas={u};")).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        s.sign_in(&format!("PS-Auth key={k}; runas={u}; pwd=[wrong];")).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // The configured password is `p;a]ss word`: it contains `;`, `]` and a space.
    assert_eq!(s.sign_in(&format!("PS-Auth key={k}; runas={u}; pwd=[p;a]ss word];")).await.status(), StatusCode::OK);
    assert_eq!(s.sign_in(&format!("PS-Auth key={k};runas={u};pwd=[p;a]ss word]")).await.status(), StatusCode::OK);

    let lax =
        Sim::start(SimState::from_names(&["password-required"]).expect("state"), &[Fault::SigninIgnoresPassword]).await;
    assert_eq!(lax.sign_in(&lax.ps_auth()).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn idle_sessions_die_and_use_refreshes_them() {
    let state = SimState { idle_timeout: Duration::from_millis(300), ..SimState::default() };
    let s = Sim::start(state.clone(), &[]).await;
    let cookie = s.session().await;
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert_eq!(s.version(Some(&cookie)).await.status(), StatusCode::OK, "use keeps it alive");
    }
    tokio::time::sleep(Duration::from_millis(450)).await;
    let r = s.version(Some(&cookie)).await;
    assert_eq!(status_and_text(r).await, (StatusCode::UNAUTHORIZED, ct(), NOT_AUTHENTICATED.into()));

    let immortal = Sim::start(state, &[Fault::SessionNeverExpires]).await;
    let cookie = immortal.session().await;
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert_eq!(immortal.version(Some(&cookie)).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn faults_change_behaviour() {
    let s = Sim::start(
        SimState::default(),
        &[Fault::SigninUseridAsString, Fault::SignoutKeepsSession, Fault::CookieNotHttponly],
    )
    .await;
    let r = s.sign_in(&s.ps_auth()).await;
    assert!(set_cookies(&r).iter().all(|c| !c.contains("HttpOnly")));
    let cookie = cookie_header(&r);
    assert_eq!(r.json::<Value>().await.expect("json")["UserId"], json!("7"));
    assert_eq!(s.sign_out(Some(&cookie)).await.status(), StatusCode::OK);
    assert_eq!(s.version(Some(&cookie)).await.status(), StatusCode::OK, "session survived Signout");

    let s = Sim::start(
        SimState::default(),
        &[Fault::UnauthenticatedHtmlBody, Fault::TokenTypeLowercase, Fault::TokenExpiresInString],
    )
    .await;
    let (status, content_type, body) = status_and_text(s.version(None).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(content_type.starts_with("text/html"));
    assert!(body.starts_with("<!DOCTYPE html>"));
    let r = s
        .token(&[
            ("grant_type", "client_credentials"),
            ("client_id", s.client_id()),
            ("client_secret", s.client_secret()),
        ])
        .await;
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["token_type"], json!("bearer"));
    assert_eq!(body["expires_in"], json!("3600"));

    let s = Sim::start(
        SimState::default(),
        &[Fault::SigninMissingUserid, Fault::SigninNoCookie, Fault::Unauthenticated200],
    )
    .await;
    let r = s.sign_in(&s.ps_auth()).await;
    assert!(set_cookies(&r).is_empty());
    assert!(r.json::<Value>().await.expect("json").get("UserId").is_none());
    assert_eq!(s.version(None).await.status(), StatusCode::OK);

    let s =
        Sim::start(SimState::default(), &[Fault::SigninAcceptsBadKey, Fault::BearerInvalidAccepted, Fault::Signout500])
            .await;
    assert_eq!(s.sign_in(&format!("PS-Auth key=wrong; runas={}", s.runas())).await.status(), StatusCode::OK);
    assert_eq!(s.sign_in("Bearer made-up").await.status(), StatusCode::OK);
    assert_eq!(s.sign_out(None).await.status(), StatusCode::INTERNAL_SERVER_ERROR);

    let s = Sim::start(
        SimState { licence_invalid: true, api_version_disabled: true, ..SimState::default() },
        &[Fault::LicenceIgnored, Fault::VersionDisabledIgnored],
    )
    .await;
    assert_eq!(s.sign_in(&s.ps_auth()).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn self_signed_tls_marks_cookies_secure() {
    let s = Sim::start_on(SimState::default(), &[], Listen::SelfSignedTls).await;
    assert_eq!(s.sim.base_url().scheme(), "https");
    assert!(s.sim.certificate_pem().is_some_and(|pem| pem.starts_with("-----BEGIN CERTIFICATE-----")));
    let r = s.sign_in(&s.ps_auth()).await;
    assert_eq!(r.status(), StatusCode::OK);
    let cookies = set_cookies(&r);
    assert!(cookies[0].contains("; path=/; secure; HttpOnly; SameSite=Lax"), "{cookies:?}");
    assert!(cookies[1].ends_with("; path=/; secure; HttpOnly"), "{cookies:?}");
    let cookie = cookie_header(&r);
    assert_eq!(s.version(Some(&cookie)).await.status(), StatusCode::OK);

    // Over plain HTTP the same cookies carry no `secure`, or real clients would not send them.
    let plain = Sim::start(SimState::default(), &[]).await;
    let r = plain.sign_in(&plain.ps_auth()).await;
    assert!(set_cookies(&r).iter().all(|c| !c.to_ascii_lowercase().contains("secure")));
    s.sim.stop().await;
    plain.sim.stop().await;
}

#[tokio::test]
async fn tls_from_pem_files_and_start_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = rcgen::KeyPair::generate().expect("key");
    let cert =
        rcgen::CertificateParams::new(vec!["localhost".to_owned()]).expect("params").self_signed(&key).expect("cert");
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.pem()).expect("write");
    std::fs::write(&key_path, key.serialize_pem()).expect("write");
    let s =
        Sim::start_on(SimState::default(), &[], Listen::Tls { cert_pem: cert_path.clone(), key_pem: key_path }).await;
    assert_eq!(s.sign_in(&s.ps_auth()).await.status(), StatusCode::OK);

    let addr = "127.0.0.1:0".parse().expect("addr");
    let missing = Listen::Tls { cert_pem: cert_path, key_pem: dir.path().join("absent.pem") };
    let err = Simulator::start(SimConfig::new(Settings::default()), addr, missing).await.expect_err("no key file");
    assert!(!err.is_bind());
    assert!(err.to_string().contains("absent.pem"), "{err}");

    let taken = s.sim.base_url().socket_addrs(|| None).expect("addr")[0];
    let err =
        Simulator::start(SimConfig::new(Settings::default()), taken, Listen::Plain).await.expect_err("port in use");
    assert!(err.is_bind(), "{err}");
    s.sim.stop().await;
}

#[tokio::test]
async fn no_html_anywhere() {
    let s = Sim::start(SimState::default(), &[]).await;
    let origin = s.sim.base_url().origin().ascii_serialization();
    let requests = [
        client().get(format!("{origin}/")),
        client().get(format!("{origin}/favicon.ico")),
        client().delete(s.url("Auth/SignAppin")),
        client().post(s.url("Auth/SignAppin")),
        client().get(s.url("Configuration/Version")),
        client().post(s.url("Auth/connect/token")).body("x"),
        client().put(s.url("ManagedAccounts")),
    ];
    for req in requests {
        let (status, content_type, body) = status_and_text(req.send().await.expect("request")).await;
        assert!(!content_type.contains("html"), "{status} {content_type}");
        assert!(!body.trim_start().starts_with('<'), "{status} {body}");
        assert!(serde_json::from_str::<Value>(&body).is_ok(), "{status} {body}");
    }
}

// ---------------------------------------------------------------------------------------------
// `psconform serve`

mod serve_cli {
    use std::io::{BufRead as _, BufReader};
    use std::process::{Command, Stdio};

    use predicates::prelude::*;

    fn serve() -> assert_cmd::Command {
        let mut cmd = assert_cmd::Command::cargo_bin("psconform").expect("binary");
        cmd.arg("serve");
        for var in ["PS_API_KEY", "PS_RUNAS", "PS_RUNAS_PASSWORD", "PS_CLIENT_ID", "PS_CLIENT_SECRET"] {
            cmd.env_remove(var);
        }
        cmd
    }

    #[test]
    fn usage_errors_exit_2() {
        serve()
            .args(["--listen", "127.0.0.1:0", "--fault", "signin-typo"])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("signin-missing-userid"));
        serve()
            .args(["--listen", "127.0.0.1:0", "--state", "licence-expired"])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("licence-invalid"));
        serve()
            .args(["--listen", "127.0.0.1:0", "--tls-cert", "/nonexistent/c.pem", "--tls-key", "/nonexistent/k.pem"])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("/nonexistent/c.pem"));
        serve().args(["--tls", "--tls-cert", "c.pem", "--tls-key", "k.pem"]).assert().code(2);
    }

    #[test]
    fn a_port_in_use_exits_3() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = taken.local_addr().expect("addr").to_string();
        serve().args(["--listen", &addr]).assert().code(3).stderr(predicate::str::contains(addr.as_str()));
    }

    #[test]
    fn list_faults() {
        serve().arg("--list-faults").assert().success().stdout(
            predicate::str::contains("session-never-expires").and(predicate::str::contains("short-idle-timeout")),
        );
    }

    #[test]
    fn prints_the_url_first_and_never_an_environment_credential() {
        let bin = assert_cmd::cargo::cargo_bin("psconform");
        let mut child = Command::new(bin)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("PS_API_KEY", "env-key-canary")
            .env_remove("PS_RUNAS")
            .env_remove("PS_RUNAS_PASSWORD")
            .env_remove("PS_CLIENT_ID")
            .env_remove("PS_CLIENT_SECRET")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        let stdout = child.stdout.take().expect("piped");
        let lines: Vec<String> = BufReader::new(stdout).lines().take(6).map(|l| l.expect("line")).collect();
        let stopped = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill");
        assert!(stopped.success());
        let status = child.wait().expect("wait");

        assert!(lines[0].starts_with("http://127.0.0.1:"), "{lines:?}");
        assert!(lines[0].ends_with("/BeyondTrust/api/public/v3"), "{lines:?}");
        assert_eq!(lines[1], "PS_API_KEY=(from PS_API_KEY)");
        assert_eq!(lines[2], "PS_RUNAS=psconform-demo");
        assert!(lines.iter().all(|l| !l.contains("canary")));
        assert!(status.success(), "SIGTERM is a clean stop: {status:?}");
    }
}
