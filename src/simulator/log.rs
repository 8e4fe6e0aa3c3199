//! `psconform serve`'s request log: with `-v`, one line per request (method, path and query,
//! status, time in milliseconds, and `unsimulated` where no documented route fits); with `-vv`,
//! the request's and the response's headers and bodies as well, with every credential masked
//! before it is formatted: the `Authorization`, `Cookie` and `Set-Cookie` values, every body
//! field a model of the catalog marks `secret: true` (and `client_secret` in a token form), and
//! a body the page documents as a credential as a whole. The masking is the simulator's own:
//! the project has no shared masking layer below the runner's reports. Owns no routing.

use std::collections::BTreeSet;
use std::sync::{Arc, LazyLock};
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::Value;

use super::app::App;
use super::routes::{Landing, landing};
use crate::catalog::Catalog;

/// What stands in for a masked value.
pub(crate) const MASK: &str = "[masked]";
/// The most of a body `-vv` shows; the rest is counted.
const SHOWN_BODY: usize = 4096;
/// The log target, so `RUST_LOG=psconform::simulator=debug` selects it.
const TARGET: &str = "psconform::simulator";

/// Every field name some model of the catalog marks as a credential, lower-cased.
static SECRET_FIELDS: LazyLock<BTreeSet<String>> = LazyLock::new(|| {
    let mut names: BTreeSet<String> = ["client_secret", "password", "pwd"].iter().map(|s| (*s).to_owned()).collect();
    if let Ok(c) = Catalog::shared() {
        for m in c.models.models.values() {
            names.extend(m.fields.iter().filter(|f| f.secret).map(|f| f.name.to_ascii_lowercase()));
        }
    }
    names
});

/// Logs one request (and, at debug level, its headers and bodies) around the router.
pub(crate) async fn requests(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let detail = tracing::enabled!(target: TARGET, tracing::Level::DEBUG);
    let line = tracing::enabled!(target: TARGET, tracing::Level::INFO);
    if !line {
        return next.run(req).await;
    }
    let started = Instant::now();
    let method = req.method().as_str().to_owned();
    let target = req.uri().path_and_query().map_or_else(|| req.uri().path().to_owned(), |p| p.as_str().to_owned());
    let below = below(req.uri().path());
    let landed = below.as_deref().map_or(Landing::Unsimulated, |p| landing(&app, &method, p));
    let req = if detail {
        let (parts, body) = req.into_parts();
        let bytes = axum::body::to_bytes(body, 64 * 1024).await.unwrap_or_default();
        tracing::debug!(target: TARGET, "> {method} {target}\n{}{}", headers(&parts.headers), shown(&bytes, &parts.headers, &method, below.as_deref(), None));
        Request::from_parts(parts, Body::from(bytes))
    } else {
        req
    };
    let response = next.run(req).await;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    let mark = if landed == Landing::Unsimulated { " unsimulated" } else { "" };
    tracing::info!(target: TARGET, "{method} {target} -> {} {ms:.1} ms{mark}", response.status().as_u16());
    if !detail {
        return response;
    }
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
    let status = Some(parts.status.as_u16());
    tracing::debug!(target: TARGET, "< {}\n{}{}", parts.status.as_u16(), headers(&parts.headers), shown(&bytes, &parts.headers, &method, below.as_deref(), status));
    Response::from_parts(parts, Body::from(bytes))
}

/// The path below the API base, if the request is under it.
fn below(path: &str) -> Option<String> {
    let lower = path.to_ascii_lowercase();
    ["/beyondtrust/api/public/v3", "/eeye.retinacs.server/api/public/v3"]
        .iter()
        .find_map(|b| lower.starts_with(b).then(|| path[b.len()..].trim_matches('/').to_owned()))
}

/// Header lines, credentials masked.
fn headers(h: &HeaderMap) -> String {
    let mut out = String::new();
    for (name, value) in h {
        let value = value.to_str().unwrap_or("(not visible ASCII)");
        out.push_str(&format!("  {name}: {}\n", masked_header(name, value)));
    }
    out
}

/// A header value with its credential masked: the scheme of an `Authorization`, the names and
/// attributes of cookies.
pub(crate) fn masked_header(name: &header::HeaderName, value: &str) -> String {
    if *name == header::AUTHORIZATION {
        let scheme = value.split_whitespace().next().unwrap_or_default();
        format!("{scheme} {MASK}")
    } else if *name == header::COOKIE {
        value
            .split(';')
            .map(|pair| {
                pair.split_once('=').map_or_else(|| pair.trim().to_owned(), |(n, _)| format!("{}={MASK}", n.trim()))
            })
            .collect::<Vec<_>>()
            .join("; ")
    } else if *name == header::SET_COOKIE {
        let mut parts = value.split(';');
        let first = parts.next().unwrap_or_default();
        let first = first.split_once('=').map_or_else(|| first.to_owned(), |(n, _)| format!("{}={MASK}", n.trim()));
        std::iter::once(first).chain(parts.map(|p| p.trim().to_owned())).collect::<Vec<_>>().join("; ")
    } else {
        value.to_owned()
    }
}

/// A body as `-vv` shows it: JSON with its credential fields masked (or masked whole where the
/// page documents the body as a credential), a token form with `client_secret` masked, anything
/// else by its size.
fn shown(bytes: &Bytes, h: &HeaderMap, method: &str, below: Option<&str>, status: Option<u16>) -> String {
    if bytes.is_empty() {
        return String::new();
    }
    let whole_secret = status.is_some_and(|s| {
        let doc = below.and_then(|p| Catalog::shared().ok()?.doc_of(method, p));
        doc.and_then(|d| d.responses.get(&s)).is_some_and(|forms| forms.iter().any(|f| f.secret))
    });
    let media = h.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_ascii_lowercase();
    let text = if media.starts_with("application/x-www-form-urlencoded") {
        url::form_urlencoded::parse(bytes)
            .map(|(k, v)| {
                if SECRET_FIELDS.contains(&k.to_ascii_lowercase()) { format!("{k}={MASK}") } else { format!("{k}={v}") }
            })
            .collect::<Vec<_>>()
            .join("&")
    } else if let Ok(mut v) = serde_json::from_slice::<Value>(bytes) {
        if whole_secret {
            MASK.to_owned()
        } else {
            mask_json(&mut v);
            v.to_string()
        }
    } else {
        return format!("  ({} bytes of {})\n", bytes.len(), if media.is_empty() { "data" } else { &media });
    };
    let cut: String = text.chars().take(SHOWN_BODY).collect();
    let more = text.chars().count().saturating_sub(SHOWN_BODY);
    if more > 0 { format!("  {cut}… ({more} more characters)\n") } else { format!("  {cut}\n") }
}

/// Masks, at any depth, the values of fields a model marks as a credential.
pub(crate) fn mask_json(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, value) in map.iter_mut() {
                if SECRET_FIELDS.contains(&k.to_ascii_lowercase()) && !value.is_null() {
                    *value = Value::from(MASK);
                } else {
                    mask_json(value);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(mask_json),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_headers_are_masked_and_names_stay() {
        let auth = masked_header(&header::AUTHORIZATION, "PS-Auth key=abc123; runas=u; pwd=[p];");
        assert_eq!(auth, "PS-Auth [masked]");
        let cookie = masked_header(&header::COOKIE, "ASP.NET_SessionId=s3cr3t; __RequestVerificationToken=t0k");
        assert_eq!(cookie, "ASP.NET_SessionId=[masked]; __RequestVerificationToken=[masked]");
        let set = masked_header(&header::SET_COOKIE, "ASP.NET_SessionId=s3cr3t; path=/; HttpOnly");
        assert_eq!(set, "ASP.NET_SessionId=[masked]; path=/; HttpOnly");
    }

    #[test]
    fn secret_fields_are_masked_at_any_depth() {
        let mut v = serde_json::json!({"Title": "t", "Password": "p4ss", "Items": [{"Text": "t3xt", "Name": "n"}], "ClientSecret": null});
        mask_json(&mut v);
        assert_eq!(
            v,
            serde_json::json!({"Title": "t", "Password": MASK, "Items": [{"Text": MASK, "Name": "n"}], "ClientSecret": null})
        );
    }

    #[test]
    fn a_credential_body_and_a_token_form_are_masked() {
        let json = HeaderMap::new();
        let body = Bytes::from_static(b"\"the-released-password\"");
        let out = shown(&body, &json, "GET", Some("Credentials/12"), Some(200));
        assert!(!out.contains("the-released-password") && out.contains(MASK), "{out}");
        let mut form = HeaderMap::new();
        form.insert(header::CONTENT_TYPE, "application/x-www-form-urlencoded".parse().expect("header"));
        let body = Bytes::from_static(b"grant_type=client_credentials&client_id=abc&client_secret=hush");
        let out = shown(&body, &form, "POST", Some("Auth/Connect/Token"), None);
        assert!(out.contains("client_id=abc") && !out.contains("hush"), "{out}");
    }

    /// Captured log output.
    #[derive(Clone, Default)]
    struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
            self.0.lock().map_err(|_| std::io::Error::other("poisoned"))?.extend_from_slice(data);
            Ok(data.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// What `serve` logs at a level for a few requests (a sign-in, a release, an undocumented path).
    async fn log_of(level: tracing::Level) -> (String, Vec<String>) {
        use crate::simulator::{Approver, Listen, Logging, SimConfig, Simulator, generate_missing};
        use secrecy::ExposeSecret as _;
        let captured = Captured::default();
        let sink = captured.clone();
        let subscriber =
            tracing_subscriber::fmt().with_max_level(level).with_ansi(false).with_writer(move || sink.clone()).finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let settings = generate_missing(crate::settings::Settings::default());
        let secrets = vec![
            settings.api_key.as_ref().map(|k| k.expose_secret().to_owned()).unwrap_or_default(),
            settings.runas_password.as_ref().map(|k| k.expose_secret().to_owned()).unwrap_or_default(),
        ];
        let addr = "127.0.0.1:0".parse().expect("an address");
        let sim = Simulator::start_with(
            SimConfig::new(settings.clone()),
            Approver::demo(),
            addr,
            Listen::Plain,
            Logging::Requests,
        )
        .await
        .expect("starts");
        let client = reqwest::Client::builder().cookie_store(true).build().expect("a client");
        let url = |p: &str| format!("{}/{p}", sim.base_url());
        let auth = format!(
            "PS-Auth key={}; runas={}; pwd=[{}];",
            secrets[0],
            settings.runas.as_deref().unwrap_or_default(),
            secrets[1]
        );
        let r = client.post(url("Auth/SignAppin")).header("authorization", auth).send().await.expect("sign-in");
        assert_eq!(r.status(), 200);
        let body = serde_json::json!({"SystemID": 1, "AccountID": 10, "DurationMinutes": 5});
        let id: serde_json::Value =
            client.post(url("Requests")).json(&body).send().await.expect("request").json().await.expect("an id");
        let password =
            client.get(url(&format!("Credentials/{id}"))).send().await.expect("credential").text().await.expect("text");
        let _ = client.get(url("Workgroups?name=nope")).send().await.expect("lookup");
        let _ = client.get(url("No/Such/Route")).send().await.expect("nothing there");
        sim.stop().await;
        let text = String::from_utf8_lossy(&captured.0.lock().map(|b| b.clone()).unwrap_or_default()).into_owned();
        let mut secrets = secrets;
        secrets.push(password.trim_matches('"').to_owned());
        (text, secrets)
    }

    #[tokio::test]
    async fn v_logs_one_line_per_request_and_marks_what_nothing_serves() {
        let (text, _) = log_of(tracing::Level::INFO).await;
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5, "{text}");
        assert!(
            lines[0].contains("POST /BeyondTrust/api/public/v3/Auth/SignAppin -> 200 ") && lines[0].ends_with(" ms"),
            "{text}"
        );
        assert!(lines[3].contains("GET /BeyondTrust/api/public/v3/Workgroups?name=nope -> 404 "), "{text}");
        assert!(!lines[3].contains("unsimulated"), "a documented route that finds nothing: {text}");
        assert!(
            lines[4].contains("GET /BeyondTrust/api/public/v3/No/Such/Route -> 404 ")
                && lines[4].ends_with(" unsimulated"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn vv_shows_headers_and_bodies_with_every_credential_masked() {
        let (text, secrets) = log_of(tracing::Level::DEBUG).await;
        assert!(text.contains("authorization: PS-Auth [masked]"), "{text}");
        assert!(text.contains("set-cookie: ASP.NET_SessionId=[masked]"), "{text}");
        assert!(text.contains("cookie: ASP.NET_SessionId=[masked]"), "{text}");
        assert!(text.contains("\"SystemID\":1"), "request bodies are shown: {text}");
        for secret in secrets.iter().filter(|s| s.len() > 4) {
            assert!(!text.contains(secret.as_str()), "a credential in the log: {text}");
        }
    }
}
