//! Finding case files and parsing them into the spanned model.
//!
//! Parsing stops at the first structural error of a file (serde cannot go on past it), but
//! every file is parsed, and validation then adds every semantic error of every file that
//! parsed, so one `psconform validate` shows all there is to fix.

use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

use regex::Regex;

use super::diagnostic::{Diagnostic, did_you_mean_from_message};
use super::spec::CaseFileSpec;

/// A parsed case file with its source, kept for diagnostics.
#[derive(Debug)]
pub struct CaseFile {
    /// The path as found (joined to the folder the user named).
    pub path: PathBuf,
    /// The first part of trial names: the folder below the cases root, `::`-joined.
    pub area: String,
    /// The file name without its extension.
    pub stem: String,
    /// The file's text.
    pub source: Arc<str>,
    /// What the file says.
    pub spec: CaseFileSpec,
}

/// Every `*.yaml` and `*.yml` file below `root`, sorted, so trial order is stable.
pub fn discover(root: &Path) -> Result<Vec<PathBuf>, Diagnostic> {
    let meta =
        std::fs::metadata(root).map_err(|e| Diagnostic::whole(root, format!("cannot read the cases folder: {e}")))?;
    if meta.is_file() {
        return Ok(vec![root.to_path_buf()]);
    }
    let mut found = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries =
            std::fs::read_dir(&dir).map_err(|e| Diagnostic::whole(&dir, format!("cannot list folder: {e}")))?;
        for entry in entries {
            let entry = entry.map_err(|e| Diagnostic::whole(&dir, format!("cannot list folder: {e}")))?;
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

/// Reads and parses one file. `root` is the cases folder the trial names are relative to.
pub fn load_file(root: &Path, path: &Path) -> Result<CaseFile, Diagnostic> {
    let source = std::fs::read_to_string(path).map_err(|e| Diagnostic::whole(path, format!("cannot read: {e}")))?;
    let spec = parse(path, &source)?;
    let rel = path.strip_prefix(root).unwrap_or(path);
    let stem = rel.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let area = rel
        .parent()
        .map(|p| p.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect::<Vec<_>>())
        .unwrap_or_default()
        .join("::");
    Ok(CaseFile { path: path.to_path_buf(), area, stem, source: source.into(), spec })
}

static LOCATION_PREFIX: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(error: )?line \d+ column \d+: ").expect("the prefix pattern is a valid regex"));
static LOCATION_SUFFIX: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r",? at line \d+,? column \d+$").expect("the suffix pattern is a valid regex"));

/// Parses case-file text. YAML 1.2 booleans only, and numbers with leading zeros stay
/// strings, so `yes` and `012` in a request body mean what they say.
pub fn parse(path: &Path, source: &str) -> Result<CaseFileSpec, Diagnostic> {
    let options = serde_saphyr::options! { strict_booleans: true, leading_zero_numbers_as_strings: true };
    serde_saphyr::from_str_with_options::<CaseFileSpec>(source, options).map_err(|err| {
        let plain = err.render_with_options(serde_saphyr::render_options! { snippets: serde_saphyr::SnippetMode::Off });
        let first = plain.lines().next().unwrap_or("invalid case file").trim();
        let message = LOCATION_SUFFIX.replace(&LOCATION_PREFIX.replace(first, ""), "").into_owned();
        let (line, column) = err.location().map_or((0, 0), |l| (l.line() as usize, l.column() as usize));
        let hint = did_you_mean_from_message(&message);
        let diag = if line == 0 {
            Diagnostic::whole(path, message)
        } else {
            Diagnostic::at(path, source, line, column, message)
        };
        match hint {
            Some(h) => diag.with_hint(h),
            None => diag,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_err(src: &str) -> Diagnostic {
        match parse(Path::new("t.yaml"), src) {
            Ok(_) => panic!("expected a parse error"),
            Err(d) => d,
        }
    }

    const HEAD: &str = "endpoint: GET X\ncases:\n  - name: a\n    summary: s\n    effect: read\n    steps:\n      - request: { method: GET, path: X }\n";

    #[test]
    fn misspelled_key_points_at_it_with_a_suggestion() {
        let d = parse_err(&format!("{HEAD}        expect: {{ statuz: 200 }}\n"));
        assert_eq!((d.line, d.column), (8, 19), "{}", d.message);
        assert!(d.message.contains("unknown field `statuz`"), "{}", d.message);
        assert_eq!(d.hint.as_deref(), Some("did you mean `status`?"));
    }

    #[test]
    fn misspelled_matcher_gets_did_you_mean() {
        let d = parse_err(&format!("{HEAD}        expect:\n          paths:\n            $.a: {{ equal: 1 }}\n"));
        assert_eq!(d.line, 10);
        assert_eq!(d.hint.as_deref(), Some("did you mean `equals`?"));
    }

    #[test]
    fn wrong_type_and_bad_status_are_located() {
        let d = parse_err(&format!("{HEAD}        expect: {{ status: 2000 }}\n"));
        assert_eq!(d.line, 8);
        assert!(d.message.contains("not an HTTP status code"), "{}", d.message);
        let d = parse_err("endpoint: X\ncases: 5\n");
        assert_eq!(d.line, 2);
    }

    #[test]
    fn duplicate_keys_and_malformed_yaml_are_errors() {
        let d = parse_err("endpoint: X\nendpoint: Y\ncases: []\n");
        assert_eq!(d.line, 2);
        let d = parse_err("endpoint: X\ncases: [\n");
        assert!(d.line >= 2, "{d:?}");
    }

    #[test]
    fn parses_every_form_of_the_format() {
        let src = r#"
endpoint: POST Auth/SignAppin
cases:
  - name: all-forms
    summary: every form
    effect: audited
    steps:
      - request:
          method: POST
          path: Auth/SignAppin
          auth: { ps-auth: { key: "{{ random_key }}", pwd: false, compact: true } }
          body: { form: { a: b } }
        expect:
          status: 4xx
          headers: { Content-Type: { matches: "json" } }
          cookies: { ASP.NET_SessionId: { http_only: true } }
          body: { exact: "User not authenticated" }
          paths:
            $.SID: { type: [string, null] }
            $.N: { type: "integer|null", equals: null, length: { min: 1 } }
        capture:
          token: { path: $.access_token, secret: true }
      - request: { method: GET, path: X, auth: { bearer: "{{ token }}" } }
        expect: { status: [200, 204] }
    teardown:
      - request: { method: POST, path: Auth/Signout, auth: none }
"#;
        let spec = match parse(Path::new("t.yaml"), src) {
            Ok(s) => s,
            Err(d) => panic!("{}", d.render()),
        };
        let case = &spec.cases[0];
        assert_eq!(case.steps.len(), 2);
        let paths = &case.steps[0].expect.paths.0;
        assert_eq!(paths[1].1.equals, Some(serde_json::Value::Null));
        assert_eq!(paths[0].0.referenced.line(), 19);
    }
}
