//! `{{ name }}` templates: finding the variables a string uses, and rendering it.
//!
//! Variables hold JSON values: target settings and built-ins are strings, captures keep the
//! JSON type they had in the response. A string that is exactly one template (`"{{ id }}"`)
//! renders to the variable's own value, so `equals: "{{ user_id }}"` compares an integer with
//! an integer; a template inside other text renders the value's text form.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

static TEMPLATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}").expect("the template pattern is a valid regex")
});

/// Built-in variables, always defined, with what each one holds.
pub const BUILTINS: &[(&str, &str)] = &[
    ("base_url", "the target's base URL, such as https://ps.example.com/BeyondTrust/api/public/v3"),
    ("uuid", "a fresh random GUID, new for each case"),
    ("random_key", "a fresh random 128-character hex string shaped like an API key, known to no server"),
    ("random_secret", "a fresh random 48-character string shaped like a password or client secret"),
];

/// Variables in scope while a case runs.
pub type Vars = BTreeMap<String, Value>;

/// The variable names a string refers to, in order of appearance.
pub fn names(text: &str) -> impl Iterator<Item = &str> {
    TEMPLATE.captures_iter(text).filter_map(|c| c.get(1)).map(|m| m.as_str())
}

/// Whether a string contains `{{` that does not form a valid template, such as `{{ user id }}`
/// or an unclosed `{{ name`. Returns the byte offset of the first such `{{`.
pub fn malformed(text: &str) -> Option<usize> {
    let valid: Vec<(usize, usize)> = TEMPLATE.find_iter(text).map(|m| (m.start(), m.end())).collect();
    text.match_indices("{{").map(|(i, _)| i).find(|i| !valid.iter().any(|(s, e)| s <= i && i < e))
}

/// A variable a template uses that is not defined.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("variable `{0}` is not defined")]
pub struct Undefined(pub String);

/// Renders a string template. Values that are not strings render as their JSON text.
pub fn render(text: &str, vars: &Vars) -> Result<String, Undefined> {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for c in TEMPLATE.captures_iter(text) {
        let (Some(whole), Some(name)) = (c.get(0), c.get(1)) else {
            continue;
        };
        out.push_str(&text[last..whole.start()]);
        match vars.get(name.as_str()) {
            Some(Value::String(s)) => out.push_str(s),
            Some(other) => out.push_str(&other.to_string()),
            None => return Err(Undefined(name.as_str().to_owned())),
        }
        last = whole.end();
    }
    out.push_str(&text[last..]);
    Ok(out)
}

/// Renders every string inside a JSON value. A string that is exactly one template becomes the
/// variable's value with its own JSON type.
pub fn render_value(value: &Value, vars: &Vars) -> Result<Value, Undefined> {
    Ok(match value {
        Value::String(s) => match sole_name(s) {
            Some(name) => vars.get(name).cloned().ok_or_else(|| Undefined(name.to_owned()))?,
            None => Value::String(render(s, vars)?),
        },
        Value::Array(items) => Value::Array(items.iter().map(|v| render_value(v, vars)).collect::<Result<_, _>>()?),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((render(k, vars)?, render_value(v, vars)?)))
                .collect::<Result<_, Undefined>>()?,
        ),
        other => other.clone(),
    })
}

/// Every variable name used by strings inside a JSON value, keys included.
pub fn value_names(value: &Value) -> Vec<String> {
    let mut out = Vec::new();
    collect(value, &mut out);
    out
}

fn collect(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.extend(names(s).map(str::to_owned)),
        Value::Array(items) => items.iter().for_each(|v| collect(v, out)),
        Value::Object(map) => map.iter().for_each(|(k, v)| {
            out.extend(names(k).map(str::to_owned));
            collect(v, out);
        }),
        _ => {}
    }
}

/// The variable name when `text` is exactly one template and nothing else.
fn sole_name(text: &str) -> Option<&str> {
    let c = TEMPLATE.captures(text)?;
    let whole = c.get(0)?;
    (whole.start() == 0 && whole.end() == text.len()).then(|| c.get(1).map(|m| m.as_str())).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars() -> Vars {
        Vars::from([("runas".into(), json!("svc")), ("user_id".into(), json!(7))])
    }

    #[test]
    fn renders_strings_and_numbers() {
        assert_eq!(render("runas={{runas}}; id={{ user_id }}", &vars()).as_deref(), Ok("runas=svc; id=7"));
    }

    #[test]
    fn undefined_variable_is_an_error() {
        assert_eq!(render("{{ nope }}", &vars()), Err(Undefined("nope".into())));
    }

    #[test]
    fn sole_template_keeps_the_json_type() {
        let v = render_value(&json!({"id": "{{ user_id }}", "s": "id {{ user_id }}"}), &vars());
        assert_eq!(v, Ok(json!({"id": 7, "s": "id 7"})));
    }

    #[test]
    fn finds_names_and_malformed_templates() {
        assert_eq!(names("{{a}} and {{ b_2 }}").collect::<Vec<_>>(), vec!["a", "b_2"]);
        assert_eq!(malformed("ok {{ a }}"), None);
        assert_eq!(malformed("{{ user id }}"), Some(0));
        assert_eq!(malformed("x {{ open"), Some(2));
    }
}
