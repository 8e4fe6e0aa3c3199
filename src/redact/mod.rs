//! The one redaction point. Everything psconform writes (the terminal, logs at any verbosity,
//! JUnit, the JSON and HTML reports, contracts, the record set, drift reports, `list --json`,
//! `validate` diagnostics, panic messages) is made of values that passed through here first.
//!
//! Secrets are known two ways:
//! - **by position**: Authorization, Cookie and Set-Cookie values, a `Location`'s query,
//!   credential fields (`Password`, `PrivateKey`, `Passphrase`, `access_token`,
//!   `client_secret`, the `Text` of a Secrets Safe secret, …) and the bare body of the
//!   endpoints that answer a credential (`GET Credentials/{id}`, a file download). These are
//!   masked where they stand, whatever their length.
//! - **by value**: configured credentials, captured `secret:` values and credential values
//!   learned from responses, in every encoding and as any fragment of [`store::FRAGMENT`]
//!   bytes (see [`store`] and [`encodings`]), so an escaped, encoded or truncated copy is
//!   masked too.
//!
//! Redaction works on typed values before any serializer runs, so what a serializer adds
//! (XML or JSON escapes, URL encoding) cannot carry a secret past it. The reporters take
//! [`Redacted`] values, which only a [`Redactor`] makes.

pub mod encodings;
pub mod store;

use serde::Serialize;
use serde_json::Value;

pub use store::{Added, Origin, SecretStore};

/// What a redacted value is replaced with.
pub const MASK: &str = "[REDACTED]";

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

/// Headers whose values are credentials.
pub const SENSITIVE_HEADERS: &[&str] = &["authorization", "proxy-authorization", "cookie", "set-cookie"];

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

/// Whether a header carries credentials.
pub fn is_sensitive_header(name: &str) -> bool {
    SENSITIVE_HEADERS.iter().any(|h| h.eq_ignore_ascii_case(name))
}

/// A header value fit to show: credentials replaced by position, cookie names and attributes
/// kept, a `Location`'s query and fragment masked.
pub fn show_header(name: &str, value: &str) -> String {
    if name.eq_ignore_ascii_case("authorization") || name.eq_ignore_ascii_case("proxy-authorization") {
        return match value.split_once(' ') {
            Some((scheme, _)) => format!("{scheme} {MASK}"),
            None => MASK.to_owned(),
        };
    }
    if name.eq_ignore_ascii_case("cookie") {
        return value
            .split(';')
            .map(|c| match c.split_once('=') {
                Some((n, _)) => format!("{}={MASK}", n.trim()),
                None => c.trim().to_owned(),
            })
            .collect::<Vec<_>>()
            .join("; ");
    }
    if name.eq_ignore_ascii_case("set-cookie") {
        let (first, attrs) = value.split_once(';').unwrap_or((value, ""));
        let cookie_name = first.split_once('=').map_or(first, |(n, _)| n).trim();
        return if attrs.is_empty() {
            format!("{cookie_name}={MASK}")
        } else {
            format!("{cookie_name}={MASK};{attrs}")
        };
    }
    if name.eq_ignore_ascii_case("location") {
        let cut = value.find(['?', '#']).unwrap_or(value.len());
        return if cut < value.len() { format!("{}?{MASK}", &value[..cut]) } else { value.to_owned() };
    }
    value.to_owned()
}

/// A value that passed the redaction point. Only a [`Redactor`] makes one, and every reporter
/// takes one, so nothing is written that was not redacted.
#[derive(Debug, Clone)]
pub struct Redacted<T>(T);

impl<T> Redacted<T> {
    /// The redacted value.
    pub fn get(&self) -> &T {
        &self.0
    }

    /// The redacted value, owned.
    pub fn into_inner(self) -> T {
        self.0
    }

    /// A part of a redacted value is redacted too.
    pub fn map<U>(&self, f: impl FnOnce(&T) -> U) -> Redacted<U> {
        Redacted(f(&self.0))
    }
}

impl<T: Serialize> Serialize for Redacted<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

/// Something the redaction point knows how to walk.
pub trait Redact {
    /// Masks every secret in place.
    fn redact(&mut self, r: &Redactor);
}

/// Redacts with the run's configured secrets and, during a case, the secrets that case
/// learned. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    stores: Vec<SecretStore>,
}

impl Redactor {
    /// A redactor over these stores (the run's, then a case's).
    pub fn new(stores: Vec<SecretStore>) -> Redactor {
        Redactor { stores }
    }

    /// A redactor that also knows `store`.
    pub fn with(&self, store: SecretStore) -> Redactor {
        let mut stores = self.stores.clone();
        stores.push(store);
        Redactor { stores }
    }

    /// Whether one of the stores already matches this value.
    pub fn knows(&self, secret: &str) -> bool {
        self.stores.iter().any(|s| s.contains(secret))
    }

    /// Masks every secret in a text, by value. Fails closed: a store that cannot be read
    /// masks the whole text.
    pub fn text(&self, text: &str) -> String {
        let mut ranges = Vec::new();
        for s in &self.stores {
            if s.find(text, &mut ranges).is_err() {
                return MASK.to_owned();
            }
        }
        store::mask_ranges(text, ranges, MASK)
    }

    /// Masks a text in place.
    pub fn text_mut(&self, text: &mut String) {
        let out = self.text(text);
        if out != *text {
            *text = out;
        }
    }

    /// Masks every secret in a JSON value: object keys and strings by value, and the values
    /// of credential fields by position.
    pub fn value(&self, value: &mut Value, fields: FieldPolicy) {
        fields.mask(value);
        self.value_by_value(value);
    }

    fn value_by_value(&self, value: &mut Value) {
        match value {
            Value::String(s) => self.text_mut(s),
            Value::Array(items) => items.iter_mut().for_each(|v| self.value_by_value(v)),
            Value::Object(map) => {
                let old = std::mem::take(map);
                for (k, mut v) in old {
                    self.value_by_value(&mut v);
                    map.insert(self.text(&k), v);
                }
            }
            _ => {}
        }
    }

    /// Seals a value: redacts it and marks it fit to write.
    pub fn seal<T: Redact>(&self, mut value: T) -> Redacted<T> {
        value.redact(self);
        Redacted(value)
    }

    /// Marks a value that holds nothing from a target or a setting (a catalog, the plan's
    /// own names) as fit to write, after redacting it anyway.
    pub fn seal_text(&self, text: &str) -> Redacted<String> {
        Redacted(self.text(text))
    }
}

impl Redact for String {
    fn redact(&mut self, r: &Redactor) {
        r.text_mut(self);
    }
}

impl Redact for Value {
    fn redact(&mut self, r: &Redactor) {
        r.value(self, FieldPolicy::default());
    }
}

impl<T: Redact> Redact for Vec<T> {
    fn redact(&mut self, r: &Redactor) {
        self.iter_mut().for_each(|v| v.redact(r));
    }
}

impl<T: Redact> Redact for Option<T> {
    fn redact(&mut self, r: &Redactor) {
        if let Some(v) = self {
            v.redact(r);
        }
    }
}

mod impls;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn masks_headers_keeping_what_is_useful() {
        assert_eq!(show_header("Authorization", "PS-Auth key=abc; runas=u;"), "PS-Auth [REDACTED]");
        assert_eq!(show_header("Cookie", "ASP.NET_SessionId=abc; x=1"), "ASP.NET_SessionId=[REDACTED]; x=[REDACTED]");
        assert_eq!(
            show_header("Set-Cookie", "ASP.NET_SessionId=abc; path=/; HttpOnly"),
            "ASP.NET_SessionId=[REDACTED]; path=/; HttpOnly"
        );
        assert_eq!(show_header("Location", "https://h/x?k=secret"), "https://h/x?[REDACTED]");
        assert_eq!(show_header("Content-Type", "application/json"), "application/json");
    }

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

    #[test]
    fn keys_and_values_are_redacted_by_value() {
        let store = SecretStore::new();
        store.add("key-0123456789abcdef-canary", Origin::Configured);
        let r = Redactor::new(vec![store]);
        let mut v = json!({"key-0123456789abcdef-canary": "x", "y": "pre key-0123456789abcdef-canary post"});
        r.value(&mut v, FieldPolicy::default());
        assert_eq!(v, json!({MASK: "x", "y": "pre [REDACTED] post"}));
    }
}
