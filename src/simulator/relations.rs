//! Relations the table routes cannot express as one link between two records: a quick rule's
//! accounts replaced all at once, a user group's permissions (each with an access level), its
//! roles and access level on a Smart Rule (three ends), a user created straight into a group,
//! an access policy's assignees, and the policy test. They use the links and hidden parts of
//! the one store, so `GET UserGroups/{id}/SmartRules` shows what an access level assignment
//! made.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::app::App;
use super::call::Call;
use super::config::random_alphanumeric;
use super::reply::{self, Refusal};
use super::resources::{body_object, documented_body, get_ci, insert_from_body, list_answer, record_answer};
use super::seed::group_members;
use super::tables::{
    self, ACCESS_POLICY, MANAGED_ACCOUNT, MANAGED_SYSTEM, ROLE, SMART_RULE, Tables, USER, USER_GROUP, key, same, text,
};
use crate::catalog::ModelRef;

fn group_rules() -> tables::Key {
    ("smart-rules".into(), "GroupRules".into())
}

fn quick_rule_accounts() -> tables::Key {
    ("quick-rules".into(), "QuickRuleAccounts".into())
}

/// `PUT QuickRules/{quickRuleId}/ManagedAccounts`: the rule's accounts become exactly the
/// listed ones (each must exist).
pub(crate) fn replace_quick_rule_accounts(app: &App, call: &Call) -> Response {
    let body = match documented_body(app, call) {
        Ok(b) => b,
        Err(r) => return r.into(),
    };
    let quick_rule = ModelRef { area: Some("quick-rules".into()), name: "QuickRule".into() };
    let mut tables = app.store();
    let Some(rule) = tables.id_named(app.catalog, &quick_rule, call.param(0)) else {
        return reply::not_found("QuickRule");
    };
    let rule = text(&rule);
    let ids: Vec<String> =
        get_ci(&body, "IDs").and_then(Value::as_array).map(|a| a.iter().map(text).collect()).unwrap_or_default();
    if let Some(missing) = ids.iter().find(|id| tables.find(app.catalog, MANAGED_ACCOUNT, id).is_none()) {
        return reply::not_found(&format!("Managed Account {missing}"));
    }
    let feedback = match call.query.bool("feedback") {
        Ok(f) => f.unwrap_or(true),
        Err(r) => return r.into(),
    };
    let pairs = tables.pairs_mut(&quick_rule_accounts());
    pairs.retain(|(r, _)| *r != rule);
    pairs.extend(ids.iter().map(|a| (rule.clone(), a.clone())));
    if feedback {
        return reply::ok(&json!({ "ManagedAccountIDs": ids }));
    }
    reply::empty(StatusCode::NO_CONTENT)
}

fn quick_rule() -> ModelRef {
    ModelRef { area: Some("quick-rules".into()), name: "QuickRule".into() }
}

/// `POST QuickRules`: a new rule of `RuleType` (managed accounts unless it says managed
/// systems) listing the records `IDs` (or the deprecated `AccountIDs`) names, each of which
/// must exist; the category and description take the documented defaults.
pub(crate) fn create_quick_rule(app: &App, call: &Call) -> Response {
    let Some(doc) = call.doc else { return reply::no_route() };
    let mut body = match documented_body(app, call) {
        Ok(b) => b,
        Err(r) => return r.into(),
    };
    let systems =
        get_ci(&body, "RuleType").and_then(Value::as_str).is_some_and(|t| t.eq_ignore_ascii_case("ManagedSystem"));
    let (link, members, kind) = if systems {
        (("quick-rules".to_owned(), "QuickRuleSystems".to_owned()), MANAGED_SYSTEM, "ManagedSystem")
    } else {
        (quick_rule_accounts(), MANAGED_ACCOUNT, "ManagedAccount")
    };
    let ids: Vec<String> = ["IDs", "AccountIDs"]
        .iter()
        .find_map(|f| get_ci(&body, f).and_then(Value::as_array))
        .map(|a| a.iter().map(text).collect())
        .unwrap_or_default();
    let Some(resource) = app.catalog.models.resources.get(&key(&quick_rule())) else { return reply::no_route() };
    let mut tables = app.store();
    if let Some(missing) = ids.iter().find(|id| tables.find(app.catalog, members, id).is_none()) {
        return reply::not_found(&format!("{} {missing}", members.1));
    }
    let title = get_ci(&body, "Title").cloned().unwrap_or(Value::Null);
    body.insert("RuleType".into(), Value::from(kind));
    body.entry("Category").or_insert_with(|| Value::from("Quick Rules"));
    body.entry("Description").or_insert(title);
    let rule = match insert_from_body(app, &mut tables, doc, resource, &body, None) {
        Ok(r) => r,
        Err(r) => return r.into(),
    };
    let id = text(&rule["SmartRuleID"]);
    tables.pairs_mut(&link).extend(ids.into_iter().map(|m| (id.clone(), m)));
    drop(tables);
    record_answer(app, call, doc, &quick_rule(), &rule)
}

/// `DELETE QuickRules/{quickRuleId}/ManagedAccounts/{managedAccountId}` and its
/// `ManagedSystems/{managedSystemId}` twin: the member leaves the rule, unless it is the rule's
/// last one (the references: a Quick Rule keeps at least one; the refusal's status is not
/// documented, so it is the usage page's 400 for a request that is not valid).
pub(crate) fn remove_quick_rule_member(app: &App, call: &Call) -> Response {
    let systems = call.doc.is_some_and(|d| d.route.to_ascii_lowercase().contains("/managedsystems/"));
    let (link, members) = if systems {
        (("quick-rules".to_owned(), "QuickRuleSystems".to_owned()), MANAGED_SYSTEM)
    } else {
        (quick_rule_accounts(), MANAGED_ACCOUNT)
    };
    let mut tables = app.store();
    let Some(rule) = tables.id_named(app.catalog, &quick_rule(), call.param(0)) else {
        return reply::not_found("QuickRule");
    };
    let Some(member) = tables.id_named(app.catalog, &members.model(), call.param(1)) else {
        return reply::not_found(members.1);
    };
    let pair = (text(&rule), text(&member));
    let pairs = tables.pairs_mut(&link);
    if !pairs.contains(&pair) {
        return reply::not_found("link");
    }
    if pairs.iter().filter(|(r, _)| *r == pair.0).count() == 1 {
        return reply::message(StatusCode::BAD_REQUEST, &format!("A Quick Rule keeps at least one {}.", members.1));
    }
    pairs.retain(|p| *p != pair);
    reply::empty(StatusCode::OK)
}

/// `POST SmartRules/FilterAssetAttribute` and `POST SmartRules/FilterManagedAccountAttribute`:
/// a new rule whose `RuleType` is what it selects. A managed-account rule bounded by
/// `SmartRuleID` needs that rule to be an asset or managed-system one (400 otherwise, as the
/// official library documents).
pub(crate) fn create_smart_rule(app: &App, call: &Call) -> Response {
    let Some(doc) = call.doc else { return reply::no_route() };
    let mut body = match documented_body(app, call) {
        Ok(b) => b,
        Err(r) => return r.into(),
    };
    let accounts = doc.route.to_ascii_lowercase().ends_with("filtermanagedaccountattribute");
    let Some(resource) = app.catalog.models.resources.get(&key(&SMART_RULE.model())) else { return reply::no_route() };
    let mut tables = app.store();
    if let Some(bound) = get_ci(&body, "SmartRuleID").filter(|v| accounts && !v.is_null()) {
        let Some(bound) = tables.find(app.catalog, SMART_RULE, &text(bound)) else {
            return reply::not_found("SmartRule");
        };
        if !["Asset", "ManagedSystem"].iter().any(|t| same(&bound["RuleType"], t)) {
            return reply::message(
                StatusCode::BAD_REQUEST,
                "SmartRuleID must name an asset or managed system Smart Rule.",
            );
        }
    }
    body.insert("RuleType".into(), Value::from(if accounts { "ManagedAccount" } else { "Asset" }));
    let rule = match insert_from_body(app, &mut tables, doc, resource, &body, None) {
        Ok(r) => r,
        Err(r) => return r.into(),
    };
    drop(tables);
    record_answer(app, call, doc, &SMART_RULE.model(), &rule)
}

/// `UserGroups/{userGroupId}/Permissions`: `GET` a group's permissions with their access
/// levels, `POST` sets them (a list of `{PermissionID, AccessLevelID}`), `DELETE` removes them.
pub(crate) fn group_permissions(app: &App, call: &Call) -> Response {
    let method = call.doc.map(|d| d.method.as_str()).unwrap_or_default();
    let mut tables = app.store();
    let Some(group) = tables.find(app.catalog, USER_GROUP, call.param(0)) else { return reply::not_found("UserGroup") };
    let gid = text(&group["GroupID"]);
    match method {
        "GET" => {
            let granted =
                tables.hidden(USER_GROUP, &gid).and_then(|h| h.get("Permissions").cloned()).unwrap_or(json!([]));
            reply::ok(&granted)
        }
        "POST" => {
            let Ok(Value::Array(items)) = serde_json::from_slice::<Value>(call.body.as_deref().unwrap_or_default())
            else {
                return reply::message(StatusCode::BAD_REQUEST, "The body is not a list of permissions.");
            };
            let valid = items.iter().all(|i| i["PermissionID"].is_i64() && i["AccessLevelID"].is_i64());
            if !valid {
                return reply::message(
                    StatusCode::BAD_REQUEST,
                    "Each permission needs PermissionID and AccessLevelID.",
                );
            }
            tables.hidden_mut(USER_GROUP, &gid).insert("Permissions".into(), Value::Array(items));
            reply::empty(StatusCode::NO_CONTENT)
        }
        _ => {
            tables.hidden_mut(USER_GROUP, &gid).insert("Permissions".into(), json!([]));
            reply::empty(StatusCode::OK)
        }
    }
}

/// The group and Smart Rule a `UserGroups/{userGroupId}/SmartRules/{smartRuleId}/…` route
/// names, as ids.
fn group_and_rule(app: &App, tables: &Tables, call: &Call) -> Result<(String, String), Refusal> {
    let group = tables.find(app.catalog, USER_GROUP, call.param(0)).ok_or_else(|| Refusal::not_found("UserGroup"))?;
    let rule = tables.find(app.catalog, SMART_RULE, call.param(1)).ok_or_else(|| Refusal::not_found("SmartRule"))?;
    Ok((text(&group["GroupID"]), text(&rule["SmartRuleID"])))
}

/// `UserGroups/{userGroupId}/SmartRules/{smartRuleId}/Roles`: `GET` the roles a group holds on
/// a rule's accounts, `POST` sets them (`{Roles: [{RoleID}], AccessPolicyID}`), `DELETE`
/// removes them.
pub(crate) fn group_roles(app: &App, call: &Call) -> Response {
    let method = call.doc.map(|d| d.method.as_str()).unwrap_or_default();
    let mut tables = app.store();
    let (gid, rid) = match group_and_rule(app, &tables, call) {
        Ok(ids) => ids,
        Err(r) => return r.into(),
    };
    let slot = format!("Roles:{rid}");
    match method {
        "GET" => {
            let ids: Vec<String> = tables
                .hidden(USER_GROUP, &gid)
                .and_then(|h| h.get(&slot))
                .and_then(Value::as_array)
                .map(|a| a.iter().map(text).collect())
                .unwrap_or_default();
            let rows: Vec<Value> =
                tables.rows(ROLE).iter().filter(|r| ids.iter().any(|id| same(&r["RoleID"], id))).cloned().collect();
            drop(tables);
            match call.doc {
                Some(doc) => list_answer(app, call, doc, &ROLE.model(), rows),
                None => reply::ok(&Value::Array(rows)),
            }
        }
        "POST" => {
            let body = match body_object(call) {
                Ok(b) => b,
                Err(r) => return r.into(),
            };
            let roles: Vec<Value> = get_ci(&body, "Roles")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|r| get_ci(r.as_object()?, "RoleID").cloned()).collect())
                .unwrap_or_default();
            if let Some(missing) = roles.iter().find(|r| tables.find(app.catalog, ROLE, &text(r)).is_none()) {
                return reply::not_found(&format!("Role {}", text(missing)));
            }
            tables.hidden_mut(USER_GROUP, &gid).insert(slot, Value::Array(roles));
            reply::empty(StatusCode::NO_CONTENT)
        }
        _ => {
            tables.hidden_mut(USER_GROUP, &gid).insert(slot, json!([]));
            reply::empty(StatusCode::OK)
        }
    }
}

/// `POST UserGroups/{userGroupId}/SmartRules/{smartRuleId}/AccessLevels`: the group reaches the
/// rule's assets or accounts at an access level (`{AccessLevelID}`, which must exist).
pub(crate) fn assign_access_level(app: &App, call: &Call) -> Response {
    let body = match documented_body(app, call) {
        Ok(b) => b,
        Err(r) => return r.into(),
    };
    let mut tables = app.store();
    let (gid, rid) = match group_and_rule(app, &tables, call) {
        Ok(ids) => ids,
        Err(r) => return r.into(),
    };
    let level = get_ci(&body, "AccessLevelID").cloned().unwrap_or(Value::Null);
    let levels = ModelRef { area: Some("access-levels".into()), name: "AccessLevel".into() };
    if tables.id_named(app.catalog, &levels, &text(&level)).is_none() {
        return reply::not_found("AccessLevel");
    }
    let pairs = tables.pairs_mut(&group_rules());
    if !pairs.contains(&(gid.clone(), rid.clone())) {
        pairs.push((gid.clone(), rid.clone()));
    }
    tables.hidden_mut(USER_GROUP, &gid).insert(format!("AccessLevel:{rid}"), level);
    reply::empty(StatusCode::OK)
}

/// `GET UserGroups/{userGroupId}/SmartRules`: the rules a group reaches, each with its access
/// level (filtered by `accessLevel`, one level or a list, read and read/write by default).
pub(crate) fn group_smart_rules(app: &App, call: &Call) -> Response {
    let Some(doc) = call.doc else { return reply::no_route() };
    let tables = app.store();
    let Some(group) = tables.find(app.catalog, USER_GROUP, call.param(0)) else { return reply::not_found("UserGroup") };
    let gid = text(&group["GroupID"]);
    // One access level or a comma-separated list of them; read and read/write by default.
    let wanted: Vec<&str> = call.query.text("accessLevel").unwrap_or("1,3").split(',').map(str::trim).collect();
    let rows: Vec<Value> = tables
        .pairs(&group_rules())
        .iter()
        .filter(|(g, _)| *g == gid)
        .filter_map(|(_, r)| {
            let mut rule = tables.find(app.catalog, SMART_RULE, r)?.clone();
            let level = tables
                .hidden(USER_GROUP, &gid)
                .and_then(|h| h.get(&format!("AccessLevel:{r}")).cloned())
                .unwrap_or(Value::from(1));
            if !wanted.iter().any(|w| same(&level, w)) {
                return None;
            }
            rule.as_object_mut()?.insert("AccessLevelID".into(), level);
            Some(rule)
        })
        .collect();
    drop(tables);
    list_answer(app, call, doc, &SMART_RULE.model(), rows)
}

/// `POST UserGroups/{userGroupId}/Users`: a new user, made a member of the group.
pub(crate) fn create_user_in_group(app: &App, call: &Call) -> Response {
    let Some(doc) = call.doc else { return reply::no_route() };
    let body = match body_object(call) {
        Ok(b) => b,
        Err(r) => return r.into(),
    };
    let Some(resource) = app.catalog.models.resources.get(&key(&USER.model())) else { return reply::no_route() };
    let mut tables = app.store();
    let Some(group) = tables.find(app.catalog, USER_GROUP, call.param(0)) else { return reply::not_found("UserGroup") };
    let gid = text(&group["GroupID"]);
    let user = match insert_user(app, &mut tables, doc, resource, &body) {
        Ok(u) => u,
        Err(r) => return r.into(),
    };
    tables.pairs_mut(&group_members()).push((gid, text(&user["UserID"])));
    drop(tables);
    record_answer(app, call, doc, &USER.model(), &user)
}

/// `POST Users`: a new user, in no group.
pub(crate) fn create_user(app: &App, call: &Call) -> Response {
    let Some(doc) = call.doc else { return reply::no_route() };
    let body = match documented_body(app, call) {
        Ok(b) => b,
        Err(r) => return r.into(),
    };
    let Some(resource) = app.catalog.models.resources.get(&key(&USER.model())) else { return reply::no_route() };
    let mut tables = app.store();
    let user = match insert_user(app, &mut tables, doc, resource, &body) {
        Ok(u) => u,
        Err(r) => return r.into(),
    };
    drop(tables);
    record_answer(app, call, doc, &USER.model(), &user)
}

/// A user made from a request body, as the answer shows it. An application user gets an OAuth
/// client id, kept on the record, and a client secret that only this answer carries: the Users
/// page gives `ClientSecret` as null on every read.
fn insert_user(
    app: &App,
    tables: &mut Tables,
    doc: &crate::catalog::EndpointDoc,
    resource: &crate::catalog::model::Resource,
    body: &serde_json::Map<String, Value>,
) -> Result<Value, Refusal> {
    let mut user = insert_from_body(app, tables, doc, resource, body, None)?;
    if same(&user["UserType"], "Application") {
        let client_id = Value::from(uuid::Uuid::new_v4().to_string());
        if let Some(row) = tables.find_mut(app.catalog, USER, &text(&user["UserID"])) {
            row["ClientID"] = client_id.clone();
            row["ClientSecret"] = Value::Null;
        }
        user["ClientID"] = client_id;
        user["ClientSecret"] = Value::from(random_alphanumeric(&mut rand::rng(), 48));
    }
    Ok(user)
}

/// `GET AccessPolicies/{accessPolicyId}/Assignees`: who a policy applies to, through the Smart
/// Rules user groups reach.
pub(crate) fn policy_assignees(app: &App, call: &Call) -> Response {
    let Some(doc) = call.doc else { return reply::no_route() };
    let tables = app.store();
    if tables.find(app.catalog, ACCESS_POLICY, call.param(0)).is_none() {
        return reply::not_found("AccessPolicy");
    }
    let role = tables.rows(ROLE).first().cloned().unwrap_or(Value::Null);
    let rows: Vec<Value> = tables
        .pairs(&group_rules())
        .iter()
        .filter_map(|(g, r)| {
            let group = tables.find(app.catalog, USER_GROUP, g)?;
            let rule = tables.find(app.catalog, SMART_RULE, r)?;
            Some(json!({
                "RoleID": role["RoleID"], "RoleName": role["Name"],
                "UserGroupID": group["GroupID"], "UserGroupName": group["Name"], "UserGroupIsActive": group["IsActive"],
                "SmartRuleID": rule["SmartRuleID"], "SmartRuleTitle": rule["Title"], "SmartRuleIsActive": true,
            }))
        })
        .collect();
    drop(tables);
    let m = ModelRef { area: Some("access-policies".into()), name: "PolicyAssignee".into() };
    list_answer(app, call, doc, &m, rows)
}

/// `POST AccessPolicies/Test`: the policies that would apply to a request for the account (all
/// of them here; the simulator does not schedule policies per account).
pub(crate) fn test_access_policy(app: &App, call: &Call) -> Response {
    let Some(doc) = call.doc else { return reply::no_route() };
    let body = match documented_body(app, call) {
        Ok(b) => b,
        Err(r) => return r.into(),
    };
    let tables = app.store();
    let account = get_ci(&body, "AccountId").map(text).unwrap_or_default();
    if tables.find(app.catalog, MANAGED_ACCOUNT, &account).is_none() {
        return reply::not_found("Managed Account");
    }
    let rows = tables.rows(ACCESS_POLICY).to_vec();
    drop(tables);
    list_answer(app, call, doc, &ACCESS_POLICY.model(), rows)
}
