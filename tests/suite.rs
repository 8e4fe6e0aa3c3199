//! The shipped suite against the built-in simulator: the faithful simulator passes every case,
//! every deliberate deviation makes a case fail with a message naming it, the JSON Schema does
//! not drift from the model, and no secret reaches any artifact.

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use psconform::simulator::Fault;

mod common;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn psconform() -> Command {
    let mut cmd = Command::cargo_bin("psconform").expect("the psconform binary is built");
    cmd.current_dir(root());
    for var in
        ["PS_API_KEY", "PS_RUNAS", "PS_RUNAS_PASSWORD", "PS_CLIENT_ID", "PS_CLIENT_SECRET", "PS_TARGET", "RUST_LOG"]
    {
        cmd.env_remove(var);
    }
    // As in CI: compare snapshots, never write into the repository's snapshot set.
    cmd.env("CI", "true");
    cmd
}

fn text(out: &Output) -> String {
    format!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[test]
fn faithful_simulator_passes_every_shipped_case() {
    let out = psconform().args(["run", "--cases", "cases"]).output().expect("run");
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(all.contains(" 0 failed; 0 ignored"), "{all}");
    assert!(!all.contains("panicked"), "{all}");
}

#[test]
fn faithful_simulator_passes_every_shipped_case_with_every_data_variant() {
    for variant in psconform::simulator::DataVariant::ALL {
        let out = psconform().args(["run", "--cases", "cases", "--sim-data", variant.name()]).output().expect("run");
        let all = text(&out);
        assert_eq!(out.status.code(), Some(0), "{variant}: {all}");
        assert!(all.contains(" 0 failed; 0 ignored"), "{variant}: {all}");
        assert!(!all.contains("panicked"), "{variant}: {all}");
    }
}

/// Where each fault must show in the JSON report: a failed case, and in it a failed outcome
/// with this subject and matcher (typed, not words: the words are the golden tests' business).
fn named_deviation(fault: Fault) -> (&'static str, &'static str, &'static str) {
    match fault {
        Fault::SigninMissingUserid => ("auth::sign-app-in::api-key", "$.UserId", "type"),
        Fault::SigninUseridAsString => ("auth::sign-app-in::api-key", "$.UserId", "type"),
        Fault::SigninWrongUsername => ("auth::sign-app-in::api-key", "$.UserName", "equals"),
        Fault::SigninNoCookie => ("auth::sign-app-in::api-key", "ASP.NET_SessionId", "set"),
        Fault::SigninHtmlContentType => ("auth::sign-app-in::api-key", "Content-Type", "matches"),
        Fault::SigninAcceptsBadKey => ("auth::sign-app-in::wrong-key", "status", "status"),
        Fault::SigninIgnoresPassword => ("auth::sign-app-in::password-missing", "status", "status"),
        Fault::SignoutKeepsSession => ("auth::sign-out::ends-session", "status", "status"),
        Fault::Signout500 => ("auth::sign-out::without-session", "status", "status"),
        Fault::Unauthenticated200 => ("auth::session::no-session", "status", "status"),
        Fault::UnauthenticatedHtmlBody => ("auth::session::no-session", "body", "exact"),
        Fault::TokenMissingExpiresIn => ("auth::connect-token::client-credentials", "$.expires_in", "type"),
        Fault::TokenTypeLowercase => ("auth::connect-token::client-credentials", "$.token_type", "equals"),
        Fault::TokenExpiresInString => ("auth::connect-token::client-credentials", "$.expires_in", "type"),
        Fault::TokenAcceptsBadSecret => ("auth::connect-token::wrong-secret", "status", "status"),
        Fault::TokenWrongScope => ("auth::connect-token::client-credentials", "$.scope", "equals"),
        Fault::BearerInvalidAccepted => ("auth::oauth-sign-in::invalid-token", "status", "status"),
        Fault::LicenceIgnored => ("auth::sign-app-in::licence-invalid", "status", "status"),
        Fault::VersionDisabledIgnored => ("auth::sign-app-in::api-version-disabled", "status", "status"),
        Fault::SessionNeverExpires => ("auth::session::idle-timeout", "status", "status"),
        Fault::CookieNotHttponly => ("auth::sign-app-in::api-key", "ASP.NET_SessionId", "http_only"),
        Fault::RoutesCaseSensitive => ("managed-accounts::list-accounts::python-client-spelling", "status", "status"),
        Fault::AccountLookupList => ("managed-accounts::list-accounts::lookup-by-names", "$", "type"),
        Fault::AccountSystemIdSpelling => ("managed-accounts::list-accounts::lookup-by-names", "$.SystemId", "type"),
        Fault::RequestIdObject => ("requests::release::release-and-check-in", "$", "type"),
        Fault::RequestConflictIgnored => ("requests::release::conflict-without-option", "status", "status"),
        Fault::ApprovalIgnored => ("requests::access-policy::approval-pending", "status", "status"),
        Fault::CredentialsObject => ("requests::release::release-and-check-in", "$", "type"),
        Fault::CredentialsAfterCheckin => ("requests::release::credentials-gone-after-check-in", "status", "status"),
        Fault::Checkin200Body => ("requests::release::release-and-check-in", "body", "empty"),
        Fault::RequestsNeverExpire => ("requests::access-policy::release-expires", "status", "status"),
        Fault::SecretsUnwrapped => ("secrets-safe::list-secrets::version-3-2", "$.TotalCount", "type"),
        Fault::SecretsTitleIgnored => ("secrets-safe::secrets-by-path::by-path-and-title", "$", "length"),
        Fault::FileDownloadJson => ("secrets-safe::secret-by-id::file-secret", "Content-Type", "matches"),
        Fault::FoldersBoolCaseSensitive => ("secrets-safe::folders::python-client-booleans", "status", "status"),
    }
}

/// The failed outcomes of the failed cases in a JSON report: (case, subject, matcher).
fn failed_outcomes(report: &serde_json::Value) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for case in report["cases"].as_array().into_iter().flatten().filter(|c| c["outcome"] == "failed") {
        for step in case["steps"].as_array().into_iter().flatten() {
            for o in step["outcomes"].as_array().into_iter().flatten().filter(|o| o["passed"] == false) {
                let text = |v: &serde_json::Value| v.as_str().unwrap_or("").to_owned();
                out.push((text(&case["name"]), text(&o["subject"]), text(&o["matcher"])));
            }
        }
    }
    out
}

#[test]
fn every_fault_fails_a_case_and_the_report_names_the_deviation() {
    let dir = tempfile::tempdir().expect("temp");
    let mut missed = Vec::new();
    for fault in Fault::ALL {
        let report = dir.path().join(format!("{}.json", fault.name()));
        let out = psconform()
            .args(["run", "--cases", "cases", "--sim-fault", fault.name(), "--test-threads", "4", "--report"])
            .arg(&report)
            .output()
            .expect("run");
        let all = text(&out);
        let json: serde_json::Value =
            std::fs::read_to_string(&report).ok().and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_default();
        let (case, subject, matcher) = named_deviation(*fault);
        let failed = failed_outcomes(&json);
        let named = failed.iter().any(|(c, s, m)| c == case && s == subject && m == matcher);
        if out.status.code() != Some(1) || !named || all.contains("panicked") {
            missed.push(format!(
                "{} (exit {:?}, wanted {case} {subject} {matcher}; failed: {failed:?}):\n{all}",
                fault.name(),
                out.status.code()
            ));
        }
    }
    assert!(missed.is_empty(), "faults the suite did not catch as expected:\n{}", missed.join("\n"));
}

#[test]
fn json_schema_is_generated_from_the_model() {
    let committed = std::fs::read_to_string(root().join("case.schema.json")).expect("case.schema.json");
    let current = psconform::case::schema::render();
    assert!(
        committed == current,
        "case.schema.json is stale: run `cargo run -- schema > case.schema.json` and commit it"
    );
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            yaml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml") {
            out.push(path);
        }
    }
}

#[test]
fn shipped_case_files_satisfy_the_schema_editors_use() {
    let schema: serde_json::Value =
        serde_json::from_str(&psconform::case::schema::render()).expect("the schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    let mut files = Vec::new();
    yaml_files(&root().join("cases"), &mut files);
    assert!(!files.is_empty());
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read");
        let doc: serde_json::Value = serde_saphyr::from_str(&text).expect("YAML");
        let errors: Vec<String> =
            validator.iter_errors(&doc).map(|e| format!("{e} at {}", e.instance_path())).collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", file.display());
    }
    // And the schema rejects what the loader rejects.
    let bad: serde_json::Value = serde_json::json!({"endpoint": "X", "cases": [{"name": "a", "summary": "s", "effect": "read",
        "steps": [{"request": {"method": "GET", "path": "X"}, "expect": {"statuz": 200}}]}]});
    assert!(!validator.is_valid(&bad));
}

const CANARY_KEY: &str = "c4a7a12ecafe0000canary0000key0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000099";
const CANARY_PWD: &str = "Canary & <tag> \"dq\" 'sq' \\bs 50% x=y+z/w";
const CANARY_SECRET: &str = "CanarySecret-0123456789abcdefghijklmnopqrstuvwxyz";

/// Cases that push secrets towards every output: a failing check on a credential field, a
/// token sent in a query string, a secret in an expected value.
const ADVERSARIAL: &str = r#"
endpoint: secrets in outputs
cases:
  - name: token-everywhere
    summary: A captured token is sent in a query string and fails a check that quotes it.
    effect: audited
    steps:
      - request:
          method: POST
          path: Auth/Connect/Token
          body: { form: { grant_type: client_credentials, client_id: "{{ client_id }}", client_secret: "{{ client_secret }}" } }
        expect:
          status: 200
          paths:
            $.access_token: { equals: "not the token" }
        capture:
          token: { path: $.access_token }
    teardown:
      - request:
          method: GET
          path: "Configuration/Version"
          query: { t: "{{ client_secret }}" }
          auth: { ps-auth: { key: "{{ api_key }}" } }
          headers: { X-Echo: "{{ client_secret }}" }
        expect:
          status: 200
          body: { text: { contains: "{{ client_secret }}" } }
  - name: retrieved-credential
    summary: Retrieve secret values and fail a check that would quote one.
    effect: audited
    steps:
      - request: { method: POST, path: Auth/SignAppin, auth: ps-auth }
        expect: { status: 200 }
      - request: { method: GET, path: Secrets-Safe/Secrets, query: { decrypt: "true" } }
        expect:
          status: 200
          body: { partial: [{ Password: "not it" }, { Password: "not it either" }] }
          paths:
            $[0].Password: { equals: "not it" }
        capture:
          pw: { path: "$[0].Password" }
      - request: { method: GET, path: "Configuration/Version", query: { echo: "{{ pw }}" } }
        expect: { status: 500 }
  - name: session-cookie-and-password
    summary: Sign in with the password, then expect the cookie value to be something else.
    effect: audited
    steps:
      - request: { method: POST, path: Auth/SignAppin, auth: ps-auth }
        expect:
          status: 200
          cookies:
            ASP.NET_SessionId: { value_matches: "^nope$" }
          headers:
            Set-Cookie: { equals: "{{ runas_password }}" }
        capture:
          sid: { cookie: ASP.NET_SessionId }
      - request: { method: GET, path: "Configuration/{{ sid }}" }
        expect: { status: 200 }
"#;

/// Copies `from` into `to`, folders included.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let p = entry.expect("entry").path();
        let target = to.join(p.file_name().expect("name"));
        if p.is_dir() {
            copy_tree(&p, &target);
        } else {
            std::fs::copy(&p, &target).expect("copy");
        }
    }
}

/// Every file below `dir`, concatenated.
fn read_tree(dir: &Path) -> String {
    let mut out = String::new();
    for entry in walkdir::WalkDir::new(dir).into_iter().flatten().filter(|e| e.file_type().is_file()) {
        out.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
    }
    out
}

/// Canary credentials through the whole shipped suite plus adversarial cases, three times
/// (faithful and with two faults), into every artifact psconform writes: the terminal and
/// `-vv` logs, JUnit, the JSON report, the HTML page, contracts merged with
/// `--update-snapshots`, the `--record` set, the `--drift-report`, `drift` output,
/// `list --json` and `validate` diagnostics. None may hold a canary in any encoding or any
/// 24-character fragment of one, nor any of the values the simulator made up (session ids,
/// tokens, retrieved credentials and secrets).
#[test]
fn no_secret_reaches_any_artifact() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cases = dir.path().join("cases");
    copy_tree(&root().join("cases"), &cases);
    copy_tree(&root().join("snapshots"), &dir.path().join("snapshots"));
    std::fs::write(cases.join("adversarial.yaml"), ADVERSARIAL).expect("write");
    // A case file someone pasted a key into, in a place the loader cannot refuse it.
    let pasted = format!(
        "endpoint: X\ncases:\n  - name: pasted\n    summary: \"the key is {CANARY_KEY}\"\n    effect: read\n    steps:\n      - request: {{ method: GET, path: Configuration/Version }}\n        expect: {{ status: 401 }}\n"
    );
    std::fs::write(cases.join("pasted.yaml"), pasted).expect("write");
    let canaries = |cmd: &mut Command| {
        cmd.env("PS_API_KEY", CANARY_KEY)
            .env("PS_RUNAS", "svc-canary")
            .env("PS_RUNAS_PASSWORD", CANARY_PWD)
            .env("PS_CLIENT_ID", "0f6a3d2e-5b1c-4e8f-9a7d-2c3b4a5d6e7f")
            .env("PS_CLIENT_SECRET", CANARY_SECRET)
            .current_dir(dir.path());
    };
    let mut artifacts = String::new();
    for (i, fault) in [None, Some("signin-wrong-username"), Some("credentials-after-checkin")].into_iter().enumerate() {
        let mut cmd = psconform();
        canaries(&mut cmd);
        cmd.args(["-vv", "run", "--cases", "cases", "--update-snapshots", "--test-threads", "4"])
            .args(["--junit", &format!("junit{i}.xml"), "--report", &format!("report{i}.json")])
            .args(["--html", &format!("report{i}.html"), "--record", &format!("record{i}")])
            .args(["--drift-report", &format!("drift{i}.md")]);
        if let Some(f) = fault {
            cmd.args(["--sim-fault", f]);
        }
        let out = cmd.output().expect("run");
        assert_eq!(out.status.code(), Some(1), "the adversarial cases fail:\n{}", text(&out));
        artifacts.push_str(&text(&out));
        for file in
            [format!("junit{i}.xml"), format!("report{i}.json"), format!("report{i}.html"), format!("drift{i}.md")]
        {
            let content = std::fs::read_to_string(dir.path().join(&file)).unwrap_or_else(|e| panic!("{file}: {e}"));
            artifacts.push_str(&content);
        }
        artifacts.push_str(&read_tree(&dir.path().join(format!("record{i}"))));
    }
    artifacts.push_str(&read_tree(&dir.path().join("snapshots")));
    for args in
        [&["drift", "record0", "snapshots"][..], &["list", "--json", "--cases", "cases"], &["validate", "cases"]]
    {
        let mut cmd = psconform();
        canaries(&mut cmd);
        artifacts.push_str(&text(&cmd.args(args).output().expect("runs")));
    }
    assert!(artifacts.contains("> POST"), "the -vv log was captured");
    assert!(artifacts.contains("[REDACTED]"), "something was redacted");
    assert!(artifacts.contains("$[0].Password"), "the credential check ran and failed");
    assert!(artifacts.contains("the key is [REDACTED]"), "the pasted key is masked where it stands");
    common::assert_no_secret("artifacts", &artifacts, &[CANARY_KEY, CANARY_PWD, CANARY_SECRET]);
    // A file secret's FileHash is a SHA-256 of its content: metadata, shown on purpose.
    let file_hash = regex::Regex::new(r"FileHash\W{1,8}[0-9A-F]{16,64}").expect("regex");
    let made_up = common::random_tokens(&file_hash.replace_all(&artifacts, "FileHash"));
    assert!(made_up.is_empty(), "values the simulator made up leaked: {made_up:?}");
}

#[test]
fn the_readme_shows_a_real_case_file_as_shipped() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README");
    let start = readme.find("```yaml\n").expect("a yaml block") + "```yaml\n".len();
    let end = start + readme[start..].find("```").expect("the block ends");
    let shipped = std::fs::read_to_string(root().join("cases/auth/session.yaml")).expect("case file");
    assert_eq!(&readme[start..end], shipped, "README's example must be cases/auth/session.yaml as shipped");
    for code in ["| 0 |", "| 1 |", "| 2 |", "| 3 |"] {
        assert!(readme.contains(code), "README documents exit code {code}");
    }
    assert!(readme.contains("cargo run -- run") && readme.contains("cargo test"));
}

/// Records the contracts the shipped suite observes on the simulator in `profile` into `dir`.
fn record(profile: &str, dir: &Path) {
    let out = psconform()
        .args(["run", "--cases", "cases", "--no-snapshots", "--sim-profile", profile, "--record"])
        .arg(dir)
        .output()
        .expect("run");
    assert!(!text(&out).contains("panicked"), "{}", text(&out));
    assert!(std::fs::read_dir(dir).is_ok_and(|d| d.count() >= 7), "{profile}: a complete set is recorded");
}

#[test]
fn drift_between_two_profiles_names_each_change_once_per_contract() {
    let dir = tempfile::tempdir().expect("temp");
    let (old, new) = (dir.path().join("23.1"), dir.path().join("24.3"));
    record("23.1", &old);
    record("24.3", &new);

    let out = psconform().arg("drift").arg(&old).arg(&new).arg("--json").output().expect("drift");
    assert_eq!(out.status.code(), Some(4), "breaking changes exit 4: {}", text(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let changes: Vec<String> = report["contracts"]
        .as_array()
        .expect("contracts")
        .iter()
        .flat_map(|c| {
            c["changes"].as_array().into_iter().flatten().map(move |e| {
                format!(
                    "{} | {} | {} | {}",
                    c["contract"].as_str().unwrap_or(""),
                    e["at"].as_str().unwrap_or(""),
                    e["what"].as_str().unwrap_or(""),
                    e["severity"].as_str().unwrap_or("")
                )
            })
        })
        .collect();
    assert_eq!(
        changes,
        [
            "get__secrets-safe__secrets__200.snap | [].Password | optional field not seen | info",
            "get__secrets-safe__secrets__200.snap | [].Text | optional field not seen | info",
            "get__secrets-safe__secrets__200__v3.2.snap | body | retyped | breaking",
        ],
        "{report:#}"
    );

    let md = psconform().arg("drift").arg(&old).arg(&new).output().expect("drift");
    let md = String::from_utf8_lossy(&md.stdout);
    assert!(
        md.contains("**1 breaking**, 0 additive") && md.contains("## GET Secrets-Safe/Secrets 200 (version 3.2)"),
        "{md}"
    );

    let same = psconform().arg("drift").arg(&new).arg(&new).output().expect("drift");
    assert_eq!(same.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&same.stdout).contains("No contract changed"));
}

#[test]
fn a_run_compares_live_shapes_with_the_contracts() {
    let dir = tempfile::tempdir().expect("temp");
    let report = dir.path().join("drift.md");
    let json = dir.path().join("r.json");
    // The shipped contracts are of the current release; an earlier one drifts from them.
    let out = psconform()
        .args(["run", "--cases", "cases", "--sim-profile", "23.1", "--drift-report"])
        .arg(&report)
        .arg("--report")
        .arg(&json)
        .output()
        .expect("run");
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).expect("report")).expect("JSON");
    let verdicts: Vec<(String, String)> = json["cases"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|c| c["steps"].as_array().into_iter().flatten())
        .filter_map(|s| s.get("contract"))
        .filter(|v| v["status"] != "conforming")
        .map(|v| (v["contract"].as_str().unwrap_or("").to_owned(), v["status"].as_str().unwrap_or("").to_owned()))
        .collect();
    assert!(
        verdicts.contains(&("snapshots/get__secrets-safe__secrets__200__v3.2.snap".into(), "breaking".into())),
        "{verdicts:?}"
    );
    // The values an earlier release returns unasked are a new field to the current contract:
    // reported, not failing the step.
    assert!(
        verdicts.contains(&("snapshots/get__secrets-safe__secrets__200.snap".into(), "additive".into())),
        "{verdicts:?}"
    );
    let md = std::fs::read_to_string(&report).expect("drift report written");
    assert!(md.contains("**1 breaking**, 1 additive"), "{md}");
    assert!(md.contains("| additive | `[].Password` | new field (`string`) |"), "{md}");
}

#[test]
fn shipped_snapshots_match_the_simulator_and_nothing_is_unreferenced() {
    let out = psconform().args(["run", "--cases", "cases"]).output().expect("run");
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(!all.contains("contracts:"), "no shape change, missing or unused contract: {all}");
    let pending = std::fs::read_dir(root().join("snapshots"))
        .expect("snapshots")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".snap.new"))
        .count();
    assert_eq!(pending, 0, "CI writes nothing");
}
