//! The demo records every simulator starts with, planted into the one store (`tables`) before
//! the models' made-up records: the run-as user, the OAuth application user and the approver,
//! the workgroups, assets, managed systems and accounts the release flow works on (with the
//! account `PS_ACCOUNT` names, whatever it is called), and the safes, folders and secrets of
//! Secrets Safe (with the secret `PS_SECRET` names). Each record is fitted to its documented
//! model (`fill`), so a record of the sparse variant is as sparse as the model allows except
//! for the fields named as kept here. Credentials and secret values go into the records' hidden
//! parts, drawn fresh at every start. Owns no routes.

use serde_json::{Value, json};

use super::auth::{APP_USER_ID, APPROVER_USER_ID, RUNAS_USER_ID};
use super::config::{Approver, random_alphanumeric};
use super::data::DataVariant;
use super::fill::{self, Fit, NO_GUID, SOME_DATE};
use super::tables::{
    self, ALIAS, ASSET, DATABASE, DIRECTORY, FOLDER, MANAGED_ACCOUNT, MANAGED_SYSTEM, ORGANIZATION, PERMISSION, ROLE,
    Res, SECRET, SMART_RULE, Tables, USER, USER_GROUP, WORKGROUP,
};
use crate::catalog::Catalog;
use crate::settings::Settings;

/// The organization every demo workgroup belongs to.
pub(crate) const ORGANIZATION_ID: &str = "c0ffee00-1d2e-4f3a-9b8c-7d6e5f4a3b2c";
/// The node every demo account prefers.
pub(crate) const NODE: &str = "4f1c9e2a-7b3d-4c5e-8a9f-0b1c2d3e4f5a";
/// The owner of every demo secret and folder.
pub(crate) const OWNER: &str = "psconform-demo";

/// The link between user groups and their members.
pub(crate) fn group_members() -> tables::Key {
    ("user-groups".into(), "GroupMembers".into())
}

/// Every demo record of `data`, then the models' made-up records.
pub(crate) fn tables(catalog: &Catalog, data: DataVariant, settings: &Settings, approver: &Approver) -> Tables {
    let mut p = Planter { catalog, tables: Tables::new(data), data, planted: 0 };
    p.organization();
    p.users(settings, approver);
    p.groups();
    p.lookups();
    p.managed(settings);
    p.secrets_safe(settings);
    let mut tables = p.tables;
    tables.generate(catalog);
    grant_demo_groups(&mut tables);
    tables
}

/// Every demo group holds the first permission (read) and, on every Smart Rule, the first
/// role, so that the reads of a group's permissions and roles have something to show. A group
/// made later holds only what it is given.
fn grant_demo_groups(tables: &mut Tables) {
    let permission =
        tables.rows(PERMISSION).first().map(|p| json!([{ "PermissionID": p["PermissionID"], "AccessLevelID": 1 }]));
    let role = tables.rows(ROLE).first().map(|r| json!([r["RoleID"]]));
    let rules: Vec<String> = tables.rows(SMART_RULE).iter().map(|r| tables::text(&r["SmartRuleID"])).collect();
    let groups: Vec<String> = tables.rows(USER_GROUP).iter().map(|g| tables::text(&g["GroupID"])).collect();
    for group in groups {
        let hidden = tables.hidden_mut(USER_GROUP, &group);
        if let Some(p) = &permission {
            hidden.insert("Permissions".into(), p.clone());
        }
        if let Some(r) = &role {
            hidden.extend(rules.iter().map(|rule| (format!("Roles:{rule}"), r.clone())));
        }
    }
}

struct Planter<'a> {
    catalog: &'a Catalog,
    tables: Tables,
    data: DataVariant,
    /// How many records were planted: every other one takes `null` where a field is both
    /// optional and nullable, the others leave it out.
    planted: usize,
}

impl Planter<'_> {
    fn sparse(&self) -> bool {
        self.data.sparse()
    }

    /// Plants one record: `given` fitted to the model of `r`. In the sparse variant only the
    /// optional or nullable fields named in `keep` survive; the id, the name and the parents
    /// always do.
    fn plant(&mut self, r: Res, given: Value, keep: &[&str]) -> Value {
        let model = r.model();
        let resource = self.catalog.models.resources.get(&r.key());
        let mut keep: Vec<&str> = keep.to_vec();
        if let Some(res) = resource {
            keep.push(res.id.as_str());
            keep.extend(res.name.as_deref());
            keep.extend(res.parents.iter().map(|(_, f)| f.as_str()));
        }
        let seed = fill::seed_of(&[r.1, &given.to_string(), self.data.name()]);
        self.planted += 1;
        // A demo record holds what it is given: made-up values only where the model requires one.
        let how = Fit::plant(self.sparse()).nulls(self.planted.is_multiple_of(2));
        let mut row = fill::fit(&self.catalog.models, &model, given, how, &keep, None, seed);
        if self.data.extras()
            && row.as_object().is_some_and(|o| o.len() % 2 == 0)
            && let Some(o) = row.as_object_mut()
        {
            o.insert(tables::UNDOCUMENTED.into(), Value::String("a field newer servers add".into()));
        }
        self.tables.insert(self.catalog, &r.key(), row.clone());
        row
    }

    fn text(&self, t: &str) -> Value {
        if self.sparse() { Value::Null } else { Value::from(t) }
    }

    fn or_empty(&self, t: &str) -> String {
        self.data.or_empty(t)
    }

    fn organization(&mut self) {
        let name = self.or_empty("Default Organization");
        self.plant(ORGANIZATION, json!({"OrganizationID": ORGANIZATION_ID, "Name": name, "IsActive": true}), &[]);
    }

    /// The run-as user (a directory user, or a local one in the sparse variant), the OAuth
    /// application user in its documented shape, the approver, and one more named user.
    fn users(&mut self, settings: &Settings, approver: &Approver) {
        let runas = settings.runas.clone().filter(|r| !r.is_empty()).unwrap_or_else(|| "psconform-demo".into());
        let local = runas.rsplit('\\').next().unwrap_or_default().to_owned();
        let named = |p: &Planter<'_>, id: i64, name: &str, first: &str, last: &str| {
            let sparse = p.sparse();
            json!({
                "UserID": id,
                "UserName": name,
                "DomainName": p.text("corp.example.com"),
                "DistinguishedName": if sparse { Value::Null } else {
                    Value::from(format!("CN={first} {last},OU=Users,DC=corp,DC=example,DC=com"))
                },
                "FirstName": p.or_empty(first),
                "LastName": p.or_empty(last),
                "EmailAddress": p.or_empty(&format!("{}@example.com", name.rsplit('\\').next().unwrap_or(name))),
                "LastLoginDate": "2024-12-12T10:24:26.323",
                "LastLoginAuthenticationType": "API Key",
                "IsQuarantined": false,
                "IsActive": true,
                "UserType": "ActiveDirectory",
            })
        };
        let user = named(self, RUNAS_USER_ID, &runas, "PSConform", &local);
        self.plant(USER, user, &["FirstName", "LastName", "EmailAddress"]);
        let app = json!({
            "UserID": APP_USER_ID,
            "UserName": settings.client_id.clone().unwrap_or_default(),
            "UserType": "Application",
            "ClientID": settings.client_id.clone().unwrap_or_default(),
            "ClientSecret": null,
            "AccessPolicyID": 1,
            "DomainName": null,
            "DistinguishedName": null,
            "FirstName": null,
            "LastName": null,
            "EmailAddress": null,
            "IsQuarantined": false,
        });
        self.plant(USER, app, &["UserType", "ClientID", "ClientSecret", "AccessPolicyID"]);
        let other = if self.sparse() { "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d" } else { "jdoe" };
        let user = named(self, 9, other, "Jane", "Doe");
        self.plant(USER, user, &[]);
        let user = named(self, APPROVER_USER_ID, &approver.runas, "PSConform", "Approver");
        self.plant(USER, user, &[]);
    }

    /// A BeyondInsight group (the approvers') and a directory group (the requestors', with the
    /// run-as user in it; GUID-named in the sparse variant).
    fn groups(&mut self) {
        let sparse = self.sparse();
        let admins = json!({
            "GroupID": 1,
            "Name": "Administrators",
            "DistinguishedName": "",
            "Description": self.or_empty("Built-in administrators"),
            "GroupType": "BeyondInsight",
            "AccountAttribute": "",
            "ApplicationRegistrationIDs": "",
            "MembershipAttribute": "",
            "IsActive": true,
        });
        self.plant(USER_GROUP, admins, &[]);
        let name = if sparse { "6a7b8c9d-0e1f-4a2b-9c3d-4e5f6a7b8c9d" } else { "PAM Requestors" };
        let requestors = json!({
            "GroupID": 2,
            "Name": name,
            "DistinguishedName": if sparse { "" } else { "CN=PAM Requestors,OU=Groups,DC=corp,DC=example,DC=com" },
            "Description": self.or_empty("Requestors of managed accounts"),
            "GroupType": if sparse { "BeyondInsight" } else { "ActiveDirectory" },
            "AccountAttribute": if sparse { "" } else { "sAMAccountName" },
            "ApplicationRegistrationIDs": "1",
            "MembershipAttribute": if sparse { "" } else { "memberOf" },
            "IsActive": !sparse,
        });
        self.plant(USER_GROUP, requestors, &[]);
        let members = self.tables.pairs_mut(&group_members());
        members.push(("1".into(), APPROVER_USER_ID.to_string()));
        members.push(("2".into(), RUNAS_USER_ID.to_string()));
    }

    /// Two workgroups with the demo assets (and, beyond the sparse variant, a database and a
    /// directory the demo systems stand on).
    fn lookups(&mut self) {
        let sparse = self.sparse();
        let lab = if sparse { "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e" } else { "psconform-lab" };
        for (id, name) in [(1, "Default Workgroup"), (2, lab)] {
            self.plant(WORKGROUP, json!({"ID": id, "Name": name, "OrganizationID": ORGANIZATION_ID}), &[]);
        }
        let asset = |p: &Planter<'_>, id: i64, wg: i64, name: &str, ip: &str, os: &str, domain: &str| {
            json!({
                "AssetID": id,
                "WorkgroupID": wg,
                "AssetName": name,
                "DnsName": p.or_empty(&format!("{name}.example.com")),
                "DomainName": p.or_empty(domain),
                "IPAddress": ip,
                "MacAddress": p.or_empty("00-15-5D-01-02-03"),
                "AssetType": p.or_empty("Server"),
                "OperatingSystem": p.or_empty(os),
                "CreateDate": SOME_DATE,
                "LastUpdateDate": if sparse { SOME_DATE } else { "2024-12-12T10:24:26.323" },
            })
        };
        let a = asset(self, 11, 1, "demo-linux-01", "192.0.2.11", "Ubuntu 22.04", "example.com");
        self.plant(ASSET, a, &[]);
        if sparse {
            let a = asset(self, 12, 2, "8d4f2a6e-3b1c-4e5f-9a7b-0c1d2e3f4a5b", "192.0.2.12", "", "");
            self.plant(ASSET, a, &[]);
            // A database with nothing optional filled, under which a managed system stands.
            self.plant(DATABASE, json!({"DatabaseID": 5, "AssetID": 12, "PlatformID": 8}), &[]);
            return;
        }
        let a = asset(self, 12, 1, "demo-win-01", "192.0.2.12", "Windows Server 2022", "corp.example.com");
        self.plant(ASSET, a, &[]);
        let a = asset(self, 13, 2, "demo-sql-01", "192.0.2.13", "Windows Server 2019", "example.com");
        self.plant(ASSET, a, &[]);
        let db = json!({"DatabaseID": 5, "AssetID": 13, "PlatformID": 8, "InstanceName": "MSSQLSERVER",
            "IsDefaultInstance": true, "Port": 1433, "Version": "2019"});
        self.plant(DATABASE, db, &[]);
        let dir = json!({"DirectoryID": 4, "WorkgroupID": 1, "DomainName": "corp.example.com", "ForestName": "corp.example.com",
            "NetBiosName": "CORP", "UseSSL": true, "PlatformID": 25, "Port": null, "Description": "Corporate directory"});
        self.plant(DIRECTORY, dir, &[]);
    }

    /// The managed systems and accounts: `demo-linux-01/svc-release` (requestable) and `root`
    /// (not enabled for API access) everywhere; beyond the sparse variant a directory with a
    /// domain account, a database server with a database account, and an application's account.
    fn managed(&mut self, settings: &Settings) {
        let sparse = self.sparse();
        let system = |id: i64, name: &str, entity: i64, platform: i64, wg: i64, parents: (Value, Value, Value)| {
            json!({
                "ManagedSystemID": id,
                "SystemName": name,
                "EntityTypeID": entity,
                "PlatformID": platform,
                "WorkgroupID": wg,
                "AssetID": parents.0,
                "DatabaseID": parents.1,
                "DirectoryID": parents.2,
                "FunctionalAccountID": null,
                "Timeout": 30,
                "PasswordRuleID": 0,
                "AccountNameFormat": 0,
                "ReleaseDuration": 120,
                "MaxReleaseDuration": 525_600,
                "ISAReleaseDuration": 120,
                "AutoManagementFlag": !sparse,
                "CheckPasswordFlag": false,
                "ChangePasswordAfterAnyReleaseFlag": false,
                "ResetPasswordOnMismatchFlag": false,
                "ChangeFrequencyType": "first",
                "ChangeFrequencyDays": 30,
                "ChangeTime": "23:30",
                "RemoteClientType": "None",
                "CloudID": null,
                "Template": null,
                "LoginAccountID": null,
                "OracleInternetDirectoryID": null,
                "ElevationCommand": null,
                "AccessURL": null,
            })
        };
        let mut linux = system(1, "demo-linux-01", 1, 2, 1, (json!(11), json!(null), json!(null)));
        extend(
            &mut linux,
            json!({"HostName": "demo-linux-01", "IPAddress": "192.0.2.11",
            "DNSName": "demo-linux-01.example.com", "Port": 22, "SshKeyEnforcementMode": 0, "DSSKeyRuleID": 0,
            "Description": "Demo Linux host", "ContactEmail": "pam-team@example.com"}),
        );
        self.plant(MANAGED_SYSTEM, linux, &["HostName", "IPAddress"]);
        let local = |id: i64, system: i64, name: &str| {
            json!({
                "ManagedAccountID": id,
                "ManagedSystemID": system,
                "AccountName": name,
                "DomainName": "",
                "DistinguishedName": "",
                "UserPrincipalName": "",
                "SAMAccountName": "",
                "Description": "Local account",
                "ApiEnabled": true,
                "ReleaseDuration": 120,
                "MaxReleaseDuration": 525_600,
                "ISAReleaseDuration": 120,
                "MaxConcurrentRequests": 1,
                "PasswordRuleID": 0,
                "ReleaseNotificationEmail": "pam-team@example.com",
                "ChangeFrequencyType": "first",
                "ChangeFrequencyDays": 30,
                "ChangeTime": "23:30",
                "ParentAccountID": null,
                "LastChangeDate": if sparse { Value::Null } else { Value::from("2024-12-10T08:57:45.9") },
                "NextChangeDate": null,
                "IsChanging": false,
                "ChangeState": 0,
                "WorkgroupID": 1,
            })
        };
        let mut release = local(10, 1, "svc-release");
        extend(&mut release, json!({"Description": "Release account for psconform"}));
        self.account(release, Kind::Local, true);
        let mut root = local(11, 1, "root");
        extend(&mut root, json!({"ApiEnabled": false, "Description": ""}));
        self.account(root, Kind::Local, false);
        if sparse {
            // GUID-looking names, nothing optional filled.
            let other =
                system(2, "8d4f2a6e-3b1c-4e5f-9a7b-0c1d2e3f4a5b", 1, 1, 2, (json!(12), json!(null), json!(null)));
            self.plant(MANAGED_SYSTEM, other, &[]);
            // An odd id: the sparse view of a requestable account alternates between leaving an
            // optional and nullable field out (odd ids) and sending it null (even ids).
            // A database system whose asset is not recorded: the model lets AssetID be null.
            let mut db =
                system(3, "3c2b1a09-8f7e-4d6c-9b5a-493827161504", 2, 8, 2, (json!(null), json!(5), json!(null)));
            extend(&mut db, json!({"ApplicationHostID": null}));
            self.plant(MANAGED_SYSTEM, db, &["ApplicationHostID"]);
            let mut guid = local(13, 2, "1f0e2d3c-4b5a-4697-8877-665544332211");
            extend(&mut guid, json!({"WorkgroupID": 2}));
            self.account(guid, Kind::Local, false);
        } else {
            let mut directory = system(2, "corp.example.com", 3, 25, 1, (json!(null), json!(null), json!(4)));
            extend(
                &mut directory,
                json!({"ForestName": "corp.example.com", "NetBiosName": "CORP", "UseSSL": true,
                "DNSName": "corp.example.com", "Description": if self.data.extras() { "Corporate directory" } else { "" },
                "Port": null}),
            );
            self.plant(MANAGED_SYSTEM, directory, &[]);
            let mut sql = system(3, "demo-sql-01", 2, 8, 2, (json!(13), json!(5), json!(null)));
            extend(
                &mut sql,
                json!({"HostName": "demo-sql-01", "IPAddress": "192.0.2.13", "DNSName": "demo-sql-01.example.com",
                "InstanceName": "MSSQLSERVER", "IsDefaultInstance": true, "Port": 1433, "Description": "Demo database server"}),
            );
            self.plant(MANAGED_SYSTEM, sql, &[]);
            let mut backup = local(12, 2, "svc-backup");
            extend(
                &mut backup,
                json!({"DomainName": "corp.example.com", "UserPrincipalName": "svc-backup@corp.example.com",
                "SAMAccountName": "svc-backup",
                "DistinguishedName": "CN=svc-backup,OU=Service Accounts,DC=corp,DC=example,DC=com",
                "Description": if self.data.extras() { "Backup service" } else { "" },
                "LastChangeDate": "2024-12-12T10:24:26.323Z", "NextChangeDate": "2025-01-11T00:00:00"}),
            );
            self.account(backup, Kind::Domain, false);
            let mut sa = local(13, 3, "sa");
            let (last, next) = if self.data.extras() {
                (json!("2024-11-02T17:03:00"), json!("2025-02-01T00:00:00"))
            } else {
                (json!(null), json!(null))
            };
            extend(
                &mut sa,
                json!({"Description": "Database administrator", "LastChangeDate": last, "NextChangeDate": next, "WorkgroupID": 2}),
            );
            self.account(sa, Kind::Database, false);
            let mut app = local(14, 1, "deploy-tool");
            extend(&mut app, json!({"ReleaseDuration": 60, "MaxReleaseDuration": 1440}));
            self.account(app, Kind::Application(3, "Deploy Tool"), false);
        }
        if let Some((system, account)) = settings.account.as_deref().and_then(|a| a.split_once('/')) {
            self.ensure_account(system, account);
        }
        // An alias mapped to the release account, so that a release by alias works.
        let alias = json!({"AliasID": 1, "AliasName": "demo-alias", "AliasState": 1, "SystemId": 1,
            "SystemName": "demo-linux-01", "AccountId": 10, "AccountName": "svc-release", "DomainName": null,
            "InstanceName": "", "DefaultReleaseDuration": 120, "MaximumReleaseDuration": 525_600,
            "LastChangeDate": null, "NextChangeDate": null, "IsChanging": false, "ChangeState": 0,
            "MappedAccounts": [{ "AccountId": 10 }]});
        self.plant(ALIAS, alias, &[]);
    }

    /// Plants a managed account with its fresh credentials (hidden).
    fn account(&mut self, given: Value, kind: Kind, dss: bool) {
        let keep = ["LastChangeDate", "NextChangeDate", "DomainName", "UserPrincipalName"];
        let row = self.plant(MANAGED_ACCOUNT, given, &keep);
        let id = tables::text(&row["ManagedAccountID"]);
        let mut rng = rand::rng();
        let hidden = self.tables.hidden_mut(MANAGED_ACCOUNT, &id);
        hidden.insert("Password".into(), Value::String(random_alphanumeric(&mut rng, 24)));
        if dss {
            let key = format!(
                "-----BEGIN OPENSSH PRIVATE KEY-----\n{}\n-----END OPENSSH PRIVATE KEY-----\n",
                random_alphanumeric(&mut rng, 64)
            );
            hidden.insert("PrivateKey".into(), Value::String(key));
            hidden.insert("Passphrase".into(), Value::String(random_alphanumeric(&mut rng, 16)));
        }
        hidden.insert("Kind".into(), Value::from(kind.name()));
        if let Kind::Application(id, name) = kind {
            hidden.insert("Application".into(), json!([id, name]));
        }
    }

    /// Adds `system/account` as a requestable local account unless it exists.
    fn ensure_account(&mut self, system: &str, account: &str) {
        let existing =
            self.tables.rows(MANAGED_SYSTEM).iter().find(|s| tables::same(&s["SystemName"], system)).cloned();
        let system_id = match existing {
            Some(s) => s["ManagedSystemID"].clone(),
            None => {
                let id = self.tables.rows(MANAGED_SYSTEM).len() as u64 + 1;
                let given = json!({"ManagedSystemID": id + 100, "SystemName": system, "EntityTypeID": 1, "PlatformID": 2,
                    "WorkgroupID": 1, "AssetID": null, "IPAddress": format!("192.0.2.{}", 100 + id.min(150)), "Port": 22});
                self.plant(MANAGED_SYSTEM, given, &["IPAddress"])["ManagedSystemID"].clone()
            }
        };
        let exists = self
            .tables
            .rows(MANAGED_ACCOUNT)
            .iter()
            .any(|a| a["ManagedSystemID"] == system_id && tables::same(&a["AccountName"], account));
        if !exists {
            let given = json!({"ManagedSystemID": system_id, "AccountName": account, "DomainName": "",
                "ApiEnabled": true, "ReleaseDuration": 120, "MaxReleaseDuration": 525_600,
                "Description": self.or_empty("Account named by PS_ACCOUNT"), "LastChangeDate": null, "NextChangeDate": null});
            self.account(given, Kind::Local, false);
        }
    }

    /// Safe `psconform` with folder `demo` (two credentials, one of them `DEMO_SECRET`) and its
    /// subfolder `nested` (a text and a file secret), and a second safe; plus the secret
    /// `PS_SECRET` names when it is not one of them. A safe is a root folder: its `ParentId`
    /// is the empty GUID, as .NET writes a `Guid` that was never set.
    fn secrets_safe(&mut self, settings: &Settings) {
        let second = if self.sparse() { "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9" } else { "team-vault" };
        for path in ["psconform/demo/nested", second] {
            self.ensure_folders(path);
        }
        let demo = self.folder_id("psconform/demo").unwrap_or_default();
        let nested = self.folder_id("psconform/demo/nested").unwrap_or_default();
        let mut rng = rand::rng();
        let password = random_alphanumeric(&mut rng, 24);
        // The sparse variant's URL has no address: the model lets it be null.
        let url = Some(if self.sparse() { Value::Null } else { Value::from("https://db.example.com") });
        self.secret(Secret {
            id: "6f1d0c3a-2b4e-4c8d-9a1f-3e5b7c9d1a20",
            title: "demo-database",
            kind: "Credential",
            folder: demo.clone(),
            username: "svc-database",
            value: password.clone(),
            file: None,
            url,
            modified: "2024-12-12T10:24:26.323Z",
        });
        self.secret(Secret {
            id: "0b9e8d7c-6a5f-4e3d-8c2b-1a0f9e8d7c6b",
            title: "demo-webserver",
            kind: "Credential",
            folder: demo,
            username: "svc-web",
            value: password,
            file: None,
            url: None,
            modified: "2024-12-12T10:24:26.323Z",
        });
        self.secret(Secret {
            id: "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
            title: "demo-note",
            kind: "Text",
            folder: nested.clone(),
            username: "",
            value: random_alphanumeric(&mut rng, 32),
            file: None,
            url: None,
            modified: "2024-12-10T08:57:45.9",
        });
        let content =
            format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n", random_alphanumeric(&mut rng, 64));
        let hash = file_hash(content.as_bytes());
        self.secret(Secret {
            id: "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f",
            title: "demo-certificate",
            kind: "File",
            folder: nested,
            username: "",
            value: content,
            file: Some(("demo-certificate.pem".into(), hash)),
            url: None,
            modified: "2024-12-12T10:24:26.323Z",
        });
        if let Some((folder, title)) = settings.secret_path.as_deref().and_then(|p| p.rsplit_once('/')) {
            let folder_id = self.ensure_folders(folder);
            let exists = self
                .tables
                .rows(SECRET)
                .iter()
                .any(|s| tables::same(&s["FolderId"], &folder_id) && tables::same(&s["Title"], title));
            if !exists {
                let id = uuid::Uuid::new_v4().to_string();
                self.secret(Secret {
                    id: &id,
                    title,
                    kind: "Credential",
                    folder: folder_id,
                    username: "psconform",
                    value: random_alphanumeric(&mut rng, 24),
                    file: None,
                    url: None,
                    modified: "2024-12-12T10:24:26.323Z",
                });
            }
        }
    }

    fn secret(&mut self, s: Secret<'_>) {
        let (file_name, hash) = s.file.clone().unwrap_or_default();
        let urls = match &s.url {
            Some(url) => json!([{ "Id": "7e8f9a0b-1c2d-4e3f-8a4b-5c6d7e8f9a0b", "CredentialId": s.id, "Url": url }]),
            None => json!([]),
        };
        let description = if s.kind == "Text" {
            Value::from("")
        } else {
            Value::from(self.or_empty(&format!("Demo {} {}", s.kind.to_lowercase(), s.title)))
        };
        let given = json!({
            "Id": s.id,
            "Title": s.title,
            "Description": description,
            "FolderId": s.folder,
            "CreatedOn": SOME_DATE,
            "CreatedBy": OWNER,
            "ModifiedOn": s.modified,
            "ModifiedBy": OWNER,
            "Notes": if s.kind == "Credential" { self.or_empty("Rotated by the demo pipeline") } else { String::new() },
            "Urls": urls,
            "Username": s.username,
            "FileName": file_name,
            "FileHash": hash,
            "SecretType": s.kind,
        });
        self.plant(SECRET, given, &[]);
        self.tables.hidden_mut(SECRET, s.id).insert("Value".into(), Value::String(s.value));
    }

    /// Creates every folder of `path` that does not exist yet (its first name is a safe) and
    /// answers the id of the last.
    fn ensure_folders(&mut self, path: &str) -> String {
        let mut parent = NO_GUID.to_owned();
        let mut safe = String::new();
        let mut so_far = String::new();
        for name in path.split('/').filter(|n| !n.is_empty()) {
            if !so_far.is_empty() {
                so_far.push('/');
            }
            so_far.push_str(name);
            let id = match self.folder_id(&so_far) {
                Some(id) => id,
                None => {
                    let id = uuid::Uuid::new_v4().to_string();
                    let what = if parent == NO_GUID { "Safe" } else { "Folder" };
                    let owner = if safe.is_empty() { id.clone() } else { safe.clone() };
                    let given = json!({"Id": id, "Name": name, "Description": self.or_empty(&format!("{what} {name}")),
                        "ParentId": parent, "UserGroupId": 0, "UserId": 7, "FolderOwnerId": owner, "IsFavorite": false});
                    self.plant(FOLDER, given, &[]);
                    id
                }
            };
            if safe.is_empty() {
                safe = id.clone();
            }
            parent = id;
        }
        parent
    }

    fn folder_id(&self, path: &str) -> Option<String> {
        folder_by_path(&self.tables, path)
    }
}

/// The id of the folder (or safe) at a `/`-separated path, names compared ignoring case.
pub(crate) fn folder_by_path(tables: &Tables, path: &str) -> Option<String> {
    let mut parent = NO_GUID.to_owned();
    for name in path.split('/').filter(|n| !n.is_empty()) {
        let folder = tables
            .rows(FOLDER)
            .iter()
            .find(|f| tables::same(&f["ParentId"], &parent) && tables::same(&f["Name"], name))?;
        parent = tables::text(&folder["Id"]);
    }
    (parent != NO_GUID).then_some(parent)
}

/// The `/`-joined names from the safe down to a folder.
pub(crate) fn folder_path(tables: &Tables, id: &str) -> Option<String> {
    let mut names = Vec::new();
    let mut current = id.to_owned();
    // Bounded: a folder tree deeper than the store is a loop.
    for _ in 0..=tables.rows(FOLDER).len() {
        if current == NO_GUID {
            names.reverse();
            return Some(names.join("/"));
        }
        let f = tables.rows(FOLDER).iter().find(|f| tables::same(&f["Id"], &current))?;
        names.push(tables::text(&f["Name"]));
        current = tables::text(&f["ParentId"]);
    }
    None
}

/// A file's SHA-256-like fingerprint as the API shows it: upper-case hex. The simulator does
/// not need a real digest, only a stable one.
pub(crate) fn file_hash(bytes: &[u8]) -> String {
    let mut h: [u64; 4] = [0xcbf2_9ce4_8422_2325, 0x8422_2325_cbf2_9ce4, 0x1234_5678_9abc_def0, 0x0fed_cba9_8765_4321];
    for (i, b) in bytes.iter().enumerate() {
        let slot = &mut h[i % 4];
        *slot = (*slot ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
    }
    h.iter().map(|x| format!("{x:016X}")).collect()
}

/// A demo secret.
struct Secret<'a> {
    id: &'a str,
    title: &'a str,
    kind: &'static str,
    folder: String,
    username: &'a str,
    value: String,
    file: Option<(String, String)>,
    url: Option<Value>,
    modified: &'static str,
}

/// What `type=` of `GET ManagedAccounts` a managed account answers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Local,
    Domain,
    Database,
    Application(i64, &'static str),
}

impl Kind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Local => "system",
            Kind::Domain => "domainlinked",
            Kind::Database => "database",
            Kind::Application(..) => "application",
        }
    }
}

/// The fields of `more` written over `base`.
fn extend(base: &mut Value, more: Value) {
    if let (Some(b), Value::Object(m)) = (base.as_object_mut(), more) {
        b.extend(m);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulator::config::DEMO_APPROVER;

    fn planted(data: DataVariant, settings: &Settings) -> Tables {
        let catalog = Catalog::builtin().expect("catalog");
        tables(&catalog, data, settings, &Approver::demo())
    }

    #[test]
    fn the_demo_account_secret_and_users_exist_in_every_variant() {
        for data in DataVariant::ALL {
            let t = planted(*data, &Settings::default());
            let (system, account) = crate::simulator::DEMO_ACCOUNT.split_once('/').expect("system/account");
            let s = t.rows(MANAGED_SYSTEM).iter().find(|s| s["SystemName"] == system).expect("system");
            assert!(
                t.rows(MANAGED_ACCOUNT)
                    .iter()
                    .any(|a| a["AccountName"] == account && a["ManagedSystemID"] == s["ManagedSystemID"])
            );
            let (folder, title) = crate::simulator::DEMO_SECRET.rsplit_once('/').expect("folder/title");
            let id = folder_by_path(&t, folder).expect("demo folder");
            assert!(t.rows(SECRET).iter().any(|s| s["FolderId"] == id.as_str() && s["Title"] == title), "{data}");
            assert!(t.rows(USER).iter().any(|u| u["UserName"] == DEMO_APPROVER), "{data}");
            assert_eq!(folder_path(&t, &id).as_deref(), Some(folder));
        }
    }

    #[test]
    fn the_configured_account_and_secret_are_added_and_credentials_are_fresh() {
        let settings = Settings {
            account: Some("prod-db-07/svc-app".into()),
            secret_path: Some("ops/prod/db/app-login".into()),
            ..Settings::default()
        };
        let t = planted(DataVariant::Standard, &settings);
        let a = t.rows(MANAGED_ACCOUNT).iter().find(|a| a["AccountName"] == "svc-app").expect("added");
        let id = tables::text(&a["ManagedAccountID"]);
        let password = t.hidden(MANAGED_ACCOUNT, &id).and_then(|h| h["Password"].as_str()).expect("a password");
        assert_eq!(password.len(), 24);
        let again = planted(DataVariant::Standard, &settings);
        assert_ne!(again.hidden(MANAGED_ACCOUNT, &id).and_then(|h| h["Password"].as_str()), Some(password));
        let folder = folder_by_path(&t, "ops/prod/db").expect("created");
        assert!(t.rows(SECRET).iter().any(|s| s["FolderId"] == folder.as_str() && s["Title"] == "app-login"));
        let t = planted(
            DataVariant::Standard,
            &Settings { account: Some("demo-linux-01/svc-release".into()), ..Settings::default() },
        );
        assert_eq!(t.rows(MANAGED_ACCOUNT).iter().filter(|a| a["AccountName"] == "svc-release").count(), 1);
    }
}
