//! Semantic checks that the YAML grammar cannot express, run on every file before any request
//! is sent: names, variables in scope, regexes, JSONPaths, settings and simulator states.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use regex::Regex;
use serde_json_path::JsonPath;

use super::diagnostic::{Diagnostic, closest};
use super::load::{CaseFile, discover, load_file};
use super::spec::{AuthSpec, BodyCheck, BodySpec, CaseSpec, PwdSpec, Spanned, StepSpec};
use crate::settings::{SETTINGS, Settings};
use crate::template;

/// One case ready to run: where it came from and what it needs.
#[derive(Debug, Clone)]
pub struct Case {
    /// The file the case is in.
    pub file: Arc<CaseFile>,
    /// Its position in the file.
    pub index: usize,
    /// `<area>::<file>::<case>`.
    pub name: String,
    /// Target settings the case needs: declared, used in templates, or implied by `ps-auth`.
    pub needs: Vec<String>,
}

impl Case {
    /// What the case file says about this case.
    pub fn spec(&self) -> &CaseSpec {
        &self.file.spec.cases[self.index]
    }

    /// `file:line` of the case's name, for messages.
    pub fn location(&self) -> String {
        format!("{}:{}", self.file.path.display(), self.spec().name.referenced.line())
    }

    /// Simulator states the case needs (empty for cases that run anywhere).
    pub fn simulator_state(&self) -> Vec<String> {
        self.spec().simulator_state.iter().map(|s| s.value.clone()).collect()
    }
}

/// Every case found, sorted by name.
#[derive(Debug, Default)]
pub struct Suite {
    /// The cases, sorted by trial name.
    pub cases: Vec<Case>,
    /// The files they came from.
    pub files: Vec<Arc<CaseFile>>,
}

/// Reads and parses `paths` on up to one thread per core, in their order. Parsing dominates
/// the start of a large suite (about a third of a 2000-case run against a fast target), and
/// nothing runs until it is done.
fn load_files(root: &Path, paths: &[PathBuf]) -> Vec<Result<CaseFile, Diagnostic>> {
    const MIN_PER_THREAD: usize = 32;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(paths.len() / MIN_PER_THREAD).max(1);
    if threads == 1 {
        return paths.iter().map(|p| load_file(root, p)).collect();
    }
    let chunk = paths.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let workers: Vec<_> = paths
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(|p| load_file(root, p)).collect::<Vec<_>>()))
            .collect();
        workers.into_iter().flat_map(|w| w.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
    })
}

/// Loads and validates every case file under `roots` (folders or single files). Returns every
/// problem of every file, or the suite when there are none.
pub fn load_suite(roots: &[PathBuf], simulator_states: &[&str]) -> Result<Suite, Vec<Diagnostic>> {
    let mut diags = Vec::new();
    let mut files = Vec::new();
    let mut order: Vec<PathBuf> = Vec::new();
    for root in roots {
        let paths = match discover(root) {
            Ok(p) => p,
            Err(d) => {
                diags.push(d);
                continue;
            }
        };
        if paths.is_empty() {
            diags.push(
                Diagnostic::whole(root, "no case files (*.yaml, *.yml) found")
                    .with_hint("point --cases at the folder that holds the case files"),
            );
        }
        let names_root = if root.is_dir() { root.as_path() } else { root.parent().unwrap_or(Path::new("")) };
        let loaded = load_files(names_root, &paths);
        for (path, result) in paths.into_iter().zip(loaded) {
            order.push(path);
            match result {
                Ok(f) => files.push(Arc::new(f)),
                Err(d) => diags.push(d),
            }
        }
    }
    let mut cases = Vec::new();
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for file in &files {
        for (index, spec) in file.spec.cases.iter().enumerate() {
            let mut v = Validator { file, diags: &mut diags, states: simulator_states };
            let needs = v.case(spec);
            let name = trial_name(file, &spec.name.value);
            let here = format!("{}:{}", file.path.display(), spec.name.referenced.line());
            if let Some(first) = seen.insert(name.clone(), here) {
                let d = v
                    .at(&spec.name, format!("duplicate case name `{}`", spec.name.value))
                    .with_hint(format!("the first case with this name is at {first}; names must be unique in a file"));
                v.push(d);
            }
            cases.push(Case { file: Arc::clone(file), index, name, needs });
        }
        if file.spec.cases.is_empty() {
            diags.push(Diagnostic::whole(&file.path, "the file has no cases").with_hint("add a case under `cases:`"));
        }
    }
    if !diags.is_empty() {
        // In reading order: by file as discovered, then by position.
        let rank = |d: &Diagnostic| order.iter().position(|p| *p == d.file).unwrap_or(usize::MAX);
        diags.sort_by_key(|d| (rank(d), d.line, d.column));
        return Err(diags);
    }
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Suite { cases, files })
}

/// `<area>::<file>::<case>`, or `<file>::<case>` for files directly in the cases folder.
pub fn trial_name(file: &CaseFile, case: &str) -> String {
    if file.area.is_empty() {
        format!("{}::{case}", file.stem)
    } else {
        format!("{}::{}::{case}", file.area, file.stem)
    }
}

static CASE_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z0-9][a-z0-9._-]*$").expect("the case-name pattern is a valid regex"));

/// Parses `1500ms`, `2s` or `1m` into a duration.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let t = text.trim();
    let (num, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: u64 = num.parse().ok()?;
    match unit.trim() {
        "ms" => Some(Duration::from_millis(n)),
        "s" => Some(Duration::from_secs(n)),
        "m" => Some(Duration::from_secs(n.checked_mul(60)?)),
        _ => None,
    }
}

struct Validator<'a> {
    file: &'a CaseFile,
    diags: &'a mut Vec<Diagnostic>,
    states: &'a [&'a str],
}

impl Validator<'_> {
    fn at<T>(&self, s: &Spanned<T>, message: impl Into<String>) -> Diagnostic {
        let l = &s.referenced;
        Diagnostic::at(&self.file.path, &self.file.source, l.line() as usize, l.column() as usize, message)
    }

    fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    /// Checks a case and returns the settings it needs.
    fn case(&mut self, case: &CaseSpec) -> Vec<String> {
        if !CASE_NAME.is_match(&case.name.value) {
            let d = self
                .at(&case.name, format!("case name `{}` is not a valid name", case.name.value))
                .with_hint("use lower-case letters, digits, `-`, `_` and `.`, so the test name is easy to filter");
            self.push(d);
        }
        if case.steps.is_empty() {
            let d = self.at(&case.name, "the case has no steps").with_hint("add at least one step under `steps:`");
            self.push(d);
        }
        let mut needs = BTreeSet::new();
        for need in &case.needs {
            if Settings::is_setting(&need.value) {
                needs.insert(need.value.clone());
            } else {
                let d = self.unknown(need, "setting", SETTINGS.iter().map(|s| s.var));
                self.push(d);
            }
        }
        for state in &case.simulator_state {
            if !self.states.contains(&state.value.as_str()) {
                let d = self.unknown(state, "simulator state", self.states.iter().copied());
                self.push(d);
            }
        }
        let mut scope: BTreeSet<String> = SETTINGS.iter().map(|s| s.var.to_owned()).collect();
        scope.extend(template::BUILTINS.iter().map(|(n, _)| (*n).to_owned()));
        scope.extend(crate::settings::DERIVED.iter().map(|(n, _, _)| (*n).to_owned()));
        for step in &case.steps {
            self.step(step, &scope, &mut needs);
            scope.extend(step.capture.iter().map(|(k, _)| k.value.clone()));
        }
        for step in &case.teardown {
            self.step(step, &scope, &mut needs);
        }
        needs.into_iter().collect()
    }

    fn unknown<'n>(
        &self,
        got: &Spanned<String>,
        what: &str,
        known: impl Iterator<Item = &'n str> + Clone,
    ) -> Diagnostic {
        let hint = match closest(&got.value, known.clone()) {
            Some(best) => format!("did you mean `{best}`?"),
            None => format!("known {what}s: {}", known.collect::<Vec<_>>().join(", ")),
        };
        self.at(got, format!("unknown {what} `{}`", got.value)).with_hint(hint)
    }

    fn step(&mut self, step: &StepSpec, scope: &BTreeSet<String>, needs: &mut BTreeSet<String>) {
        if let Some(wait) = &step.wait
            && parse_duration(&wait.value).is_none()
        {
            let d =
                self.at(wait, format!("`{}` is not a duration", wait.value)).with_hint("write it as 500ms, 2s or 1m");
            self.push(d);
        }
        let req = &step.request.value;
        let mut texts: Vec<&Spanned<String>> = vec![&req.path];
        texts.extend(req.query.iter().flat_map(|(k, v)| [k, v]));
        texts.extend(req.headers.iter().map(|(_, v)| v));
        for (name, _) in req.headers.iter() {
            if name.value.eq_ignore_ascii_case("authorization") {
                let d = self
                    .at(name, "credentials never go in `headers`")
                    .with_hint("use `auth: ps-auth` or `auth: { bearer: \"{{ token }}\" }`");
                self.push(d);
            }
            if !is_token(&name.value) {
                let d = self.at(name, format!("`{}` is not a valid header name", name.value));
                self.push(d);
            }
        }
        match &req.auth {
            AuthSpec::None => {}
            AuthSpec::Bearer(t) => texts.push(t),
            AuthSpec::PsAuth(p) => {
                match &p.key {
                    Some(k) => texts.push(k),
                    None => {
                        needs.insert("api_key".into());
                    }
                }
                match &p.runas {
                    Some(r) => texts.push(r),
                    None => {
                        needs.insert("runas".into());
                    }
                }
                if let Some(PwdSpec::Value(v)) = &p.pwd {
                    texts.push(v);
                }
            }
        }
        let mut json_names = Vec::new();
        match &req.body {
            Some(BodySpec::Json(v)) => json_names.extend(template::value_names(v)),
            Some(BodySpec::Form(fields)) => texts.extend(fields.iter().flat_map(|(k, v)| [k, v])),
            Some(BodySpec::Text(t)) => texts.push(t),
            None => {}
        }
        let expect = &step.expect;
        for (name, check) in expect.headers.iter() {
            if !is_token(&name.value) {
                let d = self.at(name, format!("`{}` is not a valid header name", name.value));
                self.push(d);
            }
            let given =
                [check.equals.is_some(), check.matches.is_some(), check.contains.is_some(), check.absent.is_some()];
            if !given.contains(&true) {
                let d = self
                    .at(name, "the header check is empty")
                    .with_hint("give `equals`, `matches`, `contains` or `absent`");
                self.push(d);
            }
            if check.absent == Some(true) && given[..3].contains(&true) {
                let d = self.at(name, "`absent: true` cannot be combined with a check on the value");
                self.push(d);
            }
            texts.extend(check.equals.iter().chain(check.contains.iter()));
            self.regex(check.matches.as_ref());
        }
        for (_, check) in expect.cookies.iter() {
            self.regex(check.value_matches.as_ref());
        }
        if let Some(body) = &expect.body {
            match &body.value {
                BodyCheck::Exact(v) | BodyCheck::Partial(v) => json_names.extend(template::value_names(v)),
                BodyCheck::Empty(_) => {}
                BodyCheck::Text(t) => {
                    if t.equals.is_none() && t.matches.is_none() && t.contains.is_none() {
                        let d = self
                            .at(body, "the text check is empty")
                            .with_hint("give `equals`, `matches` or `contains`");
                        self.push(d);
                    }
                    texts.extend(t.equals.iter().chain(t.contains.iter()));
                    self.regex(t.matches.as_ref());
                }
            }
            self.names_in_scope(body, json_names.drain(..), scope, needs);
        }
        for (path, check) in expect.paths.iter() {
            self.jsonpath(path);
            let given = [
                check.equals.is_some(),
                check.type_.is_some(),
                check.matches.is_some(),
                check.one_of.is_some(),
                check.length.is_some(),
                check.min.is_some() || check.max.is_some(),
            ];
            if check.exists.is_none() && !given.contains(&true) {
                let d = self
                    .at(path, "the path check is empty")
                    .with_hint("give `exists`, `equals`, `type`, `matches`, `one_of`, `length`, `min` or `max`");
                self.push(d);
            }
            if check.exists == Some(false) && given.contains(&true) {
                let d = self.at(path, "`exists: false` cannot be combined with a check on the value");
                self.push(d);
            }
            self.regex(check.matches.as_ref());
            let mut names: Vec<String> = check.equals.iter().flat_map(template::value_names).collect();
            names.extend(check.one_of.iter().flatten().flat_map(template::value_names));
            self.names_in_scope(path, names.into_iter(), scope, needs);
        }
        for (name, cap) in step.capture.iter() {
            let sources = [cap.path.is_some(), cap.header.is_some(), cap.cookie.is_some()];
            if sources.iter().filter(|s| **s).count() != 1 {
                let d = self.at(name, "a capture takes its value from exactly one of `path`, `header` or `cookie`");
                self.push(d);
            }
            if let Some(p) = &cap.path {
                self.jsonpath(p);
            }
            if !template::names(&format!("{{{{{}}}}}", name.value)).any(|n| n == name.value)
                || Settings::is_setting(&name.value)
                || Settings::derived_from(&name.value).is_some()
                || template::BUILTINS.iter().any(|(b, _)| *b == name.value)
            {
                let d = self.at(name, format!("`{}` cannot be used as a variable name", name.value)).with_hint(
                    "use letters, digits and `_`, starting with a letter, and not the name of a setting or built-in",
                );
                self.push(d);
            }
        }
        for text in texts {
            self.template(text, scope, needs);
        }
        if !json_names.is_empty() {
            self.names_in_scope(&step.request, json_names.into_iter(), scope, needs);
        }
    }

    fn template(&mut self, text: &Spanned<String>, scope: &BTreeSet<String>, needs: &mut BTreeSet<String>) {
        if template::malformed(&text.value).is_some() {
            let d = self
                .at(text, format!("malformed template in `{}`", text.value))
                .with_hint("write variables as {{ name }}, with a name of letters, digits and `_`");
            self.push(d);
        }
        let names: Vec<String> = template::names(&text.value).map(str::to_owned).collect();
        self.names_in_scope(text, names.into_iter(), scope, needs);
    }

    fn names_in_scope<T>(
        &mut self,
        at: &Spanned<T>,
        names: impl Iterator<Item = String>,
        scope: &BTreeSet<String>,
        needs: &mut BTreeSet<String>,
    ) {
        for name in names {
            if let Some(setting) = Settings::derived_from(&name) {
                needs.insert(setting.to_owned());
            } else if Settings::is_setting(&name) {
                needs.insert(name);
            } else if !scope.contains(&name) {
                let hint = match closest(&name, scope.iter().map(String::as_str)) {
                    Some(best) => format!("did you mean `{best}`?"),
                    None => "variables are target settings, built-ins, or captures of earlier steps".to_owned(),
                };
                let d = self.at(at, format!("variable `{name}` is not defined here")).with_hint(hint);
                self.push(d);
            }
        }
    }

    fn regex(&mut self, pattern: Option<&Spanned<String>>) {
        if let Some(p) = pattern
            && let Err(e) = Regex::new(&p.value)
        {
            let first = e.to_string().lines().last().unwrap_or("invalid").trim().to_owned();
            let first = first.strip_prefix("error: ").unwrap_or(&first);
            let d = self.at(p, format!("invalid regular expression `{}`: {first}", p.value));
            self.push(d);
        }
    }

    fn jsonpath(&mut self, path: &Spanned<String>) {
        if let Err(e) = JsonPath::parse(&path.value) {
            let d = self
                .at(path, format!("invalid JSONPath `{}`: {e}", path.value))
                .with_hint("JSONPath starts at `$`, such as `$.UserId`, `$[0].Name` or `$` for the whole body");
            self.push(d);
        }
    }
}

/// Whether `s` is a valid HTTP header name (an RFC 9110 token).
fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATES: &[&str] = &["licence-invalid"];

    fn suite(files: &[(&str, &str)]) -> Result<Suite, Vec<Diagnostic>> {
        let dir = tempfile::tempdir().expect("temp dir");
        for (name, text) in files {
            let p = dir.path().join(name);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(p, text).expect("write");
        }
        load_suite(&[dir.path().to_path_buf()], STATES)
    }

    fn errors(files: &[(&str, &str)]) -> Vec<Diagnostic> {
        match suite(files) {
            Ok(_) => panic!("expected errors"),
            Err(d) => d,
        }
    }

    const OK: &str = r#"endpoint: POST Auth/SignAppin
cases:
  - name: sign-in
    summary: s
    effect: audited
    steps:
      - request: { method: POST, path: Auth/SignAppin, auth: ps-auth }
        capture: { uid: { path: $.UserId } }
      - request: { method: GET, path: "Users/{{ uid }}" }
        expect: { paths: { $.Name: { equals: "{{ runas }}" } } }
"#;

    #[test]
    fn names_are_area_file_case_and_needs_are_derived() {
        let s = match suite(&[("auth/sign-in.yaml", OK)]) {
            Ok(s) => s,
            Err(d) => panic!("{d:?}"),
        };
        assert_eq!(s.cases[0].name, "auth::sign-in::sign-in");
        assert_eq!(s.cases[0].needs, vec!["api_key".to_string(), "runas".to_string()]);
    }

    #[test]
    fn many_files_load_in_parallel_in_path_order() {
        // Enough files for one loader thread per core; a parse error in the 2nd and the
        // 199th file must come back in path order, with every other file loaded.
        let names: Vec<String> = (0..200).map(|i| format!("f{i:03}.yaml")).collect();
        let mut files: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), OK)).collect();
        files[1].1 = "endpoint: [";
        files[198].1 = "cases: 7";
        let d = errors(&files);
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(d[0].file.ends_with("f001.yaml"), "{d:?}");
        assert!(d[1].file.ends_with("f198.yaml"), "{d:?}");
        let s = match suite(&files[2..198]) {
            Ok(s) => s,
            Err(d) => panic!("{d:?}"),
        };
        let got: Vec<&str> = s.cases.iter().map(|c| c.name.as_str()).collect();
        let want: Vec<String> = (2..198).map(|i| format!("f{i:03}::sign-in")).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn undefined_variable_is_found_before_running() {
        let bad = OK.replace("{{ uid }}", "{{ uidd }}");
        let d = errors(&[("a.yaml", &bad)]);
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(d[0].message.contains("variable `uidd` is not defined"));
        assert_eq!(d[0].line, 9);
        assert_eq!(d[0].hint.as_deref(), Some("did you mean `uid`?"));
    }

    #[test]
    fn every_error_of_every_file_is_listed() {
        let dup = OK.replace(
            "      - request: { method: GET",
            "  - name: sign-in\n    summary: s\n    effect: read\n    steps:\n      - request: { method: GET",
        );
        let bad_regex = OK
            .replace("equals: \"{{ runas }}\"", "matches: \"(\"")
            .replace("effect: audited", "effect: audited\n    needs: [api_kee]\n    simulator_state: [licence-invlid]");
        let d = errors(&[("a.yaml", &dup), ("b.yaml", &bad_regex), ("c.yaml", "endpoint: X\ncases: [\n")]);
        let messages: Vec<&str> = d.iter().map(|d| d.message.as_str()).collect();
        assert!(messages.iter().any(|m| m.contains("duplicate case name")), "{messages:?}");
        assert!(messages.iter().any(|m| m.contains("invalid regular expression")), "{messages:?}");
        assert!(messages.iter().any(|m| m.contains("unknown setting `api_kee`")), "{messages:?}");
        assert!(messages.iter().any(|m| m.contains("unknown simulator state")), "{messages:?}");
        assert!(d.iter().any(|d| d.file.ends_with("c.yaml")), "{messages:?}");
    }

    #[test]
    fn empty_folder_is_an_error() {
        let d = errors(&[]);
        assert!(d[0].message.contains("no case files"));
    }

    #[test]
    fn credentials_in_headers_and_bad_paths_are_refused() {
        let bad = OK.replace(
            "auth: ps-auth }",
            "headers: { Authorization: x }, auth: ps-auth }\n        expect: { paths: { \"$.[\": { exists: true } } }",
        );
        let d = errors(&[("a.yaml", &bad)]);
        let messages: Vec<&str> = d.iter().map(|d| d.message.as_str()).collect();
        assert!(messages.iter().any(|m| m.contains("credentials never go in `headers`")), "{messages:?}");
        assert!(messages.iter().any(|m| m.contains("invalid JSONPath")), "{messages:?}");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1500ms"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2s"), Some(Duration::from_secs(2)));
        assert_eq!(parse_duration("soon"), None);
    }
}
