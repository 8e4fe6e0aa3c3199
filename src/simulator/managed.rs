//! Managed systems and accounts (reference §2.1, §5): `GET ManagedAccounts` (the requestable,
//! role-based model with its `SystemId`/`AccountId` casing), `GET ManagedSystems` (bare array,
//! or `{TotalCount, Data}` with `limit`), `GET ManagedSystems/{id}` and
//! `GET ManagedSystems/{id}/ManagedAccounts` (the provisioning, permission-based model). Owns
//! the fixture systems and accounts of each data variant and their random credentials; the
//! release flow that hands those out lives in `requests`.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::app::App;
use super::call::Call;
use super::config::random_alphanumeric;
use super::data::DataVariant;
use super::fault::Fault;
use super::reply;
use crate::settings::Settings;

/// What kind of entity a managed system is (its `EntityTypeID`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SystemKind {
    Asset,
    Database,
    Directory,
}

impl SystemKind {
    fn entity_type_id(self) -> i64 {
        match self {
            SystemKind::Asset => 1,
            SystemKind::Database => 2,
            SystemKind::Directory => 3,
        }
    }
}

/// A managed system.
#[derive(Debug, Clone)]
pub(crate) struct System {
    pub id: i64,
    pub name: String,
    pub kind: SystemKind,
    pub platform_id: i64,
    pub workgroup_id: i64,
    pub asset_id: Option<i64>,
    pub database_id: Option<i64>,
    pub directory_id: Option<i64>,
    pub ip: Option<String>,
    pub dns: Option<String>,
    pub instance: Option<String>,
    pub port: Option<i64>,
    pub description: Option<String>,
}

/// What `type=` a managed account answers to (reference §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AccountKind {
    Local,
    Domain,
    Database,
    Application,
}

/// A managed account with its current credentials.
#[derive(Debug, Clone)]
pub(crate) struct Account {
    pub id: i64,
    pub system_id: i64,
    pub name: String,
    pub kind: AccountKind,
    pub domain: Option<String>,
    pub upn: Option<String>,
    pub application: Option<(i64, String)>,
    pub description: Option<String>,
    /// "Enable for API Access": only such accounts are requestable.
    pub api_enabled: bool,
    pub default_release: i64,
    pub max_release: i64,
    pub last_change: Option<String>,
    pub next_change: Option<String>,
    pub node: String,
    pub password: String,
    pub dss_key: Option<String>,
    pub passphrase: Option<String>,
}

/// The systems and accounts of one simulator.
#[derive(Debug)]
pub(crate) struct Data {
    pub systems: Vec<System>,
    pub accounts: Vec<Account>,
    variant: DataVariant,
}

const NODE: &str = "4f1c9e2a-7b3d-4c5e-8a9f-0b1c2d3e4f5a";

impl Data {
    /// The fixtures of `variant`, plus the account `PS_ACCOUNT` names when it is not one of
    /// them, so that release cases find it whatever it is called. Every credential is drawn
    /// fresh, so a test can use a retrieved one as a canary.
    pub(crate) fn build(variant: DataVariant, settings: &Settings) -> Data {
        let mut rng = rand::rng();
        let mut password = || random_alphanumeric(&mut rng, 24);
        let sparse = variant.sparse();
        let text = |t: &str| variant.text(t);
        let mut systems = vec![System {
            id: 1,
            name: "demo-linux-01".into(),
            kind: SystemKind::Asset,
            platform_id: 2,
            workgroup_id: 1,
            asset_id: Some(11),
            database_id: None,
            directory_id: None,
            ip: Some("192.0.2.11".into()),
            dns: text("demo-linux-01.example.com"),
            instance: None,
            port: Some(22),
            description: text("Demo Linux host"),
        }];
        let local = |id, system_id, name: &str, password: String| Account {
            id,
            system_id,
            name: name.into(),
            kind: AccountKind::Local,
            domain: None,
            upn: None,
            application: None,
            description: text("Local account"),
            api_enabled: true,
            default_release: 120,
            max_release: 525_600,
            last_change: if sparse { None } else { Some("2024-12-10T08:57:45.9".into()) },
            next_change: None,
            node: NODE.into(),
            password,
            dss_key: None,
            passphrase: None,
        };
        let mut accounts = vec![
            Account {
                description: text("Release account for psconform"),
                dss_key: Some(format!(
                    "-----BEGIN OPENSSH PRIVATE KEY-----\n{}\n-----END OPENSSH PRIVATE KEY-----\n",
                    random_alphanumeric(&mut rand::rng(), 64)
                )),
                passphrase: Some(random_alphanumeric(&mut rand::rng(), 16)),
                ..local(10, 1, "svc-release", password())
            },
            // Not enabled for API access: visible to provisioning, never requestable.
            Account { api_enabled: false, description: None, ..local(11, 1, "root", password()) },
        ];
        if sparse {
            // GUID-looking names, nothing optional filled.
            systems.push(System {
                id: 2,
                name: "8d4f2a6e-3b1c-4e5f-9a7b-0c1d2e3f4a5b".into(),
                kind: SystemKind::Asset,
                platform_id: 1,
                workgroup_id: 2,
                asset_id: Some(12),
                database_id: None,
                directory_id: None,
                ip: Some("192.0.2.12".into()),
                dns: None,
                instance: None,
                port: None,
                description: None,
            });
            accounts.push(local(12, 2, "1f0e2d3c-4b5a-4697-8877-665544332211", password()));
        } else {
            systems.push(System {
                id: 2,
                name: "corp.example.com".into(),
                kind: SystemKind::Directory,
                platform_id: 25,
                workgroup_id: 1,
                asset_id: None,
                database_id: None,
                directory_id: Some(4),
                ip: None,
                dns: Some("corp.example.com".into()),
                instance: None,
                port: None,
                description: if variant.extras() { Some("Corporate directory".into()) } else { None },
            });
            systems.push(System {
                id: 3,
                name: "demo-sql-01".into(),
                kind: SystemKind::Database,
                platform_id: 8,
                workgroup_id: 2,
                asset_id: Some(13),
                database_id: Some(5),
                directory_id: None,
                ip: Some("192.0.2.13".into()),
                dns: Some("demo-sql-01.example.com".into()),
                instance: Some("MSSQLSERVER".into()),
                port: Some(1433),
                description: Some("Demo database server".into()),
            });
            accounts.push(Account {
                kind: AccountKind::Domain,
                domain: Some("corp.example.com".into()),
                upn: Some("svc-backup@corp.example.com".into()),
                description: if variant.extras() { Some("Backup service".into()) } else { Some(String::new()) },
                last_change: Some("2024-12-12T10:24:26.323Z".into()),
                next_change: Some("2025-01-11T00:00:00".into()),
                ..local(12, 2, "svc-backup", password())
            });
            accounts.push(Account {
                kind: AccountKind::Database,
                description: Some("Database administrator".into()),
                last_change: if variant.extras() { Some("2024-11-02T17:03:00".into()) } else { None },
                next_change: if variant.extras() { Some("2025-02-01T00:00:00".into()) } else { None },
                ..local(13, 3, "sa", password())
            });
            accounts.push(Account {
                kind: AccountKind::Application,
                application: Some((3, "Deploy Tool".into())),
                default_release: 60,
                max_release: 1440,
                ..local(14, 1, "deploy-tool", password())
            });
        }
        let mut data = Data { systems, accounts, variant };
        if let Some((system, account)) = settings.account.as_deref().and_then(|a| a.split_once('/')) {
            data.ensure_account(system, account, password());
        }
        data
    }

    /// Adds `system/account` as a requestable local account unless it exists.
    fn ensure_account(&mut self, system: &str, account: &str, password: String) {
        let system_id = match self.systems.iter().find(|s| s.name.eq_ignore_ascii_case(system)) {
            Some(s) => s.id,
            None => {
                let id = self.systems.iter().map(|s| s.id).max().unwrap_or(0) + 1;
                self.systems.push(System {
                    id,
                    name: system.to_owned(),
                    kind: SystemKind::Asset,
                    platform_id: 2,
                    workgroup_id: 1,
                    asset_id: Some(100 + id),
                    database_id: None,
                    directory_id: None,
                    ip: Some(format!("192.0.2.{}", 100 + id.clamp(0, 150))),
                    dns: None,
                    instance: None,
                    port: Some(22),
                    description: None,
                });
                id
            }
        };
        let exists = self.find_account(system, account).is_some();
        if !exists {
            let id = self.accounts.iter().map(|a| a.id).max().unwrap_or(0) + 1;
            self.accounts.push(Account {
                id,
                system_id,
                name: account.to_owned(),
                kind: AccountKind::Local,
                domain: None,
                upn: None,
                application: None,
                description: self.variant.text("Account named by PS_ACCOUNT"),
                api_enabled: true,
                default_release: 120,
                max_release: 525_600,
                last_change: None,
                next_change: None,
                node: NODE.into(),
                password,
                dss_key: None,
                passphrase: None,
            });
        }
    }

    pub(crate) fn system(&self, id: i64) -> Option<&System> {
        self.systems.iter().find(|s| s.id == id)
    }

    pub(crate) fn account(&self, id: i64) -> Option<&Account> {
        self.accounts.iter().find(|a| a.id == id)
    }

    /// The requestable account a `systemName`/`accountName` pair names, ignoring case. A
    /// directory account is named `DOMAIN\account` or by its UPN (reference §2.1).
    pub(crate) fn find_account(&self, system: &str, account: &str) -> Option<&Account> {
        let system = self.systems.iter().find(|s| s.name.eq_ignore_ascii_case(system))?;
        self.accounts.iter().filter(|a| a.system_id == system.id && a.api_enabled).find(|a| account_named(a, account))
    }
}

/// Whether `name` names the account the way `accountName` must (reference §2.1).
fn account_named(account: &Account, name: &str) -> bool {
    match account.kind {
        AccountKind::Domain => {
            let qualified = account.domain.as_deref().map(|d| format!("{d}\\{}", account.name));
            qualified.is_some_and(|q| q.eq_ignore_ascii_case(name))
                || account.upn.as_deref().is_some_and(|u| u.eq_ignore_ascii_case(name))
        }
        _ => account.name.eq_ignore_ascii_case(name),
    }
}

// ---------------------------------------------------------------------------------------------
// GET ManagedAccounts

/// The `type` values `GET ManagedAccounts` takes (reference §2.1).
const ACCOUNT_TYPES: &[&str] = &["system", "recent", "domainlinked", "database", "cloud", "application"];

pub(crate) fn list_accounts(app: &App, call: &Call) -> Response {
    let q = &call.query;
    let kind = q.text("type").map(str::to_ascii_lowercase);
    if let Some(kind) = &kind
        && !ACCOUNT_TYPES.contains(&kind.as_str())
    {
        return reply::bad_value(kind, "type");
    }
    if q.text("applicationDisplayName").is_some() && kind.as_deref() != Some("application") {
        return reply::message(StatusCode::BAD_REQUEST, "applicationDisplayName requires type=application");
    }
    let paging = match q.paging() {
        Ok(p) => p,
        Err(refusal) => return refusal.into(),
    };
    let data = &app.managed;
    // Both names identify one account: the answer is that object, even with limit/offset.
    if let (Some(system), Some(account)) = (q.text("systemName"), q.text("accountName")) {
        let Some(found) = data.find_account(system, account) else {
            return reply::not_found("Managed Account");
        };
        let model = requestable(app, found);
        return reply::ok(&if app.has(Fault::AccountLookupList) { json!([model]) } else { model });
    }
    let system_id = match q.number("systemID", 1) {
        Ok(id) => id,
        Err(refusal) => return refusal.into(),
    };
    let recent = app.requests.accounts_of(call.principal);
    let matching: Vec<Value> = data
        .accounts
        .iter()
        .filter(|a| a.api_enabled)
        .filter(|a| {
            let system = data.system(a.system_id);
            q.text("systemName").is_none_or(|n| system.is_some_and(|s| s.name.eq_ignore_ascii_case(n)))
                && q.text("accountName").is_none_or(|n| account_named(a, n))
                && system_id.is_none_or(|id| a.system_id == id)
                && q.text("workgroupName").is_none_or(|n| {
                    system.is_some_and(|s| {
                        app.lookups.workgroup_name(s.workgroup_id).is_some_and(|w| w.eq_ignore_ascii_case(n))
                    })
                })
                && q.text("ipAddress").is_none_or(|ip| system.and_then(|s| s.ip.as_deref()) == Some(ip))
                && q.text("applicationDisplayName")
                    .is_none_or(|n| a.application.as_ref().is_some_and(|(_, name)| name.eq_ignore_ascii_case(n)))
                && match kind.as_deref() {
                    None => true,
                    Some("system") => a.kind == AccountKind::Local,
                    Some("domainlinked") => a.kind == AccountKind::Domain,
                    Some("database") => a.kind == AccountKind::Database,
                    Some("application") => a.kind == AccountKind::Application,
                    Some("recent") => recent.contains(&a.id),
                    _ => false,
                }
        })
        .map(|a| requestable(app, a))
        .collect();
    // Always a plain array; paging clients stop when a page is shorter than `limit` (§5).
    reply::ok(&Value::Array(paging.page(matching, 1000)))
}

/// The requestable-account model (reference §2.1), with the exact `SystemId`/`AccountId`
/// casing clients index on.
fn requestable(app: &App, a: &Account) -> Value {
    let system = app.managed.system(a.system_id);
    let mut model = json!({
        "PlatformID": system.map_or(0, |s| s.platform_id),
        "SystemId": a.system_id,
        "SystemName": system.map(|s| s.name.clone()),
        "DomainName": a.domain,
        "AccountId": a.id,
        "AccountName": a.name,
        "InstanceName": system.and_then(|s| s.instance.clone()).unwrap_or_default(),
        "UserPrincipalName": a.upn,
        "ApplicationID": a.application.as_ref().map(|(id, _)| *id),
        "ApplicationDisplayName": a.application.as_ref().map(|(_, name)| name.clone()),
        "DefaultReleaseDuration": a.default_release,
        "MaximumReleaseDuration": a.max_release,
        "LastChangeDate": a.last_change,
        "NextChangeDate": a.next_change,
        "IsChanging": false,
        "ChangeState": 0,
        "IsISAAccess": false,
        "PreferredNodeID": a.node,
        "AccountDescription": a.description.clone().unwrap_or_default(),
    });
    if let Some(obj) = model.as_object_mut() {
        if app.data.extras() && a.kind == AccountKind::Local {
            // Newer servers add fields the requestable model does not document yet.
            obj.insert("ObjectID".into(), Value::from(format!("00000000-0000-4000-8000-{:012}", a.id)));
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
// GET ManagedSystems

pub(crate) fn list_systems(app: &App, call: &Call) -> Response {
    let q = &call.query;
    let paging = match q.paging() {
        Ok(p) => p,
        Err(refusal) => return refusal.into(),
    };
    let entity_type = match q.number("type", 1) {
        Ok(t) => t,
        Err(refusal) => return refusal.into(),
    };
    let matching: Vec<Value> = app
        .managed
        .systems
        .iter()
        .filter(|s| q.text("name").is_none_or(|n| s.name.eq_ignore_ascii_case(n)))
        .filter(|s| entity_type.is_none_or(|t| s.kind.entity_type_id() == t))
        .map(|s| system_model(app, s))
        .collect();
    let total = matching.len();
    // A bare array without `limit`, `{TotalCount, Data}` with it (reference §5, DOC-MS).
    reply::ok(&reply::list(paging.page(matching, 100_000), total, paging.limit.is_some()))
}

pub(crate) fn get_system(app: &App, call: &Call) -> Response {
    match call.param(0).parse::<i64>().ok().and_then(|id| app.managed.system(id)) {
        Some(s) => reply::ok(&system_model(app, s)),
        None => reply::not_found("Managed System"),
    }
}

/// The managed-system model of `GET ManagedSystems` (DOC-MS, field for field).
fn system_model(app: &App, s: &System) -> Value {
    let sparse = app.data.sparse();
    let directory = s.kind == SystemKind::Directory;
    let head = json!({
        "WorkgroupID": s.workgroup_id,
        "HostName": if directory { Value::Null } else { Value::from(s.name.clone()) },
        "IPAddress": s.ip,
        "DNSName": s.dns,
        "InstanceName": s.instance,
        "IsDefaultInstance": (s.kind == SystemKind::Database).then_some(true),
        "Template": Value::Null,
        "ForestName": if directory { Value::from(s.name.clone()) } else { Value::Null },
        "UseSSL": directory.then_some(!sparse),
        "ManagedSystemID": s.id,
        "EntityTypeID": s.kind.entity_type_id(),
        "AssetID": s.asset_id,
        "DatabaseID": s.database_id,
        "DirectoryID": s.directory_id,
        "CloudID": Value::Null,
        "SystemName": s.name,
    });
    let rest = json!({
        "Timeout": 30,
        "PlatformID": s.platform_id,
        "NetBiosName": if directory && !sparse { Value::from("CORP") } else { Value::Null },
        "ContactEmail": app.data.text("pam-team@example.com"),
        "Description": s.description,
        "Port": s.port,
        "SshKeyEnforcementMode": (s.platform_id == 2).then_some(0),
        "PasswordRuleID": 0,
        "DSSKeyRuleID": (s.platform_id == 2).then_some(0),
        "LoginAccountID": Value::Null,
        "AccountNameFormat": 0,
        "OracleInternetDirectoryID": Value::Null,
        "OracleInternetDirectoryServiceName": Value::Null,
        "ReleaseDuration": 120,
        "MaxReleaseDuration": 525_600,
        "ISAReleaseDuration": 120,
        "AutoManagementFlag": !sparse,
        "FunctionalAccountID": Value::Null,
        "ElevationCommand": Value::Null,
        "CheckPasswordFlag": false,
        "ChangePasswordAfterAnyReleaseFlag": false,
        "ResetPasswordOnMismatchFlag": false,
        "ChangeFrequencyType": "first",
        "ChangeFrequencyDays": 30,
        "ChangeTime": "23:30",
        "RemoteClientType": "None",
        "AccessURL": Value::Null,
    });
    merged(head, rest)
}

/// The fields of both objects (the models are too long for one `json!`).
fn merged(mut head: Value, rest: Value) -> Value {
    if let (Some(head), Value::Object(rest)) = (head.as_object_mut(), rest) {
        head.extend(rest);
    }
    head
}

// ---------------------------------------------------------------------------------------------
// GET ManagedSystems/{id}/ManagedAccounts

pub(crate) fn system_accounts(app: &App, call: &Call) -> Response {
    let Some(system) = call.param(0).parse::<i64>().ok().and_then(|id| app.managed.system(id)) else {
        return reply::not_found("Managed System");
    };
    let accounts: Vec<Value> =
        app.managed.accounts.iter().filter(|a| a.system_id == system.id).map(|a| provisioning(app, a)).collect();
    reply::ok(&Value::Array(accounts))
}

/// The provisioning (permission-based) model (reference §2.1; the fields of DOC `GET
/// ManagedAccounts/{id}` and of the Python library's mapping for this endpoint).
fn provisioning(app: &App, a: &Account) -> Value {
    let sparse = app.data.sparse();
    let head = json!({
        "ManagedAccountID": a.id,
        "ManagedSystemID": a.system_id,
        "DomainName": a.domain,
        "AccountName": a.name,
        "DistinguishedName": if a.kind == AccountKind::Domain {
            Value::from(format!("CN={},OU=Service Accounts,DC=corp,DC=example,DC=com", a.name))
        } else {
            Value::Null
        },
        "PasswordFallbackFlag": false,
        "UserPrincipalName": a.upn,
        "SAMAccountName": (a.kind == AccountKind::Domain).then(|| a.name.clone()),
        "LoginAccountFlag": false,
        "Description": a.description,
        "PasswordRuleID": 0,
        "ApiEnabled": a.api_enabled,
        "ReleaseNotificationEmail": app.data.text("pam-team@example.com"),
        "ChangeServicesFlag": false,
        "RestartServicesFlag": false,
        "ChangeTasksFlag": false,
        "ReleaseDuration": a.default_release,
        "MaxReleaseDuration": a.max_release,
        "ISAReleaseDuration": a.default_release,
        "MaxConcurrentRequests": 1,
    });
    let rest = json!({
        "AutoManagementFlag": !sparse,
        "DSSAutoManagementFlag": false,
        "CheckPasswordFlag": false,
        "ResetPasswordOnMismatchFlag": false,
        "ChangePasswordAfterAnyReleaseFlag": !sparse,
        "ChangeFrequencyType": "first",
        "ChangeFrequencyDays": 30,
        "ChangeTime": "23:30",
        "ParentAccountID": Value::Null,
        "IsSubscribedAccount": false,
        "LastChangeDate": a.last_change,
        "NextChangeDate": a.next_change,
        "IsChanging": false,
        "ChangeState": 0,
        "UseOwnCredentials": false,
        "WorkgroupID": app.managed.system(a.system_id).map(|s| s.workgroup_id),
        "ChangeIISAppPoolFlag": false,
        "RestartIISAppPoolFlag": false,
        "ChangeWindowsAutoLogonFlag": false,
        "ChangeComPlusFlag": false,
        "ChangeDComFlag": false,
        "ChangeSComFlag": false,
        "ObjectID": Value::Null,
    });
    merged(head, rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(account: Option<&str>) -> Settings {
        Settings { account: account.map(str::to_owned), ..Settings::default() }
    }

    #[test]
    fn the_demo_account_exists_in_every_variant() {
        for variant in DataVariant::ALL {
            let data = Data::build(*variant, &settings(None));
            let (system, account) = crate::simulator::DEMO_ACCOUNT.split_once('/').expect("system/account");
            assert!(data.find_account(system, account).is_some(), "{variant}");
            assert!(data.find_account(&system.to_uppercase(), &account.to_uppercase()).is_some(), "{variant}");
        }
    }

    #[test]
    fn the_configured_account_is_added_and_credentials_are_fresh() {
        let data = Data::build(DataVariant::Standard, &settings(Some("prod-db-07/svc-app")));
        let a = data.find_account("prod-db-07", "svc-app").expect("added");
        assert_eq!(a.password.len(), 24);
        let again = Data::build(DataVariant::Standard, &settings(Some("prod-db-07/svc-app")));
        assert_ne!(again.find_account("prod-db-07", "svc-app").map(|a| &a.password), Some(&a.password));
        // An existing pair is not duplicated.
        let data = Data::build(DataVariant::Standard, &settings(Some("demo-linux-01/svc-release")));
        assert_eq!(data.accounts.iter().filter(|a| a.name == "svc-release").count(), 1);
    }

    #[test]
    fn directory_accounts_are_named_qualified_or_by_upn() {
        let data = Data::build(DataVariant::Standard, &settings(None));
        assert!(data.find_account("corp.example.com", "CORP.EXAMPLE.COM\\svc-backup").is_some());
        assert!(data.find_account("corp.example.com", "svc-backup@corp.example.com").is_some());
        assert!(data.find_account("corp.example.com", "svc-backup").is_none());
        assert!(data.find_account("demo-linux-01", "root").is_none(), "not enabled for API access");
    }
}
