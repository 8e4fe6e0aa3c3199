//! Property tests (proptest, with shrinking) over public APIs (issue #8): the redaction point
//! and the case-file loader. The properties that need private items live next to their code
//! (`src/shape`, `src/plan/template.rs`, `src/simulator/psauth.rs`), with the generators in
//! `src/arbitrary.rs`.
//!
//! `cargo test` runs a short pass of each; `PROPTEST_CASES=5000 cargo test --test it properties`
//! runs a longer one. A failure is shrunk to a minimal input and its seed kept in
//! `tests/it/properties.proptest-regressions` (beside this file, where proptest looks),
//! replayed first on later runs.

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};

use psconform::arbitrary::mutated;
use psconform::seal::Redactor;
use psconform::secret::store::{FRAGMENT, mask_ranges};
use psconform::secret::{MASK, Origin, SecretStore, encodings};

use crate::harness::files::{Project, root, shipped_case_files};

/// `cases` cases (unless `PROPTEST_CASES` asks for another number), with failures persisted
/// beside this file.
fn config(cases: u32) -> Config {
    Config {
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("proptest-regressions"))),
        ..psconform::arbitrary::config(cases)
    }
}

// ---------------------------------------------------------------------------------------------
// Redaction

/// Characters a secret is made of: the ones escapes and encodings change (`& < > " ' \ %`,
/// `+ / = ; # ?`), spaces, and characters outside ASCII of every UTF-8 length.
const SECRET_CHARS: &str = "abcXYZ0189&<>\"'\\% +/=;#?[]{}:@~`éüß€中文😀\u{a0}";

fn secret() -> impl Strategy<Value = String> {
    let chars: Vec<char> = SECRET_CHARS.chars().collect();
    prop::collection::vec(prop::sample::select(chars), 4..28).prop_map(|cs| cs.into_iter().collect())
}

/// Text around a secret in an output: the same characters, newlines and log punctuation.
fn surrounding() -> impl Strategy<Value = String> {
    let chars: Vec<char> = format!("{SECRET_CHARS}\n\t ,.()=-").chars().collect();
    prop::collection::vec(prop::sample::select(chars), 0..24).prop_map(|cs| cs.into_iter().collect())
}

/// A piece of some form of `secret`: a whole encoded form, or a fragment of at least
/// [`FRAGMENT`] bytes of one (cut at character boundaries, as a preview would cut).
fn piece_of(secret: &str) -> impl Strategy<Value = String> + use<> {
    let forms = encodings::forms(secret);
    (prop::sample::select(forms), any::<prop::sample::Index>(), any::<prop::sample::Index>(), any::<bool>()).prop_map(
        |(form, a, b, whole)| {
            let bounds: Vec<usize> = (0..=form.len()).filter(|&i| form.is_char_boundary(i)).collect();
            if whole || form.len() < FRAGMENT {
                return form;
            }
            // A start that leaves at least FRAGMENT bytes, then an end at least FRAGMENT on.
            let starts: Vec<usize> = bounds.iter().copied().filter(|&i| i + FRAGMENT <= form.len()).collect();
            let start = starts[a.index(starts.len())];
            let ends: Vec<usize> = bounds.iter().copied().filter(|&i| i >= start + FRAGMENT).collect();
            let end = ends[b.index(ends.len())];
            form[start..end].to_owned()
        },
    )
}

/// Where the mask stood, as a character no form of a secret contains: pieces on either side of
/// a mask cannot join into something that looks like a secret.
const SENTINEL: &str = "\u{1}";

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn no_form_or_fragment_of_a_secret_survives_redaction(
        (secret, piece) in secret().prop_flat_map(|s| (Just(s.clone()), piece_of(&s))),
        before in surrounding(),
        after in surrounding(),
    ) {
        let store = SecretStore::new();
        store.add(&secret, Origin::Configured);
        let text = format!("{before}{piece}{after}");
        let out = Redactor::new(vec![store]).text(&text);
        let out = out.replace(MASK, SENTINEL);
        prop_assert!(!out.contains(&piece), "{piece:?} survives in {out:?}");
        prop_assert!(!out.contains(&secret), "{secret:?} survives in {out:?}");
        prop_assert!(out.contains(SENTINEL), "nothing was masked in {text:?}");
    }

    #[test]
    fn text_without_the_secret_is_left_alone(secret in secret(), text in "[a-zA-Z0-9 ,.\n+/=%&;-]{0,60}") {
        let store = SecretStore::new();
        store.add(&secret, Origin::Configured);
        // Only characters no form of the secret uses: no form or fragment can be in the text.
        let used: std::collections::HashSet<char> = encodings::forms(&secret).concat().chars().collect();
        let text: String = text.chars().filter(|c| !used.contains(c)).collect();
        prop_assert_eq!(Redactor::new(vec![store]).text(&text), text);
    }

    #[test]
    fn masking_ranges_never_panics(text in any::<String>(), ranges in prop::collection::vec((0usize..80, 0usize..80), 0..6)) {
        let _ = mask_ranges(&text, ranges, MASK);
    }

    #[test]
    fn masking_ranges_hides_whole_characters_and_nothing_else(
        (text, ranges) in "[a-zé€😀 ]{1,24}".prop_flat_map(|t| {
            let len = t.len();
            let range = (0..len, 1..=len).prop_map(move |(a, n)| (a, (a + n).min(len)));
            (Just(t), prop::collection::vec(range, 0..5))
        }),
    ) {
        let out = mask_ranges(&text, ranges.clone(), SENTINEL);
        // Every character any range touches is masked; every other one is kept, in order.
        let kept: String = text
            .char_indices()
            .filter(|&(i, c)| !ranges.iter().any(|&(a, b)| a < i + c.len_utf8() && i < b))
            .map(|(_, c)| c)
            .collect();
        prop_assert_eq!(out.replace(SENTINEL, ""), kept);
        prop_assert_eq!(out.contains(SENTINEL), !ranges.is_empty());
    }
}

// ---------------------------------------------------------------------------------------------
// The case-file loader

/// Every shipped case file, with its text.
fn shipped() -> Vec<(PathBuf, String)> {
    shipped_case_files()
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("a shipped case file reads");
            (path, text)
        })
        .collect()
}

/// A shipped case file with one to three spans changed.
fn mutated_case_file() -> impl Strategy<Value = (PathBuf, String)> {
    prop::sample::select(shipped()).prop_flat_map(|(path, text)| {
        let once = mutated(text.clone());
        let twice = mutated(text.clone()).prop_flat_map(mutated);
        let thrice = mutated(text).prop_flat_map(mutated).prop_flat_map(mutated);
        (Just(path), prop_oneof![3 => once, 1 => twice, 1 => thrice])
    })
}

/// The lines of a text as YAML counts them: `\r\n`, `\r` and `\n` each end one, and a final
/// line break starts one more, empty, line (where an editor puts the cursor at the end).
fn yaml_lines(source: &str) -> Vec<&str> {
    let segments: Vec<&str> = source.split('\n').collect();
    let last = segments.len() - 1;
    segments
        .iter()
        .enumerate()
        // A CR before a LF belongs to that line break; any other CR, a final one included, is a
        // line break of its own.
        .flat_map(|(i, l)| if i < last { l.strip_suffix('\r').unwrap_or(l) } else { l }.split('\r'))
        .collect()
}

fn check_diagnostic(d: &psconform::case::Diagnostic, source: &str) -> Result<(), TestCaseError> {
    let lines = yaml_lines(source);
    prop_assert!(d.line <= lines.len(), "line {} of {}: {}", d.line, lines.len(), d.render());
    prop_assert!(d.line == 0 || d.column >= 1, "{}", d.render());
    prop_assert!(!d.message.trim().is_empty(), "{:?}", d);
    // The excerpt is the line the location names (with a credential in it masked).
    if let Some(shown) = &d.source_line {
        let line = d.line.checked_sub(1).and_then(|i| lines.get(i)).copied().unwrap_or_default();
        let unmasked = shown.split(MASK).next().unwrap_or_default();
        prop_assert!(
            shown == line || (shown.contains(MASK) && line.starts_with(unmasked)),
            "{:?} is not {:?}",
            shown,
            line
        );
    }
    let _ = d.render();
    Ok(())
}

/// A project whose one case file, `cases/<name>`, holds `bytes`, and what compiling it gives.
fn compile(name: &str, bytes: &[u8]) -> (Project, Result<psconform::plan::Plan, Vec<psconform::case::Diagnostic>>) {
    let project = Project::new(&[]);
    project.write(&format!("cases/{name}"), bytes);
    let result = project.compile();
    (project, result)
}

/// Text that looks a little like a case file, and text that does not.
fn yaml_like() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just("endpoint: X\n"),
        Just("cases:\n"),
        Just("  - name: a\n"),
        Just("    summary: s\n"),
        Just("    effect: read\n"),
        Just("    steps:\n"),
        Just("      - request: { method: GET, path: X }\n"),
        Just("        expect: { status: 200 }\n"),
        Just("{{ x }}"),
        Just(": "),
        Just("- "),
        Just("["),
        Just("{"),
        Just("&a "),
        Just("*a"),
        Just("!!str "),
        Just("? "),
        Just("|\n"),
        Just(">-\n"),
        Just("\t"),
        Just("\"\\"),
        Just("'"),
        Just("#"),
        Just("---\n"),
        Just("...\n"),
        Just("%YAML 1.2\n"),
        Just("<<: *a\n"),
    ];
    prop::collection::vec(token, 0..24).prop_map(|t| t.concat())
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn parsing_any_text_gives_a_file_or_a_located_error(source in prop_oneof![
        any::<String>(),
        prop::collection::vec(any::<char>(), 0..120).prop_map(|cs| cs.into_iter().collect::<String>()),
        prop::collection::vec(any::<u8>(), 0..200).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        yaml_like(),
    ]) {
        if let Err(d) = psconform::case::load::parse(Path::new("t.yaml"), &source) {
            check_diagnostic(&d, &source)?;
        }
    }

    #[test]
    fn parsing_a_damaged_shipped_file_gives_a_file_or_a_located_error((path, source) in mutated_case_file()) {
        if let Err(d) = psconform::case::load::parse(&path, &source) {
            check_diagnostic(&d, &source)?;
            prop_assert_eq!(&d.file, &path);
        }
    }
}

proptest! {
    // Each case writes a folder and compiles it: fewer of them.
    #![proptest_config(config(48))]

    #[test]
    fn compiling_a_damaged_shipped_file_gives_a_plan_or_located_errors((path, source) in mutated_case_file()) {
        let name = path.strip_prefix(root().join("cases")).expect("under cases").to_string_lossy().into_owned();
        let (dir, result) = compile(&name, source.as_bytes());
        match result {
            Ok(plan) => {
                let area = name.trim_end_matches(".yaml").replace('/', "::");
                let prefix = format!("{area}::");
                prop_assert!(plan.cases.iter().all(|c| c.name.starts_with(&prefix)));
            }
            Err(diags) => {
                prop_assert!(!diags.is_empty());
                for d in &diags {
                    prop_assert_eq!(&d.file, &dir.cases().join(&name));
                    check_diagnostic(d, &source)?;
                }
            }
        }
    }

    #[test]
    fn compiling_arbitrary_bytes_gives_a_plan_or_located_errors(bytes in prop_oneof![
        prop::collection::vec(any::<u8>(), 0..300),
        yaml_like().prop_map(String::into_bytes),
    ]) {
        let (dir, result) = compile("area/file.yaml", &bytes);
        let source = String::from_utf8_lossy(&bytes);
        if let Err(diags) = result {
            for d in &diags {
                prop_assert!(d.file.starts_with(dir.cases()));
                check_diagnostic(d, &source)?;
            }
        }
    }
}

/// A generated case file: what it says, to compare with what compiling it gives.
#[derive(Debug, Clone)]
struct GenFile {
    area: String,
    stem: String,
    endpoint: String,
    cases: Vec<GenCase>,
}

#[derive(Debug, Clone)]
struct GenCase {
    name: String,
    summary: String,
    /// A declared effect: none (derived from the endpoints), or the most consequential, which
    /// no case's endpoints can exceed.
    effect: Option<&'static str>,
    steps: Vec<GenStep>,
}

#[derive(Debug, Clone)]
struct GenStep {
    method: &'static str,
    path: String,
    query: Vec<(String, String)>,
    status: u16,
    paths: Vec<(String, &'static str)>,
}

fn gen_step() -> impl Strategy<Value = GenStep> {
    let segment = prop_oneof![4 => "[A-Za-z][A-Za-z0-9-]{0,10}", 1 => "[0-9]{1,4}", 1 => Just("{{ uuid }}".to_owned())];
    (
        prop::sample::select(vec!["GET", "POST", "PUT", "DELETE"]),
        prop::collection::vec(segment, 1..4).prop_map(|s| s.join("/")),
        prop::collection::btree_map("[a-zA-Z][a-zA-Z_]{0,7}", "[a-z0-9 ./]{0,8}", 0..3),
        100u16..600,
        prop::collection::btree_map(
            prop_oneof![
                "\\$\\.[A-Z][A-Za-z]{0,7}",
                "\\$\\[\\*\\]\\.[A-Z][a-z]{0,5}",
                "\\$\\.Data\\[0\\]\\.[A-Z][a-z]{0,5}"
            ],
            prop::sample::select(vec!["integer", "string", "boolean", "array", "object", "[string, \"null\"]"]),
            0..3,
        ),
    )
        .prop_map(|(method, path, query, status, paths)| GenStep {
            method,
            path,
            query: query.into_iter().collect(),
            status,
            paths: paths.into_iter().collect(),
        })
}

fn gen_file() -> impl Strategy<Value = GenFile> {
    let case =
        ("\\PC{1,30}", prop::sample::select(vec![None, Some("irreversible")]), prop::collection::vec(gen_step(), 1..4));
    (
        "[a-z][a-z0-9-]{0,8}",
        "[a-z][a-z0-9-]{0,8}",
        "\\PC{1,30}",
        prop::collection::btree_map("[a-z0-9][a-z0-9._-]{0,12}", case, 1..4),
    )
        .prop_map(|(area, stem, endpoint, cases)| GenFile {
            area,
            stem,
            endpoint,
            cases: cases
                .into_iter()
                .map(|(name, (summary, effect, steps))| GenCase { name, summary, effect, steps })
                .collect(),
        })
}

/// The file's YAML, with the line of each case's name and of each step's request.
fn render(file: &GenFile) -> (String, Vec<(usize, Vec<usize>)>) {
    let q = |s: &str| serde_json::to_string(s).expect("a string serialises");
    let mut lines = vec![format!("endpoint: {}", q(&file.endpoint)), "cases:".to_owned()];
    let mut places = Vec::new();
    for case in &file.cases {
        lines.push(format!("  - name: {}", case.name));
        let name_line = lines.len();
        lines.push(format!("    summary: {}", q(&case.summary)));
        if let Some(effect) = case.effect {
            lines.push(format!("    effect: {effect}"));
        }
        lines.push("    steps:".to_owned());
        let mut step_lines = Vec::new();
        for step in &case.steps {
            let query: Vec<String> = step.query.iter().map(|(k, v)| format!("{}: {}", q(k), q(v))).collect();
            lines.push(format!(
                "      - request: {{ method: {}, path: {}, query: {{ {} }} }}",
                step.method,
                q(&step.path),
                query.join(", ")
            ));
            step_lines.push(lines.len());
            lines.push("        expect:".to_owned());
            lines.push(format!("          status: {}", step.status));
            if !step.paths.is_empty() {
                lines.push("          paths:".to_owned());
                for (path, ty) in &step.paths {
                    lines.push(format!("            {}: {{ type: {ty} }}", q(path)));
                }
            }
        }
        places.push((name_line, step_lines));
    }
    (lines.join("\n") + "\n", places)
}

proptest! {
    #![proptest_config(config(48))]

    #[test]
    fn a_valid_file_round_trips_through_compile(file in gen_file()) {
        use psconform::case::spec::StatusSpec;
        use psconform::plan::check::Test;

        let (text, places) = render(&file);
        let name = format!("{}/{}.yaml", file.area, file.stem);
        let (_dir, result) = compile(&name, text.as_bytes());
        let plan = result.map_err(|d| {
            TestCaseError::fail(format!("{}\n{text}", d.iter().map(|d| d.render()).collect::<String>()))
        })?;
        prop_assert_eq!(plan.files, 1);
        prop_assert_eq!(plan.cases.len(), file.cases.len());
        // Cases come out sorted by name, as the generated map holds them.
        for ((case, (name_line, step_lines)), planned) in file.cases.iter().zip(&places).zip(&plan.cases) {
            prop_assert_eq!(&planned.name, &format!("{}::{}::{}", file.area, file.stem, case.name));
            prop_assert_eq!(planned.line as usize, *name_line);
            prop_assert_eq!(&planned.endpoint, &file.endpoint);
            prop_assert_eq!(&planned.summary, &case.summary);
            // Declared, or the most consequential of the endpoints its steps call.
            let derived = case
                .steps
                .iter()
                .filter_map(|s| psconform::plan::effect::fit(s.method, &s.path).ok())
                .map(|f| f.effect)
                .max()
                .unwrap_or(psconform::plan::Effect::Read);
            prop_assert_eq!(planned.effect.to_string(), case.effect.map_or_else(|| derived.to_string(), str::to_owned));
            prop_assert_eq!(planned.steps.len(), case.steps.len());
            for ((step, line), p) in case.steps.iter().zip(step_lines).zip(&planned.steps) {
                prop_assert_eq!(p.span.line as usize, *line);
                prop_assert_eq!(p.request.method.as_str(), step.method);
                prop_assert_eq!(&p.request.route, &psconform::shape::contract::route_of_path(&step.path));
                let literal = (!step.path.contains("{{")).then(|| step.path.clone());
                prop_assert_eq!(p.request.path.as_literal(), literal);
                let query: Vec<(Option<String>, Option<String>)> =
                    p.request.query.iter().map(|(k, v)| (k.as_literal(), v.as_literal())).collect();
                let expected: Vec<(Option<String>, Option<String>)> =
                    step.query.iter().map(|(k, v)| (Some(k.clone()), Some(v.clone()))).collect();
                prop_assert_eq!(query, expected);
                prop_assert!(matches!(&p.checks[0].test, Test::Status(StatusSpec::Code(c)) if *c == step.status));
                let paths: Vec<&str> = p
                    .checks
                    .iter()
                    .filter_map(|c| match &c.test {
                        Test::Path { path, .. } => Some(path.source.as_str()),
                        _ => None,
                    })
                    .collect();
                let expected: Vec<&str> = step.paths.iter().map(|(p, _)| p.as_str()).collect();
                prop_assert_eq!(paths, expected);
            }
        }
    }
}
