//! Comparing shapes: a response against its endpoint's contract (does it conform?), and one
//! contract against another (what drifted between two recordings?). Both walk the same way
//! and name each difference once, with where it is, what happened, and how much it matters.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::infer::{BodyShape, Node, ResponseShape, StringFormat};
use super::text::key_text;
use crate::seal::{Redact, Redactor};

/// How much a difference matters to a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth knowing, never failing: a string format hint changed, a variation not seen again.
    Info,
    /// A client that worked before keeps working: a new field, a new cookie.
    Additive,
    /// A client that worked before may break: a required field missing, a type outside the
    /// union, `null` where the contract does not allow it.
    Breaking,
}

/// Declares each kind of shape change once: its words (in every report, and its JSON tag) and
/// how much it matters.
macro_rules! change_kinds {
    ($( $(#[$doc:meta])* $variant:ident => $words:literal, $severity:ident; )+) => {
        /// What happened to a place of a shape.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum ChangeKind {
            $( $(#[$doc])* #[serde(rename = $words)] $variant, )+
        }

        impl ChangeKind {
            /// The words a report uses.
            pub fn words(self) -> &'static str {
                match self { $(ChangeKind::$variant => $words),+ }
            }

            /// How much it matters to a client.
            pub fn severity(self) -> Severity {
                match self { $(ChangeKind::$variant => Severity::$severity),+ }
            }
        }
    };
}

change_kinds! {
    /// Another status than the contract's.
    StatusChanged => "status changed", Breaking;
    /// A content type the contract does not list.
    ContentTypeNew => "content type not in the contract", Breaking;
    /// A content type the older set listed was not seen.
    ContentTypeNotSeen => "content type not seen", Info;
    /// A required cookie is no longer set.
    CookieGone => "cookie no longer set", Breaking;
    /// An optional cookie was not seen.
    OptionalCookieNotSeen => "optional cookie not seen", Info;
    /// A required cookie is not always set.
    CookieOptional => "cookie not always set", Breaking;
    /// A cookie the contract does not list.
    CookieNew => "new cookie", Additive;
    /// A body form (empty, text, JSON) the contract does not allow.
    BodyFormNew => "body form not in the contract", Breaking;
    /// A value where the older set saw only empty arrays.
    FirstSeen => "first seen", Additive;
    /// A value where the contract saw only `null`: it says nothing of the type.
    ValueWhereOnlyNull => "a value where only null was seen", Additive;
    /// A type outside the contract's union.
    Retyped => "retyped", Breaking;
    /// Fewer types than the older set saw.
    Narrowed => "narrowed", Info;
    /// `null` where the contract does not allow it.
    BecameNullable => "became nullable", Breaking;
    /// No `null` where the older set saw one.
    NoLongerNull => "no longer null", Info;
    /// A string format hint differs.
    FormatHintChanged => "format hint changed", Info;
    /// A required field is missing.
    RequiredFieldMissing => "required field missing", Breaking;
    /// An optional field was not seen.
    OptionalFieldNotSeen => "optional field not seen", Info;
    /// A required field is not always present.
    BecameOptional => "became optional", Breaking;
    /// An optional field was present every time.
    NowAlwaysPresent => "now always present", Info;
    /// A field the contract does not list.
    NewField => "new field", Additive;
    /// An object had more fields than a shape keeps (`shape::infer::MAX_FIELDS`): they were
    /// counted, not compared.
    FieldsNotKept => "more fields than a shape keeps", Additive;
}

/// Changes a verdict or a drifted contract lists; the rest are counted ("and N more").
pub const MAX_CHANGES: usize = 200;

/// Keeps the first [`MAX_CHANGES`] of `changes` (they are sorted, breaking first) and returns
/// how many it left out.
pub fn cap(changes: &mut Vec<Change>) -> usize {
    let more = changes.len().saturating_sub(MAX_CHANGES);
    changes.truncate(MAX_CHANGES);
    more
}

impl std::fmt::Display for ChangeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.words())
    }
}

/// One difference.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Change {
    /// Where: `status`, `content-type`, `cookie NAME`, `body`, or a body path such as `.UserId`.
    pub at: String,
    /// What happened: `required field missing`, `retyped`, `became nullable`, …
    pub what: ChangeKind,
    /// Before, when there was something.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    /// After, when there is something.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// How much it matters.
    pub severity: Severity,
}

impl Change {
    fn new(at: impl Into<String>, what: ChangeKind, before: Option<String>, after: Option<String>) -> Self {
        Change { at: at.into(), what, before, after, severity: what.severity() }
    }

    /// One line, as a reviewer reads it.
    pub fn line(&self) -> String {
        let mut s = format!("{}: {}", self.at, self.what);
        match (&self.before, &self.after) {
            (Some(b), Some(a)) => {
                let _ = write!(s, " ({b} -> {a})");
            }
            (Some(b), None) => {
                let _ = write!(s, " (was {b})");
            }
            (None, Some(a)) => {
                let _ = write!(s, " ({a})");
            }
            (None, None) => {}
        }
        s
    }
}

impl Redact for Change {
    fn redact(&mut self, r: &Redactor) {
        self.at.redact(r);
        self.before.redact(r);
        self.after.redact(r);
    }
}

/// What the comparison is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// One response against its contract: what the contract allows but the response does not
    /// use is no change at all.
    Conform,
    /// Two contracts: variety the old one recorded and the new one did not is reported, as
    /// information.
    Drift,
}

/// Every difference from `old` (a contract) to `new` (a response, or another contract),
/// breaking ones first, then by place.
pub fn compare(old: &ResponseShape, new: &ResponseShape, mode: Mode) -> Vec<Change> {
    let mut out = Vec::new();
    if old.status != new.status {
        out.push(Change::new(
            "status",
            ChangeKind::StatusChanged,
            Some(old.status.to_string()),
            Some(new.status.to_string()),
        ));
    }
    for ct in new.content_types.difference(&old.content_types) {
        let before = old.content_types.iter().cloned().collect::<Vec<_>>().join(" | ");
        out.push(Change::new("content-type", ChangeKind::ContentTypeNew, Some(before), Some(ct.clone())));
    }
    if mode == Mode::Drift {
        for ct in old.content_types.difference(&new.content_types) {
            out.push(Change::new("content-type", ChangeKind::ContentTypeNotSeen, Some(ct.clone()), None));
        }
    }
    for (name, optional) in &old.cookies {
        match new.cookies.get(name) {
            None if !optional => out.push(Change::new(format!("cookie {name}"), ChangeKind::CookieGone, None, None)),
            None if mode == Mode::Drift => {
                out.push(Change::new(format!("cookie {name}"), ChangeKind::OptionalCookieNotSeen, None, None))
            }
            Some(true) if !optional => {
                out.push(Change::new(format!("cookie {name}"), ChangeKind::CookieOptional, None, None))
            }
            _ => {}
        }
    }
    for name in new.cookies.keys().filter(|n| !old.cookies.contains_key(*n)) {
        out.push(Change::new(format!("cookie {name}"), ChangeKind::CookieNew, None, None));
    }
    compare_bodies(&old.body, &new.body, mode, &mut out);
    // Fields counted and not kept come first of their severity: a capped list still says so.
    let counted = |c: &Change| c.what != ChangeKind::FieldsNotKept;
    out.sort_by(|a, b| {
        b.severity.cmp(&a.severity).then_with(|| counted(a).cmp(&counted(b))).then_with(|| a.at.cmp(&b.at))
    });
    out.dedup();
    out
}

fn body_kinds(b: &BodyShape) -> String {
    let mut k = Vec::new();
    if b.empty {
        k.push("empty".to_owned());
    }
    if b.text {
        k.push("text".to_owned());
    }
    if let Some(n) = &b.json {
        k.extend(n.kinds());
    }
    k.join(" | ")
}

fn compare_bodies(old: &BodyShape, new: &BodyShape, mode: Mode, out: &mut Vec<Change>) {
    let widened = (new.empty && !old.empty) || (new.text && !old.text) || (new.json.is_some() && old.json.is_none());
    if widened {
        out.push(Change::new("body", ChangeKind::BodyFormNew, Some(body_kinds(old)), Some(body_kinds(new))));
    }
    if let (Some(a), Some(b)) = (&old.json, &new.json) {
        compare_nodes(a, b, "", mode, out);
    }
}

fn compare_nodes(old: &Node, new: &Node, path: &str, mode: Mode, out: &mut Vec<Change>) {
    let at = if path.is_empty() { "body".to_owned() } else { path.to_owned() };
    if old.any {
        // The contract allows any value here: nothing to compare.
        return;
    }
    if old.is_unknown() {
        // Only empty arrays were seen here: whatever comes now is new, not wrong.
        if !new.is_unknown() && mode == Mode::Drift {
            out.push(Change::new(&at, ChangeKind::FirstSeen, None, Some(new.kinds().join(" | "))));
        }
        return;
    }
    if new.is_unknown() {
        return;
    }
    let (ko, kn) = (old.base_kinds(), new.base_kinds());
    // Only `null` was ever seen here, so the contract says nothing of the type a value has:
    // a value is news, not a break. A reviewer writes the documented type in by hand.
    if ko.is_empty() && old.null {
        if !kn.is_empty() {
            out.push(Change::new(&at, ChangeKind::ValueWhereOnlyNull, None, Some(new.kinds().join(" | "))));
        }
        return;
    }
    // An integer where the contract says number is a number.
    let admitted = |k: &&str| ko.contains(k) || (*k == "integer" && ko.contains(&"number"));
    let outside: Vec<&str> = kn.iter().filter(|k| !admitted(k)).copied().collect();
    if !outside.is_empty() && !kn.is_empty() {
        out.push(Change::new(&at, ChangeKind::Retyped, Some(or_null(&ko)), Some(or_null(&kn))));
    } else if mode == Mode::Drift && !kn.is_empty() && ko.iter().any(|k| !kn.contains(k)) {
        out.push(Change::new(&at, ChangeKind::Narrowed, Some(or_null(&ko)), Some(or_null(&kn))));
    }
    if new.null && !old.null {
        out.push(Change::new(&at, ChangeKind::BecameNullable, None, None));
    }
    if mode == Mode::Drift && old.null && !new.null {
        out.push(Change::new(&at, ChangeKind::NoLongerNull, None, None));
    }
    if let (Some(a), Some(b)) = (old.string, new.string)
        && a != b
        && (a != StringFormat::Plain || mode == Mode::Drift)
    {
        let show = |f: StringFormat| {
            if f == StringFormat::Plain { "string".to_owned() } else { format!("string({})", f.name()) }
        };
        out.push(Change::new(&at, ChangeKind::FormatHintChanged, Some(show(a)), Some(show(b))));
    }
    if new.omitted > old.omitted {
        let p = if path.is_empty() { "body" } else { path };
        out.push(Change::new(p, ChangeKind::FieldsNotKept, None, Some(format!("{} more fields", new.omitted))));
    }
    if let (Some(a), Some(b)) = (&old.object, &new.object) {
        for (k, fa) in a {
            let p = format!("{path}{}", key_text(k));
            match b.get(k) {
                // The object had more fields than the shape kept: this one may be among them.
                None if new.omitted > 0 => {}
                None if !fa.optional => {
                    out.push(Change::new(&p, ChangeKind::RequiredFieldMissing, Some(fa.node.kinds().join(" | ")), None))
                }
                None if mode == Mode::Drift => out.push(Change::new(&p, ChangeKind::OptionalFieldNotSeen, None, None)),
                None => {}
                Some(fb) => {
                    if !fa.optional && fb.optional {
                        out.push(Change::new(&p, ChangeKind::BecameOptional, None, None));
                    }
                    if mode == Mode::Drift && fa.optional && !fb.optional {
                        out.push(Change::new(&p, ChangeKind::NowAlwaysPresent, None, None));
                    }
                    compare_nodes(&fa.node, &fb.node, &p, mode, out);
                }
            }
        }
        for (k, fb) in b.iter().filter(|(k, _)| !old.open && !a.contains_key(*k)) {
            let p = format!("{path}{}", key_text(k));
            out.push(Change::new(&p, ChangeKind::NewField, None, Some(fb.node.kinds().join(" | "))));
        }
    }
    if let (Some(a), Some(b)) = (&old.map, &new.map) {
        compare_nodes(a, b, &format!("{path}{{}}"), mode, out);
    }
    if let (Some(a), Some(b)) = (&old.array, &new.array) {
        compare_nodes(a, b, &format!("{path}[]"), mode, out);
    }
}

fn or_null(kinds: &[&str]) -> String {
    if kinds.is_empty() { "null".to_owned() } else { kinds.join(" | ") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn shape(body: Value) -> ResponseShape {
        ResponseShape::infer(
            200,
            Some("application/json"),
            ["ASP.NET_SessionId".to_owned()],
            body.to_string().as_bytes(),
        )
    }

    fn lines(changes: &[Change]) -> String {
        changes.iter().map(|c| format!("{:?} {}", c.severity, c.line())).collect::<Vec<_>>().join("\n")
    }

    #[test]
    fn a_drift_reads_like_a_review() {
        let old = shape(json!({"UserId": 7, "SID": "S-1", "Name": "n", "Gone": 1}));
        let mut new = shape(json!({"UserId": "7", "SID": null, "Name": "n", "Added": true}));
        new.cookies.clear();
        insta::assert_snapshot!(lines(&compare(&old, &new, Mode::Drift)), @r"
        Breaking .Gone: required field missing (was integer)
        Breaking .SID: became nullable
        Breaking .UserId: retyped (integer -> string)
        Breaking cookie ASP.NET_SessionId: cookie no longer set
        Additive .Added: new field (boolean)
        ");
    }

    #[test]
    fn an_object_the_documentation_leaves_open_takes_any_fields_and_only_an_object() {
        let open = Node { object: Some(Default::default()), open: true, ..Node::default() };
        let closed = Node { object: Some(Default::default()), ..Node::default() };
        let observed = Node::infer(&json!({"Name": "x", "Port": 22}));
        let mut out = Vec::new();
        compare_nodes(&open, &observed, "", Mode::Conform, &mut out);
        assert!(out.is_empty(), "{}", lines(&out));
        compare_nodes(&closed, &observed, "", Mode::Conform, &mut out);
        assert_eq!(out.len(), 2, "a recorded empty object reports new fields: {}", lines(&out));
        out.clear();
        compare_nodes(&open, &Node::infer(&json!("text")), "", Mode::Conform, &mut out);
        assert_eq!(out.len(), 1, "not an object is a retype: {}", lines(&out));
    }

    #[test]
    fn conformance_allows_what_the_contract_allows() {
        let contract = shape(json!({"SID": "S-1", "EmailAddress": "a@b.example", "UserName": "0f6a3d2e-5b1c-4e8f-9a7d-2c3b4a5d6e7f", "N": 1.5, "Opt": [{"A": 1}, {}]}))
            .merge(shape(json!({"SID": null, "EmailAddress": "", "UserName": "plain", "N": 1, "Opt": []})));
        let response = shape(
            json!({"SID": null, "EmailAddress": "x@y.example", "UserName": "0f6a3d2e-5b1c-4e8f-9a7d-2c3b4a5d6e7f", "N": 2, "Opt": [{}], "Extra": true}),
        );
        let changes = compare(&contract, &response, Mode::Conform);
        assert_eq!(lines(&changes), "Additive .Extra: new field (boolean)");
    }

    #[test]
    fn breaking_is_named_by_path() {
        let contract = shape(json!({"UserId": 7, "Items": [{"Id": "a"}]}));
        let response = shape(json!({"Items": [{"Id": null}, {}]}));
        let got = lines(&compare(&contract, &response, Mode::Conform));
        assert!(got.contains("Breaking .UserId: required field missing"), "{got}");
        assert!(got.contains("Breaking .Items[].Id: became nullable"), "{got}");
        assert!(got.contains("Breaking .Items[].Id: became optional"), "{got}");
    }

    #[test]
    fn a_value_where_only_null_was_seen_is_news_not_a_break() {
        let contract = shape(json!({"Domain": null}));
        let response = shape(json!({"Domain": "corp.example.com"}));
        let changes = compare(&contract, &response, Mode::Conform);
        assert_eq!(lines(&changes), "Additive .Domain: a value where only null was seen (string)");
    }

    #[test]
    fn formats_are_only_information() {
        let contract = shape(json!({"E": "a@b.example"}));
        let response = shape(json!({"E": "not an address"}));
        let changes = compare(&contract, &response, Mode::Conform);
        assert!(changes.iter().all(|c| c.severity == Severity::Info), "{changes:?}");
        assert!(compare(&response, &contract, Mode::Conform).is_empty(), "a plain string admits any format");
    }
}

/// Conformance as properties (issue #9): every observation conforms to the merge of any set
/// that holds it, a shape compared with itself shows nothing, and a field removed or retyped
/// in an observation breaks the contract at that field's path.
#[cfg(test)]
mod properties {
    use proptest::prelude::*;
    use serde_json::{Map, Value, json};

    use super::*;
    use crate::arbitrary::{self, field_key, json, shape};

    fn infer(status: u16, body: &Value) -> ResponseShape {
        ResponseShape::infer(status, Some("application/json"), [], body.to_string().as_bytes())
    }

    /// A set of observations of one status.
    fn observations() -> impl Strategy<Value = Vec<ResponseShape>> {
        prop::sample::select(vec![200u16, 201, 401]).prop_flat_map(|status| {
            prop::collection::vec(arbitrary::response(status), 1..6).prop_map(|rs| {
                rs.into_iter()
                    .map(|r| ResponseShape::infer(r.status, r.content_type.as_deref(), r.cookies, &r.body))
                    .collect()
            })
        })
    }

    /// An object body (fields named like the API's, never data keys, so it stays an object)
    /// and a second observation with the same fields and other values.
    fn object_pair() -> impl Strategy<Value = (Map<String, Value>, Map<String, Value>)> {
        prop::collection::btree_map(field_key(), json(), 1..6).prop_flat_map(|fields| {
            let n = fields.len();
            let first: Map<String, Value> = fields.into_iter().collect();
            (Just(first), prop::collection::vec(json(), n)).prop_map(|(first, values)| {
                let second = first.keys().cloned().zip(values).collect();
                (first, second)
            })
        })
    }

    /// A value of a kind the node does not admit, if there is one.
    fn outside(node: &Node) -> Option<Value> {
        [
            (node.string.is_none(), json!("x")),
            (!node.boolean, json!(true)),
            (!node.integer && !node.number, json!(7)),
            (!node.number, json!(1.5)),
            (node.array.is_none(), json!([])),
            (node.object.is_none(), json!({"Z": 1})),
            (node.map.is_none(), json!({"12": 1})),
            (!node.null, Value::Null),
        ]
        .into_iter()
        .find_map(|(fits, v)| fits.then_some(v))
    }

    fn severities(changes: &[Change]) -> Vec<(String, Severity)> {
        changes.iter().map(|c| (c.line(), c.severity)).collect()
    }

    proptest! {
        #![proptest_config(arbitrary::config(128))]

        #[test]
        fn every_observation_conforms_to_the_merge_of_its_set(obs in observations()) {
            let merged = obs.iter().cloned().reduce(ResponseShape::merge).expect("at least one");
            for o in &obs {
                let changes = compare(&merged, o, Mode::Conform);
                prop_assert!(
                    changes.iter().all(|c| c.severity == Severity::Info),
                    "{:?}\ncontract:\n{}\nobservation:\n{}", severities(&changes), merged.render(), o.render()
                );
            }
        }

        #[test]
        fn a_shape_compared_with_itself_shows_nothing(s in shape()) {
            prop_assert_eq!(compare(&s, &s, Mode::Conform), Vec::new());
            prop_assert_eq!(compare(&s, &s, Mode::Drift), Vec::new());
        }

        #[test]
        fn a_removed_field_breaks_the_contract((first, second) in object_pair(), pick in any::<prop::sample::Index>()) {
            let contract = infer(200, &Value::Object(first.clone())).merge(infer(200, &Value::Object(second)));
            let key = first.keys().nth(pick.index(first.len())).expect("a field").clone();
            let mut observed = first;
            observed.remove(&key);
            let changes = compare(&contract, &infer(200, &Value::Object(observed)), Mode::Conform);
            let at = crate::shape::text::key_text(&key);
            prop_assert!(
                changes.iter().any(|c| c.at == at && c.severity == Severity::Breaking && c.what == ChangeKind::RequiredFieldMissing),
                "{at}: {:?}", severities(&changes)
            );
        }

        #[test]
        fn a_retyped_field_breaks_the_contract((first, second) in object_pair(), pick in any::<prop::sample::Index>()) {
            let contract = infer(200, &Value::Object(first.clone())).merge(infer(200, &Value::Object(second)));
            let fields = contract.body.json.as_ref().and_then(|n| n.object.as_ref()).expect("an object contract");
            // A field where only null was seen says nothing of a type: a value there is news.
            let candidates: Vec<(&String, Value)> = fields
                .iter()
                .filter(|(_, f)| !f.node.base_kinds().is_empty())
                .filter_map(|(k, f)| outside(&f.node).map(|v| (k, v)))
                .collect();
            prop_assume!(!candidates.is_empty());
            let (key, value) = candidates[pick.index(candidates.len())].clone();
            let mut observed = first;
            observed.insert(key.clone(), value);
            let changes = compare(&contract, &infer(200, &Value::Object(observed)), Mode::Conform);
            let at = crate::shape::text::key_text(key);
            prop_assert!(
                changes.iter().any(|c| c.at == at && c.severity == Severity::Breaking),
                "{at}: {:?}", severities(&changes)
            );
        }
    }
}
