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
