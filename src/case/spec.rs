//! What a case file says: the serde model of the YAML format, version 1.
//!
//! Every struct denies unknown keys, so a misspelled key is an error with a location rather
//! than an expectation that silently never runs. Values that later checks need to point at
//! (names, templates, regexes, JSONPaths) are [`Spanned`], so semantic errors found after
//! parsing still carry `file:line:col`. The JSON Schema in `case.schema.json` is generated from
//! these types (see `crate::case::schema`).

use std::fmt;
use std::marker::PhantomData;

use schemars::JsonSchema;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use serde_saphyr::Spanned;

/// One case file: the cases for one endpoint or one flow.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CaseFileSpec {
    /// The endpoint or flow the file covers, such as `POST Auth/SignAppin`.
    pub endpoint: String,
    /// A note for readers: what the file covers and where the documentation is wrong.
    #[serde(default)]
    pub note: Option<String>,
    /// The cases, each run as one test.
    pub cases: Vec<CaseSpec>,
}

/// One case: ordered steps sharing one cookie session and one set of captured variables.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CaseSpec {
    /// Unique within the file; lower case, digits and `-`. The test is named
    /// `<area>::<file>::<name>`.
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    /// One line saying what a conforming server does.
    pub summary: String,
    /// The documentation statement or reference fact the case checks.
    #[serde(default)]
    pub source: Option<String>,
    /// Free-form labels, shown by `psconform list`.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Target settings the case needs beyond those its templates and auth already use:
    /// `api_key`, `runas`, `runas_password`, `client_id`, `client_secret`.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub needs: Vec<Spanned<String>>,
    /// What running the case does to the target, at least: `read`, `audited`, `change`,
    /// `release` or `irreversible`. Optional: a case's effect is derived from the endpoints its
    /// steps call (the catalog says what each does); a case may declare a more consequential
    /// one, to run in fewer places, never a less consequential one.
    #[serde(default)]
    #[schemars(with = "Option<EffectName>")]
    pub effect: Option<Spanned<String>>,
    /// The case sends a wrong password for the run-as user, which may count towards locking
    /// the account out. It runs on a real target only with `--allow-lockout-risk`.
    #[serde(default)]
    pub lockout_risk: bool,
    /// No longer written: whether a case releases a credential is derived from the endpoints
    /// it calls. Kept only to say so where an old file still has it.
    #[serde(default)]
    #[schemars(skip)]
    pub releases_credential: Option<Spanned<bool>>,
    /// Shared resources on the target the case holds while it runs, such as `run-as-sessions`:
    /// two cases that hold the same lock never run at once. A case that releases a credential
    /// holds `account:PS_ACCOUNT` without saying so.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub locks: Vec<Spanned<String>>,
    /// States the built-in simulator is put in for this case, such as `password-required`; a
    /// simulator of its own is started for the case, so parallel cases are not disturbed.
    /// Against a real target the states are not applied.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub simulator_state: Vec<Spanned<String>>,
    /// The case checks a condition only the built-in simulator can be put in (an invalid
    /// licence, a disabled API version); against a real target it is reported as ignored.
    #[serde(default)]
    pub simulator_only: bool,
    /// For readers: why the case is simulator-only, what it cannot check on a real instance,
    /// where the documentation is silent.
    #[serde(default)]
    pub note: Option<String>,
    /// The steps, in order. The first failing step ends the case.
    pub steps: Vec<StepSpec>,
    /// Steps that always run after `steps`, even after a failure (sign out, check in).
    #[serde(default)]
    pub teardown: Vec<StepSpec>,
}

/// The words `effect:` takes, for the JSON Schema (the compiler reads the word itself, to point
/// at it and suggest the right one).
#[derive(JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[expect(dead_code, reason = "only describes the accepted words in the JSON Schema")]
enum EffectName {
    /// Reads only.
    Read,
    /// Reads, but leaves an audit entry or a session, or reveals a credential's value.
    Audited,
    /// Creates, updates or deletes; runs on a real target only with `--allow-mutations`.
    Change,
    /// Releases a managed account's credential; only with `--allow-credential-release`.
    Release,
    /// A change no teardown can undo; only against the built-in simulator, unless
    /// `--allow-irreversible`.
    Irreversible,
}

/// One request and what its response must look like.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StepSpec {
    /// A short name shown in reports; defaults to the method and path.
    #[serde(default)]
    pub name: Option<String>,
    /// Time to wait before sending, such as `1500ms` or `2s` (for idle-timeout cases).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub wait: Option<Spanned<String>>,
    /// The request to send.
    #[schemars(with = "RequestSpec")]
    pub request: Spanned<RequestSpec>,
    /// What the response must look like, as the documentation says. Every expectation is
    /// checked and every failure reported.
    #[serde(default)]
    pub expect: ExpectSpec,
    /// What servers were seen to do where the documentation says nothing (a 404 rather than an
    /// empty list): the same keys as `expect`, and `on:` saying what it was observed on. These
    /// are reported, and fail only with `--strict`.
    #[serde(default)]
    #[schemars(with = "Option<ExpectSpec>")]
    pub observed: Option<Spanned<ExpectSpec>>,
    /// Send the request again until every expectation holds: at most `attempts` times,
    /// `interval` apart (a request that waits for approval). The report shows each attempt.
    #[serde(default)]
    pub poll: Option<PollSpec>,
    /// Check the response's shape against its endpoint's contract and add it to the
    /// contract's observations. Defaults to `true` for 2xx responses.
    #[serde(default)]
    pub snapshot: Option<bool>,
    /// Values to keep for later steps, by variable name.
    #[serde(default)]
    #[schemars(with = "std::collections::BTreeMap<String, CaptureSpec>")]
    pub capture: Entries<CaptureSpec>,
}

/// How a step repeats until its expectations hold.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PollSpec {
    /// Requests at most, the first included (1 to 100).
    #[schemars(with = "u32")]
    pub attempts: Spanned<u32>,
    /// Time between attempts, such as `2s` (at most 5m).
    #[schemars(with = "String")]
    pub interval: Spanned<String>,
    /// Repeat only while the response has one of these statuses (such as `403` while a
    /// request waits for approval); any other answer ends the polling at once.
    #[serde(default)]
    pub while_status: Option<StatusSpec>,
}

/// An HTTP request relative to the target's base URL.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestSpec {
    /// HTTP method.
    pub method: Method,
    /// Path relative to the base URL, such as `Auth/SignAppin`.
    #[schemars(with = "String")]
    pub path: Spanned<String>,
    /// The endpoint's route template, such as `Credentials/{requestId}`, when the path does
    /// not show it (a path that is one variable). Responses are checked against the contract
    /// of method, route and status.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub route: Option<Spanned<String>>,
    /// Query parameters, in order.
    #[serde(default)]
    #[schemars(with = "std::collections::BTreeMap<String, String>")]
    pub query: Entries<Spanned<String>>,
    /// Extra request headers. Credentials go through `auth`, never here.
    #[serde(default)]
    #[schemars(with = "std::collections::BTreeMap<String, String>")]
    pub headers: Entries<Spanned<String>>,
    /// How the request authenticates.
    #[serde(default)]
    pub auth: AuthSpec,
    /// The request body.
    #[serde(default)]
    #[schemars(with = "Option<BodySpec>")]
    pub body: Option<Spanned<BodySpec>>,
}

/// HTTP methods a case may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    /// GET
    Get,
    /// POST
    Post,
    /// PUT
    Put,
    /// PATCH
    Patch,
    /// DELETE
    Delete,
    /// HEAD
    Head,
    /// OPTIONS
    Options,
}

impl Method {
    /// The method as HTTP spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Head => "HEAD",
            Method::Options => "OPTIONS",
        }
    }
}

/// How a request authenticates: `none` (the default), `ps-auth`, or a map with one of
/// `ps-auth:` (to override parts of the header) or `bearer:`.
#[derive(Debug, Default, JsonSchema)]
#[schemars(untagged)]
pub enum AuthSpec {
    /// No Authorization header.
    #[default]
    #[schemars(with = "AuthName")]
    None,
    /// `PS-Auth key=…; runas=…; pwd=[…];` from the target's settings, or with overrides.
    #[schemars(with = "AuthMap")]
    PsAuth(PsAuthSpec),
    /// `Bearer <token>`, usually `{{ token }}` captured from `Auth/Connect/Token`.
    #[schemars(skip)]
    Bearer(Spanned<String>),
}

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
enum AuthName {
    None,
    PsAuth,
}

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
enum AuthMap {
    PsAuth(PsAuthSpec),
    Bearer(#[schemars(with = "String")] Spanned<String>),
}

impl<'de> Deserialize<'de> for AuthSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = AuthSpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("`none`, `ps-auth`, or a map with `ps-auth:` or `bearer:`")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<AuthSpec, E> {
                AuthName::deserialize(de::value::StrDeserializer::<E>::new(s)).map(|n| match n {
                    AuthName::None => AuthSpec::None,
                    AuthName::PsAuth => AuthSpec::PsAuth(PsAuthSpec::default()),
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<AuthSpec, A::Error> {
                AuthMap::deserialize(de::value::MapAccessDeserializer::new(map)).map(|m| match m {
                    AuthMap::PsAuth(p) => AuthSpec::PsAuth(p),
                    AuthMap::Bearer(t) => AuthSpec::Bearer(t),
                })
            }
        }
        d.deserialize_any(V)
    }
}

/// Parts of a PS-Auth header. Each defaults to the target's setting; a case overrides one to
/// send a wrong value, such as `key: "{{ random_key }}"`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PsAuthSpec {
    /// The API key; defaults to `{{ api_key }}`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub key: Option<Spanned<String>>,
    /// The run-as user; defaults to `{{ runas }}`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub runas: Option<Spanned<String>>,
    /// The run-as password. Defaults to `{{ runas_password }}` when that setting is provided;
    /// `false` leaves `pwd=[…]` out.
    #[serde(default)]
    pub pwd: Option<PwdSpec>,
    /// Use the compact spelling `key=K;runas=U;` that the official clients send.
    #[serde(default)]
    pub compact: bool,
}

/// The `pwd` part of a PS-Auth header: a template, or `false` to leave it out.
#[derive(Debug, JsonSchema)]
#[schemars(untagged)]
pub enum PwdSpec {
    /// Leave `pwd=[…]` out even when a password is configured.
    #[schemars(with = "bool")]
    Omit,
    /// Send this value.
    #[schemars(with = "String")]
    Value(Spanned<String>),
}

impl<'de> Deserialize<'de> for PwdSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Flag(bool),
            Value(Spanned<String>),
        }
        match Repr::deserialize(d)? {
            Repr::Flag(false) => Ok(PwdSpec::Omit),
            Repr::Flag(true) => Err(de::Error::custom(
                "`pwd: true` is the default; write a template such as \"{{ runas_password }}\", or `false` to leave it out",
            )),
            Repr::Value(v) => Ok(PwdSpec::Value(v)),
        }
    }
}

/// A request body: exactly one of `json`, `form` or `text`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum BodySpec {
    /// A JSON body (`Content-Type: application/json`); strings may hold templates.
    Json(Value),
    /// An `application/x-www-form-urlencoded` body, fields in order.
    Form(#[schemars(with = "std::collections::BTreeMap<String, String>")] Entries<Spanned<String>>),
    /// A raw text body sent as is, with no Content-Type unless `headers` sets one.
    Text(#[schemars(with = "String")] Spanned<String>),
}

/// What the response must look like. Every part is optional and every failure is reported.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExpectSpec {
    /// Under `observed:` only: what the behaviour was observed on (a product release, a
    /// real-server trace, a client that relies on it).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub on: Option<Spanned<String>>,
    /// `200`, a list such as `[200, 204]`, or a class such as `4xx`.
    #[serde(default)]
    #[schemars(with = "Option<StatusSpec>")]
    pub status: Option<Spanned<StatusSpec>>,
    /// Response headers by name (case-insensitive).
    #[serde(default)]
    #[schemars(with = "std::collections::BTreeMap<String, HeaderCheck>")]
    pub headers: Entries<HeaderCheck>,
    /// Cookies the response sets, by name.
    #[serde(default)]
    #[schemars(with = "std::collections::BTreeMap<String, CookieCheck>")]
    pub cookies: Entries<CookieCheck>,
    /// The whole body: `exact`, `partial`, `empty` or `text`.
    #[serde(default)]
    #[schemars(with = "Option<BodyCheck>")]
    pub body: Option<Spanned<BodyCheck>>,
    /// Checks on values inside a JSON body, by JSONPath (RFC 9535), such as `$.UserId`. `$`
    /// is the whole body, which may be a bare string or number.
    #[serde(default)]
    #[schemars(with = "std::collections::BTreeMap<String, PathCheck>")]
    pub paths: Entries<PathCheck>,
}

/// An expected status: a code, a list of codes, or a class such as `2xx`.
#[derive(Debug, Clone, PartialEq, Eq, JsonSchema)]
#[schemars(untagged)]
pub enum StatusSpec {
    /// Exactly this code.
    Code(u16),
    /// Any of these codes.
    AnyOf(Vec<u16>),
    /// Any code of this class: `1xx` to `5xx`.
    #[schemars(with = "String")]
    Class(u16),
}

impl StatusSpec {
    /// Whether `status` satisfies the expectation.
    pub fn accepts(&self, status: u16) -> bool {
        match self {
            StatusSpec::Code(c) => *c == status,
            StatusSpec::AnyOf(cs) => cs.contains(&status),
            StatusSpec::Class(c) => status / 100 == *c,
        }
    }
}

impl fmt::Display for StatusSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StatusSpec::Code(c) => write!(f, "{c}"),
            StatusSpec::AnyOf(cs) => {
                let list: Vec<String> = cs.iter().map(u16::to_string).collect();
                write!(f, "one of {}", list.join(", "))
            }
            StatusSpec::Class(c) => write!(f, "{c}xx"),
        }
    }
}

impl<'de> Deserialize<'de> for StatusSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        fn code<E: de::Error>(n: u64) -> Result<u16, E> {
            u16::try_from(n)
                .ok()
                .filter(|c| (100..=599).contains(c))
                .ok_or_else(|| E::custom(format_args!("status {n} is not an HTTP status code (100 to 599)")))
        }
        impl<'de> Visitor<'de> for V {
            type Value = StatusSpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a status code such as 200, a list such as [200, 204], or a class such as 4xx")
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<StatusSpec, E> {
                code(n).map(StatusSpec::Code)
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<StatusSpec, E> {
                code(u64::try_from(n).unwrap_or(0)).map(StatusSpec::Code)
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<StatusSpec, E> {
                let lower = s.trim().to_ascii_lowercase();
                if let Some(class) = lower.strip_suffix("xx") {
                    return match class.parse::<u16>() {
                        Ok(c @ 1..=5) => Ok(StatusSpec::Class(c)),
                        _ => Err(E::custom(format_args!("`{s}` is not a status class; write 1xx to 5xx"))),
                    };
                }
                match lower.parse::<u64>() {
                    Ok(n) => code(n).map(StatusSpec::Code),
                    Err(_) => Err(E::invalid_value(de::Unexpected::Str(s), &self)),
                }
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StatusSpec, A::Error> {
                let mut codes = Vec::new();
                while let Some(n) = seq.next_element::<u64>()? {
                    codes.push(code(n)?);
                }
                if codes.is_empty() {
                    return Err(de::Error::custom("an empty status list accepts nothing; list at least one code"));
                }
                Ok(StatusSpec::AnyOf(codes))
            }
        }
        d.deserialize_any(V)
    }
}

/// A check on one response header. Give one or more of the fields; all must hold.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HeaderCheck {
    /// The header is present with exactly this value (templates allowed).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub equals: Option<Spanned<String>>,
    /// The header is present and matches this regular expression.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub matches: Option<Spanned<String>>,
    /// The header is present and contains this text (templates allowed).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub contains: Option<Spanned<String>>,
    /// `true`: the header must not be present. `false`: it must be present.
    #[serde(default)]
    pub absent: Option<bool>,
}

/// A check on a cookie the response sets (`Set-Cookie`). By default the cookie must be set.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CookieCheck {
    /// `false`: the response must not set this cookie. Defaults to `true`.
    #[serde(default)]
    pub set: Option<bool>,
    /// The cookie's value matches this regular expression. The value itself is never shown.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub value_matches: Option<Spanned<String>>,
    /// Whether the cookie has the `HttpOnly` attribute.
    #[serde(default)]
    pub http_only: Option<bool>,
    /// Whether the cookie has the `Secure` attribute.
    #[serde(default)]
    pub secure: Option<bool>,
    /// The cookie's `Path` attribute.
    #[serde(default)]
    pub path: Option<String>,
    /// The cookie's `SameSite` attribute (`Strict`, `Lax` or `None`), compared ignoring case.
    #[serde(default)]
    pub same_site: Option<String>,
}

/// A check on the whole body: exactly one of `exact`, `partial`, `empty` or `text`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum BodyCheck {
    /// The body is this JSON value and nothing else, at every depth. Works for bare values
    /// such as `"User not authenticated"` or `4091`.
    Exact(Value),
    /// The body contains this JSON value: at every depth, objects may have more keys than
    /// listed; arrays must have the same length and match element by element.
    Partial(Value),
    /// `true`: the body is empty. `false`: it is not.
    Empty(bool),
    /// Checks on the body as text, for bodies that are not JSON.
    Text(Box<TextCheck>),
}

/// Checks on a body as text.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TextCheck {
    /// The body is exactly this text.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub equals: Option<Spanned<String>>,
    /// The body matches this regular expression.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub matches: Option<Spanned<String>>,
    /// The body contains this text.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub contains: Option<Spanned<String>>,
}

// The fields of `PathCheck`, one per matcher a `paths:` check can give, come from the table of
// matchers (`case::matchers`).
use super::matchers::path_check;
super::matchers::matchers!(path_check);

/// `Some(value)` for a present key, so that `equals: null` means "equals null".
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// JSON types a value may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum JsonType {
    /// A number without a fraction.
    Integer,
    /// Any number.
    Number,
    /// A string.
    String,
    /// `true` or `false`.
    Boolean,
    /// `null`.
    Null,
    /// An array.
    Array,
    /// An object.
    Object,
}

impl JsonType {
    /// The most specific type of a value (`integer` for whole numbers).
    pub fn of(value: &Value) -> JsonType {
        match value {
            Value::Null => JsonType::Null,
            Value::Bool(_) => JsonType::Boolean,
            Value::Number(n) if n.is_i64() || n.is_u64() => JsonType::Integer,
            Value::Number(_) => JsonType::Number,
            Value::String(_) => JsonType::String,
            Value::Array(_) => JsonType::Array,
            Value::Object(_) => JsonType::Object,
        }
    }

    /// Whether a value has this type (`number` accepts integers).
    pub fn admits(self, value: &Value) -> bool {
        let actual = JsonType::of(value);
        actual == self || (self == JsonType::Number && actual == JsonType::Integer)
    }

    /// The type's name as the case format spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            JsonType::Integer => "integer",
            JsonType::Number => "number",
            JsonType::String => "string",
            JsonType::Boolean => "boolean",
            JsonType::Null => "null",
            JsonType::Array => "array",
            JsonType::Object => "object",
        }
    }

    const ALL: [JsonType; 7] = [
        JsonType::Integer,
        JsonType::Number,
        JsonType::String,
        JsonType::Boolean,
        JsonType::Null,
        JsonType::Array,
        JsonType::Object,
    ];

    const NAMES: &'static [&'static str] = &["integer", "number", "string", "boolean", "null", "array", "object"];

    fn parse<E: de::Error>(name: &str) -> Result<JsonType, E> {
        JsonType::ALL
            .into_iter()
            .find(|t| t.as_str() == name.trim())
            .ok_or_else(|| E::unknown_variant(name.trim(), JsonType::NAMES))
    }
}

/// One JSON type or a union of several.
#[derive(Debug, Clone, PartialEq, Eq, JsonSchema)]
#[schemars(with = "TypeSetRepr")]
pub struct TypeSet(pub Vec<JsonType>);

#[derive(JsonSchema)]
#[expect(dead_code, reason = "only describes the accepted forms in the JSON Schema")]
#[schemars(untagged)]
enum TypeSetRepr {
    One(String),
    Many(Vec<Option<JsonType>>),
}

impl TypeSet {
    /// Whether a value has one of the types.
    pub fn admits(&self, value: &Value) -> bool {
        self.0.iter().any(|t| t.admits(value))
    }
}

impl fmt::Display for TypeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.0.iter().map(|t| t.as_str()).collect();
        f.write_str(&names.join(" or "))
    }
}

impl<'de> Deserialize<'de> for TypeSet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = TypeSet;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON type such as `string`, a union such as `string|null`, or a list of types")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<TypeSet, E> {
                s.split('|').map(JsonType::parse).collect::<Result<_, _>>().map(TypeSet)
            }
            fn visit_unit<E: de::Error>(self) -> Result<TypeSet, E> {
                Ok(TypeSet(vec![JsonType::Null]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<TypeSet, A::Error> {
                let mut types = Vec::new();
                while let Some(name) = seq.next_element::<Option<String>>()? {
                    types.push(match name {
                        Some(n) => JsonType::parse(&n)?,
                        None => JsonType::Null,
                    });
                }
                if types.is_empty() {
                    return Err(de::Error::custom("an empty type list admits nothing; list at least one type"));
                }
                Ok(TypeSet(types))
            }
        }
        d.deserialize_any(V)
    }
}

/// An expected length: exact, or a range.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum LengthSpec {
    /// Exactly this length.
    Exact(u64),
    /// Between `min` and `max`, both inclusive and both optional.
    Range {
        /// Smallest length allowed.
        #[serde(default)]
        min: Option<u64>,
        /// Largest length allowed.
        #[serde(default)]
        max: Option<u64>,
    },
}

impl LengthSpec {
    /// Whether a length satisfies the expectation.
    pub fn accepts(&self, n: u64) -> bool {
        match self {
            LengthSpec::Exact(e) => n == *e,
            LengthSpec::Range { min, max } => min.is_none_or(|m| n >= m) && max.is_none_or(|m| n <= m),
        }
    }
}

impl fmt::Display for LengthSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LengthSpec::Exact(n) => write!(f, "{n}"),
            LengthSpec::Range { min: Some(a), max: Some(b) } => write!(f, "between {a} and {b}"),
            LengthSpec::Range { min: Some(a), max: None } => write!(f, "at least {a}"),
            LengthSpec::Range { min: None, max: Some(b) } => write!(f, "at most {b}"),
            LengthSpec::Range { min: None, max: None } => write!(f, "any"),
        }
    }
}

/// Where a captured value comes from: exactly one of `path`, `header` or `cookie`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CaptureSpec {
    /// A JSONPath into the JSON body that selects exactly one value.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub path: Option<Spanned<String>>,
    /// A response header.
    #[serde(default)]
    pub header: Option<String>,
    /// A cookie the response sets.
    #[serde(default)]
    pub cookie: Option<String>,
    /// The value is a credential: it is redacted from every output. Values of well-known
    /// credential fields (`access_token`, `Password`, …) and cookies are always secret.
    #[serde(default)]
    pub secret: bool,
    /// When the value is not there (an instance with no such record: `$[0].Id` of an empty
    /// list), the case stops here and is reported as ignored with this reason, not failed; its
    /// teardown still runs.
    #[serde(default)]
    pub if_missing: Option<String>,
}

/// A YAML mapping read in order, keeping the location of each key.
#[derive(Debug)]
pub struct Entries<V>(pub Vec<(Spanned<String>, V)>);

impl<V> Default for Entries<V> {
    fn default() -> Self {
        Entries(Vec::new())
    }
}

impl<V> Entries<V> {
    /// The entries, in file order.
    pub fn iter(&self) -> impl Iterator<Item = (&Spanned<String>, &V)> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Entries<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct EntriesVisitor<V>(PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for EntriesVisitor<V> {
            type Value = Entries<V>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries<V>, A::Error> {
                let mut out = Vec::new();
                while let Some(entry) = map.next_entry::<Spanned<String>, V>()? {
                    out.push(entry);
                }
                Ok(Entries(out))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Entries<V>, E> {
                Ok(Entries(Vec::new()))
            }
        }
        d.deserialize_map(EntriesVisitor(PhantomData))
    }
}
