//! Regexes and JSONPaths from case files, compiled once per process.
//!
//! Validation has already proved every pattern compiles; steps then evaluate the same patterns
//! once per case, often thousands of times in a run, so each is compiled on first use and
//! shared after that.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, RwLock};

use regex::Regex;
use serde_json_path::JsonPath;

static REGEXES: LazyLock<RwLock<HashMap<String, Arc<Regex>>>> = LazyLock::new(Default::default);
static PATHS: LazyLock<RwLock<HashMap<String, Arc<JsonPath>>>> = LazyLock::new(Default::default);

fn cached<T, E: ToString>(
    map: &RwLock<HashMap<String, Arc<T>>>,
    key: &str,
    build: impl FnOnce(&str) -> Result<T, E>,
) -> Result<Arc<T>, String> {
    if let Some(hit) = map.read().ok().and_then(|m| m.get(key).cloned()) {
        return Ok(hit);
    }
    let built = Arc::new(build(key).map_err(|e| e.to_string())?);
    if let Ok(mut m) = map.write() {
        m.insert(key.to_owned(), Arc::clone(&built));
    }
    Ok(built)
}

/// The compiled regex for `pattern`.
pub fn regex(pattern: &str) -> Result<Arc<Regex>, String> {
    cached(&REGEXES, pattern, Regex::new)
}

/// The parsed JSONPath for `path`.
pub fn jsonpath(path: &str) -> Result<Arc<JsonPath>, String> {
    cached(&PATHS, path, JsonPath::parse)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiles_once_and_reports_errors() {
        let a = regex("^a+$").expect("valid");
        let b = regex("^a+$").expect("valid");
        assert!(Arc::ptr_eq(&a, &b));
        assert!(regex("(").is_err());
        assert!(jsonpath("$.a").is_ok_and(|p| Arc::ptr_eq(&p, &jsonpath("$.a").expect("valid"))));
        assert!(jsonpath("$[").is_err());
    }
}
