//! Read-only BeyondInsight lookups: workgroups, assets, users and user groups. The reference
//! (§0 to §8) is silent on these; the routes, queries and shapes follow the vendor's API pages
//! (`GET Workgroups`, `GET Workgroups?name=`, `GET Workgroups/{id}`,
//! `GET Workgroups/{id|name}/Assets[?name=]`, `GET Assets/{id}`, `POST Assets/Search`,
//! `GET Users[?username=]`, `GET Users/{id}`, `GET UserGroups[?name=]`, `GET UserGroups/{id}`)
//! and the official Python library 2.32.1 (`workgroups.py`, `assets.py`, `users.py`,
//! `usergroups.py`: the same routes, lower-cased, no `version`, 200 expected). There is no
//! `GET Assets` list in either: assets are listed per workgroup.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::app::App;
use super::auth::{APP_USER_ID, RUNAS_USER_ID};
use super::call::Call;
use super::data::DataVariant;
use super::reply;
use crate::settings::Settings;

/// A workgroup.
#[derive(Debug, Clone)]
pub(crate) struct Workgroup {
    pub id: i64,
    pub name: String,
}

/// An asset.
#[derive(Debug, Clone)]
pub(crate) struct Asset {
    pub id: i64,
    pub workgroup_id: i64,
    pub name: String,
    pub dns: String,
    pub domain: String,
    pub ip: String,
    pub mac: String,
    pub asset_type: String,
    pub os: String,
}

/// The lookup data of one simulator. Users and groups are built as JSON at start: they are
/// only ever read.
#[derive(Debug)]
pub(crate) struct Data {
    pub workgroups: Vec<Workgroup>,
    pub assets: Vec<Asset>,
    users: Vec<Value>,
    groups: Vec<Value>,
    variant: DataVariant,
}

const ORGANIZATION: &str = "c0ffee00-1d2e-4f3a-9b8c-7d6e5f4a3b2c";

impl Data {
    pub(crate) fn build(variant: DataVariant, settings: &Settings) -> Data {
        let sparse = variant.sparse();
        let lab = if sparse { "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e" } else { "psconform-lab" };
        let workgroups =
            vec![Workgroup { id: 1, name: "Default Workgroup".into() }, Workgroup { id: 2, name: lab.into() }];
        let asset = |id, workgroup_id, name: &str, ip: &str, os: &str| Asset {
            id,
            workgroup_id,
            name: name.into(),
            dns: variant.or_empty(&format!("{name}.example.com")),
            domain: variant.or_empty("example.com"),
            ip: ip.into(),
            mac: variant.or_empty("00-15-5D-01-02-03"),
            asset_type: variant.or_empty("Server"),
            os: variant.or_empty(os),
        };
        let mut assets = vec![asset(11, 1, "demo-linux-01", "192.0.2.11", "Ubuntu 22.04")];
        if sparse {
            assets.push(asset(12, 2, "8d4f2a6e-3b1c-4e5f-9a7b-0c1d2e3f4a5b", "192.0.2.12", ""));
        } else {
            assets.push(Asset {
                domain: "corp.example.com".into(),
                ..asset(12, 1, "demo-win-01", "192.0.2.12", "Windows Server 2022")
            });
            assets.push(asset(13, 2, "demo-sql-01", "192.0.2.13", "Windows Server 2019"));
        }
        Data { workgroups, assets, users: users(variant, settings), groups: groups(variant), variant }
    }

    /// The name of workgroup `id`.
    pub(crate) fn workgroup_name(&self, id: i64) -> Option<&str> {
        self.workgroups.iter().find(|w| w.id == id).map(|w| w.name.as_str())
    }

    /// A workgroup by id (digits) or by name (anything else), as the routes
    /// `Workgroups/{workgroupID}/Assets` and `Workgroups/{workgroupName}/Assets` share a path.
    fn workgroup(&self, key: &str) -> Option<&Workgroup> {
        match key.parse::<i64>() {
            Ok(id) => self.workgroups.iter().find(|w| w.id == id),
            Err(_) => self.workgroups.iter().find(|w| w.name.eq_ignore_ascii_case(key)),
        }
    }
}

/// The users: the run-as user (a directory user, or a local one in the sparse variant), the
/// OAuth application user in its own documented shape, and one more named user.
fn users(variant: DataVariant, settings: &Settings) -> Vec<Value> {
    let sparse = variant.sparse();
    let runas = settings.runas.clone().unwrap_or_default();
    let local = runas.rsplit('\\').next().unwrap_or_default().to_owned();
    let named = |id: i64, name: &str, first: &str, last: &str| {
        let mut user = json!({
            "UserID": id,
            "UserName": name,
            "DomainName": if sparse { Value::Null } else { Value::from("corp.example.com") },
            "DistinguishedName": if sparse { Value::Null } else {
                Value::from(format!("CN={first} {last},OU=Users,DC=corp,DC=example,DC=com"))
            },
            "FirstName": variant.or_empty(first),
            "LastName": variant.or_empty(last),
            "EmailAddress": variant.or_empty(&format!("{}@example.com", name.rsplit('\\').next().unwrap_or(name))),
            "LastLoginDate": if sparse { Value::Null } else { Value::from("2024-12-12T10:24:26.323") },
            "LastLoginAuthenticationType": variant.text("API Key"),
            "LastLoginConfigurationName": Value::Null,
            "LastLoginSAMLIDPURL": Value::Null,
            "LastLoginSSOURL": Value::Null,
            "IsQuarantined": false,
        });
        if variant.extras()
            && let Some(obj) = user.as_object_mut()
        {
            // Newer servers report whether the account is active; the user pages do not list it.
            obj.insert("IsActive".into(), Value::Bool(true));
        }
        user
    };
    let application = json!({
        "ClientID": settings.client_id,
        "ClientSecret": Value::Null,
        "AccessPolicyID": 1,
        "UserID": APP_USER_ID,
        "UserType": "Application",
        "UserName": settings.client_id,
        "DomainName": Value::Null,
        "DistinguishedName": Value::Null,
        "FirstName": Value::Null,
        "LastName": Value::Null,
        "EmailAddress": Value::Null,
        "IsQuarantined": false,
    });
    let other = if sparse { "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d" } else { "jdoe" };
    vec![
        named(RUNAS_USER_ID, if runas.is_empty() { "psconform-demo" } else { &runas }, "PSConform", &local),
        application,
        named(9, other, "Jane", "Doe"),
    ]
}

/// The user groups: a BeyondInsight group and a directory group (GUID-named in the sparse
/// variant).
fn groups(variant: DataVariant) -> Vec<Value> {
    let sparse = variant.sparse();
    let directory_name = if sparse { "6a7b8c9d-0e1f-4a2b-9c3d-4e5f6a7b8c9d" } else { "PAM Requestors" };
    vec![
        json!({
            "GroupID": 1,
            "Name": "Administrators",
            "DistinguishedName": Value::Null,
            "Description": variant.or_empty("Built-in administrators"),
            "GroupType": "BeyondInsight",
            "AccountAttribute": Value::Null,
            "ApplicationRegistrationIDs": "",
            "MembershipAttribute": Value::Null,
            "IsActive": true,
        }),
        json!({
            "GroupID": 2,
            "Name": directory_name,
            "DistinguishedName": if sparse { Value::Null } else {
                Value::from("CN=PAM Requestors,OU=Groups,DC=corp,DC=example,DC=com")
            },
            "Description": variant.or_empty("Requestors of managed accounts"),
            "GroupType": if sparse { "BeyondInsight" } else { "ActiveDirectory" },
            "AccountAttribute": if sparse { Value::Null } else { Value::from("sAMAccountName") },
            "ApplicationRegistrationIDs": variant.or_empty("1"),
            "MembershipAttribute": if sparse { Value::Null } else { Value::from("memberOf") },
            "IsActive": !sparse,
        }),
    ]
}

// ---------------------------------------------------------------------------------------------
// Workgroups

fn workgroup_model(w: &Workgroup) -> Value {
    json!({ "OrganizationID": ORGANIZATION, "ID": w.id, "Name": w.name })
}

pub(crate) fn list_workgroups(app: &App, call: &Call) -> Response {
    // `?name=` answers the one workgroup as an object (vendor page `GET Workgroups?name={name}`;
    // the Python library wraps a non-list answer itself).
    if let Some(name) = call.query.text("name") {
        return match app.lookups.workgroups.iter().find(|w| w.name.eq_ignore_ascii_case(name)) {
            Some(w) => reply::ok(&workgroup_model(w)),
            None => reply::not_found("Workgroup"),
        };
    }
    reply::ok(&Value::Array(app.lookups.workgroups.iter().map(workgroup_model).collect()))
}

pub(crate) fn get_workgroup(app: &App, call: &Call) -> Response {
    match call.param(0).parse::<i64>().ok().and_then(|id| app.lookups.workgroups.iter().find(|w| w.id == id)) {
        Some(w) => reply::ok(&workgroup_model(w)),
        None => reply::not_found("Workgroup"),
    }
}

// ---------------------------------------------------------------------------------------------
// Assets

fn asset_model(app: &App, a: &Asset) -> Value {
    let mut model = json!({
        "WorkgroupID": a.workgroup_id,
        "AssetID": a.id,
        "AssetName": a.name,
        "DnsName": a.dns,
        "DomainName": a.domain,
        "IPAddress": a.ip,
        "MacAddress": a.mac,
        "AssetType": a.asset_type,
        "OperatingSystem": a.os,
        "CreateDate": "2024-12-10T08:57:45.9",
        "LastUpdateDate": if app.lookups.variant.sparse() { "2024-12-10T08:57:45.9" } else { "2024-12-12T10:24:26.323" },
    });
    if app.lookups.variant.extras()
        && let Some(obj) = model.as_object_mut()
    {
        // Asset bodies take a Description from version 3.1; the GET model does not list it.
        obj.insert("Description".into(), Value::from(format!("Demo asset {}", a.name)));
    }
    model
}

/// A bare array without `limit`, `{TotalCount, Data}` with it (vendor asset pages).
fn asset_list(app: &App, call: &Call, assets: Vec<&Asset>) -> Response {
    let paging = match call.query.paging() {
        Ok(p) => p,
        Err(refusal) => return refusal.into(),
    };
    let all: Vec<Value> = assets.into_iter().map(|a| asset_model(app, a)).collect();
    let total = all.len();
    reply::ok(&reply::list(paging.page(all, 100_000), total, paging.limit.is_some()))
}

pub(crate) fn workgroup_assets(app: &App, call: &Call) -> Response {
    let Some(workgroup) = app.lookups.workgroup(call.param(0)) else {
        return reply::not_found("Workgroup");
    };
    let in_group = app.lookups.assets.iter().filter(|a| a.workgroup_id == workgroup.id);
    // `Workgroups/{workgroupName}/Assets?name={name}` answers the one asset.
    if let Some(name) = call.query.text("name") {
        return match in_group.clone().find(|a| a.name.eq_ignore_ascii_case(name)) {
            Some(a) => reply::ok(&asset_model(app, a)),
            None => reply::not_found("Asset"),
        };
    }
    asset_list(app, call, in_group.collect())
}

pub(crate) fn get_asset(app: &App, call: &Call) -> Response {
    match call.param(0).parse::<i64>().ok().and_then(|id| app.lookups.assets.iter().find(|a| a.id == id)) {
        Some(a) => reply::ok(&asset_model(app, a)),
        None => reply::not_found("Asset"),
    }
}

/// `POST Assets/Search`: exact, case-insensitive matches on the given properties; `IPAddress`
/// may be a comma-separated list. A read, despite the method.
pub(crate) fn search_assets(app: &App, call: &Call) -> Response {
    let body = call.body.as_deref().unwrap_or_default();
    let Ok(Value::Object(criteria)) = serde_json::from_slice::<Value>(body) else {
        return reply::message(StatusCode::BAD_REQUEST, "The request body is not a JSON object.");
    };
    let criteria: Map<String, Value> =
        criteria.into_iter().filter(|(_, v)| v.as_str().is_some_and(|s| !s.trim().is_empty())).collect();
    if criteria.is_empty() {
        return reply::message(StatusCode::BAD_REQUEST, "At least one search criterion is required.");
    }
    let field = |name: &str| {
        criteria.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).and_then(|(_, v)| v.as_str()).map(str::trim)
    };
    let matching: Vec<&Asset> = app
        .lookups
        .assets
        .iter()
        .filter(|a| {
            field("AssetName").is_none_or(|v| a.name.eq_ignore_ascii_case(v))
                && field("DnsName").is_none_or(|v| a.dns.eq_ignore_ascii_case(v))
                && field("DomainName").is_none_or(|v| a.domain.eq_ignore_ascii_case(v))
                && field("MacAddress").is_none_or(|v| a.mac.eq_ignore_ascii_case(v))
                && field("AssetType").is_none_or(|v| a.asset_type.eq_ignore_ascii_case(v))
                && field("IPAddress").is_none_or(|v| v.split(',').any(|ip| ip.trim() == a.ip))
        })
        .collect();
    asset_list(app, call, matching)
}

// ---------------------------------------------------------------------------------------------
// Users and user groups

/// Whether `name` names the user: the user name, or `DOMAIN\name` for a directory user.
fn user_named(user: &Value, name: &str) -> bool {
    let user_name = user["UserName"].as_str().unwrap_or_default();
    let qualified = user["DomainName"].as_str().map(|d| format!("{d}\\{user_name}"));
    user_name.eq_ignore_ascii_case(name) || qualified.is_some_and(|q| q.eq_ignore_ascii_case(name))
}

pub(crate) fn list_users(app: &App, call: &Call) -> Response {
    if let Err(refusal) = call.query.bool("includeInactive") {
        return refusal.into();
    }
    // With `username`, the requested user, still as an array (vendor page `GET Users`); a name
    // that matches nobody is an empty array.
    let users: Vec<Value> = app
        .lookups
        .users
        .iter()
        .filter(|u| call.query.text("username").is_none_or(|n| user_named(u, n)))
        .cloned()
        .collect();
    reply::ok(&Value::Array(users))
}

pub(crate) fn get_user(app: &App, call: &Call) -> Response {
    let id = call.param(0).parse::<i64>().ok();
    match app.lookups.users.iter().find(|u| id.is_some() && u["UserID"].as_i64() == id) {
        Some(u) => reply::ok(u),
        None => reply::not_found("User"),
    }
}

pub(crate) fn list_user_groups(app: &App, call: &Call) -> Response {
    let groups = &app.lookups.groups;
    let Some(name) = call.query.text("name") else {
        return reply::ok(&Value::Array(groups.clone()));
    };
    let Some(group) = groups.iter().find(|g| g["Name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(name))) else {
        return reply::not_found("User Group");
    };
    // The by-name model has no Description (vendor page `GET UserGroups?name={name}`). Older
    // pages show it as an object, newer ones as a one-element array; the sparse variant
    // answers the newer form.
    let mut by_name = group.clone();
    if let Some(obj) = by_name.as_object_mut() {
        obj.remove("Description");
    }
    reply::ok(&if app.lookups.variant.sparse() { json!([by_name]) } else { by_name })
}

pub(crate) fn get_user_group(app: &App, call: &Call) -> Response {
    let id = call.param(0).parse::<i64>().ok();
    match app.lookups.groups.iter().find(|g| id.is_some() && g["GroupID"].as_i64() == id) {
        Some(g) => reply::ok(g),
        None => reply::not_found("User Group"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workgroups_by_id_or_name() {
        let data = Data::build(DataVariant::Standard, &Settings::default());
        assert_eq!(data.workgroup("2").map(|w| w.name.as_str()), Some("psconform-lab"));
        assert_eq!(data.workgroup("DEFAULT workgroup").map(|w| w.id), Some(1));
        assert!(data.workgroup("nope").is_none());
    }

    #[test]
    fn users_by_plain_or_qualified_name() {
        let settings = Settings { runas: Some("svc-conform".into()), ..Settings::default() };
        let data = Data::build(DataVariant::Standard, &settings);
        let runas = &data.users[0];
        assert!(user_named(runas, "SVC-CONFORM"));
        assert!(user_named(runas, "corp.example.com\\svc-conform"));
        assert!(!user_named(runas, "other\\svc-conform"));
        assert_eq!(data.users[1]["UserType"], json!("Application"));
        assert_eq!(data.users[1]["ClientSecret"], Value::Null);
    }
}
