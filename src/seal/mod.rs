//! The sealing point: everything psconform writes (the terminal, logs at any verbosity, JUnit,
//! the JSON and HTML reports, contracts, the record set, drift reports, `list`, `coverage`,
//! `validate` diagnostics, panic messages) is made of values that passed through here first.
//!
//! A [`Redactor`] uses the secret layer (`crate::secret`: stores, encodings, field policy) on
//! typed values before any serializer runs, so what a serializer adds (XML or JSON escapes, URL
//! encoding) cannot carry a secret past it. [`Redacted`] marks a value fit to write; only a
//! redactor makes one, and every reporter takes one, so the compiler sees the promise.
//!
//! This module imports nothing above the secret layer: each type that reaches an output walks
//! itself ([`Redact`]), beside its definition (`result`, `shape`, `case::diagnostic`, the report
//! types), importing this module downward. A value is sealed once, where it is made: a case's
//! result when the case ends, a contract when it is observed.

use serde::Serialize;
use serde_json::Value;

use crate::secret::{FieldPolicy, MASK, SecretStore, store};

/// A value that passed the sealing point. Only a [`Redactor`] makes one, and every reporter
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

    /// Puts a new part into a sealed value (a case's final outcome). The part is sealed on its
    /// way in, so the value stays fit to write without being walked again.
    pub fn amend<P: Redact>(&mut self, r: &Redactor, mut part: P, put: impl FnOnce(&mut T, P)) {
        part.redact(r);
        put(&mut self.0, part);
    }
}

impl<T: Serialize> Serialize for Redacted<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

/// Something the sealing point knows how to walk: every string, every JSON value (keys
/// included), every name a server chose.
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
    pub fn value(&self, value: &mut Value, fields: &FieldPolicy) {
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
}

impl Redact for String {
    fn redact(&mut self, r: &Redactor) {
        r.text_mut(self);
    }
}

impl Redact for Value {
    fn redact(&mut self, r: &Redactor) {
        r.value(self, &FieldPolicy::default());
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

impl Redact for std::collections::BTreeSet<String> {
    fn redact(&mut self, r: &Redactor) {
        *self = std::mem::take(self).into_iter().map(|s| r.text(&s)).collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Origin;
    use serde_json::json;

    #[test]
    fn keys_and_values_are_redacted_by_value() {
        let store = SecretStore::new();
        store.add("key-0123456789abcdef-canary", Origin::Configured);
        let r = Redactor::new(vec![store]);
        let mut v = json!({"key-0123456789abcdef-canary": "x", "y": "pre key-0123456789abcdef-canary post"});
        r.value(&mut v, &FieldPolicy::default());
        assert_eq!(v, json!({MASK: "x", "y": "pre [REDACTED] post"}));
    }
}
