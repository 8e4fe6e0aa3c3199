//! Authentication (reference §1, §7.2 to §7.5): `POST Auth/SignAppin` with `PS-Auth` or
//! `Bearer`, the `ASP.NET_SessionId` cookie session with its idle timeout, `POST Auth/Signout`,
//! `POST Auth/Connect/Token`, and the session-only `GET Configuration/Version`. Also the
//! session check every other area relies on ([`live_session`], [`not_authenticated`]).

use std::time::Instant;

use axum::body::Body;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::{StatusCode, Version};
use axum::response::Response;
use rand::Rng as _;
use secrecy::ExposeSecret as _;
use serde_json::{Value, json};

use super::app::{App, Principal};
use super::call::Call;
use super::config::random_alphanumeric;
use super::fault::Fault;
use super::psauth::{self, Credentials};
use super::reply;

/// The body of every 401 for a missing, unknown or dead session, as real servers send it.
pub(crate) const NOT_AUTHENTICATED: &str = "User not authenticated";

/// The user ids of the run-as user, of the OAuth application user and of the approver.
pub(crate) const RUNAS_USER_ID: i64 = 7;
pub(crate) const APP_USER_ID: i64 = 8;
pub(crate) const APPROVER_USER_ID: i64 = 12;
/// The run-as user's directory SID (the sparse data variant has a local user without one).
pub(crate) const RUNAS_SID: &str = "S-1-5-21-1004336348-1177238915-682003330-1107";
const SESSION_COOKIE: &str = "ASP.NET_SessionId";
const VERIFICATION_COOKIE: &str = "__RequestVerificationToken";
/// Largest Connect/Token body read; a client-credentials form is far smaller.
const MAX_FORM_BYTES: usize = 16 * 1024;

// ---------------------------------------------------------------------------------------------
// Auth/SignAppin

pub(crate) fn sign_appin(app: &App, call: &Call) -> Response {
    let principal = match authenticate(app, &call.headers) {
        Ok(p) => p,
        Err(why) => {
            tracing::debug!(reason = why, "SignAppin refused");
            return reply::message(StatusCode::UNAUTHORIZED, NOT_AUTHENTICATED);
        }
    };
    // The registration's address rules apply once the key has been recognised.
    if app.state.source_address_rejected {
        tracing::debug!("SignAppin refused: source address not in the registration's rules");
        return reply::message(StatusCode::UNAUTHORIZED, NOT_AUTHENTICATED);
    }
    // The licence is checked after authentication, so unauthenticated callers learn nothing
    // about it and a bad key still reads as 401.
    if app.state.licence_invalid && !app.has(Fault::LicenceIgnored) {
        return reply::message(StatusCode::FORBIDDEN, "Password Safe license is not valid");
    }

    let mut rng = rand::rng();
    let now = Instant::now();
    let session_id: String =
        (0..24).map(|_| char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[rng.random_range(0..36)])).collect();
    let expires_at = session_expiry(app, now);
    app.sessions.insert(session_id.clone(), principal, expires_at, now);

    let mut response = reply::ok(&user_model(app, principal));
    if app.has(Fault::SigninHtmlContentType) {
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    }
    if !app.has(Fault::SigninNoCookie) {
        let secure = if app.tls { " secure;" } else { "" };
        let http_only = if app.has(Fault::CookieNotHttponly) { "" } else { " HttpOnly;" };
        let verification = random_alphanumeric(&mut rng, 64);
        let cookies = [
            format!("{SESSION_COOKIE}={session_id}; path=/;{secure}{http_only} SameSite=Lax"),
            format!("{VERIFICATION_COOKIE}={verification}; path=/;{secure}{http_only}"),
        ];
        for cookie in cookies {
            let cookie = cookie.trim_end_matches(';').to_owned();
            let value = HeaderValue::try_from(cookie).expect("cookie text is visible ASCII");
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

/// Checks the `Authorization` header of a sign-in; the error says why, for the log only.
fn authenticate(app: &App, headers: &HeaderMap) -> Result<Principal, &'static str> {
    let header = headers.get(header::AUTHORIZATION).ok_or("no Authorization header")?;
    let header = header.to_str().map_err(|_| "Authorization header is not visible ASCII")?;
    match psauth::parse(header).map_err(|_| "Authorization header is garbled")? {
        Credentials::PsAuth(ps) => {
            let key_ok = app.settings.api_key.as_ref().is_some_and(|k| k.expose_secret() == ps.key);
            if !key_ok && !app.has(Fault::SigninAcceptsBadKey) {
                return Err("wrong API key");
            }
            let named = |known: Option<&str>| ps.runas.zip(known).is_some_and(|(g, k)| g.eq_ignore_ascii_case(k));
            // The approver signs in with the same key as a second identity.
            let (principal, password) = if named(app.settings.runas.as_deref()) {
                (Principal::RunAs, app.settings.runas_password.as_ref())
            } else if named(Some(&app.approver.runas)) {
                (Principal::Approver, Some(&app.approver.password))
            } else {
                return Err("run-as user missing or not allowed for this key");
            };
            let checked = app.state.password_required || principal == Principal::Approver && ps.pwd.is_some();
            if checked && !app.has(Fault::SigninIgnoresPassword) {
                let pwd_ok = match (ps.pwd, password) {
                    (Some(given), Some(known)) => given == known.expose_secret(),
                    _ => false,
                };
                if !pwd_ok {
                    return Err("run-as password missing or wrong");
                }
            }
            Ok(principal)
        }
        Credentials::Bearer(token) => {
            let live = app.tokens.get(token, Instant::now(), None).is_some();
            if live || app.has(Fault::BearerInvalidAccepted) {
                Ok(Principal::App)
            } else {
                Err("unknown or expired Bearer token")
            }
        }
    }
}

/// The user model of a sign-in, with the faults that bend it.
///
/// The run-as user is a directory user with a SID, except in the sparse data variant, where it
/// is a local BeyondInsight user (`SID: null`, no e-mail address). The application user (OAuth)
/// has `SID: null` like other non-directory users, and its UserName is the client id, which is
/// what identifies it (reference §1.1).
fn user_model(app: &App, principal: Principal) -> Value {
    let sparse = app.data.sparse();
    let (id, sid, email, username, name) = match principal {
        Principal::RunAs => {
            let runas = app.settings.runas.clone().unwrap_or_default();
            let local = runas.rsplit('\\').next().unwrap_or_default().to_owned();
            let sid = if sparse { Value::Null } else { Value::from(RUNAS_SID) };
            let email = if sparse { String::new() } else { format!("{local}@example.com") };
            (RUNAS_USER_ID, sid, email, runas, "PSConform Run-As User")
        }
        Principal::App => {
            let email = if app.data.extras() { "psconform-app@example.com".to_owned() } else { String::new() };
            let client_id = app.settings.client_id.clone().unwrap_or_default();
            (APP_USER_ID, Value::Null, email, client_id, "PSConform Application User")
        }
        Principal::Approver => {
            let email = if sparse { String::new() } else { "psconform-approver@example.com".to_owned() };
            (APPROVER_USER_ID, Value::Null, email, app.approver.runas.clone(), "PSConform Approver")
        }
    };
    let username = if app.has(Fault::SigninWrongUsername) { format!("not-{username}") } else { username };
    let mut model = json!({
        "UserId": id,
        "SID": sid,
        "EmailAddress": email,
        "UserName": username,
        "Name": name,
    });
    if app.has(Fault::SigninMissingUserid) {
        if let Some(obj) = model.as_object_mut() {
            obj.remove("UserId");
        }
    } else if app.has(Fault::SigninUseridAsString) {
        model["UserId"] = Value::from(id.to_string());
    }
    model
}

fn session_expiry(app: &App, now: Instant) -> Option<Instant> {
    if app.has(Fault::SessionNeverExpires) { None } else { Some(now + app.state.idle_timeout) }
}

// ---------------------------------------------------------------------------------------------
// Sessions

/// The live session of a request, if any; using it refreshes its idle timer.
pub(crate) fn live_session(app: &App, headers: &HeaderMap, version: Version) -> Option<Principal> {
    let session_id = session_cookie(headers, version)?;
    let renew = |now: Instant| session_expiry(app, now);
    app.sessions.get(session_id, Instant::now(), Some(&renew))
}

/// The `ASP.NET_SessionId` cookie value.
///
/// Over HTTP/1.x only the first `Cookie` header line counts, as on IIS (a client replaying each
/// `Set-Cookie` as its own `Cookie` line is not signed in there either). HTTP/2 allows the
/// cookie header to be split into several fields, so there every line counts.
fn session_cookie(headers: &HeaderMap, version: Version) -> Option<&str> {
    let lines = headers.get_all(header::COOKIE).into_iter();
    let take = if version == Version::HTTP_2 { usize::MAX } else { 1 };
    lines
        .take(take)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|line| line.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case(SESSION_COOKIE))
        .map(|(_, value)| value.trim())
}

/// The 401 for a call without a live session.
pub(crate) fn not_authenticated(app: &App) -> Response {
    if app.has(Fault::UnauthenticatedHtmlBody) {
        let mut response = Response::new(Body::from(
            "<!DOCTYPE html><html><head><title>401 - Unauthorized</title></head>\
             <body><h1>401 - Unauthorized: Access is denied due to invalid credentials.</h1>\
             </body></html>",
        ));
        *response.status_mut() = StatusCode::UNAUTHORIZED;
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
        return response;
    }
    reply::message(StatusCode::UNAUTHORIZED, NOT_AUTHENTICATED)
}

// ---------------------------------------------------------------------------------------------
// Auth/Signout and Configuration/Version

pub(crate) fn sign_out(app: &App, call: &Call) -> Response {
    if app.has(Fault::Signout500) {
        return reply::message(StatusCode::INTERNAL_SERVER_ERROR, "An error has occurred.");
    }
    // Signing out of no session, or of a dead one, is still a success: clients fire Signout
    // after every failure and must never see a 5xx for it.
    if !app.has(Fault::SignoutKeepsSession)
        && let Some(session_id) = session_cookie(&call.headers, call.version)
    {
        app.sessions.remove(session_id);
    }
    Response::new(Body::empty())
}

pub(crate) fn configuration_version(app: &App, _call: &Call) -> Response {
    reply::ok(&json!({ "Version": app.profile.product_version() }))
}

// ---------------------------------------------------------------------------------------------
// Auth/Connect/Token

pub(crate) fn connect_token(app: &App, call: &Call) -> Response {
    let is_form = call
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"));
    if !is_form {
        // IdentityServer-style token endpoints answer a non-form body with invalid_request.
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
    }
    let Some(body) = call.body.as_ref().filter(|b| b.len() <= MAX_FORM_BYTES) else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
    };
    let form = match TokenForm::parse(body) {
        Ok(form) => form,
        Err(error) => return oauth_error(StatusCode::BAD_REQUEST, error),
    };
    let id_ok = app.settings.client_id.as_deref() == Some(form.client_id.as_str());
    let secret_ok = app.settings.client_secret.as_ref().is_some_and(|s| s.expose_secret() == form.client_secret);
    if !id_ok || !(secret_ok || app.has(Fault::TokenAcceptsBadSecret)) {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    }

    let now = Instant::now();
    let token_bytes: [u8; 32] = rand::rng().random();
    let token: String = token_bytes.iter().map(|b| format!("{b:02X}")).collect();
    app.tokens.insert(token.clone(), (), Some(now + app.state.token_lifetime), now);

    let lifetime = app.state.token_lifetime.as_secs();
    let mut body = json!({
        "access_token": token,
        "expires_in": lifetime,
        "token_type": if app.has(Fault::TokenTypeLowercase) { "bearer" } else { "Bearer" },
        "scope": if app.has(Fault::TokenWrongScope) { "openid" } else { "publicapi" },
    });
    if app.has(Fault::TokenMissingExpiresIn) {
        if let Some(obj) = body.as_object_mut() {
            obj.remove("expires_in");
        }
    } else if app.has(Fault::TokenExpiresInString) {
        body["expires_in"] = Value::from(lifetime.to_string());
    }
    let mut response = reply::ok(&body);
    no_store(response.headers_mut());
    response
}

/// The fields of a client-credentials request. Names are matched case-insensitively, as a .NET
/// form collection does.
#[derive(Debug, PartialEq, Eq)]
struct TokenForm {
    client_id: String,
    client_secret: String,
}

impl TokenForm {
    /// The form, or the OAuth error code to answer with.
    fn parse(body: &[u8]) -> Result<TokenForm, &'static str> {
        let (mut grant_type, mut client_id, mut client_secret) = (None, None, None);
        for (name, value) in url::form_urlencoded::parse(body) {
            let slot = match name.to_ascii_lowercase().as_str() {
                "grant_type" => &mut grant_type,
                "client_id" => &mut client_id,
                "client_secret" => &mut client_secret,
                _ => continue,
            };
            // RFC 6749 §3.2: request parameters must not be repeated.
            if slot.replace(value.into_owned()).is_some() {
                return Err("invalid_request");
            }
        }
        let grant_type = grant_type.filter(|g| !g.is_empty()).ok_or("invalid_request")?;
        if grant_type != "client_credentials" {
            return Err("unsupported_grant_type");
        }
        match (client_id, client_secret) {
            (Some(client_id), Some(client_secret)) if !client_id.is_empty() && !client_secret.is_empty() => {
                Ok(TokenForm { client_id, client_secret })
            }
            _ => Err("invalid_request"),
        }
    }
}

fn oauth_error(status: StatusCode, error: &str) -> Response {
    let mut response = reply::json(status, &json!({ "error": error }));
    no_store(response.headers_mut());
    response
}

/// RFC 6749 §5.1: token responses must not be cached.
fn no_store(headers: &mut HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_form_fields_in_any_order_and_case() {
        let ok = TokenForm { client_id: "id".into(), client_secret: "s e".into() };
        assert_eq!(TokenForm::parse(b"client_id=id&client_secret=s+e&grant_type=client_credentials"), Ok(ok));
        assert_eq!(
            TokenForm::parse(b"Grant_Type=client_credentials&CLIENT_SECRET=s%20e&client_id=id"),
            Ok(TokenForm { client_id: "id".into(), client_secret: "s e".into() })
        );
    }

    #[test]
    fn token_form_errors() {
        assert_eq!(TokenForm::parse(b""), Err("invalid_request"));
        assert_eq!(TokenForm::parse(b"client_id=a&client_secret=b"), Err("invalid_request"));
        assert_eq!(TokenForm::parse(b"grant_type=password&client_id=a&client_secret=b"), Err("unsupported_grant_type"));
        assert_eq!(TokenForm::parse(b"grant_type=client_credentials&client_id=a"), Err("invalid_request"));
        assert_eq!(
            TokenForm::parse(b"grant_type=client_credentials&client_id=a&client_id=b&client_secret=c"),
            Err("invalid_request")
        );
    }

    #[test]
    fn session_cookie_reading() {
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, HeaderValue::from_static("__RequestVerificationToken=x"));
        h.append(header::COOKIE, HeaderValue::from_static("ASP.NET_SessionId=abc"));
        assert_eq!(session_cookie(&h, Version::HTTP_11), None);
        assert_eq!(session_cookie(&h, Version::HTTP_2), Some("abc"));
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("a=b; asp.net_sessionid=xyz; c=d"));
        assert_eq!(session_cookie(&h, Version::HTTP_11), Some("xyz"));
    }
}
