//! Which fields of a request and its answer are credentials, decided from the request as it
//! was sent and the endpoint's documented models: the one computation the runner (and the
//! simulator's request log) masks by.
//!
//! A request's path is taken from the final URL, relative to the base URL's path, with dot
//! segments removed and percent-escapes of unreserved characters decoded, compared ignoring
//! case, as a server (IIS) routes it; so `Secrets%2DSafe/Secrets` and `x/../Credentials/42`
//! are the endpoints they reach. The endpoint is the catalog's ([`Catalog::endpoint_of`]), and
//! its policy holds every field its request and response models mark `secret: true`, at any
//! depth of the models they name, and the statuses whose form says the whole body is a
//! credential, on top of the always-sensitive names ([`crate::secret::SENSITIVE_FIELDS`]),
//! which stay the floor for endpoints no model documents.

use std::collections::{BTreeMap, BTreeSet};

use super::model::{Body, EndpointDoc, Models};
use super::types::{ModelRef, TypeExpr};
use super::{Catalog, key};
use crate::secret::FieldPolicy;

/// Models followed from a body before a loop or a very deep chain of references is cut.
const MAX_DEPTH: usize = 16;

/// The policy of every documented endpoint, by its matching key.
pub(super) fn policies(models: &Models) -> BTreeMap<(String, String), FieldPolicy> {
    models.endpoints.iter().map(|doc| (key(&doc.method, &doc.route), policy_of(models, doc))).collect()
}

fn policy_of(models: &Models, doc: &EndpointDoc) -> FieldPolicy {
    let mut fields = BTreeSet::new();
    let mut seen = BTreeSet::new();
    let mut bare = Vec::new();
    for (status, forms) in &doc.responses {
        for form in forms {
            if form.secret {
                bare.push(*status);
            }
            body_fields(models, &form.body, &mut fields, &mut seen);
        }
    }
    if let Some(body) = doc.request.as_ref().and_then(|r| r.body.as_ref()) {
        body_fields(models, body, &mut fields, &mut seen);
    }
    FieldPolicy::documented(fields, bare, under_secrets_safe(&doc.route))
}

fn body_fields(models: &Models, body: &Body, out: &mut BTreeSet<String>, seen: &mut BTreeSet<ModelRef>) {
    match body {
        Body::Object(m) | Body::Array(m) | Body::Paged(m) => model_fields(models, m, out, seen, 0),
        Body::Type(t) => type_fields(models, t, out, seen, 0),
        _ => {}
    }
}

fn type_fields(models: &Models, t: &TypeExpr, out: &mut BTreeSet<String>, seen: &mut BTreeSet<ModelRef>, depth: usize) {
    for m in t.models() {
        model_fields(models, m, out, seen, depth);
    }
}

/// Every credential field of a model and of the models its fields name.
fn model_fields(
    models: &Models,
    r: &ModelRef,
    out: &mut BTreeSet<String>,
    seen: &mut BTreeSet<ModelRef>,
    depth: usize,
) {
    if depth > MAX_DEPTH || !seen.insert(r.clone()) {
        return;
    }
    let Some(model) = models.model(r) else { return };
    for f in &model.fields {
        if f.secret {
            out.insert(f.name.clone());
            out.extend(f.alternatives.iter().map(|(name, _)| name.clone()));
        }
        type_fields(models, &f.ty, out, seen, depth + 1);
    }
}

/// Whether a route is under `Secrets-Safe/`, where a `Text` field is a secret's value even on
/// an endpoint no model documents.
pub fn under_secrets_safe(path: &str) -> bool {
    path.trim_start_matches('/').get(..13).is_some_and(|p| p.eq_ignore_ascii_case("secrets-safe/"))
}

/// The path of a request relative to the base path, as a server routes it: dot segments
/// removed, percent-escapes of unreserved characters (`%41`, `%2D`, …) decoded, and the base
/// path stripped ignoring case. Both are URL paths as sent (percent-encoded). A path outside
/// the base is returned whole (without its leading `/`).
pub fn relative_path(base_path: &str, path: &str) -> String {
    let base = normalized(base_path);
    let path = normalized(path);
    let base = base.trim_end_matches('/');
    let rest = match path.get(..base.len()) {
        Some(head) if head.eq_ignore_ascii_case(base) && path[base.len()..].starts_with('/') => &path[base.len()..],
        _ => path.as_str(),
    };
    rest.trim_start_matches('/').to_owned()
}

/// A URL path with unreserved escapes decoded and dot segments removed (RFC 3986 §5.2.4).
fn normalized(path: &str) -> String {
    let decoded = decode_unreserved(path);
    let mut out: Vec<&str> = Vec::new();
    let segments: Vec<&str> = decoded.split('/').collect();
    let last = segments.len().saturating_sub(1);
    for (i, segment) in segments.iter().enumerate() {
        match *segment {
            "." => {}
            ".." => {
                if out.len() > 1 {
                    out.pop();
                }
            }
            s => out.push(s),
        }
        // A path that ends in a dot segment ends in a folder.
        if i == last && (*segment == "." || *segment == "..") {
            out.push("");
        }
    }
    out.join("/")
}

/// Decodes the percent-escapes of RFC 3986's unreserved characters (letters, digits, `-`, `.`,
/// `_`, `~`), which a server reads as the characters themselves; every other escape is kept.
pub fn decode_unreserved(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(c) = unreserved_escape(&path[i..])
        {
            out.push(c);
            i += 3;
            continue;
        }
        let len = path[i..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&path[i..i + len]);
        i += len;
    }
    out
}

/// The unreserved character a `%XX` at the start of `text` stands for, if it stands for one.
pub fn unreserved_escape(text: &str) -> Option<char> {
    let hex = text.strip_prefix('%')?.get(..2)?;
    let byte = u8::from_str_radix(hex, 16).ok()?;
    let c = char::from(byte);
    (c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~')).then_some(c)
}

impl Catalog {
    /// The field policy of a request to `path` (relative to the base URL, as
    /// [`relative_path`] gives it): the endpoint's documented one, else the floor.
    pub fn fields_of(&self, method: &str, path: &str) -> FieldPolicy {
        self.endpoint_of(method, path)
            .and_then(|e| self.fields.get(&e.key()))
            .cloned()
            .unwrap_or_else(|| FieldPolicy::floor(under_secrets_safe(path)))
    }

    /// The field policy of a request as sent: `method` to the URL path `sent`, below the base
    /// URL path `base` (both as on the wire). The runner masks a step's request and answer by
    /// it; a server's request log can do the same with the path it received.
    pub fn fields_of_request(&self, method: &str, base: &str, sent: &str) -> FieldPolicy {
        self.fields_of(method, &relative_path(base, sent))
    }
}

/// [`Catalog::fields_of_request`] with the compiled-in catalog; the floor if it cannot be read
/// (a bug the tests would have caught: the shipped models are checked by them).
///
/// A policy depends on nothing but its arguments, and a suite sends the same few requests
/// again and again: each thread keeps the last `MEMO` policies it made.
pub fn of_request(method: &str, base: &str, sent: &str) -> FieldPolicy {
    type Memo = std::collections::HashMap<(String, String, String), FieldPolicy>;
    thread_local! {
        static MADE: std::cell::RefCell<Memo> = std::cell::RefCell::new(Memo::new());
    }
    let key = (method.to_owned(), base.to_owned(), sent.to_owned());
    if let Some(found) = MADE.with(|m| m.borrow().get(&key).cloned()) {
        return found;
    }
    let policy = match Catalog::shared() {
        Ok(c) => c.fields_of_request(method, base, sent),
        Err(_) => FieldPolicy::floor(under_secrets_safe(&relative_path(base, sent))),
    };
    MADE.with(|m| {
        let mut m = m.borrow_mut();
        if m.len() >= MEMO {
            m.clear();
        }
        m.insert(key, policy.clone());
    });
    policy
}

/// How many request policies each thread keeps.
const MEMO: usize = 1024;

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "/BeyondTrust/api/public/v3";

    #[test]
    fn the_path_is_the_one_a_server_routes() {
        for sent in [
            "/BeyondTrust/api/public/v3/Secrets-Safe/Secrets",
            "/beyondtrust/API/public/v3/./Secrets-Safe/Secrets",
            "/BeyondTrust/api/public/v3/x/../Secrets-Safe/Secrets",
            "/BeyondTrust/api/public/v3/Secrets%2DSafe/Secrets",
            "/BeyondTrust/api/public/v3/%53ecrets-Safe/Secrets",
        ] {
            assert_eq!(relative_path(BASE, sent).to_ascii_lowercase(), "secrets-safe/secrets", "{sent}");
        }
        assert_eq!(relative_path(BASE, "/BeyondTrust/api/public/v3/Users/a%2Fb"), "Users/a%2Fb", "reserved stays");
        assert_eq!(relative_path(BASE, "/other/Users"), "other/Users");
        assert_eq!(relative_path("/", "/Users/"), "Users/");
    }

    #[test]
    fn the_policy_comes_from_the_endpoint_s_models() {
        let c = Catalog::builtin().expect("the catalog");
        let credential = c.fields_of_request("GET", BASE, "/BeyondTrust/api/public/v3/%43redentials/42");
        assert!(credential.bare_body(200) && !credential.bare_body(401));
        let file = c.fields_of("GET", "Secrets-Safe/Secrets/3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f/file/download");
        assert!(file.bare_body(200), "a file secret's content is its value");
        let accounts = c.fields_of("GET", "managedaccounts/");
        assert!(accounts.is_sensitive("TotpParameters") && !accounts.is_sensitive("AccountName"));
        let sessions = c.fields_of("GET", "Sessions");
        assert!(sessions.is_sensitive("RecordKey"), "a field of a model the body names");
        let keystrokes = c.fields_of("GET", "Sessions/7/Keystrokes");
        assert!(keystrokes.is_sensitive("Data"));
        let secrets = c.fields_of("GET", "secrets-safe/secrets");
        assert!(secrets.is_sensitive("Password") && secrets.is_sensitive("Text") && secrets.holds_secrets());
        let users = c.fields_of("GET", "Users");
        assert!(users.is_sensitive("password") && !users.is_sensitive("UserName"), "the floor holds");
        let unknown = c.fields_of("GET", "Secrets-Safe/Nowhere/1");
        assert!(unknown.is_sensitive("Text") && unknown.is_sensitive("Password"));
    }
}
