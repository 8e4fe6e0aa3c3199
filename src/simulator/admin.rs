//! Administration as behaviour: quarantining a user, recycling an application user's client
//! secret, reading and rotating an API registration's key, processing a Smart Rule, and the
//! reports built from the records of the one store (a user audit's details, the report
//! deliveries, the entitlements of user groups). Keys and secrets live in hidden parts, drawn
//! at random when first needed; they are credentials and every output masks them.

use axum::http::StatusCode;
use axum::response::Response;
use rand::Rng as _;
use serde_json::{Value, json};

use super::app::App;
use super::call::Call;
use super::config::random_alphanumeric;
use super::reply;
use super::resources::{list_answer, record_answer};
use super::seed::group_members;
use super::tables::{API_REGISTRATION, SMART_RULE, USER, USER_AUDIT, USER_GROUP, same, text};
use crate::catalog::ModelRef;

/// `POST Users/{userId}/Quarantine`: the user is quarantined, and answered.
pub(crate) fn quarantine_user(app: &App, call: &Call) -> Response {
    let Some(doc) = call.doc else { return reply::no_route() };
    let mut tables = app.store();
    let Some(Value::Object(user)) = tables.find_mut(app.catalog, USER, call.param(0)) else {
        return reply::not_found("User");
    };
    user.insert("IsQuarantined".into(), Value::Bool(true));
    let user = Value::Object(user.clone());
    drop(tables);
    record_answer(app, call, doc, &USER.model(), &user)
}

/// `POST Users/{userId}/RecycleClientSecret`: an application user gets a new client secret,
/// shown once in the answer (never stored where a list shows it).
pub(crate) fn recycle_client_secret(app: &App, call: &Call) -> Response {
    let Some(doc) = call.doc else { return reply::no_route() };
    let tables = app.store();
    let Some(user) = tables.find(app.catalog, USER, call.param(0)).cloned() else { return reply::not_found("User") };
    drop(tables);
    if user["UserType"] != "Application" {
        return reply::message(StatusCode::BAD_REQUEST, "Only an application user has a client secret.");
    }
    let mut shown = user;
    shown["ClientSecret"] = Value::from(random_alphanumeric(&mut rand::rng(), 48));
    record_answer(app, call, doc, &USER.model(), &shown)
}

/// `GET ApiRegistrations/{id}/Key` answers the registration's key (128 hex characters, made on
/// first use); `POST ApiRegistrations/{id}/Rotate` replaces it and answers the new one.
pub(crate) fn api_key(app: &App, call: &Call) -> Response {
    let rotate = call.doc.is_some_and(|d| d.method == "POST");
    let mut tables = app.store();
    let Some(reg) = tables.find(app.catalog, API_REGISTRATION, call.param(0)) else {
        return reply::not_found("ApiRegistration");
    };
    let id = text(&reg["Id"]);
    let hidden = tables.hidden_mut(API_REGISTRATION, &id);
    if rotate || !hidden.contains_key("Key") {
        let bytes: [u8; 64] = rand::rng().random();
        hidden.insert("Key".into(), Value::from(bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()));
    }
    let key = hidden.get("Key").cloned().unwrap_or(Value::Null);
    reply::json(if rotate { StatusCode::CREATED } else { StatusCode::OK }, &key)
}

/// `POST SmartRules/{smartRuleId}/Process`: the rule is processed now and answered.
pub(crate) fn process_smart_rule(app: &App, call: &Call) -> Response {
    let Some(doc) = call.doc else { return reply::no_route() };
    let mut tables = app.store();
    let Some(Value::Object(rule)) = tables.find_mut(app.catalog, SMART_RULE, call.param(0)) else {
        return reply::not_found("SmartRule");
    };
    rule.insert("Status".into(), Value::from(0));
    rule.insert("LastProcessedDate".into(), Value::from(super::fill::SOME_DATE));
    let rule = Value::Object(rule.clone());
    drop(tables);
    record_answer(app, call, doc, &SMART_RULE.model(), &rule)
}

/// `GET UserAudits/{userAuditId}/UserAuditDetails`: the audit's changed values, paged.
pub(crate) fn user_audit_details(app: &App, call: &Call) -> Response {
    let tables = app.store();
    let Some(audit) = tables.find(app.catalog, USER_AUDIT, call.param(0)).cloned() else {
        return reply::not_found("UserAudit");
    };
    drop(tables);
    let details = vec![
        json!({ "AuditID": audit["AuditID"], "Field": "ActionType", "OldValue": "", "NewValue": audit["ActionType"] }),
        json!({ "AuditID": audit["AuditID"], "Field": "Section", "OldValue": "", "NewValue": audit["Section"] }),
    ];
    let paging = match call.query.paging() {
        Ok(p) => p,
        Err(refusal) => return refusal.into(),
    };
    let total = details.len();
    reply::ok(&json!({ "TotalCount": total, "Data": paging.page(details, 100_000) }))
}

/// `GET Subscriptions/Delivery`: the ids of the report deliveries (one per audit record here,
/// as the simulator schedules no reports of its own).
pub(crate) fn subscription_deliveries(app: &App, _call: &Call) -> Response {
    reply::ok(&Value::Array(delivery_ids(app)))
}

/// The ids of the report deliveries there are.
pub(crate) fn delivery_ids(app: &App) -> Vec<Value> {
    app.store().rows(USER_AUDIT).iter().map(|a| a["AuditID"].clone()).collect()
}

/// `GET Entitlements`: each member of each user group (of `groupIds`, when given), with the
/// group.
pub(crate) fn entitlements(app: &App, call: &Call) -> Response {
    let Some(doc) = call.doc else { return reply::no_route() };
    let wanted: Option<Vec<String>> =
        call.query.text("groupIds").map(|g| g.split(',').map(|s| s.trim().to_owned()).collect());
    let tables = app.store();
    let rows: Vec<Value> = tables
        .rows(USER_GROUP)
        .iter()
        .filter(|g| wanted.as_ref().is_none_or(|w| w.iter().any(|id| same(&g["GroupID"], id))))
        .flat_map(|g| {
            let gid = text(&g["GroupID"]);
            let users: Vec<Value> = tables
                .pairs(&group_members())
                .iter()
                .filter(|(group, _)| *group == gid)
                .filter_map(|(_, u)| tables.find(app.catalog, USER, u).cloned())
                .collect();
            users.into_iter().map(move |u| {
                json!({ "GroupID": g["GroupID"], "Name": g["Name"], "UserID": u["UserID"], "UserName": u["UserName"],
                    "IsAdministratorGroup": g["Name"] == "Administrators" })
            })
        })
        .collect();
    drop(tables);
    let m = ModelRef { area: Some("entitlements".into()), name: "Entitlement".into() };
    list_answer(app, call, doc, &m, rows)
}
