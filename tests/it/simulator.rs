//! The simulator over real sockets: reqwest against `Simulator::start` on 127.0.0.1:0.

use std::time::Duration;

use psconform::settings::Settings;
use psconform::simulator::{DataVariant, Fault, Listen, SimConfig, SimState, Simulator, generate_missing};
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

    async fn start_data(state: SimState, faults: &[Fault], data: DataVariant) -> Sim {
        Sim::start_with(state, faults, Listen::Plain, data).await
    }

    async fn start_on(state: SimState, faults: &[Fault], listen: Listen) -> Sim {
        Sim::start_with(state, faults, listen, DataVariant::default()).await
    }

    async fn start_with(state: SimState, faults: &[Fault], listen: Listen, data: DataVariant) -> Sim {
        let settings = generate_missing(Settings {
            runas_password: Some(SecretString::from("p;a]ss word")),
            ..Settings::default()
        });
        let config =
            SimConfig { settings: settings.clone(), state, faults: faults.to_vec(), profile: Default::default(), data };
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

    /// A GET with the session cookie (when given).
    async fn get(&self, path: &str, cookie: Option<&str>) -> reqwest::Response {
        let mut req = client().get(self.url(path));
        if let Some(cookie) = cookie {
            req = req.header(COOKIE, cookie);
        }
        req.send().await.expect("request")
    }

    /// A GET with the session cookie, answered 200 with a JSON body.
    async fn get_json(&self, path: &str, cookie: &str) -> Value {
        let r = self.get(path, Some(cookie)).await;
        let status = r.status();
        let body = r.text().await.expect("body");
        assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
        serde_json::from_str(&body).expect("JSON")
    }

    /// A request with a raw body as `application/json`.
    async fn send(&self, method: reqwest::Method, path: &str, cookie: &str, body: &str) -> reqwest::Response {
        client()
            .request(method, self.url(path))
            .header(COOKIE, cookie)
            .header(CONTENT_TYPE, "application/json")
            .body(body.to_owned())
            .send()
            .await
            .expect("request")
    }

    /// `POST Requests` for the demo account, with a ConflictOption or none.
    async fn request(&self, cookie: &str, conflict: Option<&str>) -> reqwest::Response {
        let option = conflict.map(|c| format!(r#","ConflictOption":"{c}""#)).unwrap_or_default();
        let body = format!(r#"{{"SystemID":1,"AccountID":10,"DurationMinutes":5{option}}}"#);
        self.send(reqwest::Method::POST, "Requests", cookie, &body).await
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
// Managed accounts and systems

/// The status, and the body as JSON.
async fn status_json(r: reqwest::Response) -> (StatusCode, Value) {
    let status = r.status();
    let text = r.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text:?}")))
}

#[tokio::test]
async fn managed_account_lookup_answers_one_object_with_the_exact_casing() {
    let s = Sim::start(SimState::default(), &[]).await;
    let cookie = s.session().await;
    let account = s.get_json("ManagedAccounts?systemName=demo-linux-01&accountName=svc-release", &cookie).await;
    assert!(account.is_object(), "{account}");
    assert_eq!((account["SystemId"].as_i64(), account["AccountId"].as_i64()), (Some(1), Some(10)));
    for key in ["PlatformID", "SystemName", "DomainName", "InstanceName", "DefaultReleaseDuration", "PreferredNodeID"] {
        assert!(account.get(key).is_some(), "{key} in {account}");
    }
    // The Python client's spelling: lower-case route and names, plus limit and offset.
    let same = s
        .get_json("managedaccounts?systemname=DEMO-LINUX-01&accountname=SVC-RELEASE&limit=1000&offset=0", &cookie)
        .await;
    assert_eq!(same, account);
    let (status, body) =
        status_json(s.get("ManagedAccounts?systemName=nope&accountName=svc-release", Some(&cookie)).await).await;
    assert_eq!((status, body.is_string()), (StatusCode::NOT_FOUND, true));
    // Without both names: a plain array of requestable accounts only (root is not API-enabled).
    let all = s.get_json("ManagedAccounts", &cookie).await;
    let names: Vec<&str> = all.as_array().expect("array").iter().filter_map(|a| a["AccountName"].as_str()).collect();
    assert!(names.contains(&"svc-release") && !names.contains(&"root"), "{names:?}");
    let page = s.get_json("ManagedAccounts?limit=2&offset=1", &cookie).await;
    assert_eq!(page.as_array().map(Vec::len), Some(2));
    assert_eq!(page[0], all[1]);
    let domain = s.get_json("ManagedAccounts?type=domainlinked", &cookie).await;
    assert!(domain.as_array().expect("array").iter().all(|a| a["DomainName"].is_string()), "{domain}");
    let upn = s
        .get_json("ManagedAccounts?systemName=corp.example.com&accountName=svc-backup@corp.example.com", &cookie)
        .await;
    assert_eq!(upn["AccountName"], json!("svc-backup"));
    assert_eq!(s.get("ManagedAccounts?type=bogus", Some(&cookie)).await.status(), StatusCode::BAD_REQUEST);
    assert_eq!(s.get("ManagedAccounts?limit=0", Some(&cookie)).await.status(), StatusCode::BAD_REQUEST);
    let r = s.get("ManagedAccounts", None).await;
    assert_eq!(status_and_text(r).await, (StatusCode::UNAUTHORIZED, ct(), NOT_AUTHENTICATED.into()));
}

#[tokio::test]
async fn managed_systems_wrap_with_limit_and_list_their_accounts() {
    let s = Sim::start(SimState::default(), &[]).await;
    let cookie = s.session().await;
    let bare = s.get_json("ManagedSystems", &cookie).await;
    assert!(bare.as_array().is_some_and(|a| a.len() >= 3), "{bare}");
    let wrapped = s.get_json("managedsystems?limit=1&offset=1", &cookie).await;
    assert_eq!(wrapped["TotalCount"].as_u64(), Some(bare.as_array().map_or(0, Vec::len) as u64));
    assert_eq!(wrapped["Data"][0], bare[1]);
    let one = s.get_json("ManagedSystems/1", &cookie).await;
    assert_eq!((one["ManagedSystemID"].as_i64(), one["SystemName"].as_str()), (Some(1), Some("demo-linux-01")));
    let accounts = s.get_json("ManagedSystems/1/ManagedAccounts", &cookie).await;
    let accounts = accounts.as_array().expect("array");
    assert!(accounts.iter().all(|a| a["ManagedSystemID"] == json!(1) && a["ManagedAccountID"].is_i64()));
    assert!(accounts.iter().any(|a| a["ApiEnabled"] == json!(false)), "provisioning shows every account");
    for path in ["ManagedSystems/999", "ManagedSystems/x", "ManagedSystems/999/ManagedAccounts"] {
        let (status, body) = status_json(s.get(path, Some(&cookie)).await).await;
        assert_eq!((status, body.is_string()), (StatusCode::NOT_FOUND, true), "{path}");
    }
}

// ---------------------------------------------------------------------------------------------
// Requests, credentials, check-in

#[tokio::test]
async fn release_flow_with_conflict_options_and_check_in() {
    let s = Sim::start(SimState::default(), &[]).await;
    let cookie = s.session().await;
    let (status, id) = status_json(s.request(&cookie, Some("reuse")).await).await;
    assert_eq!(status, StatusCode::CREATED);
    let id = id.as_u64().expect("a bare integer id");
    let (status, again) = status_json(s.request(&cookie, Some("Reuse")).await).await;
    assert_eq!((status, again.as_u64()), (StatusCode::OK, Some(id)), "reuse answers the live request");
    let r = s.request(&cookie, None).await;
    assert_eq!(status_and_text(r).await, (StatusCode::CONFLICT, ct(), "4091".into()));

    let credential = s.get_json(&format!("Credentials/{id}"), &cookie).await;
    let password = credential.as_str().expect("a bare JSON string").to_owned();
    assert_eq!(password.len(), 24);
    // An empty query (`Credentials/124?`, as the Python client builds it) is tolerated.
    assert_eq!(s.get_json(&format!("credentials/{id}?"), &cookie).await, credential);
    let key = s.get_json(&format!("Credentials/{id}?type=DSSKey"), &cookie).await;
    assert!(key.as_str().is_some_and(|k| k.contains("PRIVATE KEY")), "{key}");
    assert_eq!(s.get(&format!("Credentials/{id}?type=totp"), Some(&cookie)).await.status(), StatusCode::BAD_REQUEST);

    // Renew cancels the live request and creates another.
    let (status, renewed) = status_json(s.request(&cookie, Some("renew")).await).await;
    let renewed = renewed.as_u64().expect("id");
    assert_eq!(status, StatusCode::CREATED);
    assert_ne!(renewed, id);
    assert_eq!(s.get(&format!("Credentials/{id}"), Some(&cookie)).await.status(), StatusCode::NOT_FOUND);

    let listed = s.get_json("Requests?status=active&queue=req", &cookie).await;
    assert_eq!(listed.as_array().map(Vec::len), Some(1));
    assert_eq!((listed[0]["RequestID"].as_u64(), listed[0]["Status"].as_str()), (Some(renewed), Some("Active")));
    assert_eq!(s.get_json("Requests?queue=app", &cookie).await, json!([]));
    assert_eq!(s.get("Requests?status=old", Some(&cookie)).await.status(), StatusCode::BAD_REQUEST);

    // Check-in: exactly 204, no body, with `?version=` ignored; the credentials are then gone.
    let r = s.send(reqwest::Method::PUT, &format!("requests/{renewed}/checkin?version=3.1"), &cookie, "{}").await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert!(r.headers().get(CONTENT_TYPE).is_none());
    assert!(r.bytes().await.expect("body").is_empty());
    assert_eq!(s.get(&format!("Credentials/{renewed}"), Some(&cookie)).await.status(), StatusCode::NOT_FOUND);
    let twice = s.send(reqwest::Method::PUT, &format!("Requests/{renewed}/Checkin"), &cookie, "").await;
    assert_eq!(twice.status(), StatusCode::NOT_FOUND);
    assert_eq!(s.get_json("Requests", &cookie).await, json!([]));
}

#[tokio::test]
async fn request_bodies_bind_leniently_and_check_in_takes_every_reason_form() {
    let s = Sim::start(SimState::default(), &[]).await;
    let cookie = s.session().await;
    let bodies = [
        r#"{"SystemID":1,"AccountID":10,"DurationMinutes":5,"Reason":"r","ConflictOption":"reuse"}"#,
        "{'SystemId': '1', 'AccountId': '10', 'DurationMinutes': 1, 'ConflictOption': 'reuse'}",
        r#"{"systemid":"1","accountid":"10","conflictoption":"RENEW"}"#,
    ];
    let mut ids = Vec::new();
    for body in bodies {
        let (status, id) = status_json(s.send(reqwest::Method::POST, "Requests", &cookie, body).await).await;
        assert!(status == StatusCode::OK || status == StatusCode::CREATED, "{body}: {status}");
        ids.push(id.as_u64().expect("id"));
    }
    for (body, path) in [
        ("{}", "Requests/{id}/checkin"),
        (r#"{"Reason":null}"#, "Requests/Release/{id}"),
        (r#"{"Reason":"done"}"#, "requests/{id}/CHECKIN/"),
    ] {
        let (_, id) = status_json(s.request(&cookie, Some("reuse")).await).await;
        let path = path.replace("{id}", &id.to_string());
        assert_eq!(
            s.send(reqwest::Method::PUT, &path, &cookie, body).await.status(),
            StatusCode::NO_CONTENT,
            "{path} {body}"
        );
    }
    for (body, status) in [
        ("", StatusCode::BAD_REQUEST),
        ("[1,2]", StatusCode::BAD_REQUEST),
        (r#"{"AccountID":10}"#, StatusCode::BAD_REQUEST),
        (r#"{"SystemID":1,"AccountID":10,"DurationMinutes":0}"#, StatusCode::BAD_REQUEST),
        (r#"{"SystemID":1,"AccountID":10,"AccessType":"App"}"#, StatusCode::BAD_REQUEST),
        (r#"{"SystemID":1,"AccountID":11}"#, StatusCode::FORBIDDEN),
        (r#"{"SystemID":2,"AccountID":10}"#, StatusCode::FORBIDDEN),
    ] {
        let r = s.send(reqwest::Method::POST, "Requests", &cookie, body).await;
        let (got, content_type, text) = status_and_text(r).await;
        assert_eq!(got, status, "{body}: {text}");
        assert_eq!(content_type, ct());
        assert!(serde_json::from_str::<Value>(&text).is_ok(), "{text}");
    }
    let huge = format!(r#"{{"SystemID":1,"AccountID":10,"Reason":"{}"}}"#, "x".repeat(100_000));
    assert_eq!(s.send(reqwest::Method::POST, "Requests", &cookie, &huge).await.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let bad_reason =
        s.send(reqwest::Method::PUT, &format!("Requests/{}/checkin", ids[0]), &cookie, r#"{"Reason":5}"#).await;
    assert_eq!(bad_reason.status(), StatusCode::BAD_REQUEST);
    // Another user's request does not exist for this one.
    let token = s.good_token().await;
    let app = cookie_header(&s.sign_in(&format!("Bearer {token}")).await);
    let (_, mine) = status_json(s.request(&cookie, Some("reuse")).await).await;
    assert_eq!(s.get(&format!("Credentials/{mine}"), Some(&app)).await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn credentials_are_fresh_per_start() {
    let a = Sim::start(SimState::default(), &[]).await;
    let b = Sim::start(SimState::default(), &[]).await;
    let mut values = Vec::new();
    for s in [&a, &b] {
        let cookie = s.session().await;
        let (_, id) = status_json(s.request(&cookie, Some("reuse")).await).await;
        values.push(s.get_json(&format!("Credentials/{id}"), &cookie).await);
    }
    assert_ne!(values[0], values[1]);
}

#[tokio::test]
async fn approval_required_waits_for_the_approver() {
    let s = Sim::start(SimState::from_names(&["approval-required"]).expect("state"), &[]).await;
    let cookie = s.session().await;
    let (status, id) = status_json(s.request(&cookie, Some("reuse")).await).await;
    assert_eq!(status, StatusCode::CREATED);
    let pending = s.get_json("Requests?status=pending", &cookie).await;
    assert_eq!(pending[0]["Status"].as_str(), Some("Pending"));
    // However often it is polled, the request waits for an approver.
    for _ in 0..4 {
        let r = s.get(&format!("Credentials/{id}"), Some(&cookie)).await;
        assert_eq!(status_and_text(r).await, (StatusCode::FORBIDDEN, ct(), "4034".into()));
    }
    // The requestor cannot approve its own request.
    let own = s.send(reqwest::Method::PUT, &format!("Requests/{id}/Approve"), &cookie, "{}").await;
    assert_eq!(own.status(), StatusCode::FORBIDDEN);
    // The approver, a second identity with the same key, sees it in its queue and approves it.
    let r = s.sign_in(&format!("PS-Auth key={}; runas={};", s.key(), psconform::simulator::DEMO_APPROVER)).await;
    assert_eq!(r.status(), StatusCode::OK);
    let approver = cookie_header(&r);
    let queue = s.get_json("Requests?queue=app", &approver).await;
    assert!(queue.as_array().is_some_and(|q| q.iter().any(|r| r["RequestID"] == id)), "{queue}");
    let approved =
        s.send(reqwest::Method::PUT, &format!("Requests/{id}/Approve"), &approver, r#"{"Reason":"ok"}"#).await;
    assert_eq!(approved.status(), StatusCode::NO_CONTENT);
    assert!(s.get_json(&format!("Credentials/{id}"), &cookie).await.is_string());
    assert_eq!(s.get_json("Requests?status=pending", &cookie).await, json!([]));

    // A denial ends a pending request.
    let (_, id) = status_json(s.request(&cookie, Some("renew")).await).await;
    let denied = s.send(reqwest::Method::PUT, &format!("Requests/{id}/Deny"), &approver, "{}").await;
    assert_eq!(denied.status(), StatusCode::NO_CONTENT);
    assert_eq!(s.get(&format!("Credentials/{id}"), Some(&cookie)).await.status(), StatusCode::NOT_FOUND);

    let lax = Sim::start(SimState::from_names(&["approval-required"]).expect("state"), &[Fault::ApprovalIgnored]).await;
    let cookie = lax.session().await;
    let (_, id) = status_json(lax.request(&cookie, Some("reuse")).await).await;
    assert_eq!(lax.get(&format!("Credentials/{id}"), Some(&cookie)).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn access_policy_states_answer_bare_sub_codes() {
    for (state, path, code) in [
        ("request-forbidden", "Requests", "4031"),
        ("approver-only", "Requests", "4033"),
        ("approvers-missing", "Requests", "4035"),
        ("approver-only", "Requests?queue=req", "4033"),
        ("requestor-only", "Requests?queue=APP", "4032"),
    ] {
        let s = Sim::start(SimState::from_names(&[state]).expect("state"), &[]).await;
        let cookie = s.session().await;
        let r =
            if path == "Requests" { s.request(&cookie, Some("reuse")).await } else { s.get(path, Some(&cookie)).await };
        assert_eq!(status_and_text(r).await, (StatusCode::FORBIDDEN, ct(), code.into()), "{state} {path}");
    }
}

#[tokio::test]
async fn releases_expire_after_their_duration() {
    let state = SimState::from_names(&["short-release-duration"]).expect("state");
    let s = Sim::start(state.clone(), &[]).await;
    let cookie = s.session().await;
    let body = r#"{"SystemID":1,"AccountID":10,"DurationMinutes":1,"ConflictOption":"reuse"}"#;
    let (_, id) = status_json(s.send(reqwest::Method::POST, "Requests", &cookie, body).await).await;
    assert_eq!(s.get(&format!("Credentials/{id}"), Some(&cookie)).await.status(), StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(s.get(&format!("Credentials/{id}"), Some(&cookie)).await.status(), StatusCode::NOT_FOUND);
    // With no live request left, a request without ConflictOption is no conflict.
    assert_eq!(s.request(&cookie, None).await.status(), StatusCode::CREATED);

    let immortal = Sim::start(state, &[Fault::RequestsNeverExpire]).await;
    let cookie = immortal.session().await;
    let (_, id) = status_json(immortal.send(reqwest::Method::POST, "Requests", &cookie, body).await).await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(immortal.get(&format!("Credentials/{id}"), Some(&cookie)).await.status(), StatusCode::OK);
}

// ---------------------------------------------------------------------------------------------
// Secrets Safe

#[tokio::test]
async fn secrets_by_path_title_and_separator() {
    let s = Sim::start(SimState::default(), &[]).await;
    let cookie = s.session().await;
    let one = s.get_json("secrets-safe/secrets?path=psconform/demo&title=demo-database&separator=/", &cookie).await;
    assert_eq!(one.as_array().map(Vec::len), Some(1));
    assert_eq!(
        (one[0]["Title"].as_str(), one[0]["FolderPath"].as_str()),
        (Some("demo-database"), Some("psconform/demo"))
    );
    assert!(one[0].get("Password").is_none(), "no value without decrypt");
    let star = s
        .get_json("Secrets-Safe/Secrets?path=psconform*demo&separator=*&title=demo-database&decrypt=True", &cookie)
        .await;
    assert!(star[0]["Password"].as_str().is_some_and(|p| p.len() == 24));
    let folder = s.get_json("Secrets-Safe/Secrets?path=psconform/demo/nested&decrypt=true", &cookie).await;
    let kinds: Vec<&str> = folder.as_array().expect("array").iter().filter_map(|x| x["SecretType"].as_str()).collect();
    assert_eq!(kinds, ["Text", "File"]);
    // Both official clients read a text secret's value from Password; a file's is downloaded.
    assert!(folder[0]["Password"].is_string() && folder[0]["Password"] == folder[0]["Text"]);
    assert!(folder[1].get("Password").is_none() && folder[1]["FileName"].is_string());
    let wrapped = s.get_json("Secrets-Safe/Secrets?path=psconform/demo&version=3.2&limit=1", &cookie).await;
    assert_eq!((wrapped["TotalCount"].as_u64(), wrapped["Data"].as_array().map(Vec::len)), (Some(2), Some(1)));
    assert_eq!(s.get_json("Secrets-Safe/Secrets?path=psconform/demo&title=demo", &cookie).await, json!([]));
    assert_eq!(s.get_json("Secrets-Safe/Secrets?path=nowhere", &cookie).await, json!([]));
    let after = s.get_json("Secrets-Safe/Secrets?afterdate=2024-12-11T00:00:00Z", &cookie).await;
    assert!(after.as_array().expect("array").iter().all(|x| x["ModifiedOn"].as_str() > Some("2024-12-11")));
    for bad in ["separator=ab", "afterdate=yesterday", "decrypt=maybe", "offset=-3"] {
        let r = s.get(&format!("Secrets-Safe/Secrets?{bad}"), Some(&cookie)).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
}

#[tokio::test]
async fn one_secret_by_id_text_file_and_download() {
    let s = Sim::start(SimState::default(), &[]).await;
    let cookie = s.session().await;
    let id = "6f1d0c3a-2b4e-4c8d-9a1f-3e5b7c9d1a20";
    let v30 = s.get_json(&format!("Secrets-Safe/Secrets/{id}"), &cookie).await;
    assert!(v30["OwnerId"].is_i64() && v30["Password"].is_string() && v30.get("SecretType").is_none(), "{v30}");
    let v32 = s.get_json(&format!("Secrets-Safe/Secrets/{}?version=3.2", id.to_uppercase()), &cookie).await;
    assert!(v32["SecretValueModifiedOn"].is_string() && v32.get("OwnerId").is_none(), "{v32}");
    let text = s.get_json("Secrets-Safe/Secrets/9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d/text", &cookie).await;
    assert!(text["Text"].as_str().is_some_and(|t| t.len() == 32) && text.get("Password").is_none());
    let file_id = "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f";
    let meta = s.get_json(&format!("secrets-safe/secrets/{file_id}/file"), &cookie).await;
    assert_eq!(meta["FileName"], json!("demo-certificate.pem"));
    let r = s.get(&format!("Secrets-Safe/Secrets/{file_id}/file/download?version=3.1"), Some(&cookie)).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(content_type(&r), "application/octet-stream");
    let length: usize = r.headers()["content-length"].to_str().expect("ascii").parse().expect("number");
    let bytes = r.bytes().await.expect("body");
    assert_eq!(bytes.len(), length);
    assert!(bytes.starts_with(b"-----BEGIN CERTIFICATE-----\n"));
    for path in [
        format!("Secrets-Safe/Secrets/{id}/text"),
        format!("Secrets-Safe/Secrets/{id}/file/download"),
        "Secrets-Safe/Secrets/00000000-0000-0000-0000-000000000000".to_owned(),
    ] {
        let (status, body) = status_json(s.get(&path, Some(&cookie)).await).await;
        assert_eq!((status, body.is_string()), (StatusCode::NOT_FOUND, true), "{path}");
    }
}

#[tokio::test]
async fn folders_filters_and_safes() {
    let s = Sim::start(SimState::default(), &[]).await;
    let cookie = s.session().await;
    let names = |v: &Value| -> Vec<String> {
        v.as_array().expect("array").iter().filter_map(|f| f["Name"].as_str().map(str::to_owned)).collect()
    };
    let all = s.get_json("Secrets-Safe/Folders/", &cookie).await;
    assert_eq!(names(&all), ["psconform", "demo", "nested", "team-vault"]);
    let python = s.get_json("secrets-safe/folders?includeSubfolders=True&rootOnly=False", &cookie).await;
    assert_eq!(python, all);
    assert_eq!(names(&s.get_json("Secrets-Safe/Folders?rootOnly=TRUE", &cookie).await), ["psconform", "team-vault"]);
    assert_eq!(names(&s.get_json("Secrets-Safe/Folders?folderName=EST", &cookie).await), ["nested"]);
    assert_eq!(
        names(&s.get_json("Secrets-Safe/Folders?folderPath=psconform", &cookie).await),
        ["psconform", "demo", "nested"]
    );
    let shallow = s.get_json("Secrets-Safe/Folders?folderPath=psconform&includeSubfolders=false", &cookie).await;
    assert_eq!(names(&shallow), ["psconform", "demo"]);
    let safe_id = all[0]["Id"].as_str().expect("id").to_owned();
    assert_eq!(all[1]["ParentId"].as_str(), Some(safe_id.as_str()));
    let owned = s.get_json(&format!("Secrets-Safe/Folders?folderOwnerId={safe_id}"), &cookie).await;
    assert_eq!(names(&owned).len(), 3);
    assert_eq!(s.get_json(&format!("Secrets-Safe/Folders/{safe_id}"), &cookie).await, all[0]);
    let safes = s.get_json("Secrets-Safe/Safes", &cookie).await;
    assert_eq!(names(&safes), ["psconform", "team-vault"]);
    assert_eq!(safes[0].as_object().map(|o| o.len()), Some(3), "Id, Name, Description");
    assert_eq!(s.get_json(&format!("Secrets-Safe/Safes/{safe_id}"), &cookie).await, safes[0]);
    let child = all[1]["Id"].as_str().expect("id");
    assert_eq!(s.get(&format!("Secrets-Safe/Safes/{child}"), Some(&cookie)).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(s.get("Secrets-Safe/Folders?rootOnly=yes", Some(&cookie)).await.status(), StatusCode::BAD_REQUEST);

    let strict = Sim::start(SimState::default(), &[Fault::FoldersBoolCaseSensitive]).await;
    let cookie = strict.session().await;
    assert_eq!(
        strict.get("Secrets-Safe/Folders?rootOnly=False", Some(&cookie)).await.status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(strict.get("Secrets-Safe/Folders?rootOnly=false", Some(&cookie)).await.status(), StatusCode::OK);
}

// ---------------------------------------------------------------------------------------------
// Lookups

#[tokio::test]
async fn workgroups_and_assets() {
    let s = Sim::start(SimState::default(), &[]).await;
    let cookie = s.session().await;
    let workgroups = s.get_json("Workgroups", &cookie).await;
    assert!(
        workgroups.as_array().is_some_and(|w| w.iter().all(|g| g["ID"].is_i64() && g["OrganizationID"].is_string()))
    );
    let by_name = s.get_json("workgroups?name=PSCONFORM-LAB", &cookie).await;
    assert_eq!((by_name["ID"].as_i64(), by_name.is_object()), (Some(2), true));
    assert_eq!(s.get_json("Workgroups/2", &cookie).await, by_name);
    assert_eq!(s.get("Workgroups?name=nope", Some(&cookie)).await.status(), StatusCode::NOT_FOUND);
    let by_id = s.get_json("Workgroups/1/Assets", &cookie).await;
    let by_wg_name = s.get_json("Workgroups/Default%20Workgroup/Assets", &cookie).await;
    assert_eq!(by_id, by_wg_name);
    assert!(by_id.as_array().is_some_and(|a| a.len() == 2 && a.iter().all(|x| x["WorkgroupID"] == json!(1))));
    let paged = s.get_json("Workgroups/1/Assets?limit=1&offset=1", &cookie).await;
    assert_eq!((paged["TotalCount"].as_u64(), &paged["Data"][0]), (Some(2), &by_id[1]));
    let one = s.get_json("Workgroups/Default%20Workgroup/Assets?name=DEMO-LINUX-01", &cookie).await;
    assert_eq!(one["AssetID"].as_i64(), Some(11));
    assert_eq!(s.get_json("Assets/11", &cookie).await, one);
    let found =
        s.send(reqwest::Method::POST, "Assets/Search", &cookie, r#"{"IPAddress":"192.0.2.13,192.0.2.11"}"#).await;
    let (status, found) = status_json(found).await;
    assert_eq!((status, found.as_array().map(Vec::len)), (StatusCode::OK, Some(2)));
    let empty = s.send(reqwest::Method::POST, "Assets/Search", &cookie, "{}").await;
    assert_eq!(empty.status(), StatusCode::BAD_REQUEST);
    for path in ["Assets/99", "Workgroups/99/Assets", "Workgroups/1/Assets?name=nope", "Workgroups/99"] {
        assert_eq!(s.get(path, Some(&cookie)).await.status(), StatusCode::NOT_FOUND, "{path}");
    }
    // There is no asset list outside a workgroup.
    assert_eq!(s.get("Assets", Some(&cookie)).await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn users_and_user_groups() {
    let s = Sim::start(SimState::default(), &[]).await;
    let cookie = s.session().await;
    let users = s.get_json("Users", &cookie).await;
    let users = users.as_array().expect("array");
    assert!(users.iter().any(|u| u["UserType"] == json!("Application") && u["ClientSecret"].is_null()));
    let me = s.get_json(&format!("users?username={}&includeInactive=False", s.runas().to_uppercase()), &cookie).await;
    assert_eq!((me.as_array().map(Vec::len), me[0]["UserID"].as_i64()), (Some(1), Some(7)));
    assert_eq!(s.get_json("Users/7", &cookie).await, me[0]);
    assert_eq!(s.get_json("Users?username=nobody", &cookie).await, json!([]));
    assert_eq!(s.get("Users/70", Some(&cookie)).await.status(), StatusCode::NOT_FOUND);
    let groups = s.get_json("UserGroups", &cookie).await;
    assert!(groups.as_array().is_some_and(|g| g.len() == 2 && g.iter().all(|x| x["Description"].is_string())));
    let by_name = s.get_json("usergroups?name=pam%20requestors", &cookie).await;
    assert!(by_name.is_object() && by_name.get("Description").is_none(), "{by_name}");
    assert_eq!(s.get_json("UserGroups/2", &cookie).await, groups[1]);
    assert_eq!(s.get("UserGroups?name=nope", Some(&cookie)).await.status(), StatusCode::NOT_FOUND);
    for path in ["Users", "UserGroups", "Workgroups", "Assets/11", "Secrets-Safe/Safes", "ManagedSystems", "Requests"] {
        let r = s.get(path, None).await;
        assert_eq!(status_and_text(r).await, (StatusCode::UNAUTHORIZED, ct(), NOT_AUTHENTICATED.into()), "{path}");
    }
}

// ---------------------------------------------------------------------------------------------
// Data variants, routing and faults of the new areas

#[tokio::test]
async fn data_variants_change_shapes_within_the_documented_types() {
    let sparse = Sim::start_data(SimState::default(), &[], DataVariant::Sparse).await;
    let r = sparse.sign_in(&sparse.ps_auth()).await;
    let cookie = cookie_header(&r);
    let user: Value = r.json().await.expect("json");
    assert_eq!((user["SID"].clone(), user["EmailAddress"].clone()), (Value::Null, json!("")));
    let account = sparse.get_json("ManagedAccounts?systemName=demo-linux-01&accountName=svc-release", &cookie).await;
    assert!(account["LastChangeDate"].is_null() && account["DomainName"].is_null());
    let group = sparse.get_json("UserGroups?name=Administrators", &cookie).await;
    assert!(group.is_array(), "the newer documented form: {group}");
    let systems = sparse.get_json("ManagedSystems", &cookie).await;
    assert!(
        systems
            .as_array()
            .expect("array")
            .iter()
            .any(|s| uuid::Uuid::parse_str(s["SystemName"].as_str().unwrap_or("")).is_ok())
    );

    let extended = Sim::start_data(SimState::default(), &[], DataVariant::Extended).await;
    let cookie = extended.session().await;
    let account = extended.get_json("ManagedAccounts?systemName=demo-linux-01&accountName=svc-release", &cookie).await;
    assert!(account["ObjectID"].is_string(), "an undocumented extra field: {account}");
    assert!(account["LastChangeDate"].is_string());
}

#[tokio::test]
async fn new_routes_answer_405_and_never_html() {
    let s = Sim::start(SimState::default(), &[]).await;
    let cookie = s.session().await;
    let r = client().delete(s.url("ManagedAccounts")).header(COOKIE, &cookie).send().await.expect("request");
    assert_eq!(r.headers().get("allow").map(|v| v.as_bytes()), Some(&b"GET"[..]));
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    let r = client().get(s.url("Requests/1/checkin")).header(COOKIE, &cookie).send().await.expect("request");
    assert_eq!(r.headers().get("allow").map(|v| v.as_bytes()), Some(&b"PUT"[..]));
    let r = client().delete(s.url("Requests")).send().await.expect("request");
    assert_eq!(r.headers().get("allow").map(|v| v.as_bytes()), Some(&b"GET, POST"[..]));
    for path in ["Credential", "Secrets-Safe", "Secrets-Safe/Secrets/x/y", "Workgroups/1/Assets/2"] {
        let (status, content_type, body) = status_and_text(s.get(path, Some(&cookie)).await).await;
        assert_eq!((status, content_type), (StatusCode::NOT_FOUND, ct()), "{path}");
        assert!(serde_json::from_str::<Value>(&body).is_ok_and(|v| v.is_string()), "{body}");
    }
}

#[tokio::test]
async fn faults_of_the_release_flow() {
    let s = Sim::start(
        SimState::default(),
        &[Fault::AccountLookupList, Fault::AccountSystemIdSpelling, Fault::RequestIdObject, Fault::CredentialsObject],
    )
    .await;
    let cookie = s.session().await;
    let list = s.get_json("ManagedAccounts?systemName=demo-linux-01&accountName=svc-release", &cookie).await;
    assert!(list.is_array() && list[0]["SystemID"] == json!(1) && list[0].get("SystemId").is_none(), "{list}");
    let (_, id) = status_json(s.request(&cookie, Some("reuse")).await).await;
    let id = id["RequestID"].as_u64().expect("an object with RequestID");
    let credential = s.get_json(&format!("Credentials/{id}"), &cookie).await;
    assert!(credential["Password"].is_string(), "{credential}");

    let s = Sim::start(
        SimState::default(),
        &[Fault::RequestConflictIgnored, Fault::Checkin200Body, Fault::CredentialsAfterCheckin],
    )
    .await;
    let cookie = s.session().await;
    let (_, id) = status_json(s.request(&cookie, Some("reuse")).await).await;
    assert_eq!(s.request(&cookie, None).await.status(), StatusCode::CREATED);
    let r = s.send(reqwest::Method::PUT, &format!("Requests/{id}/checkin"), &cookie, "{}").await;
    assert_eq!(status_and_text(r).await.0, StatusCode::OK);
    assert_eq!(s.get(&format!("Credentials/{id}"), Some(&cookie)).await.status(), StatusCode::OK);

    let s = Sim::start(SimState::default(), &[Fault::RoutesCaseSensitive]).await;
    let cookie = s.session().await;
    assert_eq!(s.get("managedaccounts", Some(&cookie)).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(s.get("ManagedAccounts", Some(&cookie)).await.status(), StatusCode::OK);
    let lower =
        client().post(s.url("auth/signappin")).header(AUTHORIZATION, s.ps_auth()).send().await.expect("request");
    assert_eq!(lower.status(), StatusCode::OK, "Authentication stays case-insensitive");
}

#[tokio::test]
async fn faults_of_secrets_safe() {
    let s = Sim::start(
        SimState::default(),
        &[Fault::SecretsUnwrapped, Fault::SecretsTitleIgnored, Fault::FileDownloadJson],
    )
    .await;
    let cookie = s.session().await;
    let list = s.get_json("Secrets-Safe/Secrets?path=psconform/demo&title=demo-database&version=3.2", &cookie).await;
    assert_eq!(list.as_array().map(Vec::len), Some(2), "unwrapped, and the title ignored: {list}");
    let r = s.get("Secrets-Safe/Secrets/3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f/file/download", Some(&cookie)).await;
    assert_eq!(content_type(&r), ct());
    assert!(r.json::<Value>().await.expect("json").is_string());
}

// ---------------------------------------------------------------------------------------------
// `psconform serve`

mod serve_cli {
    use crate::harness::bin::{Psconform, Run, psconform, stop};

    fn serve() -> Psconform {
        psconform().arg("serve")
    }

    /// The run exited with `code`, and its stderr says `text`.
    fn assert_fails(run: &Run, code: i32, text: &str) {
        assert_eq!(run.code, Some(code), "{run:#?}");
        assert!(run.stderr.contains(text), "{text:?} is not in: {}", run.stderr);
    }

    #[test]
    fn usage_errors_exit_2() {
        let run = serve().args(["--listen", "127.0.0.1:0", "--fault", "signin-typo"]).run();
        assert_fails(&run, 2, "signin-missing-userid");
        let run = serve().args(["--listen", "127.0.0.1:0", "--state", "licence-expired"]).run();
        assert_fails(&run, 2, "licence-invalid");
        let run = serve()
            .args(["--listen", "127.0.0.1:0", "--tls-cert", "/nonexistent/c.pem", "--tls-key", "/nonexistent/k.pem"])
            .run();
        assert_fails(&run, 2, "/nonexistent/c.pem");
        assert_eq!(serve().args(["--tls", "--tls-cert", "c.pem", "--tls-key", "k.pem"]).run().code, Some(2));
    }

    #[test]
    fn a_port_in_use_exits_3() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = taken.local_addr().expect("addr").to_string();
        assert_fails(&serve().args(["--listen", &addr]).run(), 3, &addr);
    }

    #[test]
    fn list_faults() {
        let run = serve().arg("--list-faults").run();
        assert_eq!(run.code, Some(0), "{run:#?}");
        assert!(run.stdout.contains("session-never-expires") && run.stdout.contains("short-idle-timeout"));
    }

    #[test]
    fn prints_the_url_first_and_never_an_environment_credential() {
        let (child, lines) =
            serve().args(["--listen", "127.0.0.1:0"]).env("PS_API_KEY", "env-key-canary").spawn_reading(6);
        let status = stop(child);

        assert!(lines[0].starts_with("http://127.0.0.1:"), "{lines:?}");
        assert!(lines[0].ends_with("/BeyondTrust/api/public/v3"), "{lines:?}");
        assert_eq!(lines[1], "PS_API_KEY=(from PS_API_KEY)");
        assert_eq!(lines[2], "PS_RUNAS=psconform-demo");
        assert!(lines.iter().all(|l| !l.contains("canary")));
        assert!(status.success(), "SIGTERM is a clean stop: {status:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// `psconform cleanup`

/// What a run left (a user named `psconform-<run id>-…`) is listed, kept without the two
/// opt-ins, and removed with them; the simulator's own `psconform-demo` user is never touched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cleanup_lists_and_removes_only_what_a_run_left() {
    let s = Sim::start(SimState::default(), &[]).await;
    let cookie = s.session().await;
    let body = json!({
        "UserType": "BeyondInsight", "UserName": "psconform-0a1b2c3d-user", "FirstName": "Left",
        "LastName": "Over", "EmailAddress": "left@example.com", "Password": "Left0ver!Left0ver!",
    });
    let r = s.send(reqwest::Method::POST, "Users", &cookie, &body.to_string()).await;
    assert_eq!(r.status(), StatusCode::CREATED, "{:?}", r.text().await);
    let names = |users: &Value| -> Vec<String> {
        users.as_array().into_iter().flatten().filter_map(|u| u["UserName"].as_str().map(str::to_owned)).collect()
    };
    assert!(names(&s.get_json("Users", &cookie).await).contains(&"psconform-0a1b2c3d-user".to_owned()));

    let base = s.sim.base_url().to_string();
    let (key, runas) = (s.key().to_owned(), s.runas().to_owned());
    let cleanup = move |extra: &'static [&'static str]| {
        let (base, key, runas) = (base.clone(), key.clone(), runas.clone());
        tokio::task::spawn_blocking(move || {
            crate::harness::bin::psconform()
                .args(["cleanup", "--target", &base])
                .args(extra)
                .env("PS_API_KEY", &key)
                .env("PS_RUNAS", &runas)
                .run()
        })
    };

    let listed = cleanup(&[]).await.expect("join");
    assert_eq!(listed.code, Some(1), "found and kept is a failure: {listed:#?}");
    assert!(listed.stderr.contains("psconform-0a1b2c3d-user"), "{}", listed.stderr);
    assert!(listed.stderr.contains("nothing was deleted"), "{}", listed.stderr);
    assert!(!listed.stderr.contains("psconform-demo"), "the simulator's own user is not a leftover: {}", listed.stderr);
    assert!(!listed.text().contains(s.key()), "no secret in the output");

    let refused = cleanup(&["--yes"]).await.expect("join");
    assert_eq!(refused.code, Some(2), "--yes alone is a usage error: {refused:#?}");

    let removed = cleanup(&["--yes", "--allow-mutations"]).await.expect("join");
    assert_eq!(removed.code, Some(0), "{removed:#?}");
    assert!(removed.stderr.contains("1 removed, 0 left"), "{}", removed.stderr);
    let users = names(&s.get_json("Users", &cookie).await);
    assert!(!users.contains(&"psconform-0a1b2c3d-user".to_owned()), "{users:?}");
    assert!(users.contains(&"psconform-demo".to_owned()), "{users:?}");

    let again = cleanup(&[]).await.expect("join");
    assert_eq!(again.code, Some(0), "{again:#?}");
    assert!(again.stderr.contains("nothing named psconform-<run id>-"), "{}", again.stderr);
}

/// A run killed with SIGKILL between its create and its teardown leaves its user behind; the
/// sweep finds exactly that user by the run's name and removes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cleanup_removes_what_a_run_killed_with_sigkill_left() {
    use crate::harness::files::{Project, one_case};
    let s = Sim::start(SimState::default(), &[]).await;
    let cookie = s.session().await;
    let case = one_case(
        "left",
        r#"
steps:
  - request: { method: POST, path: Auth/SignAppin, auth: ps-auth }
    expect: { status: 200 }
  - request:
      method: POST
      path: Users
      body:
        json: { UserType: BeyondInsight, UserName: "psconform-{{ run_id }}-killed", FirstName: Kill,
                LastName: Ed, EmailAddress: killed@example.com, Password: "{{ random_secret }}" }
    expect: { status: 201 }
    capture: { user: { path: $.UserID } }
  - wait: 1m
    request: { method: GET, path: "Users/{{ user }}" }
teardown:
  - request: { method: DELETE, path: "Users/{{ user }}" }
  - request: { method: POST, path: Auth/Signout }
"#,
    );
    let project = Project::new(&[("users/left.yaml", &case)]);
    let base = s.sim.base_url().to_string();
    let mut child = project
        .psconform()
        .args(["run", "--target", &base, "--allow-mutations"])
        .env("PS_API_KEY", s.key())
        .env("PS_RUNAS", s.runas())
        .command()
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let users = |v: &Value| -> Vec<String> {
        v.as_array().into_iter().flatten().filter_map(|u| u["UserName"].as_str().map(str::to_owned)).collect()
    };
    let mut left = None;
    for _ in 0..200 {
        left = users(&s.get_json("Users", &cookie).await).into_iter().find(|n| n.ends_with("-killed"));
        if left.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let left = left.expect("the run created its user");
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    assert!(users(&s.get_json("Users", &cookie).await).contains(&left), "no teardown ran after SIGKILL");

    let (key, runas) = (s.key().to_owned(), s.runas().to_owned());
    let swept = tokio::task::spawn_blocking(move || {
        crate::harness::bin::psconform()
            .args(["cleanup", "--target", &base, "--yes", "--allow-mutations"])
            .env("PS_API_KEY", &key)
            .env("PS_RUNAS", &runas)
            .run()
    })
    .await
    .expect("join");
    assert_eq!(swept.code, Some(0), "{swept:#?}");
    assert!(swept.stderr.contains(&left), "{}", swept.stderr);
    let after = users(&s.get_json("Users", &cookie).await);
    assert!(!after.contains(&left) && after.contains(&"psconform-demo".to_owned()), "{after:?}");
}

/// The whole shipped suite, with every opt-in, against a separately started simulator leaves
/// the target as it found it: every list the catalog documents (without a path parameter)
/// answers the same records before and after, apart from the histories a run adds to by
/// design (each listed with why).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_with_every_opt_in_leaves_every_list_as_it_found_it() {
    // Lists that record what happened rather than what exists: a run adds to them by design.
    const HISTORIES: &[(&str, &str)] = &[
        ("Requests", "a release request stays in the request history after its check-in"),
        ("UserAudits", "every sign-in and change is audited"),
        ("Sessions", "a release may record a session"),
    ];
    let s = Sim::start(SimState::default(), &[]).await;
    let catalog = psconform::catalog::Catalog::shared().expect("catalog");
    let lists: Vec<String> = catalog
        .endpoints
        .iter()
        .filter(|e| e.method == "GET" && !e.route.contains('{'))
        .filter(|e| !HISTORIES.iter().any(|(h, _)| e.route.eq_ignore_ascii_case(h)))
        .map(|e| e.route.clone())
        .collect();
    let snapshot = |cookie: String| {
        let lists = lists.clone();
        let s = &s;
        async move {
            let mut out = std::collections::BTreeMap::new();
            for route in lists {
                let r = s.get(&route, Some(&cookie)).await;
                let status = r.status().as_u16();
                let body = r.text().await.unwrap_or_default();
                out.insert(route, (status, body));
            }
            out
        }
    };
    let cookie = s.session().await;
    let before = snapshot(cookie.clone()).await;
    assert!(before.len() > 30, "{} lists", before.len());

    let base = s.sim.base_url().to_string();
    let settings = s.settings.clone();
    let run = tokio::task::spawn_blocking(move || {
        use secrecy::ExposeSecret as _;
        let mut p = crate::harness::bin::psconform()
            .args(["run", "--target", &base, "--allow-mutations", "--allow-credential-release"])
            .env("PS_API_KEY", settings.api_key.as_ref().expect("key").expose_secret())
            .env("PS_RUNAS", settings.runas.as_deref().expect("runas"))
            .env("PS_ACCOUNT", "demo-linux-01/svc-release")
            .env("PS_SECRET", "psconform/demo/demo-database");
        if let Some(pwd) = &settings.runas_password {
            p = p.env("PS_RUNAS_PASSWORD", pwd.expose_secret());
        }
        p.run()
    })
    .await
    .expect("join");
    assert!(run.code == Some(0), "the run passes: {}", run.text());

    let cookie = s.session().await;
    let after = snapshot(cookie).await;
    let changed: Vec<&String> = before.keys().filter(|k| before.get(*k) != after.get(*k)).collect();
    assert!(changed.is_empty(), "lists that differ after the run: {changed:?}");
}

// ---------------------------------------------------------------------------------------------
// Answers that once went against their models (the case writers' findings)

#[tokio::test]
async fn password_rules_filter_by_product_name() {
    let s = Sim::start(SimState::default(), &[]).await;
    let cookie = s.session().await;
    let has = |rules: &Value, bit: i64| {
        rules.as_array().is_some_and(|r| r.iter().all(|x| x["EnabledProducts"].as_i64().is_some_and(|p| p & bit != 0)))
    };
    let default = s.get_json("PasswordRules", &cookie).await;
    assert_eq!(s.get_json("PasswordRules?enabledproducts=PasswordSafe", &cookie).await, default);
    assert!(has(&default, 1), "{default}");
    let secrets = s.get_json("PasswordRules?enabledproducts=secretssafe", &cookie).await;
    assert!(has(&secrets, 2), "{secrets}");
    assert_eq!(s.get_json("PasswordRules?enabledproducts=TeamPasswords", &cookie).await, secrets);
    let r = s.get("PasswordRules?enabledproducts=psconform-no-such-product", Some(&cookie)).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_new_user_group_is_named_from_group_name_and_holds_nothing_it_was_not_given() {
    let s = Sim::start(SimState::default(), &[]).await;
    let cookie = s.session().await;
    let body = r#"{"groupType":"BeyondInsight","groupName":"psconform-new-group","isActive":true}"#;
    let (status, group) = status_json(s.send(reqwest::Method::POST, "UserGroups", &cookie, body).await).await;
    assert_eq!((status, &group["Name"]), (StatusCode::CREATED, &json!("psconform-new-group")), "{group}");
    let id = group["GroupID"].as_i64().expect("GroupID");
    let by_name = s.get_json("UserGroups?name=psconform-new-group", &cookie).await;
    assert_eq!(by_name.get("GroupID").or_else(|| by_name[0].get("GroupID")), Some(&json!(id)), "{by_name}");
    let again = s.send(reqwest::Method::POST, "UserGroups", &cookie, body).await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    assert_eq!(s.get_json(&format!("UserGroups/{id}/Permissions"), &cookie).await, json!([]));
    let rule = s.get_json("SmartRules", &cookie).await[0]["SmartRuleID"].clone();
    assert_eq!(s.get_json(&format!("UserGroups/{id}/SmartRules/{rule}/Roles"), &cookie).await, json!([]));
    // The demo groups keep what they were planted with.
    assert_ne!(s.get_json("UserGroups/1/Permissions", &cookie).await, json!([]));
    let r = s.send(reqwest::Method::DELETE, "UserGroups?name=psconform-new-group", &cookie, "").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(s.get(&format!("UserGroups/{id}"), Some(&cookie)).await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn new_systems_and_functional_accounts_take_their_documented_names() {
    let s = Sim::start(SimState::default(), &[]).await;
    let cookie = s.session().await;
    let body = r#"{"EntityTypeID":1,"HostName":"psconform-host","IPAddress":"192.0.2.9","PlatformID":1}"#;
    let (status, system) =
        status_json(s.send(reqwest::Method::POST, "Workgroups/1/ManagedSystems", &cookie, body).await).await;
    assert!(status.is_success(), "{status} {system}");
    assert_eq!(system["SystemName"], json!("psconform-host"), "{system}");
    let body = r#"{"PlatformID":1,"AccountName":"psconform-fa","Password":"x"}"#;
    let (status, account) = status_json(s.send(reqwest::Method::POST, "FunctionalAccounts", &cookie, body).await).await;
    assert!(status.is_success(), "{status} {account}");
    assert_eq!(account["DisplayName"], json!("psconform-fa"), "{account}");
    let body = r#"{"PlatformID":1,"AccountName":"psconform-fa","DisplayName":"shown","Password":"x"}"#;
    let (_, account) = status_json(s.send(reqwest::Method::POST, "FunctionalAccounts", &cookie, body).await).await;
    assert_eq!(account["DisplayName"], json!("shown"), "{account}");
}

#[tokio::test]
async fn an_access_level_assignment_answers_200_without_a_body_and_the_group_reaches_the_rule() {
    let s = Sim::start(SimState::default(), &[]).await;
    let cookie = s.session().await;
    let rule = s.get_json("SmartRules", &cookie).await[0]["SmartRuleID"].clone();
    let path = format!("UserGroups/2/SmartRules/{rule}/AccessLevels");
    let r = s.send(reqwest::Method::POST, &path, &cookie, r#"{"AccessLevelID":3}"#).await;
    assert_eq!(status_and_text(r).await, (StatusCode::OK, String::new(), String::new()));
    let reached = s.get_json("UserGroups/2/SmartRules", &cookie).await;
    assert!(
        reached.as_array().is_some_and(|a| a.iter().any(|x| x["SmartRuleID"] == rule && x["AccessLevelID"] == 3)),
        "{reached}"
    );
    let listed = s.get_json("UserGroups/2/SmartRules?accessLevel=1,3", &cookie).await;
    assert!(listed.as_array().is_some_and(|a| a.iter().any(|x| x["SmartRuleID"] == rule)), "{listed}");
    let read_only = s.get_json("UserGroups/2/SmartRules?accessLevel=0,1", &cookie).await;
    assert!(read_only.as_array().is_some_and(|a| a.iter().all(|x| x["SmartRuleID"] != rule)), "{read_only}");
}

#[tokio::test]
async fn quick_rules_list_their_ids_keep_one_member_and_answer_feedback_by_default() {
    let s = Sim::start(SimState::default(), &[]).await;
    let cookie = s.session().await;
    let body = r#"{"IDs":[1],"Title":"psconform-systems","RuleType":"ManagedSystem"}"#;
    let (status, rule) = status_json(s.send(reqwest::Method::POST, "QuickRules", &cookie, body).await).await;
    assert_eq!((status, &rule["RuleType"]), (StatusCode::CREATED, &json!("ManagedSystem")), "{rule}");
    let id = &rule["SmartRuleID"];
    let systems = s.get_json(&format!("QuickRules/{id}/ManagedSystems"), &cookie).await;
    assert_eq!(
        systems.as_array().map(|a| a.iter().map(|x| x["ManagedSystemID"].clone()).collect()),
        Some(vec![json!(1)])
    );
    let last = s.send(reqwest::Method::DELETE, &format!("QuickRules/{id}/ManagedSystems/1"), &cookie, "").await;
    assert_eq!(last.status(), StatusCode::BAD_REQUEST);

    let body = r#"{"IDs":[10],"Title":"psconform-accounts"}"#;
    let (status, rule) = status_json(s.send(reqwest::Method::POST, "QuickRules", &cookie, body).await).await;
    assert_eq!((status, &rule["RuleType"]), (StatusCode::CREATED, &json!("ManagedAccount")), "{rule}");
    let id = &rule["SmartRuleID"];
    let last = s.send(reqwest::Method::DELETE, &format!("QuickRules/{id}/ManagedAccounts/10"), &cookie, "").await;
    assert_eq!(last.status(), StatusCode::BAD_REQUEST);
    let path = format!("QuickRules/{id}/ManagedAccounts");
    let (status, _) = status_json(s.send(reqwest::Method::PUT, &path, &cookie, r#"{"IDs":[10]}"#).await).await;
    assert_eq!(status, StatusCode::OK);
    let quiet = s.send(reqwest::Method::PUT, &format!("{path}?feedback=false"), &cookie, r#"{"IDs":[10]}"#).await;
    assert_eq!(quiet.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn a_managed_account_smart_rule_is_bounded_only_by_an_asset_or_system_rule() {
    let s = Sim::start(SimState::default(), &[]).await;
    let cookie = s.session().await;
    let attribute = s.get_json("Attributes", &cookie).await[0]["AttributeID"].clone();
    let (sim, session, attribute) = (&s, &cookie, &attribute);
    let create = |route: &'static str, title: &'static str, bound: Option<Value>| async move {
        let mut body =
            json!({ "AttributeIDs": [attribute], "Title": title, "Category": "c", "ProcessImmediately": false });
        if let Some(b) = bound {
            body["SmartRuleID"] = b;
        }
        sim.send(reqwest::Method::POST, route, session, &body.to_string()).await
    };
    let (status, assets) = status_json(create("SmartRules/FilterAssetAttribute", "psconform-a", None).await).await;
    assert_eq!((status, &assets["RuleType"]), (StatusCode::CREATED, &json!("Asset")), "{assets}");
    let route = "SmartRules/FilterManagedAccountAttribute";
    let (status, accounts) = status_json(create(route, "psconform-b", Some(assets["SmartRuleID"].clone())).await).await;
    assert_eq!((status, &accounts["RuleType"]), (StatusCode::CREATED, &json!("ManagedAccount")), "{accounts}");
    let refused = create(route, "psconform-c", Some(accounts["SmartRuleID"].clone())).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn an_update_needs_the_fields_its_model_requires() {
    let s = Sim::start(SimState::default(), &[]).await;
    let cookie = s.session().await;
    let asset = s.get_json("Assets/11", &cookie).await;
    let r = s.send(reqwest::Method::PUT, "Assets/11", &cookie, r#"{"AssetName":"renamed"}"#).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(s.get_json("Assets/11", &cookie).await, asset, "a refused update changes nothing");
    let mut full = asset.clone();
    full["AssetName"] = json!("renamed");
    let (status, updated) =
        status_json(s.send(reqwest::Method::PUT, "Assets/11", &cookie, &full.to_string()).await).await;
    assert_eq!((status, &updated["AssetName"]), (StatusCode::OK, &json!("renamed")), "{updated}");
}

#[tokio::test]
async fn new_records_carry_the_moment_they_were_made() {
    let s = Sim::start(SimState::default(), &[]).await;
    let cookie = s.session().await;
    let body = r#"{"IPAddress":"192.0.2.77","AssetName":"psconform-dated"}"#;
    let (status, asset) = status_json(s.send(reqwest::Method::POST, "Workgroups/1/Assets", &cookie, body).await).await;
    assert!(status.is_success(), "{status} {asset}");
    for field in ["CreateDate", "LastUpdateDate"] {
        let date = asset[field].as_str().unwrap_or_default();
        assert!(date.starts_with("20"), "{field}: {asset}");
    }
}

#[tokio::test]
async fn a_request_set_needs_two_access_types() {
    let s = Sim::start(SimState::default(), &[]).await;
    let cookie = s.session().await;
    let set = |types: &str| format!(r#"{{"AccessTypes":{types},"SystemID":1,"AccountID":10,"DurationMinutes":5}}"#);
    let one = s.send(reqwest::Method::POST, "RequestSets", &cookie, &set(r#"["View"]"#)).await;
    assert_eq!(one.status(), StatusCode::BAD_REQUEST);
    let same_twice = s.send(reqwest::Method::POST, "RequestSets", &cookie, &set(r#"["View","view"]"#)).await;
    assert_eq!(same_twice.status(), StatusCode::BAD_REQUEST);
    let two = s.send(reqwest::Method::POST, "RequestSets", &cookie, &set(r#"["View","RDP"]"#)).await;
    assert_eq!(two.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn secrets_safe_folders_have_real_parents_and_uploads_read_their_file_part() {
    let s = Sim::start(SimState::default(), &[]).await;
    let cookie = s.session().await;
    let (sim, session) = (&s, &cookie);
    let post = |path: &'static str, body: Value| async move {
        sim.send(reqwest::Method::POST, path, session, &body.to_string()).await
    };
    let (_, safe) = status_json(post("Secrets-Safe/Safes", json!({ "Name": "psconform-safe" })).await).await;
    let orphan = post(
        "Secrets-Safe/Folders",
        json!({ "Name": "psconform-orphan", "ParentId": uuid::Uuid::new_v4().to_string() }),
    )
    .await;
    assert_eq!(orphan.status(), StatusCode::NOT_FOUND);
    let (status, folder) =
        status_json(post("Secrets-Safe/Folders", json!({ "Name": "psconform-f", "ParentId": safe["Id"] })).await).await;
    assert_eq!(status, StatusCode::CREATED, "{folder}");
    let (status, child) =
        status_json(post("Secrets-Safe/Folders", json!({ "Name": "psconform-f", "ParentId": folder["Id"] })).await)
            .await;
    assert_eq!(status, StatusCode::CREATED, "the same name under another parent: {child}");

    let multipart = |name: &str, content: &str, meta: Option<&str>| {
        let meta = meta
            .map(|m| format!("--b\r\nContent-Disposition: form-data; name=\"secretmetadata\"\r\n\r\n{m}\r\n"))
            .unwrap_or_default();
        format!(
            "{meta}--b\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"x.csv\"\r\n\r\n{content}\r\n--b--\r\n"
        )
    };
    let send_multipart = |path: String, body: String| {
        client()
            .post(s.url(&path))
            .header(COOKIE, &cookie)
            .header(CONTENT_TYPE, "multipart/form-data; boundary=b")
            .body(body)
            .send()
    };
    let fid = folder["Id"].as_str().expect("Id");
    let csv = "url,username,password,name\r\nhttps://example.invalid,someone,pw,psconform-imported";
    let r = send_multipart(format!("Secrets-Safe/Folders/{fid}/Upload"), multipart("form-data", csv, None))
        .await
        .expect("request");
    let (status, result) = status_json(r).await;
    assert_eq!(
        (status, &result["totalNumber"], &result["successfulImport"]),
        (StatusCode::CREATED, &json!(1), &json!(1)),
        "{result}"
    );
    for part in ["files", "form-data"] {
        let meta = format!(r#"{{"Title":"psconform-{part}","FileName":"x.txt"}}"#);
        let r =
            send_multipart(format!("Secrets-Safe/Folders/{fid}/Secrets/File"), multipart(part, "content", Some(&meta)))
                .await
                .expect("request");
        assert_eq!(r.status(), StatusCode::CREATED, "{part}");
    }
    let secrets = s.get_json(&format!("Secrets-Safe/Folders/{fid}/Secrets"), &cookie).await;
    let secrets = secrets.as_array().expect("array");
    assert_eq!(secrets.len(), 3);
    assert!(secrets.iter().any(|x| x["Title"] == "psconform-imported"));
    assert!(
        secrets.iter().all(|x| x["Folder"] == "psconform-f"
            && x["FolderPath"] == "psconform-safe/psconform-f"
            && x["OwnerId"] != 0),
        "{secrets:?}"
    );
}

#[tokio::test]
async fn replay_answers_each_frame_form_and_keeps_its_speed() {
    let s = Sim::start(SimState::default(), &[]).await;
    let cookie = s.session().await;
    let sessions = s.get_json("Sessions", &cookie).await;
    let session = sessions.as_array().and_then(|a| a.iter().find(|x| x["Token"].is_string())).expect("a session");
    let body =
        json!({ "id": session["Token"], "record_key": session["RecordKey"], "protocol": "SSH", "headless": true });
    let (status, replay) =
        status_json(s.send(reqwest::Method::POST, "pbsm/replay", &cookie, &body.to_string()).await).await;
    assert_eq!(status, StatusCode::OK, "{replay}");
    let path = format!("pbsm/replay/{}", replay["id"].as_str().expect("id"));
    for (query, wanted) in [("screen=1", "text/plain"), ("jpeg=1", "image/jpeg"), ("png=1", "image/png")] {
        let r = s.get(&format!("{path}?{query}"), Some(&cookie)).await;
        assert_eq!((r.status(), content_type(&r)), (StatusCode::OK, wanted.to_owned()), "{query}");
        if query.starts_with("jpeg") {
            assert!(r.bytes().await.expect("bytes").starts_with(&[0xff, 0xd8]));
        }
    }
    let moved = r#"{"speed":200,"offset":1000,"next":10}"#;
    let (status, now) = status_json(s.send(reqwest::Method::PUT, &path, &cookie, moved).await).await;
    assert_eq!((status, &now["speed"], &now["offset"]), (StatusCode::OK, &json!(200), &json!(1000)), "{now}");
    assert_eq!(s.get_json(&path, &cookie).await["speed"], json!(200));
}

#[tokio::test]
async fn every_new_session_has_an_id_of_its_own() {
    let s = Sim::start(SimState::default(), &[]).await;
    let cookie = s.session().await;
    let body = r#"{"SessionType":"SSH","HostName":"psconform-host","UserName":"root","Password":"x"}"#;
    let mut ids = Vec::new();
    for _ in 0..2 {
        let (status, ticket) = status_json(s.send(reqwest::Method::POST, "Sessions/Admin", &cookie, body).await).await;
        assert_eq!(status, StatusCode::CREATED);
        let id = ticket["ID"].as_str().expect("ID").to_owned();
        assert_ne!(id, "0");
        let session = s.get_json(&format!("Sessions/{id}"), &cookie).await;
        assert_eq!(session["SessionID"].to_string(), id, "{session}");
        ids.push(id);
    }
    assert_ne!(ids[0], ids[1]);
}

#[tokio::test]
async fn unmodelled_answers_still_need_the_record_they_name() {
    let s = Sim::start(SimState::default(), &[]).await;
    let cookie = s.session().await;
    let platforms = s.get_json("CustomPlatforms", &cookie).await;
    let id = &platforms[0]["id"];
    assert_eq!(s.get(&format!("CustomPlatforms/{id}/Export"), Some(&cookie)).await.status(), StatusCode::OK);
    let r = s.get("CustomPlatforms/2147483647/Export", Some(&cookie)).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let deliveries = s.get_json("Subscriptions/Delivery", &cookie).await;
    let first = &deliveries[0];
    let (sim, session) = (&s, &cookie);
    let download = |id: String| async move {
        sim.send(reqwest::Method::POST, &format!("Subscriptions/Delivery/Download?id={id}"), session, "").await
    };
    assert_eq!(download(first.to_string()).await.status(), StatusCode::OK);
    assert_eq!(download("2147483647".into()).await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_address_group_is_deleted_with_its_addresses() {
    let s = Sim::start(SimState::default(), &[]).await;
    let cookie = s.session().await;
    let (_, group) =
        status_json(s.send(reqwest::Method::POST, "AddressGroups", &cookie, r#"{"Name":"psconform-ag"}"#).await).await;
    let gid = &group["AddressGroupID"];
    let path = format!("AddressGroups/{gid}/Addresses");
    let body = r#"{"Type":1,"Value":"192.0.2.5","Omit":false}"#;
    let (status, address) = status_json(s.send(reqwest::Method::POST, &path, &cookie, body).await).await;
    assert_eq!(status, StatusCode::CREATED, "{address}");
    let r = s.send(reqwest::Method::DELETE, &format!("AddressGroups/{gid}"), &cookie, "").await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = s.get(&format!("Addresses/{}", address["AddressID"]), Some(&cookie)).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_new_propagation_action_assignment_is_201_and_a_repeated_one_200() {
    let s = Sim::start(SimState::default(), &[]).await;
    let cookie = s.session().await;
    let action = s.get_json("PropagationActions", &cookie).await[0]["PropagationActionID"].clone();
    let path = format!("ManagedAccounts/10/PropagationActions/{action}");
    let _ = s.send(reqwest::Method::DELETE, "ManagedAccounts/10/PropagationActions", &cookie, "").await;
    let first = s.send(reqwest::Method::POST, &path, &cookie, "{}").await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let again = s.send(reqwest::Method::POST, &path, &cookie, "{}").await;
    assert_eq!(again.status(), StatusCode::OK);
    let listed = s.get_json("ManagedAccounts/10/PropagationActions", &cookie).await;
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
}

#[tokio::test]
async fn a_new_application_user_is_answered_with_its_client_credentials_once() {
    let s = Sim::start(SimState::default(), &[]).await;
    let cookie = s.session().await;
    let body = r#"{"UserType":"Application","UserName":"psconform-app","AccessPolicyID":1}"#;
    let (status, user) = status_json(s.send(reqwest::Method::POST, "Users", &cookie, body).await).await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    let client_id = user["ClientID"].as_str().unwrap_or_default();
    assert!(!client_id.is_empty() && user["ClientSecret"].as_str().is_some_and(|s| s.len() >= 32), "{user}");
    let read = s.get_json(&format!("Users/{}", user["UserID"]), &cookie).await;
    assert_eq!((read["ClientID"].as_str(), &read["ClientSecret"]), (Some(client_id), &Value::Null), "{read}");
    let body = r#"{"UserType":"BeyondInsight","UserName":"psconform-person","Password":"x"}"#;
    let (status, person) = status_json(s.send(reqwest::Method::POST, "Users", &cookie, body).await).await;
    assert_eq!(status, StatusCode::CREATED, "{person}");
    assert!(person.get("ClientSecret").is_none_or(Value::is_null), "{person}");
}
