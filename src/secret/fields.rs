//! Which fields of a JSON body are credentials, by the endpoint the body comes from. Masking by
//! position needs no knowledge of the values: a field named `Password` is masked whatever it
//! holds.

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

/// Fields that are credentials under Secrets Safe: a Text secret's value.
pub const SECRETS_SAFE_FIELDS: &[&str] = &["text"];

/// Which fields are credentials in a response, by the endpoint it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FieldPolicy {
    /// Under `Secrets-Safe/`: `Text` is a secret's value.
    secrets_safe: bool,
    /// The whole body is a credential (`GET Credentials/{id}`, a file download).
    bare_body: bool,
}

impl FieldPolicy {
    /// The policy for a request path relative to the base URL.
    pub fn for_path(path: &str) -> FieldPolicy {
        let p = path.trim_start_matches('/').to_ascii_lowercase();
        let p = p.split('?').next().unwrap_or("");
        let secrets_safe = p.starts_with("secrets-safe");
        let bare_body = p.starts_with("credentials")
            || p.contains("/credentials")
            || p.starts_with("isarequests")
            || (secrets_safe && p.trim_end_matches('/').ends_with("/file/download"));
        FieldPolicy { secrets_safe, bare_body }
    }

    /// Whether a JSON key names a credential here.
    pub fn is_sensitive(&self, key: &str) -> bool {
        SENSITIVE_FIELDS.iter().any(|f| f.eq_ignore_ascii_case(key))
            || (self.secrets_safe && SECRETS_SAFE_FIELDS.iter().any(|f| f.eq_ignore_ascii_case(key)))
    }

    /// Whether the whole body is a credential.
    pub fn bare_body(&self) -> bool {
        self.bare_body
    }

    /// Whether the last key of a JSONPath (`$.access_token`, `$[0]['Password']`) names a
    /// credential, or the path is the whole body of a credential endpoint.
    pub fn is_sensitive_path(&self, path: &str) -> bool {
        if self.bare_body && path.trim() == "$" {
            return true;
        }
        let key = path.rsplit(['.', '[']).next().unwrap_or("").trim_matches(|c| c == '\'' || c == '"' || c == ']');
        self.is_sensitive(key)
    }

    /// Every credential value inside a JSON body: values of sensitive fields at any depth, or
    /// the whole body of a credential endpoint.
    pub fn secrets_in(&self, value: &Value, out: &mut Vec<String>) {
        if self.bare_body {
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
    fn fields_are_credentials_by_the_endpoint_they_come_from() {
        let secrets = FieldPolicy::for_path("Secrets-Safe/Secrets/1/text");
        let other = FieldPolicy::for_path("Users");
        assert!(secrets.is_sensitive("Text") && !other.is_sensitive("Text"));
        assert!(other.is_sensitive("PASSWORD") && other.is_sensitive("access_token"));
        assert!(FieldPolicy::for_path("credentials/12?type=password").bare_body());
        assert!(FieldPolicy::for_path("Secrets-Safe/Secrets/x/file/download").bare_body());
        let mut found = Vec::new();
        let v = json!({"access_token": "t0k", "nested": [{"Password": "pw", "Text": "tx"}], "UserName": "u"});
        secrets.secrets_in(&v, &mut found);
        assert_eq!(found, vec!["t0k".to_string(), "pw".to_string(), "tx".to_string()]);
        let mut masked = v.clone();
        other.mask(&mut masked);
        assert_eq!(
            masked,
            json!({"access_token": MASK, "nested": [{"Password": MASK, "Text": "tx"}], "UserName": "u"})
        );
    }
}
