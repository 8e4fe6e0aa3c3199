//! Sending requests: one client and connection pool per test thread, a cookie jar per case, a
//! body cap, a rate ceiling, transport errors turned into plain sentences, and whether the
//! target still answers at all (a few requests in a row without a byte back, and it is
//! unreachable: the run stops waiting out a timeout per request).
//!
//! Redirects are not followed: an API endpoint that redirects is itself a finding, and a
//! redirect loop cannot hang a run. Proxies come only from `--proxy`, never from the
//! environment, so a stray `HTTPS_PROXY` cannot send production credentials elsewhere.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use reqwest::cookie::CookieStore as _;
use reqwest_cookie_store::CookieStoreMutex;
use thiserror::Error;
use tokio::sync::Mutex;
use url::Url;

use crate::response::Response;
use crate::result::TransportError;

/// HTTP settings from the command line.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Accept any TLS certificate.
    pub insecure: bool,
    /// Extra trusted CA certificate (PEM).
    pub ca_cert: Option<PathBuf>,
    /// Client certificate and key for mutual TLS (PEM).
    pub client_identity: Option<(PathBuf, PathBuf)>,
    /// Proxy for every request.
    pub proxy: Option<Url>,
    /// Time allowed for one request, body included.
    pub timeout: Duration,
    /// Time allowed to connect.
    pub connect_timeout: Duration,
    /// Largest response body read, in bytes.
    pub max_body: u64,
    /// Requests per second ceiling.
    pub rate: Option<f64>,
    /// Every request goes to an `http://` target: skip loading the system's trusted roots
    /// (a few milliseconds at start-up that a plain-HTTP run never uses).
    pub plain_http_only: bool,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            insecure: false,
            ca_cert: None,
            client_identity: None,
            proxy: None,
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            max_body: 16 * 1024 * 1024,
            rate: None,
            plain_http_only: false,
        }
    }
}

/// How many requests in a row, run-wide, may end in a refused connection or a timeout with no
/// byte of the response before the target counts as unreachable.
pub const UNANSWERED_IN_A_ROW: u32 = 3;

/// A problem setting the client up, before any request.
#[derive(Debug, Error)]
pub enum HttpSetupError {
    /// A certificate or key file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A certificate, key or proxy was not usable.
    #[error("{what}: {message}")]
    Invalid {
        /// What was being set up.
        what: &'static str,
        /// The client library's reason.
        message: String,
    },
}

/// A request ready to send.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// HTTP method.
    pub method: reqwest::Method,
    /// Full URL.
    pub url: Url,
    /// Headers, in order.
    pub headers: Vec<(String, String)>,
    /// Body bytes, if any.
    pub body: Option<Vec<u8>>,
}

/// The HTTP side of a run: one client per thread that runs cases, all built from the same
/// checked settings, and a rate ceiling they share.
///
/// A trial runs its case on its own thread's single-threaded runtime, and the client's
/// connections are driven by that same runtime: a request wakes no other thread, which on a
/// two-core machine is most of what a request costs beyond the network.
#[derive(Debug)]
pub struct Http {
    id: u64,
    ca: Option<Vec<reqwest::Certificate>>,
    identity: Option<reqwest::Identity>,
    proxy: Option<reqwest::Proxy>,
    options: HttpOptions,
    next_slot: Mutex<Option<Instant>>,
    /// Requests in a row that got nothing back (see [`UNANSWERED_IN_A_ROW`]).
    unanswered: AtomicU32,
    /// The target stopped answering: set once, never cleared.
    unreachable: AtomicBool,
}

static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

thread_local! {
    /// This thread's client of each `Http`, by id.
    static CLIENTS: std::cell::RefCell<Vec<(u64, reqwest::Client)>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Installs the ring crypto provider for rustls once per process; reqwest and the
/// simulator's TLS both need it before they build anything.
pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl Http {
    /// Checks the settings (certificates, key, proxy) and builds a first client with them.
    pub fn new(options: HttpOptions) -> Result<Http, HttpSetupError> {
        install_crypto();
        let read = |p: &PathBuf| std::fs::read(p).map_err(|source| HttpSetupError::Read { path: p.clone(), source });
        let ca = match &options.ca_cert {
            Some(ca) => Some(
                reqwest::Certificate::from_pem_bundle(&read(ca)?)
                    .map_err(|e| HttpSetupError::Invalid { what: "--ca-cert", message: e.to_string() })?,
            ),
            None => None,
        };
        let identity = match &options.client_identity {
            Some((cert, key)) => {
                let mut pem = read(cert)?;
                pem.push(b'\n');
                pem.extend(read(key)?);
                Some(reqwest::Identity::from_pem(&pem).map_err(|e| HttpSetupError::Invalid {
                    what: "--client-cert/--client-key",
                    message: e.to_string(),
                })?)
            }
            None => None,
        };
        let proxy = match &options.proxy {
            Some(p) => Some(
                reqwest::Proxy::all(p.as_str())
                    .map_err(|e| HttpSetupError::Invalid { what: "--proxy", message: e.to_string() })?,
            ),
            None => None,
        };
        let id = NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let http = Http {
            id,
            ca,
            identity,
            proxy,
            options,
            next_slot: Mutex::new(None),
            unanswered: AtomicU32::new(0),
            unreachable: AtomicBool::new(false),
        };
        http.build().map_err(|e| HttpSetupError::Invalid { what: "HTTP client", message: chain(&e) })?;
        Ok(http)
    }

    fn build(&self) -> Result<reqwest::Client, reqwest::Error> {
        let options = &self.options;
        let mut b = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(options.connect_timeout)
            .timeout(options.timeout)
            .pool_max_idle_per_host(64)
            .user_agent(concat!("psconform/", env!("CARGO_PKG_VERSION")));
        if options.insecure {
            b = b.tls_danger_accept_invalid_certs(true);
        }
        if options.plain_http_only && self.ca.is_none() {
            b = b.tls_certs_only([]);
        }
        if let Some(certs) = &self.ca {
            b = b.tls_certs_merge(certs.clone());
        }
        if let Some(id) = &self.identity {
            b = b.identity(id.clone());
        }
        if let Some(p) = &self.proxy {
            b = b.proxy(p.clone());
        }
        b.build()
    }

    /// This thread's client, built on first use.
    fn client(&self) -> Result<reqwest::Client, reqwest::Error> {
        let found = CLIENTS.with(|c| c.borrow().iter().find(|(id, _)| *id == self.id).map(|(_, c)| c.clone()));
        if let Some(c) = found {
            return Ok(c);
        }
        let client = self.build()?;
        CLIENTS.with(|c| c.borrow_mut().push((self.id, client.clone())));
        Ok(client)
    }

    /// The options the client was built with.
    pub fn options(&self) -> &HttpOptions {
        &self.options
    }

    /// Sends a request with the case's cookies, stores the cookies it sets, and reads the body
    /// up to the cap, within `--timeout`.
    pub async fn send(&self, out: &Outgoing, jar: &CookieStoreMutex) -> Result<Response, TransportError> {
        self.send_within(out, jar, self.options.timeout).await
    }

    /// [`Http::send`] within `limit` instead of `--timeout` (a last check-in to a target that
    /// stopped answering gets a short one).
    pub async fn send_within(
        &self,
        out: &Outgoing,
        jar: &CookieStoreMutex,
        limit: Duration,
    ) -> Result<Response, TransportError> {
        self.pace().await;
        let url = out.url.clone();
        let head = AtomicBool::new(false);
        let fut = self.exchange(out, jar, limit, &head);
        let sent = match tokio::time::timeout(limit + Duration::from_millis(250), fut).await {
            Ok(r) => r,
            Err(_) => Err(TransportError::Timeout { url: origin(&url), secs: limit.as_secs_f64() }),
        };
        let nothing_back = match &sent {
            Ok(_) => false,
            Err(TransportError::Connect { .. }) => true,
            Err(TransportError::Timeout { .. }) => !head.load(Ordering::SeqCst),
            Err(_) => false,
        };
        self.note(nothing_back);
        sent
    }

    /// Counts a request that got nothing back, or starts the count again.
    fn note(&self, nothing_back: bool) {
        if !nothing_back {
            self.unanswered.store(0, Ordering::SeqCst);
        } else if self.unanswered.fetch_add(1, Ordering::SeqCst) + 1 >= UNANSWERED_IN_A_ROW
            && !self.unreachable.swap(true, Ordering::SeqCst)
        {
            tracing::warn!(
                "the target did not answer {UNANSWERED_IN_A_ROW} requests in a row: the remaining cases are not sent"
            );
        }
    }

    /// Whether the target stopped answering: [`UNANSWERED_IN_A_ROW`] requests in a row, run-wide,
    /// ended in a refused connection or a timeout with no byte back.
    pub fn unreachable(&self) -> bool {
        self.unreachable.load(Ordering::SeqCst)
    }

    async fn exchange(
        &self,
        out: &Outgoing,
        jar: &CookieStoreMutex,
        limit: Duration,
        head: &AtomicBool,
    ) -> Result<Response, TransportError> {
        let client = self.client().map_err(|e| TransportError::Broken { url: origin(&out.url), reason: chain(&e) })?;
        let mut req = client.request(out.method.clone(), out.url.clone()).timeout(limit);
        for (k, v) in &out.headers {
            // Values were checked when the request was built: no line breaks, no NUL.
            let Ok(mut value) = reqwest::header::HeaderValue::from_bytes(v.as_bytes()) else {
                return Err(TransportError::Broken {
                    url: origin(&out.url),
                    reason: format!("header {k} has a value HTTP cannot carry"),
                });
            };
            if crate::secret::is_sensitive_header(k) {
                value.set_sensitive(true);
            }
            req = req.header(k.as_str(), value);
        }
        if let Some(mut cookies) = jar.cookies(&out.url) {
            cookies.set_sensitive(true);
            req = req.header(reqwest::header::COOKIE, cookies);
        }
        if let Some(body) = &out.body {
            req = req.body(body.clone());
        }
        let resp = req.send().await.map_err(|e| classify(&e, &out.url, limit))?;
        head.store(true, Ordering::SeqCst);
        jar.set_cookies(&mut resp.headers().get_all(reqwest::header::SET_COOKIE).iter(), &out.url);
        let status = resp.status().as_u16();
        let headers: Vec<(String, String)> = resp
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect();
        let body = read_capped(resp, self.options.max_body, &out.url, limit).await?;
        Ok(Response::new(status, headers, body))
    }

    /// Waits for the next slot under `--rate`.
    async fn pace(&self) {
        let Some(rate) = self.options.rate.filter(|r| *r > 0.0) else {
            return;
        };
        let gap = Duration::from_secs_f64(1.0 / rate);
        let wait = {
            let mut next = self.next_slot.lock().await;
            let now = Instant::now();
            let slot = next.map_or(now, |n| n.max(now));
            *next = Some(slot + gap);
            slot.saturating_duration_since(now)
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

async fn read_capped(
    mut resp: reqwest::Response,
    max: u64,
    url: &Url,
    timeout: Duration,
) -> Result<Vec<u8>, TransportError> {
    if let Some(n) = resp.content_length().filter(|n| *n > max) {
        return Err(TransportError::TooLarge { max, seen: format!("; the target announced {n} bytes") });
    }
    // Never sized from Content-Length: a target may announce any number. Grow as bytes come.
    let mut buf = Vec::with_capacity(resp.content_length().map_or(0, |n| n.min(64 * 1024) as usize));
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                if buf.len() as u64 + chunk.len() as u64 > max {
                    return Err(TransportError::TooLarge { max, seen: String::new() });
                }
                buf.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(buf),
            Err(e) if e.is_timeout() => {
                return Err(TransportError::Timeout { url: origin(url), secs: timeout.as_secs_f64() });
            }
            Err(e) => {
                return Err(TransportError::Broken { url: origin(url), reason: chain(&e) });
            }
        }
    }
}

/// Scheme, host and port: enough to say where, without a path that might carry an id.
fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// Every message in an error's source chain, joined, without repeats.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        let text = err.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        cur = err.source();
    }
    parts.join(": ")
}

fn classify(e: &reqwest::Error, url: &Url, timeout: Duration) -> TransportError {
    // reqwest's own top line is "error sending request for url (<the whole URL>)": the step
    // already names the request, so the reason starts at the cause.
    let reason = match std::error::Error::source(e) {
        Some(cause) => chain(cause),
        None => chain(e),
    };
    // Classify on the error's own words, not on the URL reqwest quotes in them: a host named
    // `ssl-gw.example.com` must not turn a DNS failure or a refused connection into "TLS".
    let lower = e.url().map_or_else(|| reason.clone(), |u| reason.replace(u.as_str(), "")).to_ascii_lowercase();
    if e.is_timeout() {
        return TransportError::Timeout { url: origin(url), secs: timeout.as_secs_f64() };
    }
    let tls = ["certificate", "tls", "handshake", "invalidcertificate", "unknownissuer", "ssl"];
    if tls.iter().any(|t| lower.contains(t)) {
        let hint = if lower.contains("certificate") || lower.contains("issuer") {
            "; trust the server's CA with --ca-cert PEM, or use --insecure for a test instance"
        } else {
            ""
        };
        return TransportError::Tls { url: origin(url), reason, hint };
    }
    if e.is_connect() || lower.contains("dns") || lower.contains("connection refused") {
        return TransportError::Connect { url: origin(url), reason };
    }
    TransportError::Broken { url: origin(url), reason }
}
