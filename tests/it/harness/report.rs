//! Reading psconform's JSON output (`run --report`, `drift --json`) in tests, by field name.
//! A missing field reads as empty, so the test fails on the value it expected, with the run's
//! output beside it, rather than on a lookup here.
//!
//! TODO(walls): once the report types implement `Deserialize`, read the JSON report as
//! psconform's own type here and let the tests match on its fields instead of on strings.

use std::path::Path;

use serde_json::Value;

/// The JSON document at `path`; `Null` when it is missing or not JSON.
pub fn read(path: &Path) -> Value {
    std::fs::read_to_string(path).ok().and_then(|text| serde_json::from_str(&text).ok()).unwrap_or_default()
}

/// The items of an array; none when `value` is not one.
pub fn list(value: &Value) -> impl Iterator<Item = &Value> {
    value.as_array().into_iter().flatten()
}

/// A string's text; empty when `value` is not a string.
pub fn text(value: &Value) -> &str {
    value.as_str().unwrap_or("")
}

/// The case of a run report named `name`; the test fails when it is not there.
pub fn case<'r>(report: &'r Value, name: &str) -> &'r Value {
    list(&report["cases"]).find(|c| c["name"] == name).unwrap_or_else(|| panic!("{name} is not in the report"))
}

/// Every step of every case of a run report.
pub fn steps(report: &Value) -> impl Iterator<Item = &Value> {
    list(&report["cases"]).flat_map(|c| list(&c["steps"]))
}

/// Every contract verdict of a run report: one per step whose shape was compared.
pub fn verdicts(report: &Value) -> impl Iterator<Item = &Value> {
    steps(report).filter_map(|s| s.get("contract"))
}
