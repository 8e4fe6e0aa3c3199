//! psconform as an installed tool (issue #20): the built binary, run from an empty folder, runs
//! the suite built into it, reports its coverage, prints the OpenAPI document and serves the
//! simulator; `init` writes the suite out; completions and man pages come from the command
//! line's own definitions; and `rust-version` is the highest one among the locked dependencies.

use serde_json::Value;

use crate::harness::bin::{psconform, stop};
use crate::harness::files::root;

/// An empty folder, away from the repository's `cases/`.
fn empty() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temporary folder")
}

#[test]
fn run_from_an_empty_folder_runs_the_built_in_suite_and_says_so() {
    let dir = empty();
    let report = dir.path().join("r.json");
    let run = psconform().current_dir(dir.path()).args(["run", "--report"]).arg(&report).run();
    run.assert(0, &["suite: (built-in)/cases, built into psconform", "test result: ok"]);
    let json = crate::harness::report::read(&report);
    let file = json.cases.first().map_or("", |c| c.file.as_str());
    assert!(file.starts_with("(built-in)/cases/"), "a case's file names the built-in suite: {file}");
    let left: Vec<_> = std::fs::read_dir(dir.path()).expect("ls").flatten().map(|e| e.file_name()).collect();
    assert_eq!(left, ["r.json"], "nothing but the asked report is written into the folder");
}

#[test]
fn list_validate_and_coverage_read_the_built_in_suite_away_from_a_cases_folder() {
    let dir = empty();
    let shipped = psconform().args(["list", "--json"]).run();
    let built_in = psconform().current_dir(dir.path()).args(["list", "--json"]).run();
    built_in.assert(0, &["suite: (built-in)/cases"]);
    let same = built_in.stdout.replace("\"(built-in)/cases/", "\"cases/");
    assert_eq!(shipped.stdout, same, "the built-in suite is the shipped one, its files under (built-in)/");
    psconform().current_dir(dir.path()).arg("validate").run().assert(0, &["are valid"]);
    let coverage = psconform().current_dir(dir.path()).arg("coverage").run();
    coverage.assert(0, &["suite: (built-in)/cases"]);
    assert_eq!(coverage.stdout, psconform().arg("coverage").run().stdout);
}

#[test]
fn a_cases_folder_in_the_working_folder_wins_and_the_built_in_suite_can_be_named() {
    let dir = empty();
    psconform().current_dir(dir.path()).args(["init", "."]).run().assert(0, &["wrote"]);
    std::fs::remove_dir_all(dir.path().join("cases/auth")).expect("trim the suite");
    let local = psconform().current_dir(dir.path()).args(["list", "--json"]).run();
    local.assert(0, &["suite: cases"]);
    assert!(!local.stdout.contains("auth::"), "./cases is read, not the built-in suite");
    let named = psconform().current_dir(dir.path()).args(["list", "--json", "--cases", "(built-in)/cases"]).run();
    named.assert(0, &["suite: (built-in)/cases"]);
    assert!(named.stdout.contains("auth::"));
}

#[test]
fn init_writes_the_suite_out_and_refuses_to_overwrite_without_force() {
    let dir = empty();
    let target = dir.path().join("mine");
    psconform().current_dir(dir.path()).args(["init", "mine"]).run().assert(0, &["wrote"]);
    assert_eq!(
        std::fs::read_to_string(target.join("cases/auth/sign-app-in.yaml")).expect("written"),
        std::fs::read_to_string(root().join("cases/auth/sign-app-in.yaml")).expect("shipped"),
    );
    std::fs::write(target.join("cases/auth/sign-app-in.yaml"), "edited").expect("edit");
    let again = psconform().current_dir(dir.path()).args(["init", "mine"]).run();
    again.assert(2, &["already exists", "--force"]);
    assert_eq!(std::fs::read_to_string(target.join("cases/auth/sign-app-in.yaml")).expect("kept"), "edited");
    psconform().current_dir(dir.path()).args(["init", "mine", "--force"]).run().assert(0, &["wrote"]);
    // The written suite runs as it is, contracts included.
    psconform().current_dir(&target).args(["run", "--strict-shapes", "auth::"]).run().assert(0, &["suite: cases"]);
}

#[test]
fn the_built_in_contracts_cannot_be_updated() {
    let dir = empty();
    let run = psconform().current_dir(dir.path()).args(["run", "--update-snapshots"]).run();
    run.assert(2, &["built into psconform and cannot be written", "psconform init"]);
}

#[test]
fn openapi_from_an_empty_folder_prints_the_document_and_writes_it_with_output() {
    let dir = empty();
    let printed = psconform().current_dir(dir.path()).arg("openapi").run();
    printed.assert(0, &[]);
    let doc: Value = serde_json::from_str(&printed.stdout).expect("the document is JSON");
    assert_eq!(doc["openapi"], "3.1.0");
    let sign_in = &doc["paths"]["/Auth/SignAppin"]["post"];
    assert_eq!(sign_in["x-psconform-covered"], true, "the built-in suite covers sign-in");
    assert!(sign_in["x-psconform-sources"].as_array().is_some_and(|s| !s.is_empty()));
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["psAuth"]["name"], "Authorization");
    assert!(schemes["oauth"]["flows"]["clientCredentials"].is_object());
    psconform().current_dir(dir.path()).args(["openapi", "--output", "api.json"]).run().assert(0, &[]);
    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("api.json")).expect("written")).expect("JSON");
    assert_eq!(written, doc);
}

#[test]
fn serve_from_an_empty_folder_answers_sign_in() {
    let dir = empty();
    let (child, lines) = psconform()
        .current_dir(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("PS_API_KEY", "install-test-key")
        .env("PS_RUNAS", "installer")
        .spawn_reading(1);
    let url = lines.first().cloned().unwrap_or_default();
    let answer = std::process::Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST"])
        .args(["-H", "Authorization: PS-Auth key=install-test-key; runas=installer;"])
        .arg(format!("{url}/Auth/SignAppin"))
        .output();
    let status = stop(child);
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let answer = answer.expect("curl runs");
    assert_eq!(String::from_utf8_lossy(&answer.stdout), "200");
    assert!(status.success(), "SIGTERM is a clean stop: {status:?}");
}

#[test]
fn completions_for_every_shell_and_man_pages_come_from_the_command_line() {
    for (shell, mark) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef psconform"),
        ("fish", "complete -c psconform"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let run = psconform().args(["completions", shell]).run();
        run.assert(0, &[mark, "openapi"]);
    }
    psconform().args(["completions", "tcsh"]).run().assert(2, &["invalid value"]);
    let page = psconform().arg("man").run();
    page.assert(0, &[".TH psconform 1", "openapi", "completions"]);
    let dir = empty();
    psconform().args(["man", "--dir"]).arg(dir.path()).run().assert(0, &[]);
    // roff writes a hyphen as `\-`.
    let run_page =
        std::fs::read_to_string(dir.path().join("psconform-run.1")).expect("a page per command").replace("\\-", "-");
    for text in ["PS_RUNAS_PASSWORD", "--test-threads", "--html"] {
        assert!(run_page.contains(text), "the run page mentions {text}");
    }
    assert!(dir.path().join("psconform-openapi.1").is_file());
}

#[test]
fn run_help_names_every_setting_and_describes_the_harness_options_for_cases() {
    let help = psconform().args(["run", "--help"]).run();
    help.assert(0, &[]);
    for setting in psconform::settings::SETTINGS {
        assert!(help.stdout.contains(setting.env), "run --help names {}", setting.env);
    }
    assert!(help.stdout.contains("PS_TARGET"));
    for leftover in ["Usefull", "benchmarks", "Run ignored tests\n"] {
        assert!(!help.stdout.contains(leftover), "libtest's wording {leftover:?} is gone:\n{}", help.stdout);
    }
    for meant in ["ignore: true", "cases"] {
        assert!(help.stdout.contains(meant), "the harness options speak of cases: {meant:?}");
    }
    assert!(help.stdout.contains("--html"), "exit 5 names every report");
}

/// `rust-version` in Cargo.toml is the highest `rust-version` among the locked packages, so the
/// claim is exactly what building needs: a lower one breaks `cargo build --locked` on that
/// toolchain, a higher one turns away toolchains that work. The CI recipes use the same.
#[test]
fn rust_version_is_the_highest_among_the_locked_dependencies() {
    let out = std::process::Command::new(env!("CARGO"))
        .args(["metadata", "--locked", "--offline", "--format-version", "1"])
        .current_dir(root())
        .output()
        .expect("cargo metadata runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let meta: Value = serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON");
    // `1.89` and `1.89.0` are one version.
    let version = |v: &str| -> [u64; 3] {
        let mut parts = v.split('.').map(|n| n.parse().unwrap_or(0));
        [(); 3].map(|()| parts.next().unwrap_or(0))
    };
    let highest = meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .filter(|p| p["name"] != "psconform")
        .filter_map(|p| Some((p["rust_version"].as_str()?, p["name"].as_str()?)))
        .max_by_key(|(v, _)| version(v))
        .expect("some dependency states a rust-version");
    let ours = env!("CARGO_PKG_RUST_VERSION");
    assert_eq!(
        version(ours),
        version(highest.0),
        "Cargo.toml says rust-version = {ours:?}, but the locked {} needs {}",
        highest.1,
        highest.0
    );
    let toolchain_of = regex::Regex::new(r"rust-toolchain@([0-9.]+)|image: rust:([0-9.]+)").expect("regex");
    for recipe in ["examples/ci/github-actions.yml", "examples/ci/gitlab-ci.yml"] {
        let text = std::fs::read_to_string(root().join(recipe)).expect("the recipe exists");
        let toolchain = toolchain_of.captures(&text);
        let named = toolchain.and_then(|c| c.get(1).or(c.get(2))).map(|m| m.as_str().to_owned());
        assert_eq!(named.as_deref(), Some(ours), "{recipe} builds with the rust-version");
    }
}
