//! Reading a body that is almost JSON, for masking only: a UTF-8 BOM, invalid UTF-8, `NaN`,
//! unquoted words, a missing comma or trailing garbage make serde give up, but a server that
//! sends such a body still put its credentials under the keys it always does. A tolerant
//! tokenizer finds those keys and the values under them, so they are masked by position and
//! learned by value before anything of the body is shown.
//!
//! It never builds a value and never judges conformance: checks see the strict parse. A body
//! cut short (a string or a container that never ends) is read to its end, what was open
//! counting as ending there. It gives up (and the caller then shows nothing of the body) where
//! the text is not JSON-shaped at all (an HTML page), brackets do not match, or nesting is
//! deeper than [`MAX_DEPTH`].

/// Nesting read before giving up.
pub const MAX_DEPTH: usize = 512;

/// What a lenient read found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lenient {
    /// The text (BOM stripped, lossy UTF-8) with every value under a sensitive key replaced by
    /// `"[REDACTED]"`: fit to be redacted by value and previewed.
    pub masked: String,
    /// The values that stood under sensitive keys: strings decoded, anything else as written.
    pub found: Vec<String>,
}

/// The body without a UTF-8 byte order mark.
pub fn strip_bom(body: &[u8]) -> &[u8] {
    body.strip_prefix(b"\xef\xbb\xbf").unwrap_or(body)
}

/// Whether a body looks like JSON: its first character past a BOM and white space opens an
/// object, an array or a string.
pub fn looks_like_json(body: &[u8]) -> bool {
    strip_bom(body).iter().find(|b| !b.is_ascii_whitespace()).is_some_and(|b| matches!(b, b'{' | b'[' | b'"'))
}

/// One open container.
enum Frame {
    Object {
        /// The key whose value comes next, once a `:` has been read.
        key: Option<String>,
        /// A `:` was read since the last key: what comes is a value.
        value_next: bool,
    },
    Array,
}

/// A value under a sensitive key that is still open: where it starts, and the depth of the
/// stack once its container is pushed.
struct Open {
    start: usize,
    depth: usize,
}

/// Reads `body` leniently, masking every value whose key `is_sensitive` says is a credential.
/// `None` when the text is not JSON-shaped enough to say where values are.
pub fn read(body: &[u8], is_sensitive: &dyn Fn(&str) -> bool) -> Option<Lenient> {
    let text = String::from_utf8_lossy(strip_bom(body));
    let bytes = text.as_bytes();
    let first = bytes.iter().position(|b| !b.is_ascii_whitespace())?;
    if !starts_a_value(bytes[first]) {
        return None;
    }
    let mut stack: Vec<Frame> = Vec::new();
    let mut masked: Vec<(usize, usize)> = Vec::new();
    let mut found = Vec::new();
    let mut open: Option<Open> = None;
    let mut i = first;
    while i < bytes.len() {
        let b = bytes[i];
        // Whether what starts here is a value under a sensitive key.
        let sensitive =
            matches!(stack.last(), Some(Frame::Object { key: Some(k), value_next: true }) if is_sensitive(k));
        match b {
            b if b.is_ascii_whitespace() => i += 1,
            b'{' | b'[' => {
                if stack.len() >= MAX_DEPTH {
                    return None;
                }
                if sensitive && open.is_none() {
                    open = Some(Open { start: i, depth: stack.len() + 1 });
                }
                value_read(&mut stack);
                stack.push(if b == b'{' { Frame::Object { key: None, value_next: false } } else { Frame::Array });
                i += 1;
            }
            b'}' | b']' => {
                let closes = match stack.pop() {
                    Some(Frame::Object { .. }) => b == b'}',
                    Some(Frame::Array) => b == b']',
                    None => false,
                };
                if !closes {
                    return None;
                }
                if open.as_ref().is_some_and(|o| o.depth == stack.len() + 1) {
                    let o = open.take()?;
                    found.push(text[o.start..=i].to_owned());
                    masked.push((o.start, i + 1));
                }
                i += 1;
            }
            b':' => {
                if let Some(Frame::Object { value_next, .. }) = stack.last_mut() {
                    *value_next = true;
                }
                i += 1;
            }
            b',' => {
                if let Some(Frame::Object { key, value_next }) = stack.last_mut() {
                    *key = None;
                    *value_next = false;
                }
                i += 1;
            }
            b'"' => {
                // A string cut short ends with the text.
                let (end, decoded) = string_at(&text, i).unwrap_or_else(|| (text.len(), text[i + 1..].to_owned()));
                if is_key(&stack) {
                    if let Some(Frame::Object { key, .. }) = stack.last_mut() {
                        *key = Some(decoded);
                    }
                } else {
                    if sensitive && open.is_none() {
                        found.push(decoded);
                        masked.push((i, end));
                    }
                    value_read(&mut stack);
                }
                i = end;
            }
            _ => {
                // A bare word: a number, `true`, `NaN`, an unquoted key, or garbage.
                let end = bytes[i..]
                    .iter()
                    .position(|c| {
                        matches!(c, b',' | b':' | b'{' | b'}' | b'[' | b']' | b'"') || c.is_ascii_whitespace()
                    })
                    .map_or(bytes.len(), |n| i + n);
                // Every delimiter is ASCII and handled above, so the word has a first byte.
                let end = end.max(i + 1);
                let word = text.get(i..end)?;
                if is_key(&stack) {
                    if let Some(Frame::Object { key, .. }) = stack.last_mut() {
                        *key = Some(word.to_owned());
                    }
                } else {
                    if sensitive && open.is_none() {
                        found.push(word.to_owned());
                        masked.push((i, end));
                    }
                    value_read(&mut stack);
                }
                i = end;
            }
        }
    }
    // A body cut short: what is open ends with it.
    if let Some(o) = open {
        found.push(text[o.start..].to_owned());
        masked.push((o.start, text.len()));
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (a, b) in masked {
        out.push_str(&text[last..a]);
        out.push_str("\"[REDACTED]\"");
        last = b;
    }
    out.push_str(&text[last..]);
    Some(Lenient { masked: out, found })
}

/// The decoded string a text starts with (past white space), if it starts with one that
/// ends: the value of a bare credential body such as `"p@ss"` followed by garbage.
pub fn leading_string(text: &str) -> Option<String> {
    let at = text.find(|c: char| !c.is_whitespace())?;
    if !text[at..].starts_with('"') {
        return None;
    }
    string_at(text, at).map(|(_, s)| s)
}

/// Whether a byte can start a JSON(-like) value.
fn starts_a_value(b: u8) -> bool {
    matches!(b, b'{' | b'[' | b'"' | b'-' | b'0'..=b'9' | b't' | b'f' | b'n' | b'N' | b'I')
}

/// Whether the next string or word in the innermost container is an object's key.
fn is_key(stack: &[Frame]) -> bool {
    matches!(stack.last(), Some(Frame::Object { value_next: false, .. }))
}

/// A value was read in the innermost container: in an object, the next string is a key again.
fn value_read(stack: &mut [Frame]) {
    if let Some(Frame::Object { key, value_next }) = stack.last_mut() {
        *key = None;
        *value_next = false;
    }
}

/// The string that starts at `text[at]` (a `"`): where it ends (past its closing quote) and
/// its decoded text, escapes read as JSON reads them and kept as written where they are not
/// valid. `None` when it never ends.
fn string_at(text: &str, at: usize) -> Option<(usize, String)> {
    let mut out = String::new();
    let mut chars = text[at + 1..].char_indices();
    while let Some((n, c)) = chars.next() {
        match c {
            '"' => return Some((at + 1 + n + 1, out)),
            '\\' => match chars.next() {
                Some((_, 'n')) => out.push('\n'),
                Some((_, 't')) => out.push('\t'),
                Some((_, 'r')) => out.push('\r'),
                Some((_, 'b')) => out.push('\u{8}'),
                Some((_, 'f')) => out.push('\u{c}'),
                Some((m, 'u')) => {
                    let hex = text.get(at + 1 + m + 1..at + 1 + m + 5).unwrap_or("");
                    match u32::from_str_radix(hex, 16).ok() {
                        Some(unit) if hex.len() == 4 => {
                            // A surrogate half decodes as the replacement character: close
                            // enough for a key to be recognised or a value to be learned.
                            out.push(char::from_u32(unit).unwrap_or('\u{fffd}'));
                            for _ in 0..4 {
                                chars.next();
                            }
                        }
                        _ => out.push_str("\\u"),
                    }
                }
                Some((_, other)) => out.push(other),
                None => return None,
            },
            c => out.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sensitive(k: &str) -> bool {
        k.eq_ignore_ascii_case("password")
    }

    fn masked(body: &[u8]) -> Option<(String, Vec<String>)> {
        read(body, &sensitive).map(|l| (l.masked, l.found))
    }

    #[test]
    fn what_serde_rejects_is_still_masked_by_position() {
        let pw = "Canary-Pwd";
        for body in [
            [b"\xef\xbb\xbf".as_slice(), format!(r#"[{{"Password":"{pw}","Title":"a"}}]"#).as_bytes()].concat(),
            format!(r#"[{{"Title":"a","Password":"{pw}"}},{{"Size":NaN}}]"#).into_bytes(),
            format!("[{{\"Title\":\"a\",\"Password\":\"{pw}\"}}]\n\0").into_bytes(),
            [format!(r#"[{{"Title":"a","Password":"{pw}"}},{{"Title":""#).as_bytes(), b"\xff\"}]"].concat(),
            format!(r#"{{Title: a, "Pass\u0077ord": "{pw}" "x": 1}}"#).into_bytes(),
        ] {
            let (text, found) = masked(&body).unwrap_or_else(|| panic!("{}", String::from_utf8_lossy(&body)));
            assert!(!text.contains(pw) && text.contains("\"[REDACTED]\""), "{text}");
            assert_eq!(found, vec![pw.to_owned()], "{text}");
            assert!(text.contains("Title"), "{text}");
        }
    }

    #[test]
    fn a_body_cut_short_is_read_to_its_end() {
        let (text, found) = masked(br#"{"UserId": 7, "Password": "half a sec"#).expect("read");
        assert_eq!(
            (text.as_str(), found),
            (r#"{"UserId": 7, "Password": "[REDACTED]""#, vec!["half a sec".to_owned()])
        );
        let (text, _) = masked(br#"[{"Password": {"a": [1, "x"#).expect("read");
        assert_eq!(text, r#"[{"Password": "[REDACTED]""#);
        let (text, found) = masked(br#"{"UserId": 7,"#).expect("read");
        assert_eq!((text.as_str(), found.len()), (r#"{"UserId": 7,"#, 0));
    }

    #[test]
    fn a_container_under_a_sensitive_key_is_masked_whole() {
        let (text, found) = masked(br#"{"Password": {"a": [1, "x"]}, "b": 2}"#).expect("read");
        assert_eq!(text, r#"{"Password": "[REDACTED]", "b": 2}"#);
        assert_eq!(found, vec![r#"{"a": [1, "x"]}"#.to_owned()]);
    }

    #[test]
    fn what_is_not_json_shaped_is_not_read() {
        for body in [&b"<html>Password: x</html>"[..], b"[1, 2}", b"]", b"   "] {
            assert_eq!(masked(body), None, "{}", String::from_utf8_lossy(body));
        }
        let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        assert_eq!(masked(deep.as_bytes()), None);
        assert!(looks_like_json(b"\xef\xbb\xbf  [1]") && !looks_like_json(b"<html>"));
    }
}
