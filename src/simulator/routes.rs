//! The route table and dispatch: every endpoint the simulator serves is one row of [`ROUTES`]
//! (method, path template, whether it needs a session, handler). Knows nothing of listeners or
//! TLS; `server` mounts [`router`] on a socket, and each area module answers its own rows.
//!
//! Paths are matched after normalisation: either documented base path, in any case, with any
//! number of trailing slashes, and template segments compared ignoring ASCII case, because IIS
//! routes case-insensitively and clients rely on it (`Auth/SignAppIn`, `managedaccounts`,
//! `secrets-safe/secrets`, `beyondtrust/api/public/V3`; reference §0, §7.1). A `{id}` segment
//! matches any one non-empty segment and reaches the handler percent-decoded, its case kept.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::app::{App, Principal};
use super::call::{Call, Query};
use super::fault::Fault;
use super::{auth, lookups, managed, reply, requests, secrets_safe};

/// The documented base path.
pub(crate) const BASE_PATH: &str = "/BeyondTrust/api/public/v3";
/// Base paths accepted, lower-cased: the current one and the legacy one still documented.
const BASES: &[&str] = &["/beyondtrust/api/public/v3", "/eeye.retinacs.server/api/public/v3"];
/// Largest request body read; every body the API takes is far smaller.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// Answers one routed call.
pub(crate) type Handler = fn(&App, &Call) -> Response;

/// One endpoint.
#[derive(Debug)]
pub(crate) struct Route {
    pub method: &'static str,
    /// The path below the base, in the documentation's spelling, with `{id}` placeholders.
    pub template: &'static str,
    /// Whether the call needs a live session (401 `"User not authenticated"` without one).
    pub session: bool,
    pub handler: Handler,
}

const fn open(method: &'static str, template: &'static str, handler: Handler) -> Route {
    Route { method, template, session: false, handler }
}

const fn get(template: &'static str, handler: Handler) -> Route {
    Route { method: "GET", template, session: true, handler }
}

const fn post(template: &'static str, handler: Handler) -> Route {
    Route { method: "POST", template, session: true, handler }
}

const fn put(template: &'static str, handler: Handler) -> Route {
    Route { method: "PUT", template, session: true, handler }
}

/// Every endpoint, in the documentation's spelling. Where two templates could match the same
/// path, the earlier row wins (`Requests/Release/{id}` before `Requests/{id}/Checkin`).
pub(crate) static ROUTES: &[Route] = &[
    // Authentication (reference §1)
    open("POST", "Auth/SignAppin", auth::sign_appin),
    open("POST", "Auth/Signout", auth::sign_out),
    open("POST", "Auth/Connect/Token", auth::connect_token),
    get("Configuration/Version", auth::configuration_version),
    // Managed accounts and systems (reference §2.1, §5)
    get("ManagedAccounts", managed::list_accounts),
    get("ManagedSystems", managed::list_systems),
    get("ManagedSystems/{id}", managed::get_system),
    get("ManagedSystems/{id}/ManagedAccounts", managed::system_accounts),
    // Release requests and credentials (reference §2.2 to §2.5)
    post("Requests", requests::create),
    get("Requests", requests::list),
    put("Requests/Release/{id}", requests::check_in),
    put("Requests/{id}/Checkin", requests::check_in),
    get("Credentials/{id}", requests::credentials),
    // Secrets Safe (reference §3)
    get("Secrets-Safe/Secrets", secrets_safe::list_secrets),
    get("Secrets-Safe/Secrets/{id}", secrets_safe::get_secret),
    get("Secrets-Safe/Secrets/{id}/text", secrets_safe::get_text),
    get("Secrets-Safe/Secrets/{id}/file", secrets_safe::get_file),
    get("Secrets-Safe/Secrets/{id}/file/download", secrets_safe::download_file),
    get("Secrets-Safe/Folders", secrets_safe::list_folders),
    get("Secrets-Safe/Folders/{id}", secrets_safe::get_folder),
    get("Secrets-Safe/Safes", secrets_safe::list_safes),
    get("Secrets-Safe/Safes/{id}", secrets_safe::get_safe),
    // Read-only lookups (BeyondInsight API; see `lookups`)
    get("Workgroups", lookups::list_workgroups),
    get("Workgroups/{id}", lookups::get_workgroup),
    get("Workgroups/{id}/Assets", lookups::workgroup_assets),
    get("Assets/{id}", lookups::get_asset),
    post("Assets/Search", lookups::search_assets),
    get("Users", lookups::list_users),
    get("Users/{id}", lookups::get_user),
    get("UserGroups", lookups::list_user_groups),
    get("UserGroups/{id}", lookups::get_user_group),
];

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

/// Whether `template` matches the path segments, and the `{id}` values if it does. Literal
/// segments compare ignoring ASCII case unless `exact_case`.
fn match_template(template: &str, segments: &[&str], exact_case: bool) -> Option<Vec<String>> {
    let parts: Vec<&str> = template.split('/').collect();
    if parts.len() != segments.len() {
        return None;
    }
    let mut params = Vec::new();
    for (part, segment) in parts.iter().zip(segments) {
        if *part == "{id}" {
            if segment.is_empty() {
                return None;
            }
            params.push(percent_encoding::percent_decode_str(segment).decode_utf8_lossy().into_owned());
        } else if !(if exact_case { part == segment } else { part.eq_ignore_ascii_case(segment) }) {
            return None;
        }
    }
    Some(params)
}

/// How many segments of a template are literal (not `{…}`).
fn literal_segments(template: &str) -> usize {
    template.split('/').filter(|s| !s.is_empty() && !s.starts_with('{')).count()
}

/// The routes a path matches (any method), each with its `{id}` values.
fn matching(app: &App, rest: &str) -> Vec<(&'static Route, Vec<String>)> {
    let rest = rest.strip_prefix('/').unwrap_or(rest);
    let segments: Vec<&str> = rest.split('/').collect();
    ROUTES
        .iter()
        .filter_map(|route| {
            // The deliberate deviation leaves Authentication alone, so a client can still sign in
            // and meet the case-sensitive routes it is about.
            let exact = app.has(Fault::RoutesCaseSensitive) && !route.template.starts_with("Auth/");
            match_template(route.template, &segments, exact).map(|params| (route, params))
        })
        .collect()
}

async fn dispatch(State(app): State<Arc<App>>, req: Request) -> Response {
    let Some(rest) = below_base(req.uri().path()) else {
        return reply::no_route();
    };
    // A disabled API version answers 410 for everything under its base path.
    if app.state.api_version_disabled && !app.has(Fault::VersionDisabledIgnored) {
        return reply::message(StatusCode::GONE, "API version has been disabled");
    }
    let candidates = matching(&app, rest);
    let method = req.method().as_str().to_owned();
    // Literal segments win over `{id}` ones, between coded routes and against the catalog's:
    // `Secrets-Safe/Safes/Safe-Permissions` is not the safe named "Safe-Permissions".
    let coded =
        candidates.iter().filter(|(r, _)| r.method == method).rev().max_by_key(|(r, _)| literal_segments(r.template));
    let table_fit = crate::catalog::Catalog::shared()
        .ok()
        .and_then(|c| c.doc_of(&method, rest.trim_start_matches('/')))
        .filter(|d| d.serve.is_some())
        .map(|d| literal_segments(&d.route));
    let coded = coded.filter(|(r, _)| table_fit.is_none_or(|t| literal_segments(r.template) >= t));
    let Some((route, params)) = coded.cloned() else {
        let rest = rest.to_owned();
        if let Some(answer) = from_tables(&app, &method, &rest, req).await {
            return answer;
        }
        if candidates.is_empty() {
            return reply::no_route();
        }
        let mut allowed: Vec<&str> = candidates.iter().map(|(r, _)| r.method).collect();
        allowed.dedup();
        return reply::method_not_allowed(&method, &allowed);
    };
    let principal = if route.session {
        match auth::live_session(&app, req.headers(), req.version()) {
            Some(p) => p,
            None if app.has(Fault::Unauthenticated200) => Principal::RunAs,
            None => return auth::not_authenticated(&app),
        }
    } else {
        Principal::RunAs
    };
    let query = Query::parse(req.uri().query());
    let (parts, body) = req.into_parts();
    let body = if matches!(route.method, "POST" | "PUT") {
        axum::body::to_bytes(body, MAX_BODY_BYTES).await.ok()
    } else {
        Some(axum::body::Bytes::new())
    };
    let call = Call { headers: parts.headers, version: parts.version, query, params, body, principal };
    (route.handler)(&app, &call)
}

/// The answer of the table-driven resources (see `resources`) to a call no coded route takes,
/// or `None` when the catalog serves nothing there either.
async fn from_tables(app: &App, method: &str, rest: &str, req: Request) -> Option<Response> {
    let catalog = crate::catalog::Catalog::shared().ok()?;
    let path = rest.strip_prefix('/').unwrap_or(rest);
    let doc = catalog.doc_of(method, path)?;
    doc.serve.as_ref()?;
    let principal = match auth::live_session(app, req.headers(), req.version()) {
        Some(p) => p,
        None if app.has(Fault::Unauthenticated200) => Principal::RunAs,
        None => return Some(auth::not_authenticated(app)),
    };
    let query = Query::parse(req.uri().query());
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, MAX_BODY_BYTES).await.ok();
    let call = Call { headers: parts.headers, version: parts.version, query, params: Vec::new(), body, principal };
    let mut tables = app.tables.lock().ok()?;
    tables.answer(catalog, doc, path, &call)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routed(path: &str) -> Option<(&'static str, Vec<String>)> {
        let rest = below_base(path)?;
        let rest = rest.strip_prefix('/').unwrap_or(rest);
        let segments: Vec<&str> = rest.split('/').collect();
        ROUTES.iter().find_map(|r| match_template(r.template, &segments, false).map(|p| (r.template, p)))
    }

    #[test]
    fn paths_resolve_case_insensitively_with_trailing_slashes() {
        let sign_in = Some(("Auth/SignAppin", vec![]));
        assert_eq!(routed("/BeyondTrust/api/public/v3/Auth/SignAppin"), sign_in);
        assert_eq!(routed("/BeyondTrust/api/public/v3/Auth/SignAppIn/"), sign_in);
        assert_eq!(routed("/beyondtrust/api/public/V3/auth/signappin//"), sign_in);
        assert_eq!(routed("/eEye.RetinaCS.Server/api/public/v3/Auth/SignAppin"), sign_in);
        assert_eq!(routed("/BeyondTrust/api/public/v3/Auth/connect/token"), Some(("Auth/Connect/Token", vec![])));
        assert_eq!(routed("/BeyondTrust/api/public/v3/managedaccounts"), Some(("ManagedAccounts", vec![])));
        assert_eq!(
            routed("/BeyondTrust/api/public/v3/secrets-safe/secrets/AbC/file/download/"),
            Some(("Secrets-Safe/Secrets/{id}/file/download", vec!["AbC".to_owned()]))
        );
        assert_eq!(
            routed("/BeyondTrust/api/public/v3/Workgroups/My%20Group/Assets"),
            Some(("Workgroups/{id}/Assets", vec!["My Group".to_owned()]))
        );
    }

    #[test]
    fn release_alias_wins_over_the_checkin_template() {
        assert_eq!(
            routed("/BeyondTrust/api/public/v3/Requests/Release/12"),
            Some(("Requests/Release/{id}", vec!["12".into()]))
        );
        assert_eq!(
            routed("/BeyondTrust/api/public/v3/requests/12/checkin"),
            Some(("Requests/{id}/Checkin", vec!["12".into()]))
        );
    }

    #[test]
    fn unknown_paths() {
        assert_eq!(below_base("/"), None);
        assert_eq!(below_base("/BeyondTrust/api/public/v31/Auth/SignAppin"), None);
        assert_eq!(below_base("/BeyondTrust/api/public/v3"), Some(""));
        assert_eq!(routed("/BeyondTrust/api/public/v3"), None);
        assert_eq!(routed("/BeyondTrust/api/public/v3/Auth"), None);
        assert_eq!(routed("/BeyondTrust/api/public/v3/Auth/SignAppin/x"), None);
        assert_eq!(routed("/BeyondTrust/api/public/v3/Credentials/"), None, "an empty {{id}} matches nothing");
    }

    #[test]
    fn exact_case_matches_only_the_documented_spelling() {
        assert!(match_template("ManagedAccounts", &["ManagedAccounts"], true).is_some());
        assert!(match_template("ManagedAccounts", &["managedaccounts"], true).is_none());
        assert!(match_template("ManagedAccounts", &["managedaccounts"], false).is_some());
    }

    #[test]
    fn templates_are_well_formed() {
        for r in ROUTES {
            assert!(matches!(r.method, "GET" | "POST" | "PUT"), "{}", r.template);
            assert!(!r.template.starts_with('/') && !r.template.ends_with('/'), "{}", r.template);
        }
    }
}
