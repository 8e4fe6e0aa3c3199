//! The HTTP behaviour of the simulator: path normalisation, routing, authentication, the
//! session and token lifecycle, and where each [`Fault`] bends the answer. Knows nothing of
//! listeners or TLS setup; `server` mounts [`router`] on a socket.
//!
//! Routing is done by hand after normalising the path (lower-cased, trailing `/` removed, either
//! base prefix accepted) because IIS routes case-insensitively and clients rely on it
//! (`Auth/SignAppIn`, `Auth/signappin`, `auth/connect/token`, `beyondtrust/api/public/V3`).

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::{Method, StatusCode, Version};
use axum::response::Response;
use rand::Rng as _;
use secrecy::ExposeSecret as _;
use serde_json::{Value, json};

use super::config::{SimConfig, SimState, random_alphanumeric};
use super::fault::{Fault, FaultSet};
use super::psauth::{self, Credentials};
use super::store::{DEFAULT_CAP, Store};
use crate::settings::Settings;

/// The documented base path, lower-cased for matching.
pub(crate) const BASE_PATH: &str = "/BeyondTrust/api/public/v3";
/// Base paths accepted, lower-cased: the current one and the legacy one still documented.
const BASES: &[&str] = &["/beyondtrust/api/public/v3", "/eeye.retinacs.server/api/public/v3"];

/// Lifetime of an OAuth access token: the registration default of 60 minutes.
/// Largest Connect/Token body read; a client-credentials form is far smaller.
const MAX_FORM_BYTES: usize = 16 * 1024;

/// The body of every 401 for a missing, unknown or dead session, as real servers send it.
pub(crate) const NOT_AUTHENTICATED: &str = "User not authenticated";

/// The user model of the run-as user and of the OAuth application user.
const RUNAS_USER_ID: i64 = 7;
const APP_USER_ID: i64 = 8;
const RUNAS_SID: &str = "S-1-5-21-1004336348-1177238915-682003330-1107";
const SESSION_COOKIE: &str = "ASP.NET_SessionId";
const VERIFICATION_COOKIE: &str = "__RequestVerificationToken";

/// Shared state of one running simulator.
#[derive(Debug)]
pub(crate) struct App {
    settings: Settings,
    state: SimState,
    faults: FaultSet,
    /// Whether the listener is TLS, which decides the cookies' `secure` attribute.
    tls: bool,
    sessions: Store<Principal>,
    tokens: Store<()>,
    /// The release whose behaviour is modelled where releases differ.
    profile: super::profile::Profile,
    /// The value of the demo credentials in Secrets Safe: random, so it works as a canary.
    demo_secret: String,
}

/// Who a session belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Principal {
    /// Signed in with `PS-Auth`.
    RunAs,
    /// Signed in with `Bearer` (an application user).
    App,
}

impl App {
    pub(crate) fn new(config: SimConfig, tls: bool) -> Self {
        App {
            settings: config.settings,
            state: config.state,
            faults: FaultSet::new(&config.faults),
            tls,
            sessions: Store::new(DEFAULT_CAP),
            tokens: Store::new(DEFAULT_CAP),
            profile: config.profile,
            demo_secret: {
                use rand::Rng as _;
                let mut rng = rand::rng();
                (0..24).map(|_| char::from(rng.sample(rand::distr::Alphanumeric))).collect()
            },
        }
    }

    fn has(&self, fault: Fault) -> bool {
        self.faults.has(fault)
    }
}

/// The whole API as one axum router: every request goes through [`dispatch`].
pub(crate) fn router(app: Arc<App>) -> axum::Router {
    axum::Router::new().fallback(dispatch).with_state(app)
}

/// The endpoints, after path normalisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    SignAppin,
    Signout,
    ConnectToken,
    ConfigurationVersion,
    SecretsList,
}

impl Route {
    fn method(self) -> Method {
        match self {
            Route::ConfigurationVersion | Route::SecretsList => Method::GET,
            Route::SignAppin | Route::Signout | Route::ConnectToken => Method::POST,
        }
    }
}

/// Where a request path leads.
#[derive(Debug, PartialEq, Eq)]
enum Target {
    /// Outside every API base path.
    Elsewhere,
    /// Under an API base path; `None` when no endpoint matches.
    Api(Option<Route>),
}

/// Lower-cases the path, drops trailing slashes and strips a base prefix, then matches.
fn resolve(path: &str) -> Target {
    let path = path.to_ascii_lowercase();
    let path = path.trim_end_matches('/');
    let Some(rest) = BASES.iter().find_map(|base| path.strip_prefix(base)) else {
        return Target::Elsewhere;
    };
    let route = match rest {
        "/auth/signappin" => Some(Route::SignAppin),
        "/auth/signout" => Some(Route::Signout),
        "/auth/connect/token" => Some(Route::ConnectToken),
        "/configuration/version" => Some(Route::ConfigurationVersion),
        "/secrets-safe/secrets" => Some(Route::SecretsList),
        // `/BeyondTrust/api/public/v3x` is not under the base.
        r if !r.is_empty() && !r.starts_with('/') => return Target::Elsewhere,
        _ => None,
    };
    Target::Api(route)
}

async fn dispatch(State(app): State<Arc<App>>, req: Request) -> Response {
    let route = match resolve(req.uri().path()) {
        Target::Elsewhere => return not_found(),
        Target::Api(route) => route,
    };
    // A disabled API version answers 410 for everything under its base path.
    if app.state.api_version_disabled && !app.has(Fault::VersionDisabledIgnored) {
        return json_string(StatusCode::GONE, "API version has been disabled");
    }
    let Some(route) = route else {
        return not_found();
    };
    if req.method() != route.method() {
        return method_not_allowed(req.method(), route.method());
    }
    match route {
        Route::SignAppin => sign_appin(&app, req.headers()),
        Route::Signout => sign_out(&app, req.headers(), req.version()),
        Route::ConnectToken => connect_token(&app, req).await,
        Route::ConfigurationVersion => configuration_version(&app, req.headers(), req.version()),
        Route::SecretsList => secrets_list(&app, &req),
    }
}

// ---------------------------------------------------------------------------------------------
// Auth/SignAppin

fn sign_appin(app: &App, headers: &HeaderMap) -> Response {
    let principal = match authenticate(app, headers) {
        Ok(p) => p,
        Err(why) => {
            tracing::debug!(reason = why, "SignAppin refused");
            return json_string(StatusCode::UNAUTHORIZED, NOT_AUTHENTICATED);
        }
    };
    // The registration's address rules apply once the key has been recognised.
    if app.state.source_address_rejected {
        tracing::debug!("SignAppin refused: source address not in the registration's rules");
        return json_string(StatusCode::UNAUTHORIZED, NOT_AUTHENTICATED);
    }
    // The licence is checked after authentication, so unauthenticated callers learn nothing
    // about it and a bad key still reads as 401.
    if app.state.licence_invalid && !app.has(Fault::LicenceIgnored) {
        return json_string(StatusCode::FORBIDDEN, "Password Safe license is not valid");
    }

    let mut rng = rand::rng();
    let now = Instant::now();
    let session_id: String =
        (0..24).map(|_| char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[rng.random_range(0..36)])).collect();
    let expires_at = session_expiry(app, now);
    app.sessions.insert(session_id.clone(), principal, expires_at, now);

    let mut response = json_response(StatusCode::OK, &user_model(app, principal));
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
            let runas_ok = match (ps.runas, app.settings.runas.as_deref()) {
                (Some(given), Some(known)) => given.eq_ignore_ascii_case(known),
                _ => false,
            };
            if !runas_ok {
                return Err("run-as user missing or not allowed for this key");
            }
            if app.state.password_required && !app.has(Fault::SigninIgnoresPassword) {
                let pwd_ok = match (ps.pwd, app.settings.runas_password.as_ref()) {
                    (Some(given), Some(known)) => given == known.expose_secret(),
                    _ => false,
                };
                if !pwd_ok {
                    return Err("run-as password missing or wrong");
                }
            }
            Ok(Principal::RunAs)
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
/// The run-as user gets a string SID; the application user (OAuth) has `SID: null` like other
/// non-directory users, and its UserName is the client id, which is what identifies it.
fn user_model(app: &App, principal: Principal) -> Value {
    let (id, sid, email, username, name) = match principal {
        Principal::RunAs => {
            let runas = app.settings.runas.clone().unwrap_or_default();
            let local = runas.rsplit('\\').next().unwrap_or_default().to_owned();
            (RUNAS_USER_ID, Value::from(RUNAS_SID), format!("{local}@example.com"), runas, "PSConform Run-As User")
        }
        Principal::App => (
            APP_USER_ID,
            Value::Null,
            String::new(),
            app.settings.client_id.clone().unwrap_or_default(),
            "PSConform Application User",
        ),
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
fn live_session(app: &App, headers: &HeaderMap, version: Version) -> Option<Principal> {
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

fn not_authenticated(app: &App) -> Response {
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
    json_string(StatusCode::UNAUTHORIZED, NOT_AUTHENTICATED)
}

// ---------------------------------------------------------------------------------------------
// Auth/Signout and Configuration/Version

fn sign_out(app: &App, headers: &HeaderMap, version: Version) -> Response {
    if app.has(Fault::Signout500) {
        return json_string(StatusCode::INTERNAL_SERVER_ERROR, "An error has occurred.");
    }
    // Signing out of no session, or of a dead one, is still a success: clients fire Signout
    // after every failure and must never see a 5xx for it.
    if !app.has(Fault::SignoutKeepsSession)
        && let Some(session_id) = session_cookie(headers, version)
    {
        app.sessions.remove(session_id);
    }
    Response::new(Body::empty())
}

fn configuration_version(app: &App, headers: &HeaderMap, version: Version) -> Response {
    if live_session(app, headers, version).is_none() && !app.has(Fault::Unauthenticated200) {
        return not_authenticated(app);
    }
    json_response(StatusCode::OK, &json!({ "Version": app.profile.product_version() }))
}

// ---------------------------------------------------------------------------------------------
// Secrets-Safe/Secrets

fn secrets_list(app: &App, req: &Request) -> Response {
    if live_session(app, req.headers(), req.version()).is_none() && !app.has(Fault::Unauthenticated200) {
        return not_authenticated(app);
    }
    let query = super::secrets::ListQuery::parse(req.uri().query());
    match super::secrets::list(app.profile, &query, &app.demo_secret) {
        Ok(body) => json_response(StatusCode::OK, &body),
        Err(super::secrets::BadRequest(message)) => json_string(StatusCode::BAD_REQUEST, &message),
    }
}

// ---------------------------------------------------------------------------------------------
// Auth/Connect/Token

async fn connect_token(app: &App, req: Request) -> Response {
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"));
    if !is_form {
        // IdentityServer-style token endpoints answer a non-form body with invalid_request.
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
    }
    let Ok(body) = axum::body::to_bytes(req.into_body(), MAX_FORM_BYTES).await else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
    };
    let form = match TokenForm::parse(&body) {
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
    let mut response = json_response(StatusCode::OK, &body);
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
    let mut response = json_response(status, &json!({ "error": error }));
    no_store(response.headers_mut());
    response
}

/// RFC 6749 §5.1: token responses must not be cached.
fn no_store(headers: &mut HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

// ---------------------------------------------------------------------------------------------
// Plain responses

fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
    response
}

/// An error body as real servers send it: a JSON string literal.
fn json_string(status: StatusCode, message: &str) -> Response {
    json_response(status, &Value::from(message))
}

fn not_found() -> Response {
    json_string(StatusCode::NOT_FOUND, "No HTTP resource was found that matches the request URI.")
}

fn method_not_allowed(method: &Method, allowed: Method) -> Response {
    let message = format!("The requested resource does not support http method '{method}'.");
    let mut response = json_string(StatusCode::METHOD_NOT_ALLOWED, &message);
    let allow = HeaderValue::from_str(allowed.as_str()).expect("a standard method name is a valid header");
    response.headers_mut().insert(header::ALLOW, allow);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_resolve_case_insensitively_with_trailing_slashes() {
        let sign_in = Target::Api(Some(Route::SignAppin));
        assert_eq!(resolve("/BeyondTrust/api/public/v3/Auth/SignAppin"), sign_in);
        assert_eq!(resolve("/BeyondTrust/api/public/v3/Auth/SignAppIn/"), sign_in);
        assert_eq!(resolve("/beyondtrust/api/public/V3/auth/signappin//"), sign_in);
        assert_eq!(resolve("/eEye.RetinaCS.Server/api/public/v3/Auth/SignAppin"), sign_in);
        assert_eq!(resolve("/BeyondTrust/api/public/v3/Auth/connect/token"), Target::Api(Some(Route::ConnectToken)));
        assert_eq!(
            resolve("/BeyondTrust/api/public/v3/configuration/version"),
            Target::Api(Some(Route::ConfigurationVersion))
        );
    }

    #[test]
    fn unknown_paths() {
        assert_eq!(resolve("/"), Target::Elsewhere);
        assert_eq!(resolve("/BeyondTrust/api/public/v31/Auth/SignAppin"), Target::Elsewhere);
        assert_eq!(resolve("/BeyondTrust/api/public/v3"), Target::Api(None));
        assert_eq!(resolve("/BeyondTrust/api/public/v3/Auth"), Target::Api(None));
        assert_eq!(resolve("/BeyondTrust/api/public/v3/Auth/SignAppin/x"), Target::Api(None));
    }

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
