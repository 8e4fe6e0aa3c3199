//! Which fields of a JSON body are credentials, by the endpoint the body comes from. Masking by
//! position needs no knowledge of the values: a field named `Password` is masked whatever it
//! holds.

use std::sync::Arc;

use serde_json::Value;

use super::mask::MASK;

/// JSON fields whose values are credentials everywhere, compared ignoring case.
pub const SENSITIVE_FIELDS: &[&str] = &[
    "password",
    "privatekey",
    "passphrase",
    "access_token",
    "refresh_token",
    "id_token",
    "client_secret",
    "credentials",
    "credential",
    "apikey",
    "secret",
];

/// The longest whole body learned as a credential: a released password or key is short, and a
/// file download is never shown anyway.
pub const MAX_BARE_LEARNED: usize = 4096;

/// Fields that are credentials under Secrets Safe: a Text secret's value.
pub const SECRETS_SAFE_FIELDS: &[&str] = &["text"];

/// Which fields are credentials in a request's body and its response, by the endpoint the
/// request went to: the floor ([`SENSITIVE_FIELDS`], and `Text` under `Secrets-Safe/`) for
/// any endpoint, plus what the endpoint's documented models mark secret, and the statuses
/// whose whole body is a credential. Deciding which endpoint a request went to is the
/// catalog's (`crate::catalog::fields`); this type only holds the answer. Cheap to clone.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldPolicy {
    /// Field names the endpoint documents as credentials, lower case.
    documented: Arc<[String]>,
    /// Statuses whose whole body is a credential (`GET Credentials/{id}` 200, a file
    /// download).
    bare: Arc<[u16]>,
    /// Every 2xx body is a credential: a documented success answers one, and a server that
    /// answers it under another success status is not shown it either.
    bare_success: bool,
    /// The endpoint can answer a credential (a documented credential field or body): a body
    /// of it is never shown unread.
    holds_secrets: bool,
    /// Under `Secrets-Safe/`: `Text` is a secret's value wherever it stands.
    secrets_safe: bool,
}

impl FieldPolicy {
    /// The floor alone: the always-sensitive names, for an endpoint no model documents.
    pub fn floor(secrets_safe: bool) -> FieldPolicy {
        FieldPolicy { secrets_safe, ..FieldPolicy::default() }
    }

    /// The floor plus an endpoint's documented credential fields (any depth of its models)
    /// and the statuses whose whole body is a credential.
    pub fn documented(
        fields: impl IntoIterator<Item = String>,
        bare: impl IntoIterator<Item = u16>,
        secrets_safe: bool,
    ) -> FieldPolicy {
        let mut documented: Vec<String> = fields.into_iter().map(|f| f.to_ascii_lowercase()).collect();
        documented.sort();
        documented.dedup();
        let mut bare: Vec<u16> = bare.into_iter().collect();
        bare.sort_unstable();
        bare.dedup();
        let bare_success = bare.iter().any(|s| (200..300).contains(s));
        let holds_secrets = !documented.is_empty() || !bare.is_empty();
        FieldPolicy { documented: documented.into(), bare: bare.into(), bare_success, holds_secrets, secrets_safe }
    }

    /// Whether a JSON key names a credential here.
    pub fn is_sensitive(&self, key: &str) -> bool {
        SENSITIVE_FIELDS.iter().any(|f| f.eq_ignore_ascii_case(key))
            || (self.secrets_safe && SECRETS_SAFE_FIELDS.iter().any(|f| f.eq_ignore_ascii_case(key)))
            || self.documented.iter().any(|f| f.eq_ignore_ascii_case(key))
    }

    /// Whether the whole body of an answer with `status` is a credential.
    pub fn bare_body(&self, status: u16) -> bool {
        (self.bare_success && (200..300).contains(&status)) || self.bare.contains(&status)
    }

    /// Whether the endpoint can answer a credential at all, so a body of it that cannot be
    /// read as JSON is never shown as it came.
    pub fn holds_secrets(&self) -> bool {
        self.holds_secrets || self.secrets_safe
    }

    /// Whether a body that serde rejects must be read leniently before anything of it is
    /// shown: the endpoint can answer a credential, or the body looks like JSON. Where the
    /// lenient read then fails, nothing of the body is shown.
    pub fn reads_leniently(&self, body: &[u8]) -> bool {
        self.holds_secrets() || super::lenient::looks_like_json(body)
    }

    /// A body that serde rejects, read leniently (see `lenient`): values under credential
    /// keys masked by position and collected to be learned; where the whole body of `status`
    /// is a credential, all of it masked and its value (the string it holds, or a short text)
    /// collected. `None` when it cannot be read that way.
    pub fn lenient(&self, body: &[u8], status: u16) -> Option<super::lenient::Lenient> {
        if self.bare_body(status) {
            let text = String::from_utf8_lossy(super::lenient::strip_bom(body));
            let value = super::lenient::leading_string(&text).unwrap_or_else(|| text.trim().to_owned());
            let found = if value.len() <= MAX_BARE_LEARNED { vec![value] } else { Vec::new() };
            return Some(super::lenient::Lenient { masked: MASK.to_owned(), found });
        }
        super::lenient::read(body, &|k| self.is_sensitive(k))
    }

    /// A body in `application/x-www-form-urlencoded` form (`a=1&password=x`, short and
    /// without spaces) with its credential fields masked; `None` for any other text.
    pub fn mask_form(&self, text: &str) -> Option<String> {
        if !text.contains('=') || text.contains(' ') || text.len() >= 64 * 1024 {
            return None;
        }
        let form = url::form_urlencoded::parse(text.as_bytes())
            .map(|(k, v)| if self.is_sensitive(&k) { format!("{k}={MASK}") } else { format!("{k}={v}") })
            .collect::<Vec<_>>()
            .join("&");
        Some(form)
    }

    /// Whether the last key of a JSONPath (`$.access_token`, `$[0]['Password']`) names a
    /// credential, or the path is the whole body of an answer whose body is a credential.
    pub fn is_sensitive_path(&self, path: &str, status: u16) -> bool {
        if self.bare_body(status) && path.trim() == "$" {
            return true;
        }
        let key = path.rsplit(['.', '[']).next().unwrap_or("").trim_matches(|c| c == '\'' || c == '"' || c == ']');
        self.is_sensitive(key)
    }

    /// Every credential value inside a JSON body: values of sensitive fields at any depth, or
    /// the whole body of an answer (`status`; `None` for a request's body) whose body is a
    /// credential.
    pub fn secrets_in(&self, value: &Value, status: Option<u16>, out: &mut Vec<String>) {
        if status.is_some_and(|s| self.bare_body(s)) {
            match value {
                Value::String(s) => out.push(s.clone()),
                Value::Null | Value::Bool(_) => {}
                other => out.push(other.to_string()),
            }
        }
        self.collect(value, out);
    }

    fn collect(&self, value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    if self.is_sensitive(k) {
                        match v {
                            Value::String(s) => out.push(s.clone()),
                            Value::Null | Value::Bool(_) => {}
                            other => out.push(other.to_string()),
                        }
                    } else {
                        self.collect(v, out);
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| self.collect(v, out)),
            _ => {}
        }
    }

    /// Masks the values of sensitive fields, at any depth.
    pub fn mask(&self, value: &mut Value) {
        match value {
            Value::Object(map) => {
                for (k, v) in map.iter_mut() {
                    if self.is_sensitive(k) && !v.is_null() {
                        *v = Value::String(MASK.into());
                    } else {
                        self.mask(v);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.mask(v)),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_are_credentials_by_the_floor_and_by_what_the_endpoint_documents() {
        let secrets = FieldPolicy::floor(true);
        let other = FieldPolicy::floor(false);
        assert!(secrets.is_sensitive("Text") && !other.is_sensitive("Text"));
        assert!(other.is_sensitive("PASSWORD") && other.is_sensitive("access_token"));
        assert!(!other.bare_body(200) && !other.holds_secrets());
        let totp = FieldPolicy::documented(["TotpParameters".to_owned()], [], false);
        assert!(totp.is_sensitive("totpparameters") && totp.holds_secrets() && !totp.bare_body(200));
        let credential = FieldPolicy::documented([], [200], false);
        assert!(credential.bare_body(200) && credential.bare_body(201), "any success");
        assert!(!credential.bare_body(401), "an error's body is the server's words, not a credential");
        let mut found = Vec::new();
        let v = json!({"access_token": "t0k", "nested": [{"Password": "pw", "Text": "tx"}], "UserName": "u"});
        secrets.secrets_in(&v, Some(200), &mut found);
        assert_eq!(found, vec!["t0k".to_string(), "pw".to_string(), "tx".to_string()]);
        let mut masked = v.clone();
        other.mask(&mut masked);
        assert_eq!(
            masked,
            json!({"access_token": MASK, "nested": [{"Password": MASK, "Text": "tx"}], "UserName": "u"})
        );
    }
}
