//! Parsing the `Authorization` header of `POST Auth/SignAppin`: the `PS-Auth` parameter list in
//! every spelling real clients send, and `Bearer <token>`. Parsing only; whether the
//! credentials are right is decided in `routes`.

use thiserror::Error;

/// What a SignAppin `Authorization` header carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Credentials<'a> {
    /// `PS-Auth key=…; runas=…; pwd=[…];`
    PsAuth(PsAuth<'a>),
    /// `Bearer <access_token>` from `Auth/Connect/Token`.
    Bearer(&'a str),
}

/// The parameters of a `PS-Auth` header. Unknown parameters (such as `challenge=`) are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct PsAuth<'a> {
    pub key: &'a str,
    pub runas: Option<&'a str>,
    pub pwd: Option<&'a str>,
}

/// Why an `Authorization` header could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub(crate) enum ParseError {
    #[error("the Authorization scheme is neither PS-Auth nor Bearer")]
    UnknownScheme,
    #[error("the Bearer token is empty")]
    EmptyToken,
    #[error("PS-Auth parameter `{0}` has no `=`")]
    NoEquals(String),
    #[error("PS-Auth pwd=[ has no closing `]`")]
    UnclosedPassword,
    #[error("PS-Auth has no key")]
    MissingKey,
}

/// Reads an `Authorization` header value.
///
/// The scheme is matched case-insensitively. `PS-Auth` parameters are separated by `;` with or
/// without spaces, and the last `;` is optional. `pwd=[…]` runs to the first `]` that is
/// followed (after optional spaces) by `;` or the end of the header, so a password may contain
/// `;` and `]` but not the two characters `];` in a row.
pub(crate) fn parse(header: &str) -> Result<Credentials<'_>, ParseError> {
    let header = header.trim();
    let (scheme, rest) = header.split_once(char::is_whitespace).unwrap_or((header, ""));
    if scheme.eq_ignore_ascii_case("bearer") {
        let token = rest.trim();
        if token.is_empty() {
            return Err(ParseError::EmptyToken);
        }
        return Ok(Credentials::Bearer(token));
    }
    if !scheme.eq_ignore_ascii_case("ps-auth") {
        return Err(ParseError::UnknownScheme);
    }
    parse_params(rest).map(Credentials::PsAuth)
}

fn parse_params(mut rest: &str) -> Result<PsAuth<'_>, ParseError> {
    let mut key = None;
    let mut out = PsAuth::default();
    loop {
        rest = rest.trim_start_matches(|c: char| c == ';' || c.is_whitespace());
        if rest.is_empty() {
            break;
        }
        let Some((name, after)) = rest.split_once('=') else {
            return Err(ParseError::NoEquals(rest.to_owned()));
        };
        let name = name.trim();
        if name.contains(';') {
            // `foo; key=…`: the `=` found belongs to a later parameter.
            let bad = name.split(';').next().unwrap_or(name);
            return Err(ParseError::NoEquals(bad.trim().to_owned()));
        }
        let after = after.trim_start();
        let value;
        if name.eq_ignore_ascii_case("pwd") && after.starts_with('[') {
            let inner = &after[1..];
            let end = closing_bracket(inner).ok_or(ParseError::UnclosedPassword)?;
            value = &inner[..end];
            rest = &inner[end + 1..];
        } else {
            let end = after.find(';').unwrap_or(after.len());
            value = after[..end].trim_end();
            rest = &after[end..];
        }
        // The first occurrence wins, as with a name/value collection read by key.
        if name.eq_ignore_ascii_case("key") {
            key.get_or_insert(value);
        } else if name.eq_ignore_ascii_case("runas") {
            out.runas.get_or_insert(value);
        } else if name.eq_ignore_ascii_case("pwd") {
            out.pwd.get_or_insert(value);
        }
    }
    match key {
        Some(k) if !k.is_empty() => Ok(PsAuth { key: k, ..out }),
        _ => Err(ParseError::MissingKey),
    }
}

/// Index of the `]` that ends a `pwd=[…]` value: the first one followed by `;` or the end.
fn closing_bracket(s: &str) -> Option<usize> {
    s.match_indices(']').map(|(i, _)| i).find(|&i| {
        let after = s[i + 1..].trim_start();
        after.is_empty() || after.starts_with(';')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ps(header: &str) -> PsAuth<'_> {
        match parse(header) {
            Ok(Credentials::PsAuth(p)) => p,
            other => panic!("{header:?} parsed as {other:?}"),
        }
    }

    fn full<'a>(key: &'a str, runas: &'a str, pwd: Option<&'a str>) -> PsAuth<'a> {
        PsAuth { key, runas: Some(runas), pwd }
    }

    #[test]
    fn documented_spelling() {
        assert_eq!(
            ps("PS-Auth key=c479a66f; runas=doe-main\\johndoe; pwd=[un1qu3];"),
            full("c479a66f", "doe-main\\johndoe", Some("un1qu3"))
        );
    }

    #[test]
    fn spellings_seen_in_the_wild() {
        let k = |pwd| full("K", "U", pwd);
        assert_eq!(ps("PS-Auth key=K; runas=U;"), k(None));
        assert_eq!(ps("PS-Auth key=K; runas=U"), k(None));
        assert_eq!(ps("PS-Auth key=K;runas=U;pwd=[P];"), k(Some("P")));
        assert_eq!(ps("PS-Auth key=K;runas=U;pwd=[P]"), k(Some("P")));
        assert_eq!(ps("PS-Auth key=K;runas=U"), k(None));
        assert_eq!(ps("PS-Auth key=K;runas=U;"), k(None));
        assert_eq!(ps("ps-auth  key=K ;  runas=U ; "), k(None));
        assert_eq!(ps("PS-Auth key=K; runas=U; challenge=123456;"), k(None));
        assert_eq!(ps("PS-Auth key=K; runas=U;challenge=123456"), k(None));
    }

    #[test]
    fn password_may_contain_semicolons_and_brackets() {
        assert_eq!(ps("PS-Auth key=K; runas=U; pwd=[a;b]c];").pwd, Some("a;b]c"));
        assert_eq!(ps("PS-Auth key=K; runas=U; pwd=[x] ; challenge=1").pwd, Some("x"));
        assert_eq!(ps("PS-Auth key=K; runas=U; pwd=[];").pwd, Some(""));
        assert_eq!(ps("PS-Auth key=K; runas=U; pwd=[ sp ace ]").pwd, Some(" sp ace "));
    }

    #[test]
    fn bearer() {
        assert_eq!(parse("Bearer abc"), Ok(Credentials::Bearer("abc")));
        assert_eq!(parse("bearer   abc "), Ok(Credentials::Bearer("abc")));
        assert_eq!(parse("Bearer"), Err(ParseError::EmptyToken));
        assert_eq!(parse("Bearer   "), Err(ParseError::EmptyToken));
    }

    #[test]
    fn garbage() {
        assert_eq!(parse(""), Err(ParseError::UnknownScheme));
        assert_eq!(parse("Basic dXNlcjpwYXNz"), Err(ParseError::UnknownScheme));
        assert_eq!(parse("PS-Authkey=K"), Err(ParseError::UnknownScheme));
        assert_eq!(parse("PS-Auth"), Err(ParseError::MissingKey));
        assert_eq!(parse("PS-Auth runas=U;"), Err(ParseError::MissingKey));
        assert_eq!(parse("PS-Auth key=; runas=U"), Err(ParseError::MissingKey));
        assert_eq!(parse("PS-Auth K"), Err(ParseError::NoEquals("K".into())));
        assert_eq!(parse("PS-Auth foo; key=K"), Err(ParseError::NoEquals("foo".into())));
        assert_eq!(parse("PS-Auth key=K; runas=U; pwd=[abc"), Err(ParseError::UnclosedPassword));
        assert_eq!(parse("PS-Auth key=K; runas=U; pwd=[a]b"), Err(ParseError::UnclosedPassword));
    }

    #[test]
    fn quoted_values_stay_literal() {
        // Whether real servers strip quotes is an open question; keeping them makes the key
        // wrong, which is the cautious reading.
        assert_eq!(ps("PS-Auth key=\"K\"; runas=\"U\"").key, "\"K\"");
    }

    #[test]
    fn first_occurrence_wins() {
        assert_eq!(ps("PS-Auth key=A; key=B; runas=U").key, "A");
    }
}

/// The parser as properties (issue #8): it never panics, and every header built from a key, a
/// run-as user and an optional password, in any spelling real clients use, reads back as
/// those parts.
#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;
    use crate::arbitrary;

    /// A key or run-as value: no `;`, no surrounding spaces, anything else (`=`, `\`, `[`,
    /// non-ASCII) allowed.
    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            3 => "[0-9a-f]{8,128}",
            2 => "[A-Za-z0-9._-]{1,12}(\\\\[A-Za-z0-9._-]{1,12})?",
            1 => "[^;\\s](\\PC{0,10}[^;\\s])?".prop_filter("no `;`", |s| !s.contains(';')),
        ]
    }

    /// Whether a password can be written inside `pwd=[…]`: no `]` followed (after optional
    /// spaces) by `;`, which would end it.
    fn writable(pwd: &str) -> bool {
        pwd.match_indices(']').all(|(i, _)| !pwd[i + 1..].trim_start().starts_with(';'))
    }

    /// A password: empty, printable with the characters that matter here, or anything.
    fn password() -> impl Strategy<Value = String> {
        prop_oneof![Just(String::new()), "[A-Za-z0-9 ;\\]\\[=&%\"'\\\\]{1,16}", "\\PC{1,16}",]
            .prop_filter("a password a header can carry", |p| writable(p))
    }

    /// How the parts are separated and spaced.
    #[derive(Debug, Clone)]
    struct Spelling {
        scheme: &'static str,
        after_scheme: &'static str,
        separator: &'static str,
        around_equals: (&'static str, &'static str),
        trailing: &'static str,
        order: Vec<usize>,
    }

    fn spelling() -> impl Strategy<Value = Spelling> {
        (
            prop::sample::select(vec!["PS-Auth", "ps-auth", "PS-AUTH", "Ps-AuTh"]),
            prop::sample::select(vec![" ", "  ", "\t"]),
            prop::sample::select(vec!["; ", ";", " ; ", ";  ", " ;"]),
            prop::sample::select(vec![("", ""), (" ", ""), ("", " "), (" ", " ")]),
            prop::sample::select(vec!["", ";", "; ", " ;"]),
            Just(vec![0usize, 1, 2]).prop_shuffle(),
        )
            .prop_map(|(scheme, after_scheme, separator, around_equals, trailing, order)| Spelling {
                scheme,
                after_scheme,
                separator,
                around_equals,
                trailing,
                order,
            })
    }

    fn header(key: &str, runas: &str, pwd: Option<&str>, s: &Spelling, compact: bool) -> String {
        let (before, after) = if compact { ("", "") } else { s.around_equals };
        let parts = [
            Some(format!("key{before}={after}{key}")),
            Some(format!("runas{before}={after}{runas}")),
            pwd.map(|p| format!("pwd{before}={after}[{p}]")),
        ];
        if compact {
            // As the official clients send it: `key=K;runas=U;`, in this order.
            let list: Vec<String> = parts.into_iter().flatten().collect();
            return format!("{} {};", s.scheme, list.join(";"));
        }
        let list: Vec<String> = s.order.iter().filter_map(|&i| parts[i].clone()).collect();
        format!("{}{}{}{}", s.scheme, s.after_scheme, list.join(s.separator), s.trailing)
    }

    proptest! {
        #![proptest_config(arbitrary::config(512))]

        #[test]
        fn never_panics(header in prop_oneof![
            any::<String>(),
            prop::collection::vec(
                prop_oneof![
                    Just("PS-Auth ".to_owned()), Just("Bearer ".to_owned()), Just("key=".to_owned()),
                    Just("runas=".to_owned()), Just("pwd=[".to_owned()), Just("]".to_owned()),
                    Just(";".to_owned()), Just(" ".to_owned()), Just("=".to_owned()), "\\PC{0,4}",
                ],
                0..12,
            )
            .prop_map(|parts| parts.concat()),
        ]) {
            let _ = parse(&header);
        }

        #[test]
        fn a_header_reads_back_as_its_parts(
            key in value(),
            runas in value(),
            pwd in prop::option::of(password()),
            s in spelling(),
            compact in any::<bool>(),
        ) {
            let text = header(&key, &runas, pwd.as_deref(), &s, compact);
            let expected = Credentials::PsAuth(PsAuth { key: &key, runas: Some(&runas), pwd: pwd.as_deref() });
            prop_assert_eq!(parse(&text), Ok(expected), "{:?}", text);
        }
    }
}
