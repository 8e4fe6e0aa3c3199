//! The leak oracle and the canaries it looks for. It is written here, independently of
//! psconform's own redactor, so a mistake in one is not repeated in the other; it must never
//! call into psconform.

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

/// Panics when any form of any secret, or any 24-character fragment of one, is in `text`.
pub fn assert_no_secret(what: &str, text: &str, secrets: &[&str]) {
    for secret in secrets {
        for form in encodings(secret) {
            assert!(!text.contains(&form), "{what}: {secret:?} leaked as {form:?}");
            let chars: Vec<char> = form.chars().collect();
            for w in chars.windows(24) {
                let fragment: String = w.iter().collect();
                assert!(!text.contains(&fragment), "{what}: a fragment of {secret:?} leaked: {fragment:?}");
            }
        }
    }
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
