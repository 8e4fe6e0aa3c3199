//! The documented contract of an endpoint response: the shape its model in the catalog allows.
//! A documented field has a type, "can be null" is the only null it admits unless a cited
//! source shows more, and a field is optional only where the page makes it conditional (a
//! query parameter, a model version, a product release that added it). Every form a status
//! can take (the paged and the plain list, one object or an array) is one contract: their
//! union, so one model gives both.

use std::collections::BTreeMap;

use super::{Body, EndpointDoc, Model, ModelRef, Models, Presence, Term, TypeExpr};
use crate::shape::infer::{BodyShape, Field, NO_CONTENT_TYPE, Node, ResponseShape, StringFormat};

/// Models nest (a folder holds folders); past this depth a position is left unknown rather
/// than expanded forever.
const MAX_DEPTH: usize = 12;

/// What a model says of one field beyond its shape, by path (`.Password`, `[].SecretType`,
/// `.Data[].Title`, as the contract text writes paths): what a server that takes every freedom
/// the documentation allows must still keep.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldNotes {
    /// The documented values: another value is not a freedom.
    pub values: Vec<serde_json::Value>,
    /// It carries a credential a client uses again (a token): not another value either.
    pub secret: bool,
    /// Present only when this holds for the request.
    pub when: Option<crate::catalog::Condition>,
}

/// The notes of every field of `status` answers of `doc`, by path (every form's).
pub fn notes(models: &Models, doc: &EndpointDoc, status: u16, version: (u32, u32)) -> BTreeMap<String, FieldNotes> {
    let mut out = BTreeMap::new();
    for form in doc.responses.get(&status).into_iter().flatten() {
        match &form.body {
            Body::Object(m) => model_notes(models, m, version, "", &mut out, 0),
            Body::Array(m) => model_notes(models, m, version, "[]", &mut out, 0),
            Body::Paged(m) => model_notes(models, m, version, ".Data[]", &mut out, 0),
            _ => {}
        }
    }
    out
}

fn model_notes(
    models: &Models,
    r: &ModelRef,
    version: (u32, u32),
    at: &str,
    out: &mut BTreeMap<String, FieldNotes>,
    depth: usize,
) {
    let Some(m) = models.model(r) else { return };
    if depth >= MAX_DEPTH {
        return;
    }
    for f in m.fields.iter().filter(|f| f.in_version(version)) {
        let path = format!("{at}{}", crate::shape::text::key_text(&f.name));
        let when = match &f.presence {
            Presence::When(c) => Some(c.clone()),
            _ => None,
        };
        if !f.values.is_empty() || f.secret || when.is_some() {
            out.insert(path.clone(), FieldNotes { values: f.values.clone(), secret: f.secret, when });
        }
        for term in &f.ty.0 {
            let (inner, suffix) = match term {
                Term::Model(m) => (Some(m), ""),
                Term::Array(t) => match t.as_ref() {
                    Term::Model(m) => (Some(m), "[]"),
                    _ => (None, ""),
                },
                _ => (None, ""),
            };
            if let Some(inner) = inner {
                model_notes(models, inner, version, &format!("{path}{suffix}"), out, depth + 1);
            }
        }
    }
}

/// The documented shape of `status` answers of `doc` in model version `version` (`3.0` when
/// the request names none), or `None` when the page documents no such status.
pub fn documented(models: &Models, doc: &EndpointDoc, status: u16, version: (u32, u32)) -> Option<ResponseShape> {
    read(models, doc, status, How { version, tolerant: true })
}

/// The documented shape of the `status` answer to one request: of the form that applies to it
/// (the paged form when it gives `limit`, one object when it names one), where the union of
/// every form would let one form's fields pass for another's. The union when no form's
/// condition holds.
pub fn documented_for(
    models: &Models,
    doc: &EndpointDoc,
    status: u16,
    facts: &crate::catalog::RequestFacts,
) -> Option<ResponseShape> {
    let how = How { version: facts.version(), tolerant: true };
    match doc.form(status, facts) {
        Some(form) => Some(shape_of_form(models, form, status, how)),
        None => read(models, doc, status, how),
    }
}

/// [`documented`] as the pages write it, without the `null` a client-sourced field is
/// tolerated to take (see [`binding`]): the nullability the simulator's data must take at least
/// once.
pub fn documented_as_written(
    models: &Models,
    doc: &EndpointDoc,
    status: u16,
    version: (u32, u32),
) -> Option<ResponseShape> {
    read(models, doc, status, How { version, tolerant: false })
}

/// How a model is read: in which model version, and whether a client-sourced field's `null` is
/// tolerated.
#[derive(Debug, Clone, Copy)]
struct How {
    version: (u32, u32),
    tolerant: bool,
}

fn read(models: &Models, doc: &EndpointDoc, status: u16, how: How) -> Option<ResponseShape> {
    let forms = doc.responses.get(&status)?;
    let mut shape: Option<ResponseShape> = None;
    for form in forms {
        if form.when.as_ref().and_then(|c| c.version).is_some_and(|v| !v.admits(how.version)) {
            continue;
        }
        let one = shape_of_form(models, form, status, how);
        shape = Some(match shape {
            Some(s) => s.merge(one),
            None => one,
        });
    }
    shape
}

fn shape_of_form(models: &Models, form: &crate::catalog::model::ResponseForm, status: u16, how: How) -> ResponseShape {
    let body = body_shape(models, &form.body, how);
    let content_type = match (&form.body, &form.content_type) {
        (Body::Empty, _) | (_, None) => NO_CONTENT_TYPE.to_owned(),
        (_, Some(ct)) => ct.to_ascii_lowercase(),
    };
    ResponseShape { status, content_types: [content_type].into_iter().collect(), cookies: BTreeMap::new(), body }
}

fn body_shape(models: &Models, body: &Body, how: How) -> BodyShape {
    let json = |node: Node| BodyShape { empty: false, text: false, json: Some(node) };
    match body {
        Body::Empty => BodyShape { empty: true, text: false, json: None },
        Body::Raw => BodyShape { empty: true, text: true, json: None },
        Body::String => json(Node { string: Some(StringFormat::Plain), ..Node::default() }),
        Body::Integer => json(Node { integer: true, ..Node::default() }),
        Body::Any => json(any()),
        Body::Object(m) => json(model_node(models, m, how, 0)),
        Body::Array(m) => json(Node { array: Some(Box::new(model_node(models, m, how, 0))), ..Node::default() }),
        Body::Paged(m) => {
            let data = Node { array: Some(Box::new(model_node(models, m, how, 0))), ..Node::default() };
            let fields = [
                ("TotalCount".to_owned(), Field { optional: false, node: Node { integer: true, ..Node::default() } }),
                ("Data".to_owned(), Field { optional: false, node: data }),
            ];
            json(Node { object: Some(fields.into_iter().collect()), ..Node::default() })
        }
        Body::Type(t) => json(type_node(models, t, how, 0)),
    }
}

/// Any JSON value: nothing at or below it is compared.
fn any() -> Node {
    Node { any: true, ..Node::default() }
}

/// The documented shape of one model in a model version: an object whose fields have their
/// documented types, optional where the page makes them conditional.
pub fn model_shape(models: &Models, r: &ModelRef, version: (u32, u32)) -> Node {
    model_node(models, r, How { version, tolerant: true }, 0)
}

fn model_node(models: &Models, r: &ModelRef, how: How, depth: usize) -> Node {
    match models.model(r) {
        Some(m) if depth < MAX_DEPTH => object_node(models, m, how, depth),
        _ => Node::default(),
    }
}

fn object_node(models: &Models, m: &Model, how: How, depth: usize) -> Node {
    let fields = m
        .fields
        .iter()
        .filter(|f| f.in_version(how.version))
        .map(|f| {
            let mut node = type_node(models, &f.ty, how, depth + 1);
            let (optional, nullable) = binding(models, m, f);
            node.null |= if how.tolerant { nullable } else { f.ty.nullable() };
            (f.name.clone(), Field { optional, node })
        })
        .collect();
    Node { object: Some(fields), ..Node::default() }
}

/// How a model binds one of its fields: whether it may be absent, and whether it may be
/// `null`. Absent where the field is conditional (a query parameter, a model version), or
/// added in a later release; `null` where its type says so, and also:
///
/// - where a documented request that creates or changes such a record may leave the field
///   out (a secret's `Notes`): the server has nothing else to answer there;
/// - where only a client's field list (or another source that is not a vendor page) names a
///   scalar field: the name and type are known, not whether it may be null (a .NET server
///   writes a property it has no value for as `null`), unless the field names a record (an
///   id, a resource's name or parent field: what a client follows from call to call) or takes
///   documented values (a kind such as `SecretType`).
///
/// Contracts, the fixture and the simulator's data all take this one reading.
pub fn binding(models: &Models, m: &Model, f: &crate::catalog::Field) -> (bool, bool) {
    let sources = if f.sources.is_empty() { &m.sources } else { &f.sources };
    let vendor = sources.iter().any(|id| is_vendor(models, &m.area, id));
    let optional = f.presence != Presence::Required || f.since.is_some();
    let scalar = f.ty.0.iter().all(|t| !matches!(t, Term::Model(_) | Term::Array(_) | Term::Map(_) | Term::Object));
    let naming = names_a_record(models, &f.name);
    let client_only = !vendor && scalar && f.values.is_empty() && !naming;
    let unwritten =
        !naming && models.optional_when_written.contains(&((m.area.clone(), m.name.clone()), f.name.clone()));
    (optional, f.ty.nullable() || client_only || unwritten)
}

/// Whether a field names a record: an id (`Id`, `SystemID`), or a resource's name or parent
/// field (`Title` of a secret, `SystemName` of a system). A client follows such a field from
/// one call to the next, so it is never made up, varied or nulled where the documentation
/// does not say so.
pub fn names_a_record(models: &Models, field: &str) -> bool {
    field.to_ascii_lowercase().ends_with("id") || models.naming.contains(field)
}

/// Whether a source is one of the vendor's own pages (its documentation sites and its
/// community site), as opposed to a client's code or a third party's mock.
pub fn is_vendor(models: &Models, slug: &str, id: &str) -> bool {
    models.source(slug, id).is_some_and(|s| {
        url::Url::parse(&s.url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .is_some_and(|h| h == "beyondtrust.com" || h.ends_with(".beyondtrust.com"))
    })
}

fn type_node(models: &Models, t: &TypeExpr, how: How, depth: usize) -> Node {
    t.0.iter().map(|term| term_node(models, term, how, depth)).fold(Node::default(), Node::merge)
}

fn term_node(models: &Models, t: &Term, how: How, depth: usize) -> Node {
    match t {
        Term::Integer => Node { integer: true, ..Node::default() },
        Term::Number => Node { number: true, ..Node::default() },
        Term::String(f) => Node { string: Some(f.unwrap_or(StringFormat::Plain)), ..Node::default() },
        Term::Boolean => Node { boolean: true, ..Node::default() },
        Term::Null => Node { null: true, ..Node::default() },
        Term::Object => Node { object: Some(BTreeMap::new()), open: true, ..Node::default() },
        Term::Any => any(),
        Term::Model(r) => model_node(models, r, how, depth),
        Term::Array(inner) => {
            Node { array: Some(Box::new(term_node(models, inner, how, depth + 1))), ..Node::default() }
        }
        Term::Map(inner) => Node { map: Some(Box::new(term_node(models, inner, how, depth + 1))), ..Node::default() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use crate::shape::{Mode, Severity, compare};
    use serde_json::json;

    fn response(body: serde_json::Value) -> ResponseShape {
        ResponseShape::infer(200, Some("application/json"), Vec::<String>::new(), body.to_string().as_bytes())
    }

    fn breaking(contract: &ResponseShape, body: serde_json::Value) -> Vec<String> {
        compare(contract, &response(body), Mode::Conform)
            .iter()
            .filter(|c| c.severity == Severity::Breaking)
            .map(|c| c.line())
            .collect()
    }

    #[test]
    fn the_sign_in_model_gives_its_contract_and_a_null_only_position_still_has_a_type() {
        let catalog = Catalog::builtin().expect("the shipped catalog loads");
        let doc = catalog.models.endpoint("POST", "Auth/SignAppin").expect("documented");
        let contract = documented(&catalog.models, doc, 200, (3, 0)).expect("200 is documented");
        let user = json!({"UserId": 1, "SID": null, "EmailAddress": "a@b.example", "UserName": "u", "Name": "n"});
        assert_eq!(breaking(&contract, user.clone()), Vec::<String>::new());
        let mut retyped = user.clone();
        retyped["UserId"] = json!("1");
        assert_eq!(breaking(&contract, retyped), [".UserId: retyped (integer -> string)"]);
        let mut missing = user.clone();
        missing.as_object_mut().map(|o| o.remove("Name"));
        assert_eq!(breaking(&contract, missing), [".Name: required field missing (was string)"]);
        let mut sid = user;
        sid["SID"] = json!(5);
        assert_eq!(breaking(&contract, sid), [".SID: retyped (string -> integer)"]);
        assert!(documented(&catalog.models, doc, 418, (3, 0)).is_none());
    }
}
