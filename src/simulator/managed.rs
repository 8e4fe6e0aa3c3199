//! Managed accounts as behaviour: the requestable-account view of `GET ManagedAccounts` (the
//! role-based model with its `SystemId`/`AccountId` casing, built from the managed account and
//! system records of the one store), and the account credentials: set (by id or by workgroup,
//! asset and account name), changed to a fresh random value, tested. The credentials live in
//! the account records' hidden parts; the release flow that hands them out is `requests`.
//! Listing and finding systems and accounts is the table routes' (`resources`).

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::app::App;
use super::call::Call;
use super::config::random_alphanumeric;
use super::fault::Fault;
use super::fill::{self, Fit};
use super::reply::{self, Refusal};
use super::resources::{body_object, get_ci};
use super::seed::NODE;
use super::tables::{ASSET, MANAGED_ACCOUNT, MANAGED_SYSTEM, Tables, WORKGROUP, same, text};
use crate::catalog::ModelRef;

/// The `type` values `GET ManagedAccounts` takes.
const ACCOUNT_TYPES: &[&str] = &["system", "recent", "domainlinked", "database", "cloud", "application"];

/// What kind of account a record is, as `type=` of `GET ManagedAccounts` reads it: what the
/// demo data planted, or what the account's domain and system say.
pub(crate) fn kind(tables: &Tables, account: &Value) -> String {
    let id = text(&account["ManagedAccountID"]);
    if let Some(k) = tables.hidden(MANAGED_ACCOUNT, &id).and_then(|h| h.get("Kind")).and_then(Value::as_str) {
        return k.to_owned();
    }
    let system = tables.rows(MANAGED_SYSTEM).iter().find(|s| s["ManagedSystemID"] == account["ManagedSystemID"]);
    if account["DomainName"].as_str().is_some_and(|d| !d.is_empty()) {
        "domainlinked".into()
    } else if system.is_some_and(|s| s["EntityTypeID"] == 2) {
        "database".into()
    } else {
        "system".into()
    }
}

/// The application an account belongs to (its id and display name), if any.
fn application(tables: &Tables, account: &Value) -> Option<(i64, String)> {
    let id = text(&account["ManagedAccountID"]);
    let app = tables.hidden(MANAGED_ACCOUNT, &id)?.get("Application")?;
    Some((app[0].as_i64()?, app[1].as_str()?.to_owned()))
}

/// Whether `name` names the account the way `accountName` must: a directory account as
/// `DOMAIN\account` or by its UPN, any other by its name, ignoring case.
fn account_named(tables: &Tables, account: &Value, name: &str) -> bool {
    if kind(tables, account) == "domainlinked" {
        let domain = account["DomainName"].as_str().unwrap_or_default();
        let qualified = format!("{domain}\\{}", account["AccountName"].as_str().unwrap_or_default());
        qualified.eq_ignore_ascii_case(name)
            || account["UserPrincipalName"].as_str().is_some_and(|u| u.eq_ignore_ascii_case(name))
    } else {
        same(&account["AccountName"], name)
    }
}

/// The requestable account a `systemName`/`accountName` pair names.
pub(crate) fn find_requestable<'t>(tables: &'t Tables, system: &str, account: &str) -> Option<&'t Value> {
    let s = tables.rows(MANAGED_SYSTEM).iter().find(|s| same(&s["SystemName"], system))?;
    tables
        .rows(MANAGED_ACCOUNT)
        .iter()
        .filter(|a| a["ManagedSystemID"] == s["ManagedSystemID"] && a["ApiEnabled"] == true)
        .find(|a| account_named(tables, a, account))
}

// ---------------------------------------------------------------------------------------------
// GET ManagedAccounts

pub(crate) fn requestable_accounts(app: &App, call: &Call) -> Response {
    let q = &call.query;
    let kind_wanted = q.text("type").map(str::to_ascii_lowercase);
    if let Some(k) = &kind_wanted
        && !ACCOUNT_TYPES.contains(&k.as_str())
    {
        return reply::bad_value(k, "type");
    }
    if q.text("applicationDisplayName").is_some() && kind_wanted.as_deref() != Some("application") {
        return reply::message(StatusCode::BAD_REQUEST, "applicationDisplayName requires type=application");
    }
    let paging = match q.paging() {
        Ok(p) => p,
        Err(refusal) => return refusal.into(),
    };
    let tables = app.store();
    // Both names identify one account: the answer is that object, even with limit/offset.
    if let (Some(system), Some(account)) = (q.text("systemName"), q.text("accountName")) {
        let Some(found) = find_requestable(&tables, system, account) else {
            return reply::not_found("Managed Account");
        };
        let model = requestable(app, &tables, found);
        return reply::ok(&if app.has(Fault::AccountLookupList) { json!([model]) } else { model });
    }
    let system_id = match q.number("systemID", 1) {
        Ok(id) => id,
        Err(refusal) => return refusal.into(),
    };
    let recent = app.requests.accounts_of(call.principal);
    let system = |a: &Value| tables.rows(MANAGED_SYSTEM).iter().find(|s| s["ManagedSystemID"] == a["ManagedSystemID"]);
    let matching: Vec<Value> = tables
        .rows(MANAGED_ACCOUNT)
        .iter()
        .filter(|a| a["ApiEnabled"] == true)
        .filter(|a| {
            let s = system(a);
            let kind = kind(&tables, a);
            q.text("systemName").is_none_or(|n| s.is_some_and(|s| same(&s["SystemName"], n)))
                && q.text("accountName").is_none_or(|n| account_named(&tables, a, n))
                && system_id.is_none_or(|id| a["ManagedSystemID"] == id)
                && q.text("workgroupName").is_none_or(|n| {
                    s.is_some_and(|s| {
                        tables.rows(WORKGROUP).iter().any(|w| w["ID"] == s["WorkgroupID"] && same(&w["Name"], n))
                    })
                })
                && q.text("ipAddress").is_none_or(|ip| s.is_some_and(|s| s["IPAddress"] == ip))
                && q.text("applicationDisplayName")
                    .is_none_or(|n| application(&tables, a).is_some_and(|(_, name)| name.eq_ignore_ascii_case(n)))
                && match kind_wanted.as_deref() {
                    None => true,
                    Some("recent") => a["ManagedAccountID"].as_i64().is_some_and(|id| recent.contains(&id)),
                    Some(k) => kind == k,
                }
        })
        .map(|a| requestable(app, &tables, a))
        .collect();
    // Always a plain array; paging clients stop when a page is shorter than `limit`.
    reply::ok(&Value::Array(paging.page(matching, 1000)))
}

/// The requestable-account model, with the exact `SystemId`/`AccountId` casing clients index
/// on, built from the account and its system.
pub(crate) fn requestable(app: &App, tables: &Tables, a: &Value) -> Value {
    let s = tables.rows(MANAGED_SYSTEM).iter().find(|s| s["ManagedSystemID"] == a["ManagedSystemID"]);
    let non_empty = |v: &Value| v.as_str().filter(|t| !t.is_empty()).map(str::to_owned);
    let application = application(tables, a);
    let model = json!({
        "PlatformID": s.map_or(Value::from(0), |s| s["PlatformID"].clone()),
        "SystemId": a["ManagedSystemID"],
        "SystemName": s.map_or(Value::Null, |s| s["SystemName"].clone()),
        "DomainName": non_empty(&a["DomainName"]),
        "AccountId": a["ManagedAccountID"],
        "AccountName": a["AccountName"],
        "InstanceName": s.and_then(|s| non_empty(&s["InstanceName"])).unwrap_or_default(),
        "UserPrincipalName": non_empty(&a["UserPrincipalName"]),
        "ApplicationID": application.as_ref().map(|(id, _)| *id),
        "ApplicationDisplayName": application.as_ref().map(|(_, name)| name.clone()),
        "DefaultReleaseDuration": a["ReleaseDuration"],
        "MaximumReleaseDuration": a["MaxReleaseDuration"],
        "LastChangeDate": a["LastChangeDate"],
        "NextChangeDate": a["NextChangeDate"],
        "IsChanging": false,
        "ChangeState": 0,
        "IsISAAccess": false,
        "PreferredNodeID": NODE,
        "AccountDescription": a.get("Description").cloned().unwrap_or_else(|| Value::from("")),
    });
    let id = a["ManagedAccountID"].as_i64().unwrap_or_default();
    let r = ModelRef { area: Some("managed-accounts".into()), name: "RequestableAccount".into() };
    let how = Fit::view(app.data.sparse(), id % 2 == 0);
    let keep = ["SystemId", "AccountId", "SystemName", "AccountName"];
    let mut model =
        fill::fit(&app.catalog.models, &r, model, how, &keep, None, fill::seed_of(&["requestable", &id.to_string()]));
    if let Some(obj) = model.as_object_mut() {
        if app.data.extras() && kind(tables, a) == "system" {
            // Newer servers add fields the requestable model does not document yet.
            obj.insert("ObjectID".into(), Value::from(format!("00000000-0000-4000-8000-{id:012}")));
        }
        if app.has(Fault::AccountSystemIdSpelling)
            && let Some(id) = obj.remove("SystemId")
        {
            obj.insert("SystemID".into(), id);
        }
    }
    model
}

// ---------------------------------------------------------------------------------------------
// Credentials

/// The account's current credential of a kind (`password`, `dsskey`, `passphrase`), made up
/// and kept on first use for an account that has none yet (one created through the API with
/// an auto-managed password).
pub(crate) fn credential(tables: &mut Tables, account_id: &str, kind: Option<&str>) -> Option<String> {
    let field = match kind {
        None | Some("password") => "Password",
        Some("dsskey") => "PrivateKey",
        Some("passphrase") => "Passphrase",
        Some(_) => return None,
    };
    let hidden = tables.hidden_mut(MANAGED_ACCOUNT, account_id);
    if field == "Password" && !hidden.contains_key("Password") {
        hidden.insert("Password".into(), Value::String(random_alphanumeric(&mut rand::rng(), 24)));
    }
    // An account without a DSS key answers an empty string for `dsskey` and `passphrase`; what
    // real servers answer there is not documented.
    Some(hidden.get(field).and_then(Value::as_str).unwrap_or_default().to_owned())
}

/// Writes a new credential from a `CredentialsUpdate` body (a random password when it names
/// none) into an account's hidden part.
fn write_credentials(tables: &mut Tables, account_id: &str, body: &Map<String, Value>) {
    let hidden = tables.hidden_mut(MANAGED_ACCOUNT, account_id);
    let password = get_ci(body, "Password")
        .or_else(|| get_ci(body, "Credentials"))
        .and_then(Value::as_str)
        .map_or_else(|| random_alphanumeric(&mut rand::rng(), 24), str::to_owned);
    hidden.insert("Password".into(), Value::String(password));
    for field in ["PrivateKey", "Passphrase"] {
        if let Some(v) = get_ci(body, field).filter(|v| v.is_string()) {
            hidden.insert(field.into(), v.clone());
        }
    }
}

/// A body that may be empty (`{}` or nothing).
fn optional_body(call: &Call) -> Result<Map<String, Value>, Refusal> {
    if call.body.as_deref().is_some_and(|b| b.iter().all(u8::is_ascii_whitespace)) {
        return Ok(Map::new());
    }
    body_object(call)
}

pub(crate) fn set_credentials(app: &App, call: &Call) -> Response {
    let body = match optional_body(call) {
        Ok(b) => b,
        Err(r) => return r.into(),
    };
    let mut tables = app.store();
    let Some(account) = tables.find(app.catalog, MANAGED_ACCOUNT, call.param(0)) else {
        return reply::not_found("Managed Account");
    };
    let id = text(&account["ManagedAccountID"]);
    write_credentials(&mut tables, &id, &body);
    reply::empty(StatusCode::NO_CONTENT)
}

/// `PUT Credentials?workgroupName=&assetName=&accountName=` and the same names in the route:
/// the account of that name on the system of that asset in that workgroup.
pub(crate) fn set_credentials_by_name(app: &App, call: &Call) -> Response {
    let body = match optional_body(call) {
        Ok(b) => b,
        Err(r) => return r.into(),
    };
    let names: Vec<String> = if call.params.len() == 3 {
        call.params.clone()
    } else {
        ["workgroupName", "assetName", "accountName"]
            .iter()
            .map(|n| call.query.text(n).unwrap_or_default().to_owned())
            .collect()
    };
    let [workgroup, asset, account] = names.as_slice() else { return reply::no_route() };
    if workgroup.is_empty() || asset.is_empty() || account.is_empty() {
        return reply::message(StatusCode::BAD_REQUEST, "workgroupName, assetName and accountName are required.");
    }
    let mut tables = app.store();
    let found = tables.rows(WORKGROUP).iter().find(|w| same(&w["Name"], workgroup)).and_then(|w| {
        let asset = tables.rows(ASSET).iter().find(|a| a["WorkgroupID"] == w["ID"] && same(&a["AssetName"], asset))?;
        let system = tables.rows(MANAGED_SYSTEM).iter().find(|s| s["AssetID"] == asset["AssetID"])?;
        tables
            .rows(MANAGED_ACCOUNT)
            .iter()
            .find(|a| a["ManagedSystemID"] == system["ManagedSystemID"] && same(&a["AccountName"], account))
            .map(|a| text(&a["ManagedAccountID"]))
    });
    let Some(id) = found else { return reply::not_found("Managed Account") };
    write_credentials(&mut tables, &id, &body);
    reply::empty(StatusCode::NO_CONTENT)
}

pub(crate) fn change_credentials(app: &App, call: &Call) -> Response {
    let mut tables = app.store();
    let Some(account) = tables.find(app.catalog, MANAGED_ACCOUNT, call.param(0)) else {
        return reply::not_found("Managed Account");
    };
    let id = text(&account["ManagedAccountID"]);
    write_credentials(&mut tables, &id, &Map::new());
    reply::empty(StatusCode::NO_CONTENT)
}

pub(crate) fn change_system_credentials(app: &App, call: &Call) -> Response {
    let mut tables = app.store();
    let Some(system) = tables.find(app.catalog, MANAGED_SYSTEM, call.param(0)).cloned() else {
        return reply::not_found("Managed System");
    };
    let ids: Vec<String> = tables
        .rows(MANAGED_ACCOUNT)
        .iter()
        .filter(|a| a["ManagedSystemID"] == system["ManagedSystemID"])
        .map(|a| text(&a["ManagedAccountID"]))
        .collect();
    for id in ids {
        write_credentials(&mut tables, &id, &Map::new());
    }
    reply::empty(StatusCode::NO_CONTENT)
}

/// The test of an account's credential against its system always succeeds here: the simulator
/// has no system to log on to, and its credentials are the ones it keeps.
pub(crate) fn test_credentials(app: &App, call: &Call) -> Response {
    let tables = app.store();
    if tables.find(app.catalog, MANAGED_ACCOUNT, call.param(0)).is_none() {
        return reply::not_found("Managed Account");
    }
    reply::ok(&json!({ "Success": true }))
}

/// A fresh random password for an account: what a rotation at check-in does.
pub(crate) fn rotate(tables: &mut Tables, account_id: &str) {
    write_credentials(tables, account_id, &Map::new());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulator::data::DataVariant;
    use crate::simulator::testing::Client;

    /// The password a release of the account hands out now.
    async fn released(me: &Client, system: i64, account: &Value) -> Value {
        let body = json!({"SystemID": system, "AccountID": account, "DurationMinutes": 5, "ConflictOption": "renew"});
        let (status, id) = me.json("POST", "Requests", Some(body)).await;
        assert!(status == 201 || status == 200, "{status} {id}");
        let (_, password) = me.json("GET", &format!("Credentials/{id}"), None).await;
        password
    }

    #[tokio::test]
    async fn credentials_set_changed_and_tested_are_the_ones_released() {
        let me = Client::new(DataVariant::Standard).await;
        let ten = json!(10);
        assert_eq!(
            me.json("PUT", "ManagedAccounts/10/Credentials", Some(json!({"Password": "s3t-by-id"}))).await.0,
            204
        );
        assert_eq!(released(&me, 1, &ten).await, "s3t-by-id");
        let by_name = "Credentials?workgroupName=Default%20Workgroup&assetName=demo-linux-01&accountName=svc-release";
        assert_eq!(me.json("PUT", by_name, Some(json!({"Password": "s3t-by-name"}))).await.0, 204);
        assert_eq!(released(&me, 1, &ten).await, "s3t-by-name");
        let route = "Workgroups/Default%20Workgroup/Assets/demo-linux-01/ManagedSystems/ManagedAccounts/svc-release/Credentials";
        assert_eq!(me.json("PUT", route, Some(json!({"Password": "s3t-by-route"}))).await.0, 204);
        assert_eq!(released(&me, 1, &ten).await, "s3t-by-route");
        assert_eq!(
            me.json("PUT", "Credentials?workgroupName=x&assetName=y&accountName=z", Some(json!({}))).await.0,
            404
        );
        assert_eq!(me.json("POST", "ManagedAccounts/10/Credentials/Change", Some(json!({}))).await.0, 204);
        assert_ne!(released(&me, 1, &ten).await, "s3t-by-route");
        assert_eq!(me.json("POST", "ManagedAccounts/10/Credentials/Test", None).await, (200, json!({"Success": true})));
        assert_eq!(me.json("POST", "ManagedAccounts/404/Credentials/Test", None).await.0, 404);
    }

    #[tokio::test]
    async fn an_account_created_on_a_system_is_requestable_with_its_password() {
        let me = Client::new(DataVariant::Standard).await;
        let body = json!({"AccountName": "psconform-svc", "Password": "cr3ated", "ApiEnabled": true, "ReleaseDuration": 60, "MaxReleaseDuration": 120});
        let (status, made) = me.json("POST", "ManagedSystems/1/ManagedAccounts", Some(body.clone())).await;
        assert_eq!(status, 201, "{made}");
        assert!(made.get("Password").is_none(), "a credential never shows in the record: {made}");
        assert_eq!(me.json("POST", "ManagedSystems/1/ManagedAccounts", Some(body)).await.0, 409, "a taken name");
        let (_, found) =
            me.json("GET", "ManagedAccounts?systemName=demo-linux-01&accountName=psconform-svc", None).await;
        assert_eq!(found["AccountId"], made["ManagedAccountID"]);
        assert_eq!(released(&me, 1, &made["ManagedAccountID"]).await, "cr3ated");
        assert_eq!(me.json("DELETE", "ManagedSystems/1/ManagedAccounts/psconform-svc", None).await.0, 200);
        assert_eq!(me.json("GET", &format!("ManagedAccounts/{}", made["ManagedAccountID"]), None).await.0, 404);
    }
}
