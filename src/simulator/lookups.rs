//! Lookups that filter beyond what one field can say, over the records of the one store:
//! `POST Assets/Search` (exact, case-insensitive matches on any of the given properties, a
//! comma-separated list of IP addresses), `GET PasswordRules` with its product flag, and the
//! platforms of an entity type. Plain lists and lookups by id or name are the table routes'.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value};

use super::app::App;
use super::call::Call;
use super::reply;
use super::resources::{body_object, list_answer};
use super::tables::{ASSET, PASSWORD_RULE, PLATFORM, same};
use crate::catalog::ModelRef;

/// `POST Assets/Search`: the assets that match every given property. A read, despite the method.
pub(crate) fn search_assets(app: &App, call: &Call) -> Response {
    let Some(doc) = call.doc else { return reply::no_route() };
    let criteria = match body_object(call) {
        Ok(c) => c,
        Err(r) => return r.into(),
    };
    let criteria: Map<String, Value> =
        criteria.into_iter().filter(|(_, v)| v.as_str().is_some_and(|s| !s.trim().is_empty())).collect();
    if criteria.is_empty() {
        return reply::message(StatusCode::BAD_REQUEST, "At least one search criterion is required.");
    }
    let field = |name: &str| {
        criteria.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).and_then(|(_, v)| v.as_str()).map(str::trim)
    };
    let rows: Vec<Value> = app
        .store()
        .rows(ASSET)
        .iter()
        .filter(|a| {
            ["AssetName", "DnsName", "DomainName", "MacAddress", "AssetType"]
                .iter()
                .all(|f| field(f).is_none_or(|v| same(&a[*f], v)))
                && field("IPAddress").is_none_or(|v| v.split(',').any(|ip| a["IPAddress"] == ip.trim()))
        })
        .cloned()
        .collect();
    list_answer(app, call, doc, &ASSET.model(), rows)
}

/// `GET PasswordRules`: the rules enabled for a product, named as the model documents it
/// (`PasswordSafe`, the default, `SecretsSafe`, `TeamPasswords`, in any case, as .NET binds an
/// enum). A rule's `EnabledProducts` is a bit mask: 1 Password Safe, 2 Secrets Safe. Team
/// passwords have no bit of their own: the Create Password Policies page offers a policy to team
/// password credentials through "Allow use for Secrets Safe", so they take Secrets Safe's.
pub(crate) fn list_password_rules(app: &App, call: &Call) -> Response {
    let Some(doc) = call.doc else { return reply::no_route() };
    let product = call.query.text("enabledproducts").unwrap_or("PasswordSafe");
    let Some(bit) = [("PasswordSafe", 1), ("SecretsSafe", 2), ("TeamPasswords", 2)]
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(product))
        .map(|&(_, bit)| bit)
    else {
        return reply::bad_value(product, "enabledproducts");
    };
    let rows: Vec<Value> = app
        .store()
        .rows(PASSWORD_RULE)
        .iter()
        .filter(|r| r["EnabledProducts"].as_i64().is_some_and(|p| p & bit != 0))
        .cloned()
        .collect();
    list_answer(app, call, doc, &PASSWORD_RULE.model(), rows)
}

/// `GET EntityTypes/{entityTypeId}/Platforms`: the platforms of an entity type that exists.
/// The platform model does not say which entity types a platform serves, so every platform is
/// one of each type's.
pub(crate) fn platforms_by_entity_type(app: &App, call: &Call) -> Response {
    let Some(doc) = call.doc else { return reply::no_route() };
    let entity_types = ModelRef { area: Some("entity-types".into()), name: "EntityType".into() };
    let tables = app.store();
    if tables.id_named(app.catalog, &entity_types, call.param(0)).is_none() {
        return reply::not_found("Entity type");
    }
    let rows = tables.rows(PLATFORM).to_vec();
    drop(tables);
    list_answer(app, call, doc, &PLATFORM.model(), rows)
}
