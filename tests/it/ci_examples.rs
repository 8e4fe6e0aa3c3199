//! The CI gate examples in `examples/ci/` (issue #10), which the README shows, cannot go
//! stale: they parse as YAML; the job runs `psconform run` with `--junit` and `--html` against
//! a target taken from a CI variable, with no credential written in the file or passed on a
//! command line; the JUnit file reaches the platform's test report; the HTML page is kept when
//! the job fails; and the job's own script, run here with a stand-in `psconform` for each exit
//! code, fails on every code but 0 and explains 2 and 5 as the README does.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

use crate::harness::files::root;

/// The settings psconform reads from the environment; the credentials among them.
const SETTINGS: &[&str] = &["PS_API_KEY", "PS_RUNAS", "PS_RUNAS_PASSWORD", "PS_CLIENT_ID", "PS_CLIENT_SECRET"];

const TARGET: &str = "https://ps.example.com/BeyondTrust/api/public/v3";

fn read(path: &str) -> (String, Value) {
    let text = std::fs::read_to_string(root().join(path)).expect("the example exists");
    let doc: Value = serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{path} is not YAML: {e}"));
    (text, doc)
}

/// The value after `flag` in a command line.
fn arg_after<'a>(script: &'a str, flag: &str) -> &'a str {
    let at = script.find(&format!("{flag} ")).unwrap_or_else(|| panic!("{flag} is given: {script}"));
    script[at + flag.len() + 1..].split_whitespace().next().unwrap_or("")
}

/// Checks the command the gate runs, and returns the JUnit and HTML paths it writes.
fn check_command(what: &str, script: &str) -> (String, String) {
    let line = script.lines().find(|l| l.contains("psconform run")).expect("the script runs psconform run");
    assert!(line.contains("--target \"$PS_TARGET\""), "{what}: the target comes from the PS_TARGET variable: {line}");
    assert!(script.contains(":?"), "{what}: an unset PS_TARGET stops the job instead of testing the simulator");
    for setting in SETTINGS {
        assert!(!script.contains(&format!("${setting}")), "{what}: {setting} is on a command line");
        assert!(!script.contains(&format!("${{{setting}}}")), "{what}: {setting} is on a command line");
    }
    assert!(!script.contains("${{"), "{what}: no expression is pasted into the script's text");
    (arg_after(script, "--junit").to_owned(), arg_after(script, "--html").to_owned())
}

/// Runs the gate's script with `shell` in an empty folder, with a stand-in
/// `./target/release/psconform` that records its arguments and exits with each code, and
/// checks the job's outcome for each.
fn check_exit_codes(what: &str, shell: &[&str], script: &str) {
    let dir = tempfile::tempdir().expect("temp");
    let bin = dir.path().join("target/release/psconform");
    std::fs::create_dir_all(bin.parent().expect("folder")).expect("mkdir");
    std::fs::write(&bin, "#!/bin/sh\nprintf '%s\\n' \"$@\" > \"$STUB_ARGS\"\nexit \"$STUB_EXIT\"\n").expect("stub");
    make_executable(&bin);
    let args_file = dir.path().join("args");
    // The job's script in `shell`, with only PATH and `target` as PS_TARGET in its environment,
    // and the stand-in exiting `code`.
    let job = |target: Option<&str>, code: i32| -> Output {
        let mut cmd = Command::new(shell[0]);
        cmd.args(&shell[1..])
            .arg(script)
            .current_dir(dir.path())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("STUB_EXIT", code.to_string())
            .env("STUB_ARGS", &args_file);
        if let Some(target) = target {
            cmd.env("PS_TARGET", target);
        }
        cmd.output().expect("the shell runs")
    };
    for code in 0..=5 {
        let out = job(Some(TARGET), code);
        let said = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{what}: psconform's exit {code} is the job's: {said}");
        let explained = match code {
            0 => "every selected case passed",
            1 => "at least one case failed",
            2 => "configuration is wrong, not the target",
            3 => "could not be reached",
            4 => "breaking shape change",
            _ => "could not be written",
        };
        assert!(said.contains(explained), "{what}: exit {code} is explained ({explained:?}): {said}");
        let args = std::fs::read_to_string(&args_file).expect("psconform was run");
        let args: Vec<&str> = args.lines().collect();
        assert_eq!(args.first(), Some(&"run"), "{what}: {args:?}");
        assert!(args.windows(2).any(|w| w == ["--target", TARGET]), "{what}: {args:?}");
        assert!(args.contains(&"--junit") && args.contains(&"--html"), "{what}: {args:?}");
        // A gate without settings must not pass by checking nothing (issue #14).
        assert!(args.windows(2).any(|w| w[0] == "--require" && w[1].contains("api-key")), "{what}: {args:?}");
    }
    // Without PS_TARGET the job fails before running anything (it would test the simulator).
    let _ = std::fs::remove_file(&args_file);
    let out = job(None, 0);
    assert!(!out.status.success() && !args_file.exists(), "{what}: no PS_TARGET, no run");
}

fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    let mut p = std::fs::metadata(path).expect("stat").permissions();
    p.set_mode(0o755);
    std::fs::set_permissions(path, p).expect("chmod");
}

/// Lines of a YAML file that are not comments.
fn code_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines().filter(|l| !l.trim_start().starts_with('#'))
}

#[test]
fn the_gitlab_job_gates_as_documented() {
    let (text, doc) = read("examples/ci/gitlab-ci.yml");
    let job = &doc["psconform"];
    let script: Vec<&str> = job["script"].as_array().expect("a script list").iter().filter_map(Value::as_str).collect();
    let gate = script.iter().find(|s| s.contains("psconform run")).expect("a step runs psconform run");
    let (junit, html) = check_command("GitLab", gate);
    assert_eq!(job["artifacts"]["reports"]["junit"], junit.as_str(), "the JUnit file is GitLab's test report");
    assert_eq!(job["artifacts"]["when"], "always", "the artifacts are kept when the job fails");
    let paths: Vec<&str> =
        job["artifacts"]["paths"].as_array().expect("artifact paths").iter().filter_map(Value::as_str).collect();
    assert!(paths.contains(&html.as_str()), "the HTML page is an artifact: {paths:?}");
    for line in code_lines(&text) {
        for setting in SETTINGS {
            assert!(!line.contains(setting), "GitLab: {setting} belongs in the project's masked variables: {line}");
        }
    }
    // GitLab runs a job's script with the image's shell; this is POSIX sh, as in any image.
    check_exit_codes("GitLab", &["sh", "-e", "-c"], gate);
}

#[test]
fn the_github_workflow_gates_as_documented() {
    let (text, doc) = read("examples/ci/github-actions.yml");
    let job = &doc["jobs"]["conformance"];
    let secret = regex::Regex::new(r"^\$\{\{\s*secrets\.[A-Z_]+\s*\}\}$").expect("regex");
    let variable = regex::Regex::new(r"^\$\{\{\s*vars\.PS_TARGET\s*\}\}$").expect("regex");
    for setting in SETTINGS {
        let value = job["env"][setting].as_str().unwrap_or_else(|| panic!("GitHub: {setting} is passed to the job"));
        assert!(secret.is_match(value), "GitHub: {setting} comes from a secret, not {value:?}");
    }
    assert!(variable.is_match(job["env"]["PS_TARGET"].as_str().unwrap_or("")), "the target is a variable");
    for line in code_lines(&text) {
        for setting in SETTINGS {
            if line.contains(setting) {
                assert!(line.contains("${{ secrets."), "GitHub: {setting} only ever comes from a secret: {line}");
            }
        }
    }
    let steps = job["steps"].as_array().expect("steps");
    let uses = |prefix: &str| steps.iter().find(|s| s["uses"].as_str().is_some_and(|u| u.starts_with(prefix)));
    let gate = steps
        .iter()
        .filter_map(|s| s["run"].as_str())
        .find(|r| r.contains("psconform run"))
        .expect("a step runs psconform run");
    let (junit, html) = check_command("GitHub", gate);
    let report = uses("mikepenz/action-junit-report@").expect("a test-report step");
    assert_eq!(report["with"]["report_paths"], junit.as_str(), "the JUnit file is the test report");
    assert_eq!(report["if"], "always()", "the test report is made when the run fails");
    let upload = uses("actions/upload-artifact@").expect("an upload-artifact step");
    assert_eq!(upload["if"], "always()", "the artifact is kept when the run fails");
    let paths = upload["with"]["path"].as_str().expect("paths");
    assert!(paths.lines().any(|p| p.trim() == html), "the HTML page is uploaded: {paths}");
    assert!(doc["permissions"]["checks"] == "write", "the test report may write a check");
    // GitHub runs `shell: bash` steps as `bash --noprofile --norc -eo pipefail {0}`.
    check_exit_codes("GitHub", &["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c"], gate);
}

#[test]
fn the_readme_shows_both_jobs_as_kept_in_examples_ci() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README");
    for path in ["examples/ci/gitlab-ci.yml", "examples/ci/github-actions.yml"] {
        let (text, _) = read(path);
        assert!(readme.contains(&format!("```yaml\n{text}```")), "README shows {path} as it is in the repository");
    }
    assert!(readme.contains("| 5 |"), "README documents exit code 5");
    assert!(readme.contains("(#exit-codes)"), "the CI section links to the exit codes");
}
