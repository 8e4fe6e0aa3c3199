//! The forms a secret can take in output: escaped for JSON, XML or HTML, encoded for a URL
//! (form, path, RFC 3986, every other character), base64 at each byte alignment. Whatever a
//! serializer, a server echo or a preview does to a value, one of these forms (or a long
//! enough fragment of one) is what appears.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use percent_encoding::{AsciiSet, CONTROLS, NON_ALPHANUMERIC, utf8_percent_encode};

/// RFC 3986 §2.3: everything but the unreserved characters is percent-encoded.
const RFC3986: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// What the `url` crate encodes in a path (WHATWG path percent-encode set), plus `/` and `%`
/// for a template value that stands for one segment: the runner encodes a path variable's
/// value with it, so a secret in a path takes exactly this form.
const PATH: &AsciiSet =
    &CONTROLS.add(b' ').add(b'"').add(b'#').add(b'<').add(b'>').add(b'?').add(b'`').add(b'{').add(b'}');
pub const PATH_SEGMENT: &AsciiSet = &PATH.add(b'/').add(b'%');

/// Forms shorter than this are only matched raw: encodings of a value that short would match
/// ordinary text.
pub const MIN_ENCODED: usize = 4;

/// Every form of `secret` worth matching, without repeats. The raw value comes first.
pub fn forms(secret: &str) -> Vec<String> {
    let mut out = vec![secret.to_owned()];
    // A value of letters and digits only (a session id, a hex key, most tokens) reads the same
    // escaped for JSON, XML or a URL: only its base64 forms differ.
    let plain = secret.bytes().all(|b| b.is_ascii_alphanumeric());
    if plain && secret.len() >= MIN_ENCODED {
        out.extend(base64_forms(secret.as_bytes()));
        out.retain(|f| !f.is_empty());
        out.sort();
        out.dedup();
        return out;
    }
    if secret.len() >= MIN_ENCODED {
        let json = json_escaped(secret);
        out.push(json_escaped(&json));
        out.push(json);
        out.push(json_unicode_escaped(secret, false));
        out.push(json_unicode_escaped(secret, true));
        out.push(dotnet_json_escaped(secret));
        out.extend(markup_escaped(secret));
        out.push(url::form_urlencoded::byte_serialize(secret.as_bytes()).collect());
        for set in [NON_ALPHANUMERIC, RFC3986, PATH, PATH_SEGMENT] {
            let upper = utf8_percent_encode(secret, set).to_string();
            out.push(lower_hex_escapes(&upper));
            out.push(upper);
        }
        // In an http(s) URL's path the url crate turns `\` into `/`.
        if secret.contains('\\') {
            out.push(utf8_percent_encode(&secret.replace('\\', "/"), PATH).to_string());
        }
        out.extend(base64_forms(secret.as_bytes()));
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|f| !f.is_empty() && seen.insert(f.clone()));
    out
}

fn json_escaped(s: &str) -> String {
    let quoted = serde_json::to_string(s).unwrap_or_default();
    quoted.get(1..quoted.len().saturating_sub(1)).unwrap_or_default().to_owned()
}

/// Every character outside `[A-Za-z0-9]` as `\uXXXX`.
fn json_unicode_escaped(s: &str, upper: bool) -> String {
    let mut out = String::new();
    for unit in s.encode_utf16() {
        match char::from_u32(u32::from(unit)) {
            Some(c) if c.is_ascii_alphanumeric() => out.push(c),
            _ if upper => out.push_str(&format!("\\u{unit:04X}")),
            _ => out.push_str(&format!("\\u{unit:04x}")),
        }
    }
    out
}

/// As .NET's System.Text.Json writes strings by default: HTML-sensitive characters and
/// everything outside ASCII as `\uXXXX`, the usual short escapes for the rest.
fn dotnet_json_escaped(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '<' | '>' | '&' | '\'' | '"' | '+' | '`' => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_ascii() && !c.is_ascii_control() => out.push(c),
            c => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04X}"));
                }
            }
        }
    }
    out
}

/// XML and HTML escapes, with the spellings of `'` and `"` that serializers choose between.
fn markup_escaped(s: &str) -> Vec<String> {
    let base = s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    vec![
        base.replace('"', "&quot;").replace('\'', "&apos;"),
        base.replace('"', "&quot;").replace('\'', "&#39;"),
        base.replace('"', "&#34;").replace('\'', "&#x27;"),
        base,
    ]
}

fn lower_hex_escapes(encoded: &str) -> String {
    let mut out = String::with_capacity(encoded.len());
    let mut rest = encoded;
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        let hex = rest.get(i + 1..i + 3).unwrap_or("");
        out.push('%');
        out.push_str(&hex.to_ascii_lowercase());
        rest = rest.get(i + 1 + hex.len()..).unwrap_or("");
    }
    out.push_str(rest);
    out
}

/// Base64 of the secret as it would appear inside a longer encoded value (`user:secret` in a
/// Basic header, a token in a JWT): at each of the three byte alignments, only the characters
/// that carry bits of the secret alone, so the context around it does not matter.
///
/// Only the standard alphabet is listed: the store matches the URL-safe alphabet (`-_` for
/// `+/`) as the same text. The stable part at offset 0 is a prefix of the unpadded encoding.
fn base64_forms(bytes: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    for engine in [&STANDARD] {
        for offset in 1..3usize {
            let mut input = vec![0u8; offset];
            input.extend_from_slice(bytes);
            let encoded = engine.encode(&input);
            let skip = if offset == 1 { 2 } else { 3 };
            let stable = (input.len() * 8) / 6;
            if stable > skip + MIN_ENCODED {
                out.push(encoded[skip..stable].to_owned());
            }
        }
    }
    out.push(STANDARD_NO_PAD.encode(bytes));
    out
}

/// What the store matches on: the URL-safe base64 alphabet read as the standard one.
pub fn fold(b: u8) -> u8 {
    match b {
        b'-' => b'+',
        b'_' => b'/',
        b => b,
    }
}

/// A text with [`fold`] applied.
pub fn folded(text: &str) -> std::borrow::Cow<'_, str> {
    if text.bytes().any(|b| b == b'-' || b == b'_') {
        std::borrow::Cow::Owned(
            text.chars().map(|c| if c.is_ascii() { char::from(fold(c as u8)) } else { c }).collect(),
        )
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CANARY: &str = "Canary+Pwd/with=&\"quotes\" <42> 'x' \\ %";

    #[test]
    fn the_forms_serializers_and_urls_produce_are_all_there() {
        let f = forms(CANARY);
        let xml = quick_junit_like_escape(CANARY);
        for expected in [
            CANARY.to_owned(),
            json_escaped(CANARY),
            xml,
            url::form_urlencoded::byte_serialize(CANARY.as_bytes()).collect::<String>(),
            utf8_percent_encode(CANARY, RFC3986).to_string(),
            utf8_percent_encode(CANARY, NON_ALPHANUMERIC).to_string().to_ascii_lowercase(),
        ] {
            assert!(f.iter().any(|x| x.eq_ignore_ascii_case(&expected)), "missing {expected:?} in {f:#?}");
        }
        // The path form is what the url crate writes into a URL.
        let url = url::Url::parse(&format!("http://h/a/{CANARY}")).expect("url");
        let path = url.path().trim_start_matches("/a/");
        assert!(f.iter().any(|x| x == path), "{path} in {f:#?}");
    }

    fn quick_junit_like_escape(s: &str) -> String {
        s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&apos;")
    }

    #[test]
    fn plain_values_skip_the_escapes_that_leave_them_unchanged() {
        let key = "c4a7a12e9f0d4b6a8e2c1f3b5d7a9c0eAZ";
        let fast = forms(key);
        let mut slow: Vec<String> =
            vec![key.to_owned(), json_escaped(key), url::form_urlencoded::byte_serialize(key.as_bytes()).collect()];
        slow.extend(markup_escaped(key));
        for set in [NON_ALPHANUMERIC, RFC3986, PATH, PATH_SEGMENT] {
            slow.push(utf8_percent_encode(key, set).to_string());
        }
        slow.extend(base64_forms(key.as_bytes()));
        for f in slow {
            assert!(fast.contains(&f), "{f} missing from {fast:?}");
        }
    }

    #[test]
    fn short_values_are_only_raw() {
        assert_eq!(forms("ab&"), vec!["ab&".to_owned()]);
    }
}
