//! Routing: every documented endpoint of the catalog is a route, answered as its model's
//! `serve:` says, by the table-driven resources (`resources`) or by a named behaviour
//! (`behaviours`); Authentication's three endpoints, which the session itself depends on, are
//! this module's own rows. A path that fits a documented route with another method answers 405
//! naming the documented methods; only a path no documented route fits gets the "no route" 404.
//! Knows nothing of listeners or TLS; `server` mounts [`router`] on a socket.
//!
//! Paths are matched after normalisation: either documented base path, in any case, with any
//! number of trailing slashes, and literal segments compared ignoring ASCII case, because IIS
//! routes case-insensitively and clients rely on it (`Auth/SignAppIn`, `managedaccounts`,
//! `secrets-safe/secrets`, `beyondtrust/api/public/V3`). A `{param}` segment matches any one
//! non-empty segment and reaches the handler percent-decoded, its case kept. Where two
//! templates fit a path, the one with more literal segments wins, as a server's typed routes
//! decide (`Secrets-Safe/Safes/Safe-Permissions` is not the safe named "Safe-Permissions").

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::app::{App, Principal};
use super::behaviours;
use super::call::{Call, Query};
use super::fault::Fault;
use super::{auth, reply};
use crate::catalog::endpoints::fit;
use crate::catalog::model::ServeOp;

/// The documented base path.
pub(crate) const BASE_PATH: &str = "/BeyondTrust/api/public/v3";
/// Base paths accepted, lower-cased: the current one and the legacy one still documented.
const BASES: &[&str] = &["/beyondtrust/api/public/v3", "/eeye.retinacs.server/api/public/v3"];
/// Largest request body read; every body the API takes is far smaller.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// Answers one routed call.
pub(crate) type Handler = fn(&App, &Call) -> Response;

/// Authentication's routes, which need no session (they make one).
static AUTH: &[(&str, &str, Handler)] = &[
    ("POST", "Auth/SignAppin", auth::sign_appin),
    ("POST", "Auth/Signout", auth::sign_out),
    ("POST", "Auth/Connect/Token", auth::connect_token),
];

/// Where a request lands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Landing {
    /// A documented endpoint, served.
    Served,
    /// A documented path, but not with this method (405).
    OtherMethod,
    /// Nothing documented fits (the "no route" 404).
    Unsimulated,
}

/// The whole API as one axum router: every request goes through [`dispatch`].
pub(crate) fn router(app: Arc<App>) -> axum::Router {
    axum::Router::new().fallback(dispatch).with_state(app)
}

/// The path below an accepted base, lower-case base matched, trailing slashes dropped; `None`
/// when the path is outside every base.
fn below_base(path: &str) -> Option<&str> {
    let path = path.trim_end_matches('/');
    let rest = BASES.iter().find_map(|base| {
        let head = path.get(..base.len())?;
        head.eq_ignore_ascii_case(base).then(|| &path[base.len()..])
    })?;
    // `/BeyondTrust/api/public/v3x` is not under the base.
    (rest.is_empty() || rest.starts_with('/')).then_some(rest)
}

/// Whether the literal segments of `template` are spelled exactly as in `path` (the
/// `routes-case-sensitive` fault).
fn spelled_exactly(template: &str, path: &str) -> bool {
    template.split('/').zip(path.split('/')).all(|(t, p)| (t.starts_with('{') && t.ends_with('}')) || t == p)
}

/// The values of a route's `{param}` segments in a path, percent-decoded.
pub(crate) fn route_params(template: &str, path: &str) -> Vec<String> {
    template
        .split('/')
        .zip(path.split('/').filter(|s| !s.is_empty()))
        .filter(|(t, _)| t.starts_with('{'))
        .map(|(_, p)| percent_encoding::percent_decode_str(p).decode_utf8_lossy().into_owned())
        .collect()
}

/// Where a method and a path (below the base, without a leading slash) land.
pub(crate) fn landing(app: &App, method: &str, path: &str) -> Landing {
    if AUTH.iter().any(|(m, t, _)| *m == method && fit(t, path).is_some()) || app.catalog.doc_of(method, path).is_some()
    {
        return Landing::Served;
    }
    if !allowed(app, path).is_empty() { Landing::OtherMethod } else { Landing::Unsimulated }
}

/// The documented methods of the routes a path fits, in the catalog's order.
fn allowed(app: &App, path: &str) -> Vec<&'static str> {
    let catalog = app.catalog;
    let mut methods: Vec<&'static str> = Vec::new();
    let routes = AUTH.iter().map(|(m, t, _)| (*m, *t));
    let documented = catalog.endpoints.iter().chain(&catalog.unverified).map(|e| (e.method.as_str(), e.route.as_str()));
    for (m, t) in routes.chain(documented) {
        if fit(t, path).is_some() && !methods.contains(&m) {
            methods.push(m);
        }
    }
    methods
}

pub(crate) async fn dispatch(State(app): State<Arc<App>>, req: Request) -> Response {
    let Some(rest) = below_base(req.uri().path()) else {
        return reply::no_route();
    };
    // A disabled API version answers 410 for everything under its base path.
    if app.state.api_version_disabled && !app.has(Fault::VersionDisabledIgnored) {
        return reply::message(StatusCode::GONE, "API version has been disabled");
    }
    let path = rest.trim_start_matches('/').to_owned();
    let method = req.method().as_str().to_owned();
    if let Some((_, template, handler)) = AUTH.iter().find(|(m, t, _)| *m == method && fit(t, &path).is_some()) {
        let call = call_of(req, template, &path, Principal::RunAs, None).await;
        return handler(&app, &call);
    }
    let Some(doc) = app.catalog.doc_of(&method, &path) else {
        let methods = allowed(&app, &path);
        if methods.is_empty() {
            return reply::no_route();
        }
        return reply::method_not_allowed(&method, &methods);
    };
    // The deliberate deviation leaves Authentication alone, so a client can still sign in and
    // meet the case-sensitive routes it is about.
    if app.has(Fault::RoutesCaseSensitive) && !spelled_exactly(&doc.route, &path) {
        return reply::no_route();
    }
    let principal = match auth::live_session(&app, req.headers(), req.version()) {
        Some(p) => p,
        None if app.has(Fault::Unauthenticated200) => Principal::RunAs,
        None => return auth::not_authenticated(&app),
    };
    let call = call_of(req, &doc.route, &path, principal, Some(doc)).await;
    // A documented query parameter its type cannot read is 400, as ASP.NET's binding answers,
    // whoever serves the endpoint.
    if let Some(refusal) = super::resources::check_query(doc, &call) {
        return refusal;
    }
    match doc.serve.as_ref().map(|s| &s.op) {
        Some(ServeOp::Behaviour(name)) => match behaviours::handler(name) {
            Some(handler) => handler(&app, &call),
            None => behaviours::documented(&app, &call),
        },
        Some(_) => super::resources::answer(&app, doc, &call),
        None => behaviours::documented(&app, &call),
    }
}

/// The call a handler sees: the route's parameters, the query, the body read up front.
async fn call_of(
    req: Request,
    template: &str,
    path: &str,
    principal: Principal,
    doc: Option<&'static crate::catalog::EndpointDoc>,
) -> Call {
    let query = Query::parse(req.uri().query());
    let (parts, body) = req.into_parts();
    let body = if matches!(parts.method.as_str(), "POST" | "PUT" | "DELETE" | "PATCH") {
        axum::body::to_bytes(body, MAX_BODY_BYTES).await.ok()
    } else {
        Some(axum::body::Bytes::new())
    };
    Call {
        headers: parts.headers,
        version: parts.version,
        query,
        params: route_params(template, path),
        body,
        principal,
        doc,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_below_either_base_in_any_case() {
        assert_eq!(below_base("/BeyondTrust/api/public/v3/Auth/SignAppin"), Some("/Auth/SignAppin"));
        assert_eq!(below_base("/beyondtrust/api/public/V3/auth/signappin//"), Some("/auth/signappin"));
        assert_eq!(below_base("/eEye.RetinaCS.Server/api/public/v3/Auth/SignAppin"), Some("/Auth/SignAppin"));
        assert_eq!(below_base("/"), None);
        assert_eq!(below_base("/BeyondTrust/api/public/v31/Auth/SignAppin"), None);
        assert_eq!(below_base("/BeyondTrust/api/public/v3"), Some(""));
    }

    #[test]
    fn parameters_are_decoded_and_keep_their_case() {
        assert_eq!(route_params("Workgroups/{workgroupId}/Assets", "Workgroups/My%20Group/Assets"), ["My Group"]);
        assert_eq!(
            route_params("Secrets-Safe/Secrets/{secretId}/File/Download", "secrets-safe/secrets/AbC/file/download"),
            ["AbC"]
        );
    }

    #[test]
    fn exact_spelling_is_checked_on_literal_segments_only() {
        assert!(spelled_exactly("ManagedSystems/{managedSystemId}", "ManagedSystems/abc"));
        assert!(!spelled_exactly("ManagedSystems/{managedSystemId}", "managedsystems/abc"));
    }

    #[test]
    fn every_documented_endpoint_lands_somewhere_served() {
        let app = App::new(
            super::super::config::SimConfig::new(crate::settings::Settings::default()),
            super::super::config::Approver::demo(),
            false,
        );
        for e in app.catalog.endpoints.iter().chain(&app.catalog.unverified) {
            let path: Vec<String> =
                e.route.split('/').map(|s| if s.starts_with('{') { "1".to_owned() } else { s.to_owned() }).collect();
            assert_eq!(landing(&app, &e.method, &path.join("/")), Landing::Served, "{} {}", e.method, e.route);
        }
        assert_eq!(landing(&app, "GET", "Requests/1/Checkin"), Landing::OtherMethod);
        assert_eq!(landing(&app, "GET", "No/Such/Route"), Landing::Unsimulated);
        assert_eq!(allowed(&app, "Requests"), ["GET", "POST"]);
    }

    #[tokio::test]
    async fn a_literal_segment_wins_over_a_parameter() {
        let me = super::super::testing::Client::new(super::super::data::DataVariant::Standard).await;
        let (status, types) = me.json("GET", "Secrets-Safe/Safes/Safe-Permissions", None).await;
        assert_eq!(status, 200, "not the safe named Safe-Permissions: {types}");
        assert!(
            types.as_array().is_some_and(|t| !t.is_empty() && t.iter().all(|x| x.get("PermissionName").is_some())),
            "{types}"
        );
        assert_eq!(
            me.json("GET", "Requests?status=approved", None).await.0,
            400,
            "a value the documented enum refuses"
        );
        assert_eq!(me.json("GET", "ManagedSystems?limit=x", None).await.0, 400, "an integer that is not one");
    }
}
