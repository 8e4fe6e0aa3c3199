//! A response as the runner read it: status, headers, a body bounded by `--max-body`, and the
//! JSON and cookies parsed from it once, on first use. Pure data: no I/O.

use std::sync::OnceLock;

use serde_json::Value;

/// A response.
#[derive(Debug)]
pub struct Response {
    /// HTTP status code.
    pub status: u16,
    /// Headers in order, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body bytes.
    pub body: Vec<u8>,
    json: OnceLock<Result<Value, String>>,
    cookies: OnceLock<Vec<SetCookie>>,
}

/// One cookie from a `Set-Cookie` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetCookie {
    /// Cookie name.
    pub name: String,
    /// Cookie value (a secret: never shown).
    pub value: String,
    /// `HttpOnly` present.
    pub http_only: bool,
    /// `Secure` present.
    pub secure: bool,
    /// `Path` attribute.
    pub path: Option<String>,
    /// `SameSite` attribute as sent.
    pub same_site: Option<String>,
}

impl Response {
    /// A response from its parts.
    pub fn new(status: u16, headers: Vec<(String, String)>, body: Vec<u8>) -> Self {
        let headers = headers.into_iter().map(|(k, v)| (k.to_ascii_lowercase(), v)).collect();
        Response { status, headers, body, json: OnceLock::new(), cookies: OnceLock::new() }
    }

    /// Values of a header (case-insensitive name).
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers.iter().filter(move |(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The first value of a header.
    pub fn header<'a>(&'a self, name: &'a str) -> Option<&'a str> {
        self.header_values(name).next()
    }

    /// The cookies the response sets, parsed once.
    pub fn set_cookies(&self) -> &[SetCookie] {
        self.cookies.get_or_init(|| {
            self.header_values("set-cookie")
                .filter_map(|v| cookie::Cookie::parse(v.to_owned()).ok())
                .map(|c| SetCookie {
                    name: c.name().to_owned(),
                    value: c.value().to_owned(),
                    http_only: c.http_only().unwrap_or(false),
                    secure: c.secure().unwrap_or(false),
                    path: c.path().map(str::to_owned),
                    same_site: c.same_site().map(|s| s.to_string()),
                })
                .collect()
        })
    }

    /// The body parsed as JSON, or why it is not JSON (without quoting the body).
    pub fn json(&self) -> Result<&Value, &str> {
        self.json
            .get_or_init(|| {
                if self.body.is_empty() {
                    return Err("the body is empty".to_owned());
                }
                serde_json::from_slice(&self.body).map_err(|e| format!("the body is not JSON ({e})"))
            })
            .as_ref()
            .map_err(String::as_str)
    }

    /// The body as text (lossy UTF-8).
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.body)
    }
}
