//! Golden tests of the command line: what a user sees and the exit code, volatile values
//! (ports, durations, temp paths) redacted before comparing.

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::harness::bin::{Psconform, Run, psconform};
use crate::harness::files::{Project, listing, root};
use crate::harness::target::{http, nothing_listening};

/// Replaces what changes from run to run.
fn redact(text: &str) -> String {
    let port = regex::Regex::new(r"127\.0\.0\.1:\d+").expect("regex");
    let secs = regex::Regex::new(r"finished in \d+\.\d+s").expect("regex");
    // The number of other cases changes whenever a case is added.
    let filtered = regex::Regex::new(r"\d+ filtered out").expect("regex");
    let out = port.replace_all(text, "127.0.0.1:[PORT]");
    let out = filtered.replace_all(&out, "[N] filtered out");
    secs.replace_all(&out, "finished in [TIME]").into_owned()
}

/// Runs `cmd` and redacts what changes from run to run in its output.
fn run(cmd: Psconform) -> Run {
    let run = cmd.run();
    Run { stdout: redact(&run.stdout), stderr: redact(&run.stderr), ..run }
}

/// A TCP listener that counts the connections it gets, to prove nothing was sent.
fn counting_target() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = http(listener.local_addr().expect("addr"));
    let count = Arc::new(AtomicUsize::new(0));
    let c = Arc::clone(&count);
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            if conn.is_ok() {
                c.fetch_add(1, Ordering::SeqCst);
            }
        }
    });
    (url, count)
}

const BROKEN: &str = r#"endpoint: POST Auth/SignAppin
cases:
  - name: sign-in
    summary: s
    effect: audited
    steps:
      - request: { method: POST, path: Auth/SignAppin, auth: ps-auth }
        expect:
          status: 200
          paths:
            $.UserId: { tpye: integer }
  - name: follow-up
    summary: s
    effect: read
    steps:
      - request: { method: GET, path: "Users/{{ user_id }}" }
"#;

const SECOND: &str = r#"endpoint: x
cases:
  - name: a
    summary: s
    effect: mutating
    steps: []
"#;

const THIRD: &str = r#"endpoint: x
cases:
  - name: b
    summary: s
    effect: read
    needs: [api_kee]
    steps:
      - request: { method: GET, path: "Users/{{ user_id }}" }
        expect:
          headers: { Content-Type: { matches: "(" } }
  - name: b
    summary: s
    effect: read
    steps:
      - request: { method: GET, path: X }
"#;

#[test]
fn bad_case_files_exit_2_with_every_error_and_send_nothing() {
    let dir = Project::new(&[("auth/broken.yaml", BROKEN), ("auth/second.yaml", SECOND), ("third.yaml", THIRD)]);
    let (target, connections) = counting_target();
    let r = run(dir.psconform().args(["run", "--target", &target]).env("PS_API_KEY", "k").env("PS_RUNAS", "u"));
    assert_eq!(r.code, Some(2));
    assert_eq!(connections.load(Ordering::SeqCst), 0, "no request may be sent");
    assert_eq!(r.stdout, "");
    insta::assert_snapshot!(r.stderr, @r#"
    suite: cases
    error: unknown field `tpye`, expected one of exists, equals, type, matches, one_of, length, min, max, format
      --> cases/auth/broken.yaml:11:25
       |
    11 |             $.UserId: { tpye: integer }
       |                         ^^^^
       = help: did you mean `type`?

    error: the case has no steps
     --> cases/auth/second.yaml:3:11
      |
    3 |   - name: a
      |           ^
      = help: add at least one step under `steps:`

    error: unknown effect `mutating`
     --> cases/auth/second.yaml:5:13
      |
    5 |     effect: mutating
      |             ^^^^^^^^
      = help: did you mean `change`? (the catalog's word for a case that changes data)

    error: unknown setting `api_kee`
     --> cases/third.yaml:6:13
      |
    6 |     needs: [api_kee]
      |             ^^^^^^^
      = help: did you mean `api_key`?

    error: variable `user_id` is not defined here
     --> cases/third.yaml:8:39
      |
    8 |       - request: { method: GET, path: "Users/{{ user_id }}" }
      |                                       ^^^^^^^^^^^^^^^^^^^^^
      = help: variables are target settings, built-ins, or captures of earlier steps

    error: invalid regular expression `(`: unclosed group
      --> cases/third.yaml:10:47
       |
    10 |           headers: { Content-Type: { matches: "(" } }
       |                                               ^^^

    error: two cases are both named `third::b`
      --> cases/third.yaml:11:11
       |
    11 |   - name: b
       |           ^
       = help: the other one is at cases/third.yaml:3; trial names (`<folder>::<file>::<case>`) must be unique

    error: 7 problems in 3 file(s); nothing was sent
    "#);
    let v = run(dir.psconform().args(["validate"]));
    assert_eq!(v.code, Some(2));
    assert_eq!(v.stderr, r.stderr, "validate and run report the same problems");
}

#[test]
fn empty_cases_folder_exits_2() {
    let dir = Project::new(&[]);
    let r = run(dir.psconform().arg("run"));
    assert_eq!(r.code, Some(2));
    insta::assert_snapshot!(r.stderr, @r"
    suite: cases
    error: no case files (*.yaml, *.yml) found
      --> cases
      = help: point --cases at the folder that holds the case files

    error: 1 problem in 1 file(s); nothing was sent
    ");
}

#[test]
fn a_filter_that_selects_nothing_exits_3() {
    let r = run(psconform().args(["run", "no-such-case"]));
    assert_eq!(r.code, Some(3));
    assert!(r.stderr.contains("no case matches the filter `no-such-case`"), "{}", r.stderr);
}

#[test]
fn golden_run_against_the_simulator() {
    let r = run(psconform().args(["run", "auth::sign-out", "--test-threads", "1"]));
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    insta::assert_snapshot!(r.stdout, @r"

    running 3 tests
    test auth::sign-out::ends-session    ... ok
    test auth::sign-out::twice           ... ok
    test auth::sign-out::without-session ... ok

    test result: ok. 3 passed; 0 failed; 0 ignored; 0 measured; [N] filtered out; finished in [TIME]
    ");
    assert_eq!(
        r.stderr,
        "suite: cases\npsconform: 3 cases against the built-in simulator at http://127.0.0.1:[PORT]/BeyondTrust/api/public/v3\n"
    );
}

#[test]
fn golden_failure_against_a_deviating_simulator() {
    let r = run(psconform().args([
        "run",
        "auth::sign-app-in::api-key",
        "--exact",
        "--sim-fault",
        "signin-userid-as-string",
    ]));
    assert_eq!(r.code, Some(1));
    insta::assert_snapshot!(r.stdout, @r"

    running 1 test
    test auth::sign-app-in::api-key ... FAILED

    failures:

    ---- auth::sign-app-in::api-key ----
    cases/auth/sign-app-in.yaml:23: step 1 `sign in` (POST Auth/SignAppin) -> 200
      contract: expected the shape in catalog/models/authentication.yaml: POST Auth/SignAppin 200 (with snapshots/post__auth__signappin__200.snap), got .UserId: retyped (integer -> string)  (line 23)
      not run after the failure: step 2 `the session authenticates a later call`


    failures:
        auth::sign-app-in::api-key

    test result: FAILED. 0 passed; 1 failed; 0 ignored; 0 measured; [N] filtered out; finished in [TIME]
    ");
}

#[test]
fn against_a_real_target_without_settings_cases_are_ignored_with_the_reason() {
    let (target, _) = counting_target();
    let r = run(psconform().args(["run", "--target", &target, "auth::sign-app-in::", "--list"]));
    assert_eq!(r.code, Some(0));
    let r = run(psconform().args(["run", "--target", &target, "auth::sign-app-in::licence", "--timeout", "1"]));
    assert_eq!(r.code, Some(3), "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("auth::sign-app-in::licence-invalid ... ignored (checks a condition only the built-in simulator can be put in (licence-invalid))"),
        "{}",
        r.stdout
    );
    assert!(r.stderr.contains("nothing ran"), "{}", r.stderr);
    let r = run(psconform().args(["run", "--target", &target, "auth::sign-app-in::api-key", "--exact"]));
    assert!(r.stdout.contains("ignored (needs PS_API_KEY, PS_RUNAS, which is not set)"), "{}", r.stdout);
}

#[test]
fn mutating_and_lockout_cases_are_opt_in_on_a_real_target() {
    let dir = Project::new(&[(
        "x.yaml",
        "endpoint: x\ncases:\n  - name: change\n    summary: s\n    steps:\n      - request: { method: POST, path: X }\n  - name: lock\n    summary: s\n    lockout_risk: true\n    steps:\n      - request: { method: GET, path: X }\n",
    )]);
    let (target, connections) = counting_target();
    let r = run(dir.psconform().args(["run", "--target", &target]));
    assert_eq!(r.code, Some(3));
    assert!(
        r.stdout.contains(
            "x::change ... ignored (changes data on the target: runs against a real target only with --allow-mutations"
        ),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("x::lock   ... ignored (may lock out the run-as user"), "{}", r.stdout);
    assert_eq!(connections.load(Ordering::SeqCst), 0);
}

#[test]
fn unreachable_target_exits_3() {
    let target = nothing_listening();
    let r = run(psconform().args(["run", "--target", &target, "auth::session::no-session"]));
    assert_eq!(r.code, Some(3), "{}", r.stdout);
    assert!(r.stdout.contains("could not connect to http://127.0.0.1:[PORT]"), "{}", r.stdout);
    assert!(r.stderr.contains("the target could not be reached at all"), "{}", r.stderr);
}

#[test]
fn plain_http_to_a_remote_host_is_refused() {
    let r = run(psconform().args(["run", "--target", "http://ps.example.com/BeyondTrust/api/public/v3"]));
    assert_eq!(r.code, Some(2));
    assert!(r.stderr.contains("refusing to send credentials over plain http://"), "{}", r.stderr);
}

#[test]
fn usage_errors_exit_2_and_help_documents_exit_codes() {
    assert_eq!(run(psconform().args(["run", "--timeout", "soon"])).code, Some(2));
    assert_eq!(run(psconform().args(["frobnicate"])).code, Some(2));
    let help = run(psconform().args(["run", "--help"]));
    assert_eq!(help.code, Some(0));
    for line in [
        "0  every selected case passed",
        "1  at least one case failed",
        "2  invalid case files",
        "3  the target could not be reached",
    ] {
        assert!(help.stdout.contains(line), "{}", help.stdout);
    }
    assert!(help.stdout.contains("--include-ignored") && help.stdout.contains("--test-threads"));
    assert!(!help.stdout.contains("--nocapture"));
}

#[test]
fn list_shows_effect_needs_and_tags_and_json() {
    let r = run(psconform().args(["list", "auth::sign-out"]));
    assert_eq!(r.code, Some(0));
    insta::assert_snapshot!(r.stdout, @r"
    auth::sign-out::ends-session  [audited; needs api_key, runas; tags: smoke]
        Signout answers 200 with no body, and the old session then gets 401.
    auth::sign-out::twice  [audited; needs api_key, runas]
        A second Signout on an ended session answers 200 or 401, not a server error.
    auth::sign-out::without-session  [audited]
        Signout without a session answers 200 or 401, not a server error.
    3 cases
    ");
    let j = run(psconform().args(["list", "--json"]));
    let v: serde_json::Value = serde_json::from_str(&j.stdout).expect("list --json is JSON");
    let cases = v.as_array().expect("an array");
    assert!(cases.len() >= 20);
    let names: Vec<&str> = cases.iter().filter_map(|c| c["name"].as_str()).collect();
    assert!(names.windows(2).all(|w| w[0] <= w[1]), "sorted by name");
    let token = cases.iter().find(|c| c["name"] == "auth::connect-token::client-credentials").expect("the case");
    assert_eq!(token["needs"], serde_json::json!(["client_id", "client_secret"]));
}

/// Replaces what changes from run to run in a report: times, dates, ports.
fn stable(text: &str) -> String {
    let time = regex::Regex::new(r#"time="\d+\.\d+""#).expect("regex");
    let duration = regex::Regex::new(r#""duration": \d+(\.\d+)?"#).expect("regex");
    let started = regex::Regex::new(r#""started": "[^"]+""#).expect("regex");
    let out = redact(text);
    let out = time.replace_all(&out, "time=\"[TIME]\"");
    let out = duration.replace_all(&out, "\"duration\": \"[TIME]\"");
    started.replace_all(&out, "\"started\": \"[DATE]\"").into_owned()
}

/// Golden JUnit and JSON reports of a run with failures: a reviewer sees any change to what
/// a CI system or a script reads.
#[test]
fn golden_junit_and_json_reports() {
    let dir = tempfile::tempdir().expect("temp");
    let junit = dir.path().join("j.xml");
    let report = dir.path().join("r.json");
    let r = run(psconform()
        .args([
            "run",
            "auth::session",
            "--sim-fault",
            "unauthenticated-html-body",
            "--strict",
            "--test-threads",
            "1",
            "--junit",
        ])
        .arg(&junit)
        .arg("--report")
        .arg(&report));
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    insta::assert_snapshot!("junit", stable(&std::fs::read_to_string(&junit).expect("junit written")));
    // The coverage matrix lists every catalog endpoint: its counts stand for it here.
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("report written")).expect("JSON");
    if let Some(c) = json.get_mut("coverage").and_then(|c| c.as_object_mut()) {
        c.remove("endpoints");
        c.remove("uncatalogued");
    }
    insta::assert_snapshot!("report", stable(&serde_json::to_string_pretty(&json).expect("JSON")));
}

const SIGN_IN_CONTRACT: &str = "snapshots/post__auth__signappin__200.snap";

#[test]
fn a_hand_widened_contract_survives_update_and_replace_starts_over() {
    let dir = Project::shipped("auth");
    let path = dir.join(SIGN_IN_CONTRACT);
    let widened = std::fs::read_to_string(&path)
        .expect("contract")
        .replace("  .UserName: string\n", "  .UserName: string | null\n");
    std::fs::write(&path, &widened).expect("write");
    let r = run(dir.psconform().args(["run", "auth::sign-app-in::api-key", "--update-snapshots"]));
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(std::fs::read_to_string(&path).expect("contract").contains("  .UserName: string | null\n"));
    assert!(
        r.stderr.contains("3 of the 3 updated have a documented model in catalog/models/")
            && r.stderr.contains("never change a documented field's type"),
        "an update says that the documented positions are not the recordings': {}",
        r.stderr
    );
    let r = run(dir.psconform().args(["run", "auth::sign-app-in::api-key", "--replace-snapshots"]));
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let replaced = std::fs::read_to_string(&path).expect("contract");
    assert!(replaced.contains("  .UserName: string\n"), "{replaced}");
    assert!(
        replaced.contains("    - \"auth::sign-app-in::api-key\"\n") && !replaced.contains("compact-header"),
        "{replaced}"
    );
}

#[test]
fn a_run_writes_contracts_only_where_it_is_asked_to() {
    let dir = Project::shipped("auth");
    let path = dir.join(SIGN_IN_CONTRACT);
    // Narrow the contract by hand where the documentation is silent (the cookies a sign-in
    // sets): the simulator's answers now break it.
    let narrowed = std::fs::read_to_string(&path).expect("contract").replace(
        "cookies: ASP.NET_SessionId, __RequestVerificationToken\n",
        "cookies: ASP.NET_SessionId, PsconformRequired, __RequestVerificationToken\n",
    );
    std::fs::write(&path, &narrowed).expect("write");
    let before = listing(&dir.join("snapshots"));
    let r = run(dir.psconform().args(["run", "auth::", "--pending", "pending", "--record", "recorded"]));
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(r.stdout.contains("got cookie PsconformRequired: cookie no longer set"), "{}", r.stdout);
    assert_eq!(
        before,
        listing(&dir.join("snapshots")),
        "nothing is written into the contract set without --update-snapshots"
    );
    let pending: Vec<String> = listing(&dir.join("pending")).into_keys().collect();
    assert_eq!(pending, ["post__auth__signappin__200.snap"]);
    let pending = dir.read("pending/post__auth__signappin__200.snap");
    assert!(
        pending.contains("cookies: ASP.NET_SessionId, PsconformRequired?, __RequestVerificationToken"),
        "{pending}"
    );
    assert!(dir.join("recorded/post__auth__signappin__200.snap").is_file());
}

#[test]
fn a_conflicted_contract_stops_the_run_with_its_path_and_line() {
    let dir = Project::shipped("auth");
    let path = dir.join(SIGN_IN_CONTRACT);
    let conflicted = std::fs::read_to_string(&path).expect("contract").replace(
        "  .SID: string | null\n",
        "<<<<<<< ours\n  .SID: string | null\n=======\n  .SID: string\n>>>>>>> theirs\n",
    );
    std::fs::write(&path, conflicted).expect("write");
    let r = run(dir.psconform().args(["run"]));
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(
        r.stderr.contains("snapshots/post__auth__signappin__200.snap:") && r.stderr.contains("merge-conflict"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("nothing was sent"), "{}", r.stderr);
}

/// psconform with the repository as its folder and no settings, its standard output a pipe.
fn piped(args: &[&str]) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_psconform"));
    cmd.current_dir(root()).args(args).env("CI", "true");
    for var in
        ["PS_API_KEY", "PS_RUNAS", "PS_RUNAS_PASSWORD", "PS_CLIENT_ID", "PS_CLIENT_SECRET", "PS_TARGET", "RUST_LOG"]
    {
        cmd.env_remove(var);
    }
    cmd.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    cmd
}

/// A closed standard output (issue #14: `psconform run | head` panicked with exit 101) stops a
/// run as Ctrl-C does: no panic, running cases finish, the reports are still written, exit 5.
/// Here the reader is gone before the first line, so every command meets the closed pipe.
#[test]
fn a_closed_standard_output_ends_the_command_with_exit_5_and_no_panic() {
    let dir = tempfile::tempdir().expect("temp");
    let junit = dir.path().join("j.xml");
    let junit_arg = junit.display().to_string();
    for args in [
        vec!["run", "auth::sign-out", "--junit", &junit_arg],
        vec!["run", "auth::sign-out", "--format", "json"],
        vec!["coverage", "--json"],
        vec!["list"],
    ] {
        let mut child = piped(&args).spawn().expect("psconform starts");
        drop(child.stdout.take());
        let out = child.wait_with_output().expect("psconform ends");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(5), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
    let xml = std::fs::read_to_string(&junit).expect("the JUnit report is still written");
    assert!(xml.contains("<testsuites name=\"psconform\" tests=\"3\""), "{xml}");
}

/// The same through a real `| head -1`: the run's later lines meet the closed pipe (exit 5);
/// a command whose whole output fits in the pipe before `head` leaves may end 0. Never a
/// panic.
#[cfg(unix)]
#[test]
fn piping_into_head_never_panics() {
    for (args, codes) in [
        ("run --test-threads 1", &[5][..]),
        ("run --format json --test-threads 1", &[5][..]),
        ("coverage --json", &[0, 5][..]),
        ("list", &[0, 5][..]),
    ] {
        let script = format!("\"$0\" {args} | head -1 > /dev/null; exit ${{PIPESTATUS[0]}}");
        let mut bash = std::process::Command::new("bash");
        bash.args(["-c", &script, env!("CARGO_BIN_EXE_psconform")]).current_dir(root()).env("CI", "true");
        for var in ["PS_API_KEY", "PS_RUNAS", "PS_RUNAS_PASSWORD", "PS_CLIENT_ID", "PS_CLIENT_SECRET", "PS_TARGET"] {
            bash.env_remove(var);
        }
        let out = bash.output().expect("bash runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.code().is_some_and(|c| codes.contains(&c)), "{args}: {:?} {stderr}", out.status);
        assert!(!stderr.contains("panicked"), "{args}: {stderr}");
    }
}

/// The README's coverage sentence and its table of effects say what `coverage --json` and
/// `list --json` say of the shipped suite: a figure that went stale fails here.
#[test]
fn the_readme_figures_are_the_shipped_suites() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README");
    let coverage: serde_json::Value =
        serde_json::from_str(&psconform().args(["coverage", "--json"]).run().stdout).expect("coverage --json");
    let cases: serde_json::Value =
        serde_json::from_str(&psconform().args(["list", "--json"]).run().stdout).expect("list --json");
    let (read, change) = (&coverage["read"], &coverage["change"]);
    let sentence = format!(
        "says {} of the {} documented\nendpoints are covered (all {} that read, {} of the {} that change)",
        coverage["covered"], coverage["total"], read["covered"], change["covered"], change["total"]
    );
    assert!(readme.contains(&sentence), "the README should say: {sentence}");
    assert_eq!(read["covered"], read["total"], "the README says all read endpoints are covered");

    let all = cases.as_array().expect("a list");
    assert!(readme.contains(&format!("counts are of the {} shipped cases)", all.len())), "{} cases", all.len());
    for effect in ["read", "audited", "change", "release", "irreversible"] {
        let count = |simulator_only: bool| {
            all.iter().filter(|c| c["effect"] == effect && c["simulator_only"] == simulator_only).count()
        };
        let (real, simulated) = (count(false), count(true));
        let cell =
            if simulated == 0 { format!("| {real} |") } else { format!("| {real} (+{simulated} simulator-only) |") };
        let row = readme.lines().find(|l| l.starts_with(&format!("| `{effect}` |"))).unwrap_or_default();
        assert!(row.contains(&cell), "the README's `{effect}` row should count {cell}: {row}");
    }
}

/// The README's HTML report section (its command, the verdict it quotes, and so the screenshot
/// `docs/report.png` taken of that command's page) shows what the shipped suite gives today.
#[test]
fn the_readme_report_example_is_what_its_command_gives() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README");
    let command = "cargo run -- run --sim-fault credentials-object --html report.html";
    assert!(readme.contains(command), "the README shows {command}");
    let dir = tempfile::tempdir().expect("temp");
    let json = dir.path().join("r.json");
    let run = psconform().args(["run", "--sim-fault", "credentials-object", "--report"]).arg(&json).run();
    assert_eq!(run.code, Some(1), "{}", run.text());
    let report = crate::harness::report::read(&json);
    let (failed, total) = (report.summary.failed, report.cases.len());
    let verdict = format!("(`Failed: {failed} cases of {total}`, or `Passed: {total} cases`)");
    assert!(readme.contains(&verdict), "the README should quote {verdict}");
}
