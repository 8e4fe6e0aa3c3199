//! A request as the handlers see it ([`Call`]): the route's `{id}` values, the query with
//! case-insensitive names, the body read up front (bounded), and who is calling. Also the
//! lenient readers every area shares: booleans in any case, whole numbers, `limit`/`offset`.
//! Nothing here decides an answer beyond "this value is not valid".

use axum::body::Bytes;
use axum::http::{HeaderMap, Version};

use super::app::Principal;
use super::reply::Refusal;
use crate::catalog::{EndpointDoc, RequestFacts};

/// One request, routed.
#[derive(Debug)]
pub(crate) struct Call {
    pub headers: HeaderMap,
    pub version: Version,
    pub query: Query,
    /// The `{id}` segments of the route template, in order, percent-decoded, case kept.
    pub params: Vec<String>,
    /// The body of a POST or PUT, `None` when it was larger than the simulator reads or could
    /// not be read. Empty for other methods.
    pub body: Option<Bytes>,
    /// Who the session belongs to. A route without a session requirement, or a call let through
    /// by the `unauthenticated-200` fault, is treated as the run-as user.
    pub principal: Principal,
    /// The documented endpoint the call reached (none for Authentication's own routes).
    pub doc: Option<&'static EndpointDoc>,
}

impl Call {
    /// The `n`th `{id}` of the route (routes always have the ones their template names).
    pub(crate) fn param(&self, n: usize) -> &str {
        self.params.get(n).map_or("", String::as_str)
    }

    /// What a documented response form's condition is judged on.
    pub(crate) fn facts(&self) -> RequestFacts {
        RequestFacts { query: self.query.pairs().to_vec() }
    }
}

/// Query parameters. Names are compared ignoring ASCII case, as ASP.NET binds them (reference
/// §0); the first occurrence of a name wins.
#[derive(Debug, Default)]
pub(crate) struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    pub(crate) fn parse(query: Option<&str>) -> Query {
        let pairs = url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        Query { pairs }
    }

    /// Every parameter, names as sent, in order.
    pub(crate) fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// The value of `name`, if given (an empty value counts as given).
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The value of `name`, treating an empty value as absent.
    pub(crate) fn text(&self, name: &str) -> Option<&str> {
        self.get(name).map(str::trim).filter(|v| !v.is_empty())
    }

    /// A boolean in any ASCII case (`true`, `True`, `FALSE`), as .NET's `bool.Parse` reads it;
    /// anything else is a 400.
    pub(crate) fn bool(&self, name: &str) -> Result<Option<bool>, Refusal> {
        match self.text(name) {
            None => Ok(None),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(v) => Err(Refusal::bad_value(v, name)),
        }
    }

    /// A whole number of at least `min`, or a 400.
    pub(crate) fn number(&self, name: &str, min: i64) -> Result<Option<i64>, Refusal> {
        match self.text(name) {
            None => Ok(None),
            Some(v) => match v.parse::<i64>() {
                Ok(n) if n >= min => Ok(Some(n)),
                _ => Err(Refusal::bad_value(v, name)),
            },
        }
    }

    /// `limit` and `offset` as the list endpoints read them: `limit` is `None` when not given
    /// (some endpoints then answer a bare array), `offset` defaults to 0.
    pub(crate) fn paging(&self) -> Result<Paging, Refusal> {
        let limit = self.number("limit", 1)?;
        let offset = self.number("offset", 0)?.unwrap_or(0);
        Ok(Paging { limit, offset })
    }
}

/// `limit`/`offset` paging (reference §5).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Paging {
    pub limit: Option<i64>,
    pub offset: i64,
}

impl Paging {
    /// The page of `items`, with `default_limit` when no limit was given.
    pub(crate) fn page<T>(self, items: Vec<T>, default_limit: i64) -> Vec<T> {
        let skip = usize::try_from(self.offset).unwrap_or(usize::MAX);
        let take = usize::try_from(self.limit.unwrap_or(default_limit)).unwrap_or(usize::MAX);
        items.into_iter().skip(skip).take(take).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_ignore_case_and_the_first_wins() {
        let q = Query::parse(Some("SystemName=a&systemname=b&ACCOUNTNAME=c%20d&empty="));
        assert_eq!(q.get("systemName"), Some("a"));
        assert_eq!(q.get("accountName"), Some("c d"));
        assert_eq!(q.get("empty"), Some(""));
        assert_eq!(q.text("empty"), None);
        assert_eq!(q.get("missing"), None);
    }

    #[test]
    fn booleans_in_any_case() {
        let q = Query::parse(Some("a=True&b=false&c=TRUE&d=yes"));
        assert_eq!(q.bool("a").ok(), Some(Some(true)));
        assert_eq!(q.bool("b").ok(), Some(Some(false)));
        assert_eq!(q.bool("c").ok(), Some(Some(true)));
        assert!(q.bool("d").is_err());
        assert_eq!(q.bool("none").ok(), Some(None));
    }

    #[test]
    fn paging_defaults_and_bounds() {
        let p = Query::parse(Some("limit=2&offset=1")).paging().expect("valid");
        assert_eq!(p.page(vec![1, 2, 3, 4], 1000), vec![2, 3]);
        let p = Query::parse(None).paging().expect("valid");
        assert_eq!((p.limit, p.offset), (None, 0));
        assert_eq!(p.page(vec![1, 2, 3], 2), vec![1, 2]);
        assert!(Query::parse(Some("limit=0")).paging().is_err());
        assert!(Query::parse(Some("offset=-1")).paging().is_err());
        assert!(Query::parse(Some("limit=x")).paging().is_err());
    }
}
