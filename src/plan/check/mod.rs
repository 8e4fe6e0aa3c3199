//! Checks: one variant per matcher, compiled once, each evaluating itself against a response
//! into typed [`CheckOutcome`](crate::result::CheckOutcome)s.
//!
//! - this module: what a compiled check is (patterns, JSONPaths, the matchers of each family,
//!   captures)
//! - `eval`: a check against a response, into outcomes; a capture's value
//! - `show`: what an outcome may show of the response: masked, redacted, then cut
//!
//! A check never returns early on a failure: every expectation of a step is evaluated and
//! reported. What a check shows of the response is masked by position (credential fields,
//! credential headers, cookie values), redacted by value with what the case knows so far, and
//! only then cut to a preview, so a preview can never end inside a secret. Work is bounded: a
//! path that selects many values lists at most [`MAX_FAILURES`] failures, shown values are
//! cut, and the step's deadline is checked as the values are walked.

mod eval;
pub mod query;
mod show;

use regex::{Regex, RegexBuilder};
use serde_json::Value;
use serde_json_path::JsonPath;

use super::template::{Template, ValueTemplate};
use crate::case::spec::{LengthSpec, StatusSpec, TypeSet};
use crate::result::Span;
use crate::shape::StringFormat;

pub use eval::{Eval, OverBudget, captured, json_eq};
pub use show::compact;

/// Failures listed per check; the rest are counted in one more outcome.
pub const MAX_FAILURES: usize = 10;
/// Size limits of a compiled regular expression: enough for any pattern a case needs, small
/// enough that matching stays fast on a large body.
pub const REGEX_SIZE_LIMIT: usize = 256 * 1024;
const REGEX_DFA_SIZE_LIMIT: usize = 8 * 1024 * 1024;

/// A compiled regular expression with its source.
#[derive(Debug, Clone)]
pub struct Pattern {
    /// As written in the case file.
    pub source: String,
    regex: Regex,
}

impl Pattern {
    /// Compiles a pattern within the size limits.
    pub fn compile(source: &str) -> Result<Pattern, String> {
        let regex = RegexBuilder::new(source)
            .size_limit(REGEX_SIZE_LIMIT)
            .dfa_size_limit(REGEX_DFA_SIZE_LIMIT)
            .nest_limit(64)
            .build()
            .map_err(|e| {
                let text = e.to_string();
                let last = text.lines().last().unwrap_or("invalid").trim().to_owned();
                last.strip_prefix("error: ").unwrap_or(&last).to_owned()
            })?;
        Ok(Pattern { source: source.to_owned(), regex })
    }

    /// Whether the pattern matches somewhere in `text`.
    pub fn is_match(&self, text: &str) -> bool {
        self.regex.is_match(text)
    }

    fn into_regex(self) -> Regex {
        self.regex
    }
}

/// A compiled JSONPath with its source.
#[derive(Debug, Clone)]
pub struct PathPlan {
    /// As written in the case file.
    pub source: String,
    path: JsonPath,
    /// Whether it can select at most one value (RFC 9535 singular query).
    pub singular: bool,
    /// What its cost depends on (see `query`).
    shape: query::Shape,
}

impl PathPlan {
    /// Parses a JSONPath, with the patterns of its `match` and `search` calls (see `query`).
    /// An error says why, and whether a `match` or `search` call refused its pattern.
    pub fn compile(source: &str) -> Result<PathPlan, (String, bool)> {
        let _ = query::refused();
        let path = JsonPath::parse(source).map_err(|e| match query::refused() {
            Some(why) => (why, true),
            None => (e.to_string(), false),
        })?;
        Ok(PathPlan { source: source.to_owned(), path, singular: is_singular(source), shape: query::Shape::of(source) })
    }

    /// The values it selects, within the node-visit budget: `stats` (the body's size, asked
    /// for only when the path could visit more than a few nodes) bound what it could visit
    /// before it runs, and its `match` and `search` calls are counted while it does and stop
    /// at `deadline`.
    pub fn query<'v>(
        &self,
        doc: &'v Value,
        stats: impl FnOnce() -> query::DocStats,
        deadline: Option<std::time::Instant>,
    ) -> Result<Vec<&'v Value>, query::OverVisits> {
        if !self.singular && self.shape.visits(stats()) > query::MAX_VISITS as f64 {
            return Err(query::OverVisits::Estimated);
        }
        query::counted(deadline, || self.path.query(doc).all())
    }

    /// The normalized locations of the values it selects, in the same order, once
    /// [`PathPlan::query`] has selected them; none when the second run overran.
    pub fn locations(&self, doc: &Value, deadline: Option<std::time::Instant>) -> Vec<String> {
        query::counted(deadline, || self.path.query_located(doc).locations().map(|l| l.to_string()).collect())
            .unwrap_or_default()
    }
}

/// One expectation, with where it is in the case file.
#[derive(Debug, Clone)]
pub struct Check {
    /// Its place in the case file.
    pub span: Span,
    /// What it checks.
    pub test: Test,
    /// Where the check is observed behaviour, not documented: what it was observed on. Such a
    /// check is reported, and fails only with `--strict`.
    pub observed: Option<std::sync::Arc<str>>,
}

/// What a check tests: one variant per matcher kind.
#[derive(Debug, Clone)]
pub enum Test {
    /// The status code.
    Status(StatusSpec),
    /// A response header, by name (case-insensitive). A header sent more than once passes
    /// when one of its values does.
    Header {
        /// The header name.
        name: String,
        /// How it is compared.
        matcher: TextMatcher,
    },
    /// That a header is absent (`true`) or present (`false`).
    HeaderAbsent {
        /// The header name.
        name: String,
        /// Absent or present.
        absent: bool,
    },
    /// A cookie the response sets.
    Cookie {
        /// The cookie name.
        name: String,
        /// What is checked.
        matcher: CookieMatcher,
    },
    /// The whole body is exactly this JSON value, or contains it.
    Body {
        /// The expected value.
        value: ValueTemplate,
        /// `true`: objects may have more keys, at every depth.
        partial: bool,
    },
    /// The body is empty (`true`) or not (`false`).
    BodyEmpty(bool),
    /// The body as text.
    BodyText(TextMatcher),
    /// The values a JSONPath selects.
    Path {
        /// The path.
        path: PathPlan,
        /// What every selected value must satisfy.
        matcher: PathMatcher,
    },
}

/// How a text is compared.
#[derive(Debug, Clone)]
pub enum TextMatcher {
    /// Exactly this (templates allowed).
    Equals(Template),
    /// Matching this regular expression.
    Matches(Pattern),
    /// Containing this (templates allowed).
    Contains(Template),
}

/// What is checked of a cookie.
#[derive(Debug, Clone)]
pub enum CookieMatcher {
    /// Set (`true`) or not set (`false`).
    Set(bool),
    /// The value matches; the value itself is never shown.
    ValueMatches(Pattern),
    /// `HttpOnly` present or absent.
    HttpOnly(bool),
    /// `Secure` present or absent.
    Secure(bool),
    /// The `Path` attribute.
    Path(String),
    /// The `SameSite` attribute, ignoring case.
    SameSite(String),
}

/// What a value selected by a JSONPath must satisfy.
#[derive(Debug, Clone)]
pub enum PathMatcher {
    /// The path selects something (`true`) or nothing (`false`).
    Exists(bool),
    /// Equal to this value (numbers by value).
    Equals(ValueTemplate),
    /// Of one of these JSON types.
    Type(TypeSet),
    /// A string matching this pattern.
    Matches(Pattern),
    /// Equal to one of these.
    OneOf(Vec<ValueTemplate>),
    /// A string, array or object of this length.
    Length(LengthSpec),
    /// A number at least this large.
    Min(f64),
    /// A number at most this large.
    Max(f64),
    /// A string in this format.
    Format(StringFormat),
}

impl PathMatcher {
    /// The matcher its outcomes carry (its row in the table of matchers).
    pub fn matcher(&self) -> crate::result::Matcher {
        use crate::result::Matcher;
        match self {
            PathMatcher::Exists(_) => Matcher::Exists,
            PathMatcher::Equals(_) => Matcher::Equals,
            PathMatcher::Type(_) => Matcher::Type,
            PathMatcher::Matches(_) => Matcher::Matches,
            PathMatcher::OneOf(_) => Matcher::OneOf,
            PathMatcher::Length(_) => Matcher::Length,
            PathMatcher::Min(_) => Matcher::Min,
            PathMatcher::Max(_) => Matcher::Max,
            PathMatcher::Format(_) => Matcher::Format,
        }
    }
}

/// Where a captured value comes from.
#[derive(Debug, Clone)]
pub enum CaptureFrom {
    /// A JSONPath that selects exactly one value.
    Path(PathPlan),
    /// A response header.
    Header(String),
    /// A cookie the response sets.
    Cookie(String),
}

/// A value to keep for later steps.
#[derive(Debug, Clone)]
pub struct CapturePlan {
    /// The variable name.
    pub name: String,
    /// Where it comes from.
    pub from: CaptureFrom,
    /// Marked `secret: true` in the case file.
    pub secret: bool,
    /// Its place in the case file.
    pub span: Span,
    /// When nothing is there: the case has nothing to check, and why.
    pub if_missing: Option<String>,
}

/// Whether a JSONPath can select at most one value (RFC 9535 singular query): no wildcard,
/// descendant, filter, slice or union outside quoted names.
pub fn is_singular(path: &str) -> bool {
    let mut quote: Option<char> = None;
    let mut prev = ' ';
    for c in path.chars() {
        match quote {
            Some(q) if c == q && prev != '\\' => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some(c),
            None if matches!(c, '*' | '?' | ':' | ',') => return false,
            None if c == '.' && prev == '.' => return false,
            None => {}
        }
        prev = c;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn singular_paths() {
        assert!(is_singular("$['a*b'].c") && is_singular("$.UserId") && is_singular("$[0]"));
        assert!(!is_singular("$..Id") && !is_singular("$[0:2]") && !is_singular("$[*].Id"));
    }

    #[test]
    fn huge_patterns_are_refused_at_compile_time() {
        assert!(Pattern::compile(r"^\d+(\.\d+)+$").is_ok());
        assert!(Pattern::compile(r"^[\w.-]+@[\w-]+\.\w+$").is_ok());
        let huge = format!("({}){{1000}}", r"\w+\s?");
        assert!(
            Pattern::compile(&huge).is_err_and(|e| e.contains("size limit")),
            "{:?}",
            Pattern::compile(&huge).err()
        );
    }
}
