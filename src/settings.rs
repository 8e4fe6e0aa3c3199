//! Target settings: the credentials a run uses, read from the environment only.
//!
//! Credentials are never accepted on the command line or from case files, so they cannot leak
//! into shell history, process listings or a committed YAML file. Every secret is held in a
//! [`SecretString`], whose `Debug` prints `[REDACTED]`.

use secrecy::{ExposeSecret, SecretString};

/// The environment variables a run reads its settings from, with the variable name a case uses
/// in `needs:` and in `{{ … }}` templates.
pub const SETTINGS: &[SettingInfo] = &[
    SettingInfo { env: "PS_API_KEY", var: "api_key", secret: true },
    SettingInfo { env: "PS_RUNAS", var: "runas", secret: false },
    SettingInfo { env: "PS_RUNAS_PASSWORD", var: "runas_password", secret: true },
    SettingInfo { env: "PS_CLIENT_ID", var: "client_id", secret: false },
    SettingInfo { env: "PS_CLIENT_SECRET", var: "client_secret", secret: true },
    SettingInfo { env: "PS_ACCOUNT", var: "account", secret: false },
    SettingInfo { env: "PS_SECRET", var: "secret_path", secret: false },
];

/// Variables derived from a setting: the parts of `PS_ACCOUNT` (`system/account`) and of
/// `PS_SECRET` (`folder/path/title`). A case that uses one needs the setting.
pub const DERIVED: &[(&str, &str, &str)] = &[
    ("account_system", "account", "the managed system of PS_ACCOUNT (before the first `/`)"),
    ("account_name", "account", "the managed account of PS_ACCOUNT (after the first `/`)"),
    ("secret_folder", "secret_path", "the folder path of PS_SECRET (before the last `/`)"),
    ("secret_title", "secret_path", "the secret title of PS_SECRET (after the last `/`)"),
];

/// One target setting: where it comes from and how cases name it.
#[derive(Debug, Clone, Copy)]
pub struct SettingInfo {
    /// Environment variable, such as `PS_API_KEY`.
    pub env: &'static str,
    /// Variable name in case files, such as `api_key`.
    pub var: &'static str,
    /// Whether the value is a credential that must never appear in any output.
    pub secret: bool,
}

/// The credentials of one target. Every field is optional: a case names what it needs, and is
/// reported as ignored when a setting it needs is missing.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// API registration key (`PS-Auth key=…`).
    pub api_key: Option<SecretString>,
    /// The run-as user (`PS-Auth runas=…`). Not a secret: it appears in the user model.
    pub runas: Option<String>,
    /// The run-as user's password (`PS-Auth pwd=[…]`).
    pub runas_password: Option<SecretString>,
    /// OAuth client id of an application user.
    pub client_id: Option<String>,
    /// OAuth client secret of an application user.
    pub client_secret: Option<SecretString>,
    /// The managed account that credential-release cases request, as `system/account`
    /// (`PS_ACCOUNT`). Never read from a case file.
    pub account: Option<String>,
    /// The Secrets Safe secret that retrieval cases read, as `folder/path/title` (`PS_SECRET`).
    pub secret_path: Option<String>,
}

impl Settings {
    /// Reads the settings from `PS_*` environment variables. Empty values count as unset.
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the settings through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let get = |name: &str| lookup(name).filter(|v| !v.is_empty());
        Settings {
            api_key: get("PS_API_KEY").map(SecretString::from),
            runas: get("PS_RUNAS"),
            runas_password: get("PS_RUNAS_PASSWORD").map(SecretString::from),
            client_id: get("PS_CLIENT_ID"),
            client_secret: get("PS_CLIENT_SECRET").map(SecretString::from),
            account: get("PS_ACCOUNT"),
            secret_path: get("PS_SECRET"),
        }
    }

    /// The value of the setting a case calls `var`, if it is set.
    pub fn get(&self, var: &str) -> Option<&str> {
        match var {
            "api_key" => self.api_key.as_ref().map(|s| s.expose_secret()),
            "runas" => self.runas.as_deref(),
            "runas_password" => self.runas_password.as_ref().map(|s| s.expose_secret()),
            "client_id" => self.client_id.as_deref(),
            "client_secret" => self.client_secret.as_ref().map(|s| s.expose_secret()),
            "account" => self.account.as_deref(),
            "secret_path" => self.secret_path.as_deref(),
            _ => None,
        }
    }

    /// The values of every secret setting that is set, for the redactor.
    pub fn secret_values(&self) -> Vec<String> {
        SETTINGS.iter().filter(|s| s.secret).filter_map(|s| self.get(s.var).map(str::to_owned)).collect()
    }

    /// The derived variables (see [`DERIVED`]) of the settings that are set, with their values.
    pub fn derived(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Some((system, account)) = self.account.as_deref().and_then(|a| a.split_once('/')) {
            out.push(("account_system", system.to_owned()));
            out.push(("account_name", account.to_owned()));
        }
        if let Some((folder, title)) = self.secret_path.as_deref().and_then(|p| p.rsplit_once('/')) {
            out.push(("secret_folder", folder.to_owned()));
            out.push(("secret_title", title.to_owned()));
        }
        out
    }

    /// The setting a derived variable comes from, if `var` is one.
    pub fn derived_from(var: &str) -> Option<&'static str> {
        DERIVED.iter().find(|(name, _, _)| *name == var).map(|(_, setting, _)| *setting)
    }

    /// Whether `var` names a target setting at all.
    pub fn is_setting(var: &str) -> bool {
        SETTINGS.iter().any(|s| s.var == var)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_values_count_as_unset() {
        let s = Settings::from_lookup(|n| match n {
            "PS_API_KEY" => Some(String::new()),
            "PS_RUNAS" => Some("svc-conform".into()),
            _ => None,
        });
        assert!(s.api_key.is_none());
        assert_eq!(s.get("runas"), Some("svc-conform"));
    }

    #[test]
    fn debug_never_shows_a_secret() {
        let s = Settings::from_lookup(|n| (n == "PS_CLIENT_SECRET").then(|| "canary-123".into()));
        assert!(!format!("{s:?}").contains("canary-123"));
        assert_eq!(s.secret_values(), vec!["canary-123".to_string()]);
    }
}
