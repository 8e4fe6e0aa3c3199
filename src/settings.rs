//! Target settings: the credentials a run uses, read from the environment only.
//!
//! Credentials are never accepted on the command line or from case files, so they cannot leak
//! into shell history, process listings or a committed YAML file. Every secret is held in a
//! [`SecretString`], whose `Debug` prints `[REDACTED]`.

use secrecy::{ExposeSecret, SecretString};

/// What a setting holds: a credential ([`SecretString`], whose `Debug` is `[REDACTED]`) or a
/// plain value. Whether a setting is secret follows from its type, so a credential declared in
/// `settings!` cannot miss redaction.
pub trait SettingValue: Sized {
    /// Whether the value is a credential that must never appear in any output.
    const SECRET: bool;
    /// The value as read from the environment.
    fn from_env(text: String) -> Self;
    /// The value as text, for templates and the redactor.
    fn expose(&self) -> &str;
}

impl SettingValue for String {
    const SECRET: bool = false;
    fn from_env(text: String) -> Self {
        text
    }
    fn expose(&self) -> &str {
        self
    }
}

impl SettingValue for SecretString {
    const SECRET: bool = true;
    fn from_env(text: String) -> Self {
        SecretString::from(text)
    }
    fn expose(&self) -> &str {
        self.expose_secret()
    }
}

/// One target setting: where it comes from and how cases name it.
#[derive(Debug, Clone, Copy)]
pub struct SettingInfo {
    /// Environment variable, such as `PS_API_KEY`.
    pub env: &'static str,
    /// Variable name in case files, such as `api_key`.
    pub var: &'static str,
    /// Whether the value is a credential that must never appear in any output.
    pub secret: bool,
    /// What it is, for `run --help`.
    pub help: &'static str,
}

/// Declares every setting once: its field (and so its variable name in case files), its type
/// (a credential or not), its environment variable and its help text. The struct, the table
/// [`SETTINGS`], reading from the environment and [`Settings::get`] all come from this.
macro_rules! settings {
    ($( $field:ident: $ty:ty => $env:literal, $help:literal; )+) => {
        /// The credentials of one target. Every field is optional: a case names what it
        /// needs, and is reported as ignored when a setting it needs is missing.
        #[derive(Debug, Clone, Default)]
        pub struct Settings {
            $( #[doc = $help] pub $field: Option<$ty>, )+
        }

        /// The environment variables a run reads its settings from, with the variable name a
        /// case uses in `needs:` and in `{{ … }}` templates.
        pub const SETTINGS: &[SettingInfo] = &[
            $( SettingInfo { env: $env, var: stringify!($field), secret: <$ty as SettingValue>::SECRET, help: $help }, )+
        ];

        impl Settings {
            /// Reads the settings through `lookup`, so tests need not touch the process
            /// environment. Empty values count as unset.
            pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
                let get = |name: &str| lookup(name).filter(|v| !v.is_empty());
                Settings { $( $field: get($env).map(<$ty as SettingValue>::from_env), )+ }
            }

            /// The value of the setting a case calls `var`, if it is set.
            pub fn get(&self, var: &str) -> Option<&str> {
                match var {
                    $( stringify!($field) => self.$field.as_ref().map(SettingValue::expose), )+
                    _ => None,
                }
            }
        }
    };
}

settings! {
    api_key: SecretString => "PS_API_KEY", "API registration key (`PS-Auth key=…`).";
    runas: String => "PS_RUNAS", "The run-as user (`PS-Auth runas=…`).";
    runas_password: SecretString => "PS_RUNAS_PASSWORD", "The run-as user's password (`pwd=[…]`), if the registration needs it.";
    client_id: String => "PS_CLIENT_ID", "OAuth client id of an application user.";
    client_secret: SecretString => "PS_CLIENT_SECRET", "OAuth client secret of an application user.";
    account: String => "PS_ACCOUNT", "The managed account release cases request: `system/account`.";
    secret_path: String => "PS_SECRET", "The Secrets Safe secret whose value cases read: `folder/path/title`.";
}

/// Variables derived from a setting: the parts of `PS_ACCOUNT` (`system/account`) and of
/// `PS_SECRET` (`folder/path/title`). A case that uses one needs the setting.
pub const DERIVED: &[(&str, &str, &str)] = &[
    ("account_system", "account", "the managed system of PS_ACCOUNT (before the first `/`)"),
    ("account_name", "account", "the managed account of PS_ACCOUNT (after the first `/`)"),
    ("secret_folder", "secret_path", "the folder path of PS_SECRET (before the last `/`)"),
    ("secret_title", "secret_path", "the secret title of PS_SECRET (after the last `/`)"),
];

/// The settings as `run --help` lists them: one line per variable, from [`SETTINGS`].
pub fn help() -> String {
    let mut out = String::from("Target settings (from the environment only; never on the command line):\n");
    for s in SETTINGS {
        let kind = if s.secret { "(secret) " } else { "" };
        out.push_str(&format!("  {:<18} {kind}{}\n", s.env, s.help));
    }
    out
}

impl Settings {
    /// Reads the settings from `PS_*` environment variables. Empty values count as unset.
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
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
    fn every_declared_setting_is_read_and_credentials_are_secret() {
        let s = Settings::from_lookup(|n| Some(format!("value of {n}")));
        for info in SETTINGS {
            assert_eq!(s.get(info.var), Some(format!("value of {}", info.env).as_str()), "{}", info.var);
        }
        let secrets: Vec<&str> = SETTINGS.iter().filter(|s| s.secret).map(|s| s.env).collect();
        assert_eq!(secrets, ["PS_API_KEY", "PS_RUNAS_PASSWORD", "PS_CLIENT_SECRET"]);
        assert_eq!(s.secret_values().len(), 3);
        assert!(help().contains("PS_SECRET") && help().lines().count() == SETTINGS.len() + 1);
    }

    #[test]
    fn debug_never_shows_a_secret() {
        let s = Settings::from_lookup(|n| (n == "PS_CLIENT_SECRET").then(|| "canary-123".into()));
        assert!(!format!("{s:?}").contains("canary-123"));
        assert_eq!(s.secret_values(), vec!["canary-123".to_string()]);
    }
}
