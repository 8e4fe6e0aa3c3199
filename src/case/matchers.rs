//! Every check a case file can write, declared once.
//!
//! `matchers!` is the table: each row is one matcher, with the tag its outcomes carry
//! (`matcher` in every report), the key a case file writes it with, the families of checks it
//! belongs to (`headers`, `cookies`, `body`, `body: text`, `paths`, …), its field in a
//! `paths:` check when it has one, and the words a report uses for what the case expects and
//! for what the response had. The
//! table is handed to a macro of the caller's (the X-macro pattern), so each layer builds what
//! it needs from the same rows, at its own place:
//!
//! - `case::spec`: the fields of [`super::spec::PathCheck`] (what YAML accepts, and so the
//!   JSON Schema and the "expected one of" list of an unknown key)
//! - `result`: the [`crate::result::Matcher`] tags, the keys and the families
//! - `plan::compile`: the hints of an empty check, from the keys of its family
//! - `report::terminal`: the expected and actual words
//!
//! Adding a matcher is a row here plus its evaluation (compiling it in `plan::compile`,
//! checking a response in `plan::check`). Rows keep the order in which each family lists its
//! keys.

/// Hands the table of matchers to `$callback!`.
///
/// A row: `Variant = "tag", key "key", in [Family, …], path [field attributes, name and
/// type, or nothing], expected |outcome| words, actual |outcome, note| words;`.
macro_rules! matchers {
    ($callback:ident) => {
        $callback! {
            /// The status is this code, one of these codes, or of this class.
            Status = "status", key "status", in [Status], path [],
                expected |o| status_text(&o.expected),
                actual |o, _| Shown::Base(json(&o.actual));
            /// A JSONPath selects something (`true`) or nothing (`false`).
            Exists = "exists", key "exists", in [Path],
                path [
                    /// `true`: the path selects at least one value. `false`: it selects none.
                    #[serde(default)]
                    exists: bool
                ],
                expected |o| flag(&o.expected, "present", "absent"),
                actual |o, _| Shown::Base(flag(&o.actual, "present", "absent"));
            /// Equal to the expected value.
            Equals = "equals", key "equals", in [Header, Text, Path],
                path [
                    /// The value equals this JSON value (templates allowed; `null` is a value).
                    #[serde(default, deserialize_with = "present")]
                    equals: Value
                ],
                expected |o| format!("equal to {}", json(&o.expected)),
                actual |o, _| Shown::Base(value(o));
            /// The value has one of these JSON types.
            Type = "type", key "type", in [Path],
                path [
                    /// The value has this JSON type, or one of these: `integer`, `number`, `string`,
                    /// `boolean`, `null`, `array`, `object`; as a list (`[string, "null"]`) or joined with
                    /// `|` (`string|null`).
                    #[serde(default, rename = "type")]
                    type_: TypeSet
                ],
                expected |o| match &o.expected {
                    Value::Array(ts) => {
                        ts.iter().map(|t| t.as_str().unwrap_or("?").to_owned()).collect::<Vec<_>>().join(" or ")
                    }
                    other => json(other),
                },
                actual |o, _| Shown::Base(string(&o.actual));
            /// A string matching the expected regular expression.
            Matches = "matches", key "matches", in [Header, Text, Path],
                path [
                    /// The value is a string matching this regular expression.
                    #[serde(default)]
                    #[schemars(with = "Option<String>")]
                    matches: Spanned<String>
                ],
                expected |o| if o.kind == CheckKind::Path {
                    format!("a string matching /{}/", string(&o.expected))
                } else {
                    format!("matching /{}/", string(&o.expected))
                },
                actual |o, _| Shown::Base(value(o));
            /// A string containing the expected text.
            Contains = "contains", key "contains", in [Header, Text], path [],
                expected |o| format!("containing {}", json(&o.expected)),
                actual |o, _| Shown::Base(value(o));
            /// A header is absent (`true`) or present (`false`).
            Absent = "absent", key "absent", in [Header], path [],
                expected |o| flag(&o.expected, "absent", "present"),
                actual |o, _| Shown::Base(flag(&o.actual, "absent", "present"));
            /// The value is one of these.
            OneOf = "one_of", key "one_of", in [Path],
                path [
                    /// The value equals one of these.
                    #[serde(default)]
                    one_of: Vec<Value>
                ],
                expected |o| match &o.expected {
                    Value::Array(items) => format!("one of {}", items.iter().map(json).collect::<Vec<_>>().join(", ")),
                    other => json(other),
                },
                actual |o, _| Shown::Base(value(o));
            /// The length of a string, array or object.
            Length = "length", key "length", in [Path],
                path [
                    /// The length of a string (characters), array or object: a number or `{min, max}`.
                    #[serde(default)]
                    length: LengthSpec
                ],
                expected |o| {
                    let e = &o.expected;
                    match (e.get("min").and_then(Value::as_u64), e.get("max").and_then(Value::as_u64)) {
                        (Some(a), Some(b)) => format!("between {a} and {b}"),
                        (Some(a), None) => format!("at least {a}"),
                        (None, Some(b)) => format!("at most {b}"),
                        (None, None) if e.is_object() => "any".into(),
                        _ => json(e),
                    }
                },
                actual |o, _| Shown::Base(value(o));
            /// A number at least this large.
            Min = "min", key "min", in [Path],
                path [
                    /// The value is a number at least this large.
                    #[serde(default)]
                    min: f64
                ],
                expected |o| format!("a number at least {}", json(&o.expected)),
                actual |o, _| Shown::Base(value(o));
            /// A number at most this large.
            Max = "max", key "max", in [Path],
                path [
                    /// The value is a number at most this large.
                    #[serde(default)]
                    max: f64
                ],
                expected |o| format!("a number at most {}", json(&o.expected)),
                actual |o, _| Shown::Base(value(o));
            /// A string in this format (`guid`, `email`, `date-time`).
            Format = "format", key "format", in [Path],
                path [
                    /// The value is a string in this format: `guid`, `email` or `date-time`. Shape contracts
                    /// only show formats as hints; this makes one an expectation.
                    #[serde(default)]
                    #[schemars(with = "Option<String>")]
                    format: Spanned<String>
                ],
                expected |o| format!("a {} string", string(&o.expected)),
                actual |o, _| Shown::Base(value(o));
            /// A cookie is set (`true`) or not (`false`).
            Set = "set", key "set", in [Cookie], path [],
                expected |o| flag(&o.expected, "set", "not set"),
                actual |o, _| Shown::Base(flag(&o.actual, "set", "not set"));
            /// A cookie's value matches the expected regular expression (the value is never
            /// shown).
            ValueMatches = "value_matches", key "value_matches", in [Cookie], path [],
                expected |o| format!("matching /{}/", string(&o.expected)),
                actual |o, _| Shown::Base(flag(&o.actual, "a matching value", "a value that does not match (not shown)"));
            /// A cookie has (`true`) or lacks (`false`) `HttpOnly`.
            HttpOnly = "http_only", key "http_only", in [Cookie], path [],
                expected |o| flag(&o.expected, "present", "absent"),
                actual |o, _| Shown::Base(flag(&o.actual, "present", "absent"));
            /// A cookie has (`true`) or lacks (`false`) `Secure`.
            Secure = "secure", key "secure", in [Cookie], path [],
                expected |o| flag(&o.expected, "present", "absent"),
                actual |o, _| Shown::Base(flag(&o.actual, "present", "absent"));
            /// A cookie's `Path` attribute.
            CookiePath = "cookie_path", key "path", in [Cookie], path [],
                expected |o| string(&o.expected),
                actual |o, _| Shown::Base(string(&o.actual));
            /// A cookie's `SameSite` attribute.
            SameSite = "same_site", key "same_site", in [Cookie], path [],
                expected |o| string(&o.expected),
                actual |o, _| Shown::Base(string(&o.actual));
            /// The body is exactly this JSON value.
            Exact = "exact", key "exact", in [Body], path [],
                expected |o| json(&o.expected),
                actual |o, _| Shown::Base(value(o));
            /// The body contains this JSON value.
            Partial = "partial", key "partial", in [Body], path [],
                expected |o| json(&o.expected),
                actual |o, _| Shown::Base(value(o));
            /// The body is empty (`true`) or not (`false`).
            Empty = "empty", key "empty", in [Body], path [],
                expected |o| flag(&o.expected, "empty", "not empty"),
                actual |o, note| Shown::Whole(if o.actual == Value::Bool(true) {
                    "empty".into()
                } else {
                    note.unwrap_or_else(|| "not empty".into())
                });
            /// A value could be captured for later steps.
            Captured = "captured", key "capture", in [Capture], path [],
                expected |_o| "a value to capture".into(),
                actual |o, note| {
                    let got = if o.actual == Value::Bool(true) { "a value" } else { "nothing" };
                    Shown::Whole(note.unwrap_or_else(|| got.into()))
                };
            /// The shape conforms to the contract.
            Conforms = "conforms", key "snapshot", in [Contract], path [],
                expected |o| format!("the shape in {}", o.subject),
                actual |o, note| Shown::Whole(note.unwrap_or_else(|| o.actual.as_str().unwrap_or("?").to_owned()));

        }
    };
}

pub(crate) use matchers;

/// Builds the fields of a `paths:` check from the rows that have one (a tt-muncher: rows
/// without a field are skipped), and [`super::spec::PathCheck::given`].
macro_rules! path_check {
    (@fields [$($done:tt)*] [$($given:ident $given_key:literal)*]) => {
        /// Checks on the values a JSONPath selects. Give one or more; all must hold for every value
        /// selected. Apart from `exists: false`, a path that selects nothing fails.
        #[derive(Debug, Default, Deserialize, JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct PathCheck {
            $($done)*
        }

        impl PathCheck {
            /// The matchers the check gives, in table order.
            pub fn given(&self) -> Vec<&'static str> {
                let mut out = Vec::new();
                $( if self.$given.is_some() { out.push($given_key); } )*
                out
            }
        }
    };
    (@fields [$($done:tt)*] [$($given:tt)*]
        $(#[$doc:meta])* $variant:ident = $tag:literal, key $key:literal, in [$($family:ident),+],
        path [ $(#[$attr:meta])* $field:ident: $ty:ty ], expected $expected:expr, actual $actual:expr;
        $($rest:tt)*
    ) => {
        $crate::case::matchers::path_check! { @fields
            [$($done)* $(#[$attr])* pub $field: Option<$ty>,]
            [$($given)* $field $key]
            $($rest)*
        }
    };
    (@fields [$($done:tt)*] [$($given:tt)*]
        $(#[$doc:meta])* $variant:ident = $tag:literal, key $key:literal, in [$($family:ident),+],
        path [], expected $expected:expr, actual $actual:expr;
        $($rest:tt)*
    ) => {
        $crate::case::matchers::path_check! { @fields [$($done)*] [$($given)*] $($rest)* }
    };
    ($($rows:tt)*) => {
        $crate::case::matchers::path_check! { @fields [] [] $($rows)* }
    };
}

pub(crate) use path_check;
