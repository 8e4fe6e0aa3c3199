//! Values of the documented models as the simulator's data variants take them: a record made
//! from its model, and any answer the simulator builds made to fit its model. [`fit`] is the one
//! place that decides what a position holds when nothing else did, so every answer stays within
//! what the catalog documents: a field the model requires is there, `null` only where the model
//! allows it, and (in the sparse variant) every nullable position `null` and every optional
//! field absent unless the caller keeps it. It owns no records and no routes.

use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use serde_json::{Map, Value};

use crate::catalog::{Field, ModelRef, Models, Term, TypeExpr};
use crate::shape::StringFormat;

/// Models nest (a folder holds folders, a rule its children); past this depth a generated
/// position is left empty rather than expanded forever.
const MAX_DEPTH: usize = 6;

/// The date a generated record carries, as .NET writes one without a zone.
pub(crate) const SOME_DATE: &str = "2024-12-10T08:57:45.9";
/// What .NET writes for a `DateTime` that was never set (`DateTime.MinValue`): the value a
/// server sends for a non-nullable date it has nothing for.
pub(crate) const NO_DATE: &str = "0001-01-01T00:00:00";
/// What .NET writes for a `Guid` that was never set (`Guid.Empty`).
pub(crate) const NO_GUID: &str = "00000000-0000-0000-0000-000000000000";

/// The time now, as .NET writes a `DateTime` (no zone suffix).
pub(crate) fn now() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let mut t = crate::report::rfc3339(secs);
    t.pop();
    t
}

/// How [`fit`] treats a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fit {
    /// Values it makes up are the emptiest the type allows: `null` where the type admits it,
    /// optional fields left out, empty strings, zero, `false`.
    pub sparse: bool,
    /// Every optional field is removed and every nullable field made `null`, except the fields
    /// the caller keeps: the sparse variant's rule for the records it makes.
    pub strip: bool,
    /// Optional fields the value lacks are made up as well (not only the required ones), and
    /// made-up values are sample data; otherwise a required field the value lacks takes a
    /// server's default (empty text, zero, `false`, no date, the first documented value).
    pub complete: bool,
    /// Where [`Fit::strip`] meets a field that is both optional and nullable, it is made `null`
    /// rather than left out; the records of a variant alternate, so both freedoms are taken.
    pub null_optional: bool,
    /// A nullable field the value lacks is made `null` rather than made up: what a record says
    /// nothing about is not known.
    pub null_missing: bool,
}

impl Fit {
    /// For a record the simulator makes: complete, and stripped in the sparse variant.
    pub(crate) fn make(sparse: bool) -> Fit {
        Fit { sparse, strip: sparse, complete: !sparse, null_optional: false, null_missing: false }
    }

    /// For a demo record: what it is given, with `null` where a nullable field is not given and
    /// a server's default only where the model requires a value; stripped in the sparse variant.
    pub(crate) fn plant(sparse: bool) -> Fit {
        Fit { sparse, strip: sparse, complete: false, null_optional: false, null_missing: true }
    }

    /// For a record made from a request body: what the body leaves out takes a server's
    /// defaults (an empty string, zero, `false`, `null` where allowed), nothing made up.
    pub(crate) fn defaults() -> Fit {
        Fit { sparse: true, strip: false, complete: false, null_optional: false, null_missing: true }
    }

    /// For an answer built from records: only what the model requires is added, as a server's
    /// default (a stored `null` shown in a model that cannot be null reads as `""`, not as text
    /// the record never held).
    pub(crate) fn answer(sparse: bool) -> Fit {
        Fit { sparse, strip: false, complete: false, null_optional: false, null_missing: true }
    }

    /// For a view the simulator builds from records (a requestable account, a secret in a
    /// model version): as [`Fit::answer`], and stripped in the sparse variant, optional and
    /// nullable fields taking `null` on every other record (`alternate`).
    pub(crate) fn view(sparse: bool, alternate: bool) -> Fit {
        Fit { sparse, strip: sparse, complete: false, null_optional: alternate, null_missing: true }
    }

    /// The same, with optional and nullable fields taking `null` instead of being left out.
    pub(crate) fn nulls(self, yes: bool) -> Fit {
        Fit { null_optional: yes, ..self }
    }
}

/// `value` made to fit `model` (its fields in `version`, or in every version when `None`):
/// required fields it lacks and `null`s the model does not allow are replaced by made-up
/// values, nested models are fitted the same way, and with [`Fit::strip`] every optional or
/// nullable field not named in `keep` takes its sparse form. Fields the model does not know are
/// left as they are. `seed` makes the made-up values repeatable.
pub(crate) fn fit(
    models: &Models,
    model: &ModelRef,
    value: Value,
    how: Fit,
    keep: &[&str],
    version: Option<(u32, u32)>,
    seed: u64,
) -> Value {
    Filler { models, how, version, rng: StdRng::seed_from_u64(seed) }.model(model, value, keep, 0)
}

/// A made-up value of a type, as [`fit`] makes them.
pub(crate) fn make(models: &Models, ty: &TypeExpr, how: Fit, seed: u64) -> Value {
    Filler { models, how, version: None, rng: StdRng::seed_from_u64(seed) }.make(ty, None, 0)
}

/// A number that changes with every input byte, for seeds.
pub(crate) fn seed_of(parts: &[&str]) -> u64 {
    parts
        .iter()
        .flat_map(|p| p.bytes().chain([0]))
        .fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

struct Filler<'a> {
    models: &'a Models,
    how: Fit,
    version: Option<(u32, u32)>,
    rng: StdRng,
}

impl Filler<'_> {
    fn model(&mut self, r: &ModelRef, value: Value, keep: &[&str], depth: usize) -> Value {
        let Some(model) = self.models.model(r) else { return value };
        let mut object = match value {
            Value::Object(o) => o,
            _ => Map::new(),
        };
        let fields: Vec<Field> = model.fields.clone();
        for f in &fields {
            if self.version.is_some_and(|v| !f.in_version(v)) {
                object.remove(&f.name);
                continue;
            }
            let (optional, nullable) = crate::catalog::documented::binding(self.models, model, f);
            if self.how.strip && !keep.contains(&f.name.as_str()) {
                // Optional fields whose null the pages write alternate between null and absent;
                // a null only tolerated (see `binding`) does not take an optional field's place.
                if optional && !(f.ty.nullable() && self.how.null_optional) {
                    object.remove(&f.name);
                    continue;
                }
                if nullable {
                    object.insert(f.name.clone(), Value::Null);
                    continue;
                }
            }
            let fitted = match object.remove(&f.name) {
                Some(Value::Null) if nullable => Some(Value::Null),
                Some(v) if !v.is_null() && admits(&f.ty, &v) => Some(self.nested(&f.ty, v, depth)),
                // A field the caller gave the wrong kind or an unwanted null: the model wins.
                Some(_) => Some(self.make(&f.ty, Some(f), depth)),
                None if nullable && !optional && self.how.null_missing => Some(Value::Null),
                None if !optional => Some(self.make(&f.ty, Some(f), depth)),
                None if self.how.complete && !self.how.sparse && !f.secret => Some(self.make(&f.ty, Some(f), depth)),
                None => None,
            };
            if let Some(v) = fitted {
                object.insert(f.name.clone(), v);
            }
        }
        Value::Object(object)
    }

    /// A present value fitted inside: the model of an object, each element of an array.
    fn nested(&mut self, ty: &TypeExpr, value: Value, depth: usize) -> Value {
        if depth >= MAX_DEPTH {
            return value;
        }
        let models: Vec<&Term> = ty.0.iter().filter(|t| !matches!(t, Term::Null)).collect();
        match (models.as_slice(), value) {
            ([Term::Model(r)], v @ Value::Object(_)) => {
                let r = r.clone();
                self.model(&r, v, &[], depth + 1)
            }
            ([Term::Array(inner)], Value::Array(items)) => match inner.as_ref() {
                Term::Model(r) => {
                    let r = r.clone();
                    Value::Array(items.into_iter().map(|i| self.model(&r, i, &[], depth + 1)).collect())
                }
                _ => Value::Array(items),
            },
            (_, v) => v,
        }
    }

    /// Whether made-up values take a server's defaults (empty text, zero, false, no date) rather
    /// than sample data: in the sparse variant, and wherever a record the simulator holds lacks a
    /// value its answer needs, so that a stored `null` shown in a model that cannot be null reads
    /// as a default instead of invented text.
    fn plain(&self) -> bool {
        self.how.sparse || !self.how.complete
    }

    /// A made-up value of a type: for `field`, its documented values and example where the
    /// type allows them.
    fn make(&mut self, ty: &TypeExpr, field: Option<&Field>, depth: usize) -> Value {
        if self.how.sparse && ty.nullable() {
            return Value::Null;
        }
        let Some(term) = ty.0.iter().find(|t| !matches!(t, Term::Null)) else { return Value::Null };
        if let Some(f) = field {
            if let Some(v) = self.documented_value(f, term) {
                return v;
            }
            if f.secret && matches!(term, Term::String(_)) {
                // A credential position: the simulator's own random value, never a page's example.
                return Value::String(self.alphanumeric(24));
            }
        }
        self.term(term, field.map(|f| f.name.as_str()), depth)
    }

    /// One of the field's documented values, or its example, when they fit the type.
    fn documented_value(&mut self, f: &Field, term: &Term) -> Option<Value> {
        if !f.values.is_empty() {
            let i = if self.plain() { 0 } else { self.rng.random_range(0..f.values.len()) };
            return f.values.get(i).cloned();
        }
        let example = f.example.as_ref().filter(|_| !f.secret && !self.plain())?;
        admits(&TypeExpr(vec![term.clone()]), example).then(|| example.clone())
    }

    fn term(&mut self, term: &Term, name: Option<&str>, depth: usize) -> Value {
        let sparse = self.plain();
        match term {
            Term::Integer if sparse => Value::from(0),
            Term::Integer => Value::from(self.rng.random_range(1..1000)),
            Term::Number if sparse => Value::from(0),
            Term::Number => Value::from(f64::from(self.rng.random_range(1..4000)) / 4.0),
            Term::Boolean => Value::Bool(!sparse && self.rng.random_bool(0.5)),
            Term::Null => Value::Null,
            Term::Object => Value::Object(Map::new()),
            Term::Any if sparse => Value::Null,
            Term::Any => Value::String(format!("{}-{}", kebab(name.unwrap_or("value")), self.rng.random_range(1..100))),
            Term::String(format) => Value::String(self.string(format.unwrap_or(StringFormat::Plain), name)),
            Term::Model(r) if depth < MAX_DEPTH => {
                let r = r.clone();
                self.model(&r, Value::Object(Map::new()), &[], depth + 1)
            }
            Term::Model(_) => Value::Object(Map::new()),
            // One element, so that the positions inside an array are seen too.
            Term::Array(inner) if depth < MAX_DEPTH => Value::Array(vec![self.term(inner, name, depth + 1)]),
            Term::Array(_) => Value::Array(Vec::new()),
            Term::Map(inner) if depth < MAX_DEPTH => {
                let mut m = Map::new();
                m.insert("1001".to_owned(), self.term(inner, name, depth + 1));
                Value::Object(m)
            }
            Term::Map(_) => Value::Object(Map::new()),
        }
    }

    fn string(&mut self, format: StringFormat, name: Option<&str>) -> String {
        let sparse = self.plain();
        match format {
            StringFormat::DateTime if sparse => NO_DATE.to_owned(),
            StringFormat::DateTime => {
                format!(
                    "2024-{:02}-{:02}T{:02}:24:26.323",
                    self.rng.random_range(1..13),
                    self.rng.random_range(1..29),
                    self.rng.random_range(0..24)
                )
            }
            StringFormat::Guid => {
                let b: [u8; 16] = self.rng.random();
                let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
                format!("{}-{}-4{}-8{}-{}", &h[0..8], &h[8..12], &h[13..16], &h[17..20], &h[20..32])
            }
            StringFormat::Email => {
                format!("{}{}@example.com", kebab(name.unwrap_or("user")), self.rng.random_range(1..100))
            }
            StringFormat::Plain if sparse => String::new(),
            StringFormat::Plain => format!("{}-{}", kebab(name.unwrap_or("text")), self.rng.random_range(1..1000)),
        }
    }

    fn alphanumeric(&mut self, len: usize) -> String {
        (0..len).map(|_| char::from(self.rng.sample(rand::distr::Alphanumeric))).collect()
    }
}

/// Whether a request's value may be written into a record's field: of one of its type's
/// kinds, one of its documented values when it has some, and of its string format when it has
/// one. What a record holds is what every later answer shows, so a value the field's documented
/// model would not admit (`""` for a date, `AAA` for a kind) is not written, and the record
/// keeps the value it had.
pub(crate) fn writable(field: &Field, value: &Value) -> bool {
    let format_holds = |s: &str| {
        field.ty.0.iter().any(|t| match t {
            Term::String(Some(f)) if f.pattern().is_some() => StringFormat::of(s) == *f,
            Term::String(_) => true,
            _ => false,
        })
    };
    admits(&field.ty, value)
        && (value.is_null() || field.values.is_empty() || field.values.contains(value))
        && value.as_str().is_none_or(format_holds)
}

/// Whether a value is of one of a type's kinds (formats are hints and never refuse a string;
/// a model or an object admits any object).
pub(crate) fn admits(ty: &TypeExpr, value: &Value) -> bool {
    ty.0.iter().any(|t| match (t, value) {
        (Term::Any, _) | (Term::Null, Value::Null) | (Term::Boolean, Value::Bool(_)) => true,
        (Term::Integer, Value::Number(n)) => n.is_i64() || n.is_u64(),
        (Term::Number, Value::Number(_)) | (Term::String(_), Value::String(_)) => true,
        (Term::Object | Term::Model(_) | Term::Map(_), Value::Object(_)) | (Term::Array(_), Value::Array(_)) => true,
        _ => false,
    })
}

/// `ManagedSystem` as `managed-system`.
pub(crate) fn kebab(name: &str) -> String {
    let mut out = String::new();
    let mut previous_upper = true;
    for c in name.chars() {
        if c.is_ascii_uppercase() && !previous_upper {
            out.push('-');
        }
        previous_upper = c.is_ascii_uppercase();
        out.push(c.to_ascii_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    #[test]
    fn a_request_value_its_field_would_not_admit_is_not_written() {
        let catalog = Catalog::builtin().expect("the built-in catalog");
        let field = |area: &str, model: &str, name: &str| {
            let r = ModelRef { area: Some(area.into()), name: model.into() };
            catalog.models.model(&r).and_then(|m| m.fields.iter().find(|f| f.name == name)).cloned().expect("a field")
        };
        let date = field("managed-accounts", "ManagedAccount", "NextChangeDate");
        assert!(writable(&date, &serde_json::json!("2024-12-19T20:24:26.323")) && writable(&date, &Value::Null));
        assert!(!writable(&date, &serde_json::json!("")) && !writable(&date, &serde_json::json!(5)));
        let kind = field("users", "User", "UserType");
        assert!(writable(&kind, &serde_json::json!("BeyondInsight")));
        assert!(!writable(&kind, &serde_json::json!("AAA")), "not one of the documented values");
    }

    fn account() -> ModelRef {
        ModelRef { area: Some("managed-accounts".into()), name: "ManagedAccount".into() }
    }

    #[test]
    fn a_made_record_has_every_required_field_and_no_forbidden_null() {
        let c = Catalog::builtin().expect("catalog");
        let m = c.models.model(&account()).expect("model");
        for sparse in [false, true] {
            let v = fit(&c.models, &account(), Value::Null, Fit::make(sparse), &[], None, 7);
            for f in &m.fields {
                let got = v.get(&f.name);
                let (optional, nullable) = crate::catalog::documented::binding(&c.models, m, f);
                if !optional {
                    assert!(got.is_some(), "{} missing (sparse {sparse})", f.name);
                }
                if let Some(got) = got.filter(|g| !(g.is_null() && nullable)) {
                    assert!(admits(&f.ty, got), "{}: {got} is not a {:?}", f.name, f.ty);
                }
                if sparse && optional {
                    assert!(got.is_none(), "{} is optional: the sparse variant leaves it out", f.name);
                }
                if sparse && nullable && !optional {
                    assert_eq!(got, Some(&Value::Null), "{}", f.name);
                }
            }
        }
    }

    #[test]
    fn a_given_value_is_kept_unless_the_model_forbids_it() {
        let c = Catalog::builtin().expect("catalog");
        let given = serde_json::json!({"AccountName": "svc", "DomainName": null, "ParentAccountID": null, "Extra": 1});
        let v = fit(&c.models, &account(), given, Fit::answer(false), &[], None, 1);
        assert_eq!(v["AccountName"], "svc");
        assert_eq!(v["DomainName"], "", "a null the model forbids reads as a server's default, not invented text");
        assert!(v["ParentAccountID"].is_null(), "a documented null stays");
        assert_eq!(v["Extra"], 1, "fields the model does not know stay");
        let kept = fit(
            &c.models,
            &account(),
            serde_json::json!({"ParentAccountID": 3}),
            Fit::make(true),
            &["ParentAccountID"],
            None,
            1,
        );
        assert_eq!(kept["ParentAccountID"], 3, "a kept field survives the sparse rule");
    }

    #[test]
    fn only_a_made_record_carries_sample_data() {
        let c = Catalog::builtin().expect("catalog");
        let made = fit(&c.models, &account(), Value::Null, Fit::make(false), &[], None, 7);
        assert!(made["AccountName"].as_str().is_some_and(|s| !s.is_empty()), "{}", made["AccountName"]);
        let answered = fit(&c.models, &account(), serde_json::json!({}), Fit::answer(false), &[], None, 7);
        assert_eq!(answered["AccountName"], "", "an answer adds defaults, not sample data");
    }

    #[test]
    fn seeds_repeat_and_names_read() {
        assert_eq!(seed_of(&["a", "b"]), seed_of(&["a", "b"]));
        assert_ne!(seed_of(&["ab", ""]), seed_of(&["a", "b"]));
        assert_eq!(kebab("ManagedSystem"), "managed-system");
        assert_eq!(kebab("DNSName"), "dnsname");
    }
}
