//! Keeping credentials out of every output.
//!
//! Two layers. Structural: Authorization, Cookie and Set-Cookie values and well-known
//! credential fields in JSON bodies are replaced before anything is shown. By value: every
//! known secret (the configured credentials, captured secrets, cookie values and credential
//! fields seen in responses) is registered in a process-wide [`SecretStore`], and every sink
//! (terminal, logs, JUnit, JSON report, panic messages) passes its final text through it. The
//! store matches each secret raw, JSON-escaped, URL-encoded and base64-encoded (at every byte
//! alignment), so a secret cannot slip out inside an encoded header or body either.

use std::collections::HashSet;
use std::sync::{Arc, RwLock};

use aho_corasick::{AhoCorasick, MatchKind};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use serde_json::Value;

/// JSON fields whose values are credentials, compared ignoring case.
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

/// Headers whose values are credentials.
pub const SENSITIVE_HEADERS: &[&str] = &["authorization", "cookie", "set-cookie", "proxy-authorization"];

/// What a redacted value is replaced with.
pub const MASK: &str = "[REDACTED]";

/// Secrets shorter than this are only matched raw: encoded fragments that short would match
/// ordinary text.
const MIN_ENCODED: usize = 4;

#[derive(Default)]
struct Inner {
    /// Every secret registered, raw.
    raw: HashSet<String>,
    /// Secrets registered since the last redaction, not yet encoded.
    pending: Vec<String>,
    /// Every encoded form, without repeats.
    needles: Vec<String>,
    needle_set: HashSet<String>,
    /// A matcher over `needles[..built]`; the few needles after it are searched one by one
    /// until there are enough of them to be worth a rebuild.
    matcher: Option<AhoCorasick>,
    built: usize,
}

impl Inner {
    /// Encodes the pending secrets, and rebuilds the matcher when the unindexed tail has
    /// grown as large as the indexed part (so rebuilding stays amortised linear).
    fn prepare(&mut self) {
        for secret in std::mem::take(&mut self.pending) {
            for form in encodings(&secret) {
                if self.needle_set.insert(form.clone()) {
                    self.needles.push(form);
                }
            }
        }
        let tail = self.needles.len() - self.built;
        if tail > 0 && (self.matcher.is_none() || tail > self.built.max(64)) {
            // Standard match kind: overlapping search finds every occurrence of every needle.
            self.matcher = AhoCorasick::builder().match_kind(MatchKind::Standard).build(&self.needles).ok();
            self.built = if self.matcher.is_some() { self.needles.len() } else { 0 };
        }
    }

    /// Byte ranges of every occurrence of every needle, merged.
    fn ranges(&self, text: &str) -> Option<Vec<(usize, usize)>> {
        let mut found: Vec<(usize, usize)> = Vec::new();
        if self.built > 0 {
            let m = self.matcher.as_ref()?;
            found.extend(m.find_overlapping_iter(text).map(|h| (h.start(), h.end())));
        }
        for needle in &self.needles[self.built..] {
            found.extend(text.match_indices(needle.as_str()).map(|(i, n)| (i, i + n.len())));
        }
        found.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::with_capacity(found.len());
        for (a, b) in found {
            match merged.last_mut() {
                Some(last) if a <= last.1 => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        Some(merged)
    }
}

/// A shared, append-only set of secret values that every output is filtered through.
#[derive(Clone, Default)]
pub struct SecretStore {
    inner: Arc<RwLock<Inner>>,
}

impl std::fmt::Debug for SecretStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretStore([REDACTED])")
    }
}

impl SecretStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a secret. Its encodings are worked out when something is next redacted, so
    /// registering, which happens on every request, stays cheap. Empty values are ignored.
    pub fn add(&self, secret: &str) {
        if secret.is_empty() || self.inner.read().is_ok_and(|i| i.raw.contains(secret)) {
            return;
        }
        if let Ok(mut inner) = self.inner.write()
            && inner.raw.insert(secret.to_owned())
        {
            inner.pending.push(secret.to_owned());
        }
    }

    /// Replaces every occurrence of every registered secret, in any of its encodings, with
    /// [`MASK`]. Overlapping occurrences are masked as one.
    pub fn redact(&self, text: &str) -> String {
        let ranges = {
            let Ok(mut inner) = self.inner.write() else { return MASK.to_owned() };
            if inner.raw.is_empty() {
                return text.to_owned();
            }
            inner.prepare();
            inner.ranges(text)
        };
        // Failing closed: if the matcher could not be built, show nothing rather than a secret.
        let Some(ranges) = ranges else { return MASK.to_owned() };
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        for (a, b) in ranges {
            out.push_str(&text[last..a]);
            out.push_str(MASK);
            last = b;
        }
        out.push_str(&text[last..]);
        out
    }

    /// How many encoded forms are registered (for tests and benchmarks).
    pub fn len(&self) -> usize {
        self.inner
            .write()
            .map(|mut i| {
                i.prepare();
                i.needles.len()
            })
            .unwrap_or(0)
    }

    /// Whether nothing is registered.
    pub fn is_empty(&self) -> bool {
        self.inner.read().map(|i| i.raw.is_empty()).unwrap_or(true)
    }
}

/// The forms a secret may take in output.
fn encodings(secret: &str) -> Vec<String> {
    let mut out = vec![secret.to_owned()];
    if secret.len() < MIN_ENCODED {
        return out;
    }
    if let Ok(json) = serde_json::to_string(secret) {
        out.push(json[1..json.len() - 1].to_owned());
    }
    out.push(url::form_urlencoded::byte_serialize(secret.as_bytes()).collect());
    out.push(percent_encoding::utf8_percent_encode(secret, percent_encoding::NON_ALPHANUMERIC).to_string());
    let bytes = secret.as_bytes();
    for engine in [&STANDARD, &URL_SAFE] {
        for offset in 0..3usize {
            let mut input = vec![0u8; offset];
            input.extend_from_slice(bytes);
            let encoded = engine.encode(&input);
            // Characters that carry bits of the padding prefix or of whatever follows the
            // secret differ with the context, so only the stable middle is matched.
            let skip = match offset {
                0 => 0,
                1 => 2,
                _ => 3,
            };
            let stable = (input.len() * 8) / 6;
            if stable > skip + MIN_ENCODED {
                out.push(encoded[skip..stable].to_owned());
            }
        }
    }
    out.push(STANDARD_NO_PAD.encode(bytes));
    out.push(URL_SAFE_NO_PAD.encode(bytes));
    out.retain(|s| !s.is_empty());
    out.dedup();
    out
}

/// Whether a JSON key names a credential.
pub fn is_sensitive_field(key: &str) -> bool {
    SENSITIVE_FIELDS.iter().any(|f| f.eq_ignore_ascii_case(key))
}

/// Whether the last key of a JSONPath (`$.access_token`, `$[0]['Password']`) names a
/// credential.
pub fn is_sensitive_path(path: &str) -> bool {
    let key = path.rsplit(['.', '[']).next().unwrap_or("").trim_matches(|c| c == '\'' || c == '"' || c == ']');
    is_sensitive_field(key)
}

/// Whether a header carries credentials.
pub fn is_sensitive_header(name: &str) -> bool {
    SENSITIVE_HEADERS.iter().any(|h| h.eq_ignore_ascii_case(name))
}

/// A header value fit to show: credentials replaced, cookie names and attributes kept.
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
    value.to_owned()
}

/// Every credential value inside a JSON body: values of sensitive fields, at any depth.
pub fn sensitive_values(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                if is_sensitive_field(k) {
                    match v {
                        Value::String(s) => out.push(s.clone()),
                        Value::Null | Value::Bool(_) => {}
                        other => out.push(other.to_string()),
                    }
                } else {
                    sensitive_values(v, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| sensitive_values(v, out)),
        _ => {}
    }
}

/// A copy of a JSON body with the values of sensitive fields masked.
pub fn mask_json(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let shown =
                        if is_sensitive_field(k) && !v.is_null() { Value::String(MASK.into()) } else { mask_json(v) };
                    (k.clone(), shown)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(mask_json).collect()),
        other => other.clone(),
    }
}

/// Whether a request path returns a bare credential as its whole body
/// (`GET Credentials/{id}`, `GET ManagedAccounts/{id}/Credentials`, `ISARequests`).
pub fn path_returns_credential(path: &str) -> bool {
    let p = path.to_ascii_lowercase();
    p.starts_with("credentials") || p.contains("/credentials") || p.starts_with("isarequests")
}

#[cfg(test)]
mod tests {
    use super::*;

    const CANARY: &str = "CANARY-s3cr3t/Key+=&\"value\"";

    #[test]
    fn redacts_every_encoding() {
        let store = SecretStore::new();
        store.add(CANARY);
        let json = serde_json::to_string(CANARY).expect("json");
        let form: String = url::form_urlencoded::byte_serialize(CANARY.as_bytes()).collect();
        for text in [
            format!("raw {CANARY} end"),
            format!("json {json}"),
            format!("form a={form}&b=c"),
            format!("pct {}", percent_encoding::utf8_percent_encode(CANARY, percent_encoding::NON_ALPHANUMERIC)),
            format!("b64 {}", STANDARD.encode(CANARY)),
            format!("basic {}", STANDARD.encode(format!("user:{CANARY}"))),
            format!("basic2 {}", STANDARD.encode(format!("us:{CANARY}!"))),
            format!("url-safe {}", URL_SAFE_NO_PAD.encode(format!("x{CANARY}"))),
        ] {
            let out = store.redact(&text);
            assert!(out.contains(MASK), "not redacted: {text} -> {out}");
            for form in encodings(CANARY) {
                assert!(!out.contains(&form), "leak of {form} in {out}");
            }
        }
    }

    #[test]
    fn overlapping_secrets_are_masked_whole_in_any_order_of_registration() {
        let store = SecretStore::new();
        store.add("abcd");
        let _ = store.redact("build the matcher now");
        store.add("zzabcdyy12");
        store.add("cdyy");
        let out = store.redact("x zzabcdyy12 y abcd z");
        assert_eq!(out, "x [REDACTED] y [REDACTED] z");
        for i in 0..200 {
            store.add(&format!("secret-number-{i:04}"));
            let out = store.redact(&format!("a secret-number-{i:04} and zzabcdyy12"));
            assert_eq!(out, "a [REDACTED] and [REDACTED]", "after {i} additions");
        }
    }

    #[test]
    fn masks_headers_keeping_what_is_useful() {
        assert_eq!(show_header("Authorization", "PS-Auth key=abc; runas=u;"), "PS-Auth [REDACTED]");
        assert_eq!(show_header("Cookie", "ASP.NET_SessionId=abc; x=1"), "ASP.NET_SessionId=[REDACTED]; x=[REDACTED]");
        assert_eq!(
            show_header("Set-Cookie", "ASP.NET_SessionId=abc; path=/; HttpOnly"),
            "ASP.NET_SessionId=[REDACTED]; path=/; HttpOnly"
        );
        assert_eq!(show_header("Content-Type", "application/json"), "application/json");
    }

    #[test]
    fn masks_and_collects_credential_fields() {
        let v = serde_json::json!({"access_token": "t0k", "nested": [{"Password": "pw"}], "UserName": "u"});
        assert_eq!(
            mask_json(&v),
            serde_json::json!({"access_token": MASK, "nested": [{"Password": MASK}], "UserName": "u"})
        );
        let mut found = Vec::new();
        sensitive_values(&v, &mut found);
        assert_eq!(found, vec!["t0k".to_string(), "pw".to_string()]);
    }

    #[test]
    fn credential_paths() {
        assert!(path_returns_credential("Credentials/12"));
        assert!(path_returns_credential("ManagedAccounts/3/Credentials"));
        assert!(!path_returns_credential("Auth/SignAppin"));
    }
}
