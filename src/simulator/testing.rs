//! What the simulator's unit tests share: a simulator in process, signed in, asked through the
//! same dispatch a listener uses (no socket), for tests that follow a flow across areas. A
//! test helper, not part of the simulator.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{Request, header};
use serde_json::Value;

use super::app::App;
use super::config::{Approver, SimConfig, SimState, generate_missing};
use super::data::DataVariant;
use super::routes::{BASE_PATH, dispatch};
use crate::settings::Settings;

/// One simulator, signed in.
pub(crate) struct Client {
    pub app: Arc<App>,
    pub cookie: String,
}

/// An answer: status, the session cookie it set (if any), the body, and its media type.
pub(crate) type Answer = (u16, String, String, Option<String>);

impl Client {
    /// A simulator of `data`, signed in as the run-as user.
    pub(crate) async fn new(data: DataVariant) -> Client {
        Client::with(data, SimState::default()).await
    }

    /// A simulator of `data` in `state`, signed in as the run-as user.
    pub(crate) async fn with(data: DataVariant, state: SimState) -> Client {
        let settings = generate_missing(Settings::default());
        let config = SimConfig { data, state, ..SimConfig::new(settings) };
        let app = Arc::new(App::new(config, Approver::demo(), false));
        let runas = app.settings.get("runas").unwrap_or_default().to_owned();
        Client::signed_in(app, &runas).await
    }

    /// Another session on the same simulator, signed in as the approver.
    pub(crate) async fn approver(&self) -> Client {
        let runas = self.app.approver.runas.clone();
        Client::signed_in(self.app.clone(), &runas).await
    }

    async fn signed_in(app: Arc<App>, runas: &str) -> Client {
        let mut c = Client { app, cookie: String::new() };
        let auth = format!("PS-Auth key={}; runas={runas};", c.app.settings.get("api_key").unwrap_or_default());
        let r = c.send("POST", "Auth/SignAppin", None, Some(("authorization", auth))).await;
        assert_eq!(r.0, 200, "sign-in as {runas}: {}", r.2);
        c.cookie = r.1;
        c
    }

    /// Sends a request (JSON body when given) with the session cookie.
    pub(crate) async fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        header: Option<(&str, String)>,
    ) -> Answer {
        let mut req = Request::builder().method(method).uri(format!("{BASE_PATH}/{path}"));
        if !self.cookie.is_empty() {
            req = req.header(header::COOKIE, self.cookie.clone());
        }
        if let Some((name, value)) = header {
            req = req.header(name, value);
        }
        let body = match body {
            Some(v) => {
                req = req.header(header::CONTENT_TYPE, "application/json");
                Body::from(v.to_string())
            }
            None => Body::empty(),
        };
        let response = dispatch(State(self.app.clone()), req.body(body).expect("a request")).await;
        let status = response.status().as_u16();
        let cookie = response
            .headers()
            .get(header::SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .unwrap_or_default()
            .to_owned();
        let media = response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 24).await.expect("a body");
        (status, cookie, String::from_utf8_lossy(&bytes).into_owned(), media)
    }

    /// Sends raw bytes with a media type (a multipart form, a CSV).
    pub(crate) async fn send_raw(&self, method: &str, path: &str, body: Vec<u8>, media: &str) -> (u16, Value) {
        let req = Request::builder()
            .method(method)
            .uri(format!("{BASE_PATH}/{path}"))
            .header(header::COOKIE, self.cookie.clone())
            .header(header::CONTENT_TYPE, media)
            .body(Body::from(body))
            .expect("a request");
        let response = dispatch(State(self.app.clone()), req).await;
        let status = response.status().as_u16();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 24).await.expect("a body");
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    /// A JSON answer's status and body (`null` when the body is not JSON).
    pub(crate) async fn json(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let (status, _, text, _) = self.send(method, path, body, None).await;
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}
