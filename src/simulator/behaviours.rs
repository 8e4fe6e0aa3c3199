//! The behaviours: every `serve: { behaviour: name }` of the catalog's models, by name, with the
//! handler that answers it. Behaviour is what the table-driven routes cannot do (signing in,
//! releases and credentials, Secrets Safe values and model versions, approvals, sessions); each
//! area module owns its handlers and this table only names them. A handler reads and writes the
//! same records as the table routes do.
//!
//! [`documented`] answers an endpoint whose effect the simulator does not model (an import, a
//! report, a test of a remote directory) as a server with the feature would: its first
//! documented success, with a body made from the documented model. `src/simulator/README.md`
//! lists those and why.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;

use super::app::App;
use super::call::Call;
use super::fill::{self, Fit};
use super::reply;
use super::resources::{Form, present, success};
use super::routes::Handler;
use super::tables::same;
use super::{admin, auth, lookups, managed, relations, requests, secrets_safe, sessions};
use crate::catalog::model::ServeOp;
use crate::catalog::{Body, EndpointDoc, ModelRef};

/// Every behaviour the models name, with its handler.
pub(crate) static BEHAVIOURS: &[(&str, Handler)] = &[
    // Configuration and Authentication's session-only read
    ("server-version", auth::configuration_version),
    // Releases, approvals and credentials
    ("requestable-accounts", managed::requestable_accounts),
    ("release", requests::create),
    ("release-alias", requests::create_for_alias),
    ("release-set", requests::create_set),
    ("list-requests", requests::list),
    ("list-request-sets", requests::list_sets),
    ("checkin", requests::check_in),
    ("credentials", requests::credentials),
    ("alias-credentials", requests::alias_credentials),
    ("account-credentials", requests::account_credentials),
    ("approve", requests::approve),
    ("deny", requests::deny),
    ("rotate-on-checkin", requests::rotate_on_checkin),
    ("isa-release", requests::isa_release),
    ("isa-session", requests::isa_session),
    ("terminate-account-requests", requests::terminate),
    ("terminate-system-requests", requests::terminate),
    ("terminate-user-requests", requests::terminate),
    ("list-aliases", requests::list_aliases),
    // Managed account credentials
    ("set-credentials", managed::set_credentials),
    ("set-credentials-by-name", managed::set_credentials_by_name),
    ("change-credentials", managed::change_credentials),
    ("change-system-credentials", managed::change_system_credentials),
    ("test-credentials", managed::test_credentials),
    // Sessions, locking, termination, replay and keystrokes
    ("session-start", sessions::start),
    ("session-list", sessions::list),
    ("session-lock", sessions::lock),
    ("session-terminate", sessions::terminate),
    ("replay", sessions::replay),
    ("keystroke-search", sessions::keystroke_search),
    // Secrets Safe
    ("secret-list", secrets_safe::list_secrets),
    ("secret-view", secrets_safe::view_secret),
    ("secret-download", secrets_safe::download_file),
    ("secret-create", secrets_safe::create_secret),
    ("secret-update", secrets_safe::update_secret),
    ("secret-move", secrets_safe::move_secrets),
    ("secret-favorite", secrets_safe::favorite),
    ("secret-shares", secrets_safe::shares),
    ("folder-list", secrets_safe::list_folders),
    ("folder-secrets-by-type", secrets_safe::folder_secrets_by_type),
    ("folder-secrets", secrets_safe::folder_secrets),
    ("folder-favorite", secrets_safe::favorite),
    ("folder-move", secrets_safe::move_folder),
    ("folder-import", secrets_safe::import_folder),
    ("safe-list", secrets_safe::list_safes),
    ("safe-view", secrets_safe::view_safe),
    ("safe-create", secrets_safe::create_safe),
    ("safe-update", secrets_safe::update_safe),
    ("safe-delete", secrets_safe::delete_safe),
    ("safe-permissions", secrets_safe::safe_permissions),
    // Lookups that filter beyond one field
    ("asset-search", lookups::search_assets),
    ("list-password-rules", lookups::list_password_rules),
    ("platforms-by-entity-type", lookups::platforms_by_entity_type),
    // Relations with more than two ends
    ("quick-rule-replace-accounts", relations::replace_quick_rule_accounts),
    ("user-group-permissions", relations::group_permissions),
    ("user-group-roles", relations::group_roles),
    ("assign-access-level", relations::assign_access_level),
    ("user-group-smart-rules", relations::group_smart_rules),
    ("create-user-in-group", relations::create_user_in_group),
    ("create-user", relations::create_user),
    ("quick-rule-create", relations::create_quick_rule),
    ("quick-rule-remove-member", relations::remove_quick_rule_member),
    ("smart-rule-create", relations::create_smart_rule),
    ("policy-assignees", relations::policy_assignees),
    ("test-access-policy", relations::test_access_policy),
    // Administration
    ("quarantine-user", admin::quarantine_user),
    ("recycle-client-secret", admin::recycle_client_secret),
    ("api-registration-key", admin::api_key),
    ("rotate-api-key", admin::api_key),
    ("smart-rule-process", admin::process_smart_rule),
    ("user-audit-details", admin::user_audit_details),
    ("subscription-deliveries", admin::subscription_deliveries),
    ("entitlements-report", admin::entitlements),
];

/// The behaviours whose effect the simulator does not model, each answered as [`documented`]
/// says, with the reason (`README.md` in this folder lists them too).
pub(crate) static UNMODELLED: &[(&str, &str)] = &[
    ("import", "nothing documents what an import takes or answers; the simulator keeps no discovery data"),
    ("custom-platform-import", "a custom platform's definition format is not documented"),
    ("custom-platform-export", "the export's format is not documented; it answers a placeholder file"),
    (
        "subscription-download",
        "report deliveries are not modelled; the download of a listed delivery answers a made-up one",
    ),
    ("epm-add-application", "Endpoint Privilege Management policies are another product's; none is kept"),
    ("oid-test", "there is no Oracle Internet Directory to reach; the test answers its documented success"),
    ("oid-services-query", "there is no Oracle Internet Directory to query; it answers one made-up service"),
];

/// The handler of a behaviour, by the name a model gives it.
pub(crate) fn handler(name: &str) -> Option<Handler> {
    let modelled = BEHAVIOURS.iter().find(|(n, _)| *n == name).map(|(_, h)| *h);
    modelled.or_else(|| UNMODELLED.iter().any(|(n, _)| *n == name).then_some(documented as Handler))
}

/// The endpoint's first documented success, with a body made from its documented model: for
/// an endpoint whose effect the simulator does not model, what a server with the feature
/// answers when it succeeds.
pub(crate) fn documented(app: &App, call: &Call) -> Response {
    let Some(doc) = call.doc else { return reply::no_route() };
    if let Some(missing) = unknown_record(app, call, doc) {
        return missing;
    }
    let own = ModelRef { area: Some(doc.slug.clone()), name: String::new() };
    let (status, form) = success(doc, &call.facts(), app.data.sparse(), &own);
    let seed = fill::seed_of(&[&doc.method, &doc.route]);
    let made = |m: &ModelRef| {
        let v = fill::fit(&app.catalog.models, m, Value::Null, Fit::make(app.data.sparse()), &[], None, seed);
        present(app, call, m, m, &v)
    };
    match form {
        Form::One(m) | Form::Either(m, false) => reply::json(status, &made(&m)),
        Form::Many(m) | Form::Either(m, true) => reply::json(status, &Value::Array(vec![made(&m)])),
        Form::Paged(m) => reply::json(status, &reply::list(vec![made(&m)], 1, true)),
        Form::Other(Body::Raw) => {
            reply::bytes(status, b"psconform simulator export\n".to_vec(), "application/octet-stream")
        }
        Form::Other(Body::Empty) => reply::empty(status),
        Form::Other(Body::Integer) => reply::json(status, &Value::from(1)),
        Form::Other(Body::String) => reply::json(status, &Value::from("OK")),
        Form::Other(Body::Type(t)) => {
            reply::json(status, &fill::make(&app.catalog.models, &t, Fit::make(app.data.sparse()), seed))
        }
        Form::Other(_) if status == StatusCode::NO_CONTENT => reply::empty(status),
        Form::Other(_) => reply::json(status, &Value::Array(Vec::new())),
    }
}

/// 404 when the call names a record that is not there: the route's first parameter, where the
/// endpoint's own area keeps records (`CustomPlatforms/{id}/Export`), or the delivery a
/// download asks for. A server answers what exists; even an unmodelled effect needs its record.
fn unknown_record(app: &App, call: &Call, doc: &EndpointDoc) -> Option<Response> {
    if doc.serve.as_ref().is_some_and(|s| s.op == ServeOp::Behaviour("subscription-download".into())) {
        // Without an id the query check has already answered 400.
        let id = call.query.text("id")?;
        let known = admin::delivery_ids(app).iter().any(|d| same(d, id));
        return (!known).then(|| reply::not_found("Delivery"));
    }
    let given = call.params.first()?;
    let mut own = app.catalog.models.resources.values().filter(|r| r.model.area.as_deref() == Some(doc.slug.as_str()));
    let resource = own.next()?;
    let tables = app.store();
    tables.id_named(app.catalog, &resource.model, given).is_none().then(|| reply::not_found(&resource.model.name))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use crate::catalog::model::{Effect, ServeOp};

    #[test]
    fn every_behaviour_the_models_name_has_a_handler_and_every_handler_is_named() {
        let catalog = Catalog::builtin().expect("catalog");
        let named: Vec<&str> = catalog
            .models
            .endpoints
            .iter()
            .filter_map(|d| match d.serve.as_ref().map(|s| &s.op) {
                Some(ServeOp::Behaviour(b)) => Some(b.as_str()),
                _ => None,
            })
            .collect();
        for name in &named {
            assert!(handler(name).is_some(), "the models name `{name}`, which no handler answers");
        }
        for name in BEHAVIOURS.iter().map(|(n, _)| n).chain(UNMODELLED.iter().map(|(n, _)| n)) {
            assert!(named.contains(name), "`{name}` has a handler but no model names it");
        }
    }

    /// The rows of the table that follows a marker comment in this folder's README.
    pub(crate) fn readme_rows(marker: &str) -> Vec<Vec<String>> {
        let readme = include_str!("README.md");
        let Some(start) = readme.find(marker) else { return Vec::new() };
        readme[start..]
            .lines()
            .skip(1)
            .take_while(|l| l.starts_with('|'))
            .skip(2)
            .map(|l| l.trim_matches('|').split('|').map(|c| c.trim().to_owned()).collect())
            .collect()
    }

    #[test]
    fn the_readme_says_what_is_simulated_per_area() {
        let catalog = Catalog::builtin().expect("catalog");
        let mut areas: Vec<(String, [usize; 5])> = Vec::new();
        for d in &catalog.models.endpoints {
            let i = match areas.iter().position(|(a, _)| *a == d.area) {
                Some(i) => i,
                None => {
                    areas.push((d.area.clone(), [0; 5]));
                    areas.len() - 1
                }
            };
            let row = &mut areas[i].1;
            row[if d.effect <= Effect::Audited { 0 } else { 1 }] += 1;
            match d.serve.as_ref().map(|s| &s.op) {
                Some(ServeOp::Behaviour(b)) if UNMODELLED.iter().any(|(n, _)| n == b) => row[4] += 1,
                Some(ServeOp::Behaviour(_)) | None => row[3] += 1,
                Some(_) => row[2] += 1,
            }
        }
        areas.sort_by_key(|(a, _)| a.to_ascii_lowercase());
        let mut expected: Vec<Vec<String>> = areas
            .iter()
            .map(|(a, r)| std::iter::once(a.clone()).chain(r.iter().map(usize::to_string)).collect())
            .collect();
        let total: Vec<usize> = (0..5).map(|i| areas.iter().map(|(_, r)| r[i]).sum()).collect();
        expected.push(
            std::iter::once(format!("**all {}**", areas.len()))
                .chain(total.iter().map(|t| format!("**{t}**")))
                .collect(),
        );
        assert_eq!(readme_rows("<!-- areas:"), expected);
        let unmodelled: Vec<Vec<String>> =
            UNMODELLED.iter().map(|(n, why)| vec![format!("`{n}`"), (*why).to_owned()]).collect();
        assert_eq!(readme_rows("<!-- unmodelled:"), unmodelled);
    }
}
