//! The leak oracle and the canaries it looks for. It is written here, independently of
//! psconform's own redactor, so a mistake in one is not repeated in the other; it must never
//! call into psconform.

use std::collections::{BTreeMap, HashMap};

use base64::Engine as _;
use percent_encoding::{AsciiSet, CONTROLS, NON_ALPHANUMERIC, utf8_percent_encode};

/// A 128-character API key, as new registrations have; hexadecimal, so no run of it can occur
/// by chance in an output.
pub const KEY: &str = "c4a7a12e9f0d4b6a8e2c1f3b5d7a9c0e2f4b6d8a0c2e4f6b8d0a2c4e6f8b0d2a4c6e8f0b2d4a6c8e0f2b4d6a8c0e2f4b6d8a0c2e4f6b8d0a2c4e6f8b0d2a4c6e8f";
pub const RUNAS: &str = "svc-canary";
/// A run-as password with every character that an escape or an encoding changes.
pub const PASSWORD: &str = "Canary & <tag> \"dq\" 'sq' \\bs 50% x=y+z/w";
pub const CLIENT_ID: &str = "0f6a3d2e-5b1c-4e8f-9a7d-2c3b4a5d6e7f";
pub const CLIENT_SECRET: &str = "ClientCanary-0123456789abcdefghijklmnopqrstuv";

/// The canaries that are secrets (the run-as user and the client id are not).
pub const SECRETS: &[&str] = &[KEY, PASSWORD, CLIENT_SECRET];

/// The settings psconform reads from the environment, set to the canaries.
pub const ENV: &[(&str, &str)] = &[
    ("PS_API_KEY", KEY),
    ("PS_RUNAS", RUNAS),
    ("PS_RUNAS_PASSWORD", PASSWORD),
    ("PS_CLIENT_ID", CLIENT_ID),
    ("PS_CLIENT_SECRET", CLIENT_SECRET),
];

/// Percent-encoding as RFC 3986 leaves unreserved characters: what a server echoing a header
/// into a URL writes.
pub const RFC3986: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');
const PATH: &AsciiSet =
    &CONTROLS.add(b' ').add(b'"').add(b'#').add(b'<').add(b'>').add(b'?').add(b'`').add(b'{').add(b'}');

/// Every form a secret can take in an output.
pub fn encodings(secret: &str) -> Vec<String> {
    let json = serde_json::to_string(secret).expect("a string serializes");
    let json = json[1..json.len() - 1].to_owned();
    let xml = secret.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    let b64 = base64::engine::general_purpose::STANDARD;
    let b64u = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut out = vec![
        secret.to_owned(),
        json.clone(),
        serde_json::to_string(&json).expect("a string serializes").trim_matches('"').to_owned(),
        xml.replace('"', "&quot;").replace('\'', "&apos;"),
        xml.replace('"', "&quot;").replace('\'', "&#39;"),
        xml.replace('"', "&#34;").replace('\'', "&#x27;"),
        url::form_urlencoded::byte_serialize(secret.as_bytes()).collect(),
        utf8_percent_encode(secret, NON_ALPHANUMERIC).to_string(),
        utf8_percent_encode(secret, NON_ALPHANUMERIC).to_string().to_ascii_lowercase(),
        utf8_percent_encode(secret, RFC3986).to_string(),
        utf8_percent_encode(secret, PATH).to_string(),
        b64.encode(secret),
        b64u.encode(secret),
    ];
    out.sort();
    out.dedup();
    out
}

/// How many characters of a secret's form make a fragment that must not appear.
const FRAGMENT: usize = 24;

/// Panics when any form of any secret, or any [`FRAGMENT`]-character fragment of one, is in
/// `text`.
pub fn assert_no_secret(what: &str, text: &str, secrets: &[&str]) {
    if let Some(leak) = leak(text, secrets) {
        panic!("{what}: {leak}");
    }
}

/// What of `secrets` is in `text`, if anything: a whole form, or else a fragment.
fn leak(text: &str, secrets: &[&str]) -> Option<String> {
    // What to look for, by length in bytes: each form shorter than a fragment whole, and every
    // fragment of the longer ones (a form holds its fragments, so they find it whole too).
    // One pass over the text per length, rather than one search per piece: the artifacts of a
    // whole run are megabytes, and the pieces thousands.
    let mut pieces: BTreeMap<usize, HashMap<&[u8], &str>> = BTreeMap::new();
    let forms: Vec<(&str, String)> =
        secrets.iter().flat_map(|secret| encodings(secret).into_iter().map(move |form| (*secret, form))).collect();
    for (secret, form) in &forms {
        let starts: Vec<usize> = form.char_indices().map(|(i, _)| i).chain([form.len()]).collect();
        if starts.len() <= FRAGMENT {
            pieces.entry(form.len()).or_default().insert(form.as_bytes(), secret);
        }
        for w in starts.windows(FRAGMENT + 1) {
            let piece = &form[w[0]..w[FRAGMENT]];
            pieces.entry(piece.len()).or_default().insert(piece.as_bytes(), secret);
        }
    }
    let bytes = text.as_bytes();
    for (len, of_len) in &pieces {
        for piece in bytes.windows(*len) {
            if let Some(secret) = of_len.get(piece) {
                // Found: say which form it is, when one is there whole.
                return Some(match forms.iter().find(|(_, form)| text.contains(form.as_str())) {
                    Some((secret, form)) => format!("{secret:?} leaked as {form:?}"),
                    None => format!("a fragment of {secret:?} leaked: {:?}", String::from_utf8_lossy(piece)),
                });
            }
        }
    }
    None
}

/// Tokens that look like a made-up secret: 16 to 64 letters and digits, with both a letter and
/// a digit, standing alone (the simulator's passwords, session ids, tokens and retrieved
/// credentials are such values, fresh on every start).
pub fn random_tokens(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|t| (16..=64).contains(&t.len()))
        .filter(|t| t.bytes().any(|b| b.is_ascii_digit()) && t.bytes().any(|b| b.is_ascii_alphabetic()))
        .map(str::to_owned)
        .collect()
}

/// The oracle is what every leak test stands on: it must find what it is meant to find.
mod tests {
    use super::{KEY, PASSWORD, encodings, leak};

    #[test]
    fn every_form_of_a_secret_is_found_whole_in_any_text() {
        for secret in [KEY, PASSWORD, "short-pw"] {
            for form in encodings(secret) {
                let text = format!("before «{form}» after");
                let found = leak(&text, &[secret]).unwrap_or_default();
                assert!(found.contains("leaked as"), "{form:?} in {text:?}: {found:?}");
            }
        }
    }

    #[test]
    fn a_fragment_of_24_characters_is_found_and_one_of_23_is_not() {
        // The password's JSON form, cut as a preview would cut it, keeping multi-byte text around.
        let json = serde_json::to_string(PASSWORD).expect("a string serializes");
        let chars: Vec<char> = json.chars().collect();
        let cut = |n: usize| -> String { chars[3..3 + n].iter().collect() };
        let found = leak(&format!("é{}€", cut(24)), &[PASSWORD]).unwrap_or_default();
        assert!(found.contains("a fragment of"), "{found:?}");
        assert_eq!(leak(&format!("é{}€", cut(23)), &[PASSWORD]), None);
    }

    #[test]
    fn text_without_a_secret_passes() {
        assert_eq!(leak("[REDACTED] everywhere, key=[REDACTED]", &[KEY, PASSWORD]), None);
        assert_eq!(leak("", &[KEY]), None);
    }
}
