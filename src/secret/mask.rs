//! What replaces a secret, header values masked by position, and previews: a text is cut only
//! after it was redacted, so a preview can never end inside a secret and show part of it.

/// What a redacted value is replaced with.
pub const MASK: &str = "[REDACTED]";

/// Headers whose values are credentials.
pub const SENSITIVE_HEADERS: &[&str] = &["authorization", "proxy-authorization", "cookie", "set-cookie"];

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

/// Cuts a (redacted) text to `max` characters, saying how long it was.
pub fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_owned(),
        Some((i, _)) => format!("{}… ({} bytes in all)", &text[..i], text.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn previews_say_how_long_the_text_was() {
        let long = "x".repeat(5000);
        assert!(cut(&long, 10).starts_with("xxxxxxxxxx… (5000 bytes"));
        assert_eq!(cut("short", 10), "short");
    }
}
