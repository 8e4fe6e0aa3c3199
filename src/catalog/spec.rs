//! What a model file says (`catalog/models/*.yaml`), as serde reads it: every value that can be
//! wrong after parsing (a type, a reference, a route) is [`Spanned`], so the checks in
//! `model` point at `file:line:col`. The format is described in `catalog/models/README.md`.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

pub use serde_saphyr::Spanned;

/// A YAML mapping read in file order, each key with its location (a `BTreeMap` would lose
/// both, and `Spanned` keys cannot be ordered).
#[derive(Debug)]
pub struct Entries<V, K = String>(pub Vec<(Spanned<K>, V)>);

impl<V, K> Default for Entries<V, K> {
    fn default() -> Self {
        Entries(Vec::new())
    }
}

impl<'de, V: Deserialize<'de>, K: Deserialize<'de>> Deserialize<'de> for Entries<V, K> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit<V, K>(std::marker::PhantomData<(V, K)>);
        impl<'de, V: Deserialize<'de>, K: Deserialize<'de>> serde::de::Visitor<'de> for Visit<V, K> {
            type Value = Entries<V, K>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a mapping")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<Spanned<K>, V>()? {
                    out.push((k, v));
                }
                Ok(Entries(out))
            }
        }
        d.deserialize_map(Visit(std::marker::PhantomData))
    }
}

/// One model file: one API area.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AreaSpec {
    /// The area, as `endpoints.yaml` names it.
    pub area: Spanned<String>,
    /// Every page or client file cited in the file, by id.
    #[serde(default)]
    pub sources: BTreeMap<String, SourceSpec>,
    /// The objects the area's endpoints answer or take.
    #[serde(default)]
    pub models: Entries<ModelSpec>,
    /// The models the simulator keeps records of.
    #[serde(default)]
    pub resources: Entries<ResourceSpec>,
    /// Relations between records of two resources that no field holds (a group's members).
    #[serde(default)]
    pub links: Entries<LinkSpec>,
    /// The endpoints.
    #[serde(default)]
    pub endpoints: Vec<EndpointSpec>,
}

/// A cited page or client file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceSpec {
    /// Where it is.
    pub url: Spanned<String>,
    /// The product release it documents (`24.3`), or `current`.
    pub release: String,
    /// Its title.
    #[serde(default)]
    pub title: Option<String>,
}

/// `source: id` or `source: [id, id]`.
#[derive(Debug, Clone)]
pub enum SourceRefs {
    /// One source.
    One(String),
    /// Several.
    Many(Vec<String>),
}

impl SourceRefs {
    /// The ids, in order.
    pub fn ids(&self) -> Vec<&String> {
        match self {
            SourceRefs::One(s) => vec![s],
            SourceRefs::Many(v) => v.iter().collect(),
        }
    }
}

/// `kind:` of a model.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelKind {
    /// A response model: fields are required unless they say otherwise.
    #[default]
    Response,
    /// A request body: fields are optional unless they say `required: true`.
    Request,
}

/// A model.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// Where it is documented.
    #[serde(default)]
    pub source: Option<SourceRefs>,
    /// Response or request.
    #[serde(default)]
    pub kind: ModelKind,
    /// Another model whose fields come first.
    #[serde(default)]
    pub extends: Option<Spanned<String>>,
    /// A sentence about it.
    #[serde(default)]
    pub description: Option<String>,
    /// What a reader must know.
    #[serde(default)]
    pub note: Option<String>,
    /// Its fields.
    #[serde(default)]
    pub fields: Entries<FieldSpec>,
}

/// A field: `Name: <type>`, or a map.
#[derive(Debug)]
pub enum FieldSpec {
    /// Shorthand: the type.
    Type(String),
    /// Everything.
    Full(Box<FullFieldSpec>),
}

/// A field, spelled out.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FullFieldSpec {
    /// The type.
    #[serde(rename = "type")]
    pub ty: Spanned<String>,
    /// `true`, or when it is absent.
    #[serde(default)]
    pub optional: Option<Optional>,
    /// A request model's field that must be given.
    #[serde(default)]
    pub required: bool,
    /// Present only under this condition.
    #[serde(default)]
    pub when: Option<ConditionSpec>,
    /// The model versions that carry it.
    #[serde(default)]
    pub versions: Option<Spanned<String>>,
    /// The product release that added it.
    #[serde(default)]
    pub since: Option<String>,
    /// An earlier name.
    #[serde(default)]
    pub renamed: Option<RenamedSpec>,
    /// Other spellings a source uses.
    #[serde(default)]
    pub alternatives: Vec<AlternativeSpec>,
    /// A source that shows `null` where the page does not say "can be null".
    #[serde(default)]
    pub nullable_by: Option<Spanned<String>>,
    /// The documented values.
    #[serde(default, rename = "enum")]
    pub values: Vec<Value>,
    /// Carries a credential.
    #[serde(default)]
    pub secret: bool,
    /// A short phrase.
    #[serde(default)]
    pub description: Option<String>,
    /// Where it is documented, when not where the model is.
    #[serde(default)]
    pub source: Option<SourceRefs>,
    /// A value as the page shows it.
    #[serde(default)]
    pub example: Option<Value>,
    /// What a reader must know.
    #[serde(default)]
    pub note: Option<String>,
}

/// `optional: true` or `optional: "when …"`.
#[derive(Debug, Clone)]
pub enum Optional {
    /// Optional or not.
    Flag(bool),
    /// Optional, and when.
    Because(String),
}

/// `renamed: { from, in }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenamedSpec {
    /// The earlier name.
    pub from: String,
    /// The release that renamed it.
    #[serde(rename = "in")]
    pub release: String,
}

/// Another spelling of a field, with who uses it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlternativeSpec {
    /// The spelling.
    pub name: String,
    /// Who uses it.
    pub source: Spanned<String>,
}

/// A condition: every entry must hold.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionSpec {
    /// Query parameters the request has, or has with a value.
    #[serde(default)]
    pub query: Option<QueryCondition>,
    /// Query parameters the request lacks.
    #[serde(default)]
    pub absent: Vec<String>,
    /// The model version asked for.
    #[serde(default)]
    pub version: Option<Spanned<String>>,
}

/// `query: name`, `query: [a, b]` or `query: { name: value }`.
#[derive(Debug, Clone)]
pub enum QueryCondition {
    /// One parameter present.
    One(String),
    /// Several present.
    All(Vec<String>),
    /// Parameters with values.
    Values(BTreeMap<String, Value>),
}

/// A resource the simulator keeps records of.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceSpec {
    /// The field that is its id.
    pub id: Spanned<String>,
    /// The field that is its name (filters, duplicate checks).
    #[serde(default)]
    pub name: Option<Spanned<String>>,
    /// Parent models, each with the field that holds the parent's id.
    #[serde(default)]
    pub parents: BTreeMap<String, Spanned<String>>,
}

/// A relation between records of two resources.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkSpec {
    /// One end (a model name, `file.Name` for another file's).
    pub from: Spanned<String>,
    /// The other end.
    pub to: Spanned<String>,
}

/// An endpoint.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointSpec {
    /// `GET`, `POST`, …
    pub method: Spanned<String>,
    /// The route template.
    pub route: Spanned<String>,
    /// No vendor page documents it.
    #[serde(default)]
    pub unverified: bool,
    /// One sentence.
    #[serde(default)]
    pub summary: Option<String>,
    /// What it does to the server.
    pub effect: Spanned<String>,
    /// Where it is documented.
    #[serde(default)]
    pub source: Option<SourceRefs>,
    /// The permission or role the page names.
    #[serde(default)]
    pub permissions: Option<String>,
    /// Path parameters and their types.
    #[serde(default)]
    pub path: BTreeMap<String, Spanned<String>>,
    /// Query parameters.
    #[serde(default)]
    pub query: Entries<ParamSpec>,
    /// The request body.
    #[serde(default)]
    pub request: Option<RequestSpec>,
    /// Per status, one form or several.
    #[serde(default)]
    pub responses: Entries<ResponsesSpec, u16>,
    /// How the simulator answers it.
    #[serde(default)]
    pub serve: Option<ServeSpec>,
    /// What a reader must know.
    #[serde(default)]
    pub note: Option<String>,
}

/// A query parameter: its type, or everything.
#[derive(Debug)]
pub enum ParamSpec {
    /// Shorthand: the type.
    Type(String),
    /// Everything.
    Full(Box<FullParamSpec>),
}

/// A query parameter, spelled out.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FullParamSpec {
    /// The type.
    #[serde(rename = "type")]
    pub ty: Spanned<String>,
    /// Its default.
    #[serde(default)]
    pub default: Option<Value>,
    /// The documented values.
    #[serde(default, rename = "enum")]
    pub values: Vec<Value>,
    /// Must be given.
    #[serde(default)]
    pub required: bool,
    /// `limit` or `offset`.
    #[serde(default)]
    pub paging: Option<Spanned<String>>,
    /// A short phrase.
    #[serde(default)]
    pub description: Option<String>,
    /// What a reader must know.
    #[serde(default)]
    pub note: Option<String>,
}

/// A request body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestSpec {
    /// Its media type (default `application/json`).
    #[serde(default)]
    pub content_type: Option<String>,
    /// The body, as a form.
    #[serde(default)]
    pub body: Option<BodySpec>,
    /// Or its fields inline, as a request model.
    #[serde(default)]
    pub fields: Entries<FieldSpec>,
    /// What a reader must know.
    #[serde(default)]
    pub note: Option<String>,
}

/// One form, or several with conditions.
#[derive(Debug)]
pub enum ResponsesSpec {
    /// One form.
    One(Box<ResponseSpec>),
    /// The first whose `when` holds.
    Forms(Vec<ResponseSpec>),
}

/// One response form.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponseSpec {
    /// When this form applies.
    #[serde(default)]
    pub when: Option<ConditionSpec>,
    /// The body.
    #[serde(default)]
    pub body: Option<BodySpec>,
    /// Its media type, when not the body's default.
    #[serde(default)]
    pub content_type: Option<String>,
    /// What it means.
    #[serde(default)]
    pub description: Option<String>,
    /// The whole body is a credential (a bare string such as a released password or an API key).
    #[serde(default)]
    pub secret: bool,
    /// What a reader must know.
    #[serde(default)]
    pub note: Option<String>,
}

/// A body: a word (`string`, `integer`, `empty`, `raw`, `any`) or a form with its model.
#[derive(Debug)]
pub enum BodySpec {
    /// `string`, `integer`, `empty`, `raw`, `any`.
    Word(String),
    /// `{ object: M }`, `{ array: M }`, `{ paged: M }`, `{ type: T }`.
    Form(Box<BodyFormSpec>),
}

/// A body with its model.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BodyFormSpec {
    /// One object of this model.
    #[serde(default)]
    pub object: Option<Spanned<String>>,
    /// An array of this model.
    #[serde(default)]
    pub array: Option<Spanned<String>>,
    /// `{TotalCount, Data: [M]}`.
    #[serde(default)]
    pub paged: Option<Spanned<String>>,
    /// Any type expression.
    #[serde(default, rename = "type")]
    pub ty: Option<Spanned<String>>,
}

/// How the simulator answers an endpoint.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeSpec {
    /// Every record of this model.
    #[serde(default)]
    pub list: Option<Spanned<String>>,
    /// The record whose id is the route's last parameter.
    #[serde(default)]
    pub get: Option<Spanned<String>>,
    /// A new record.
    #[serde(default)]
    pub create: Option<Spanned<String>>,
    /// A changed record.
    #[serde(default)]
    pub update: Option<Spanned<String>>,
    /// A removed record.
    #[serde(default)]
    pub delete: Option<Spanned<String>>,
    /// The parent model whose id is a route parameter.
    #[serde(default)]
    pub parent: Option<Spanned<String>>,
    /// With `list`: the records linked to the route's record by this link.
    #[serde(default)]
    pub via: Option<Spanned<String>>,
    /// Links the route's two records.
    #[serde(default)]
    pub link: Option<Spanned<String>>,
    /// Unlinks the route's two records (or, with one record in the route, all its links).
    #[serde(default)]
    pub unlink: Option<Spanned<String>>,
    /// Query parameters that filter, each with the field it compares.
    #[serde(default)]
    pub filters: BTreeMap<String, String>,
    /// With `create`: record fields the body gives under another name, each with that name.
    #[serde(default)]
    pub from: BTreeMap<String, String>,
    /// With `delete`: the child models whose records are deleted with the record.
    #[serde(default)]
    pub with: Vec<Spanned<String>>,
    /// Code in the simulator.
    #[serde(default)]
    pub behaviour: Option<Spanned<String>>,
}

/// Deserializes a value that a file may write in several YAML forms, dispatching on the form
/// (an untagged enum would report only "did not match any variant", with no reason): each
/// arm names the form and how it becomes the value, and the `expecting` text says what fits.
macro_rules! forms {
    ($ty:ty, $expecting:literal, { $($arm:tt)* }) => {
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct Visit;
                impl<'de> serde::de::Visitor<'de> for Visit {
                    type Value = $ty;
                    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                        f.write_str($expecting)
                    }
                    forms!(@arms $($arm)*);
                }
                d.deserialize_any(Visit)
            }
        }
    };
    (@arms) => {};
    (@arms str => $f:expr, $($rest:tt)*) => {
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
            #[allow(clippy::redundant_closure_call)]
            Ok(($f)(v.to_owned()))
        }
        forms!(@arms $($rest)*);
    };
    (@arms bool => $f:expr, $($rest:tt)*) => {
        fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Self::Value, E> {
            #[allow(clippy::redundant_closure_call)]
            Ok(($f)(v))
        }
        forms!(@arms $($rest)*);
    };
    (@arms seq => $f:expr, $($rest:tt)*) => {
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            let v = Deserialize::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))?;
            #[allow(clippy::redundant_closure_call)]
            Ok(($f)(v))
        }
        forms!(@arms $($rest)*);
    };
    (@arms map => $f:expr, $($rest:tt)*) => {
        fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            let v = Deserialize::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
            #[allow(clippy::redundant_closure_call)]
            Ok(($f)(v))
        }
        forms!(@arms $($rest)*);
    };
}

forms!(FieldSpec, "a type such as `integer | null`, or a map with `type:`", {
    str => FieldSpec::Type,
    map => |f| FieldSpec::Full(Box::new(f)),
});
forms!(ParamSpec, "a type such as `integer`, or a map with `type:`", {
    str => ParamSpec::Type,
    map => |p| ParamSpec::Full(Box::new(p)),
});
forms!(ResponsesSpec, "a response form (a map with `body:`), or a list of forms each with `when:`", {
    map => |r| ResponsesSpec::One(Box::new(r)),
    seq => ResponsesSpec::Forms,
});
forms!(BodySpec, "string, integer, empty, raw, any, or a map: `{ object: M }`, `{ array: M }`, `{ paged: M }`, `{ type: T }`", {
    str => BodySpec::Word,
    map => |b| BodySpec::Form(Box::new(b)),
});
forms!(SourceRefs, "a source id, or a list of source ids", {
    str => SourceRefs::One,
    seq => SourceRefs::Many,
});
forms!(Optional, "`true`, `false`, or a sentence saying when the field is absent", {
    bool => Optional::Flag,
    str => Optional::Because,
});
forms!(QueryCondition, "a query parameter's name, a list of names, or a map of names to values", {
    str => QueryCondition::One,
    seq => QueryCondition::All,
    map => QueryCondition::Values,
});
