//! Building responses the way real servers shape them: JSON bodies with `application/json`,
//! error bodies as a JSON string literal or a bare numeric sub-code (reference §1.4, §7.14),
//! never an HTML page.

use axum::body::Body;
use axum::http::StatusCode;
use axum::http::header::{self, HeaderValue};
use axum::response::Response;
use serde_json::Value;

/// A JSON body.
pub(crate) fn json(status: StatusCode, body: &Value) -> Response {
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
    response
}

/// 200 with a JSON body.
pub(crate) fn ok(body: &Value) -> Response {
    json(StatusCode::OK, body)
}

/// An error body as real servers send it: a JSON string literal.
pub(crate) fn message(status: StatusCode, text: &str) -> Response {
    json(status, &Value::from(text))
}

/// An error body that is a bare numeric sub-code, such as `4034` or `4091` (reference §1.4:
/// DEMISTO compares the unquoted text).
pub(crate) fn code(status: StatusCode, sub_code: u32) -> Response {
    json(status, &Value::from(sub_code))
}

/// Bytes with their media type (a file, a frame).
pub(crate) fn bytes(status: StatusCode, body: Vec<u8>, content_type: &'static str) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// A status with no body at all (no Content-Type either), like a 204.
pub(crate) fn empty(status: StatusCode) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    response
}

/// 400 for a query or body value the endpoint cannot read.
pub(crate) fn bad_value(value: &str, name: &str) -> Response {
    Refusal::bad_value(value, name).into()
}

/// An error answer decided by a reader before the handler has a response to build: small, so
/// the readers' `Result`s stay cheap, and turned into a [`message`] (or a bare sub-code)
/// response at the end.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub status: StatusCode,
    pub text: String,
    /// A bare numeric sub-code body (`4034`) instead of the message.
    pub sub_code: Option<u32>,
}

impl Refusal {
    pub(crate) fn new(status: StatusCode, text: &str) -> Refusal {
        Refusal { status, text: text.to_owned(), sub_code: None }
    }

    /// 400 for a value the endpoint cannot read.
    pub(crate) fn bad_value(value: &str, name: &str) -> Refusal {
        Refusal::new(StatusCode::BAD_REQUEST, &format!("The value '{value}' is not valid for {name}."))
    }

    /// A bare numeric sub-code, such as 403 `4034`.
    pub(crate) fn code(status: StatusCode, sub_code: u32) -> Refusal {
        Refusal { status, text: String::new(), sub_code: Some(sub_code) }
    }

    /// 404 for an object that does not exist.
    pub(crate) fn not_found(what: &str) -> Refusal {
        Refusal::new(StatusCode::NOT_FOUND, &format!("{what} not found"))
    }
}

impl From<Refusal> for Response {
    fn from(refusal: Refusal) -> Response {
        match refusal.sub_code {
            Some(c) => code(refusal.status, c),
            None => message(refusal.status, &refusal.text),
        }
    }
}

/// 404 for an object that does not exist (or that the caller may not see).
pub(crate) fn not_found(what: &str) -> Response {
    message(StatusCode::NOT_FOUND, &format!("{what} not found"))
}

/// 404 for a path no route matches, in ASP.NET Web API's words.
pub(crate) fn no_route() -> Response {
    message(StatusCode::NOT_FOUND, "No HTTP resource was found that matches the request URI.")
}

/// 405 naming the methods the path does support.
pub(crate) fn method_not_allowed(method: &str, allowed: &[&str]) -> Response {
    let text = format!("The requested resource does not support http method '{method}'.");
    let mut response = message(StatusCode::METHOD_NOT_ALLOWED, &text);
    if let Ok(allow) = HeaderValue::from_str(&allowed.join(", ")) {
        response.headers_mut().insert(header::ALLOW, allow);
    }
    response
}

/// A list answered either as a bare array or, when `wrapped`, as `{TotalCount, Data}` with the
/// total before paging (reference §5).
pub(crate) fn list(page: Vec<Value>, total: usize, wrapped: bool) -> Value {
    if wrapped { serde_json::json!({ "TotalCount": total, "Data": page }) } else { Value::Array(page) }
}
