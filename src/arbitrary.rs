//! Generators for the property tests (proptest, with shrinking), and how many cases each runs.
//!
//! `cargo test` runs a short pass of every property, so the whole set adds a few seconds; set
//! `PROPTEST_CASES` for a longer run (`PROPTEST_CASES=20000 cargo test --lib`). A failing case
//! is shrunk to a minimal one and its seed kept under `proptest-regressions/`, which is
//! committed so the case is replayed first on every later run.
//!
//! Compiled for the unit tests and, behind the `testing` feature, for the integration tests
//! (`psconform::arbitrary`): `Cargo.toml` turns the feature on for `cargo test` through a
//! dev-dependency on psconform itself, so no generator is copied into `tests/`. A release
//! build has neither the module nor proptest.

use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::Value;

use crate::shape::ResponseShape;

/// The configuration of a property: `cases` cases, unless `PROPTEST_CASES` asks for another
/// number.
pub fn config(cases: u32) -> Config {
    let mut config = Config::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = cases;
    }
    config
}

/// A GUID, in either case, sometimes with braces.
pub fn guid() -> impl Strategy<Value = String> {
    ("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", any::<bool>(), any::<bool>()).prop_map(
        |(g, upper, braces)| {
            let g = if upper { g.to_ascii_uppercase() } else { g };
            if braces { format!("{{{g}}}") } else { g }
        },
    )
}

/// A date-time as Password Safe writes them: .NET's form without a zone and with a variable
/// fraction, or with `Z` or an offset.
pub fn date_time() -> impl Strategy<Value = String> {
    ("20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9]", "(\\.[0-9]{1,7})?", "(Z|[+-][01][0-9]:00)?")
        .prop_map(|(d, f, z)| format!("{d}{f}{z}"))
}

/// An e-mail address.
pub fn email() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9.]{0,8}@[a-z]{1,8}\\.(example|com|local)"
}

/// A string value: mostly plain, sometimes in one of the formats shapes tell apart, sometimes
/// empty or outside ASCII.
pub fn string_value() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[A-Za-z0-9 _.-]{0,12}",
        1 => Just(String::new()),
        1 => guid(),
        1 => date_time(),
        1 => email(),
        1 => "\\PC{0,6}",
    ]
}

/// An object key that names a field: PascalCase names as the API uses, and a few that need
/// quoting in the text form.
pub fn field_key() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::sample::select(vec![
            "Id", "Name", "UserId", "SID", "EmailAddress", "UserName", "Title", "Data", "TotalCount", "Owners",
            "FolderPath", "IsFavorite", "SystemId", "AccountId",
        ])
        .prop_map(str::to_owned),
        3 => "[A-Z][A-Za-z]{0,6}",
        1 => prop::sample::select(vec![
            "weird key", "a.b", "[x]", "é", "", "?", "{}", "\"q\"", "a\\b", "x:y", "line\nbreak", "-", "$", "@",
        ])
        .prop_map(str::to_owned),
    ]
}

/// An object key that is data (an id, a GUID, a date, an e-mail address): objects keyed only
/// by these are maps.
pub fn data_key() -> impl Strategy<Value = String> {
    prop_oneof![3 => "[0-9]{1,5}", 1 => guid(), 1 => date_time(), 1 => email()]
}

/// A JSON value as the API answers them: nested objects and arrays, nulls, integers, floats,
/// strings with formats, and objects keyed by data.
pub fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        2 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        2 => (-1000i64..1000).prop_map(Value::from),
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<u64>().prop_map(Value::from),
        1 => (-1.0e6f64..1.0e6).prop_filter("a fraction", |f| f.fract() != 0.0).prop_map(Value::from),
        4 => string_value().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 4, |inner| {
        prop_oneof![
            2 => prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            3 => prop::collection::vec((field_key(), inner.clone()), 0..5).prop_map(object),
            1 => prop::collection::vec((data_key(), inner.clone()), 1..4).prop_map(object),
            1 => prop::collection::vec((prop_oneof![field_key(), data_key()], inner), 1..4).prop_map(object),
        ]
    })
}

fn object(entries: Vec<(String, Value)>) -> Value {
    Value::Object(entries.into_iter().collect())
}

/// A response's status, media type, cookie names and body, as a server might send them.
#[derive(Debug, Clone)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The Content-Type header, if any.
    pub content_type: Option<String>,
    /// Names of the cookies set.
    pub cookies: Vec<String>,
    /// The body bytes.
    pub body: Vec<u8>,
}

/// A response of `status`: mostly JSON, sometimes empty or not JSON at all.
pub fn response(status: u16) -> impl Strategy<Value = Response> {
    let content_type = prop::sample::select(vec![
        Some("application/json"),
        Some("application/json; charset=utf-8"),
        Some("Application/JSON"),
        Some("text/html"),
        Some("application/octet-stream"),
        None,
    ]);
    let cookies =
        prop::sample::subsequence(vec!["ASP.NET_SessionId", "__RequestVerificationToken", "lb-affinity"], 0..=3);
    let body = prop_oneof![
        8 => json().prop_map(|v| v.to_string().into_bytes()),
        1 => Just(Vec::new()),
        1 => Just(b"<html><body>Server Error</body></html>".to_vec()),
    ];
    (content_type, cookies, body).prop_map(move |(ct, cookies, body)| Response {
        status,
        content_type: ct.map(str::to_owned),
        cookies: cookies.into_iter().map(str::to_owned).collect(),
        body,
    })
}

/// The merge of one to three responses of `status`: what a contract holds.
pub fn shape_of(status: u16) -> impl Strategy<Value = ResponseShape> {
    prop::collection::vec(response(status), 1..4).prop_map(|rs| {
        rs.into_iter()
            .map(|r| ResponseShape::infer(r.status, r.content_type.as_deref(), r.cookies, &r.body))
            .reduce(ResponseShape::merge)
            .expect("at least one response")
    })
}

/// A contract's shape, of a common status.
pub fn shape() -> impl Strategy<Value = ResponseShape> {
    prop::sample::select(vec![200u16, 201, 204, 401]).prop_flat_map(shape_of)
}

/// A text with a span deleted, duplicated, or replaced by other text (characters the YAML and
/// shape formats give meaning to, indentation, or anything printable).
pub fn mutated(text: String) -> impl Strategy<Value = String> {
    let len = text.len();
    let other = "\\PC{0,12}|[\n:|?.\\[\\]{}\"' #&*!%@`,-]{1,4}|\n {1,8}|\\{\\{ ?[a-z_ ]{0,6}( ?\\}\\})?";
    (0..=len, 0..=len, 0..3u8, other).prop_map(move |(a, b, op, other)| {
        let floor = |mut i: usize| {
            while !text.is_char_boundary(i) {
                i -= 1;
            }
            i
        };
        let (a, b) = (floor(a.min(b)), floor(a.max(b)));
        match op {
            0 => format!("{}{}", &text[..a], &text[b..]),
            1 => format!("{}{}", &text[..b], &text[a..]),
            _ => format!("{}{other}{}", &text[..a], &text[b..]),
        }
    })
}
