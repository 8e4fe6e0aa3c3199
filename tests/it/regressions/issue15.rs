//! Regression tests of issue #15: eleven findings of a third adversarial pass (leaks of
//! decrypted secrets, broken promises, hardening gaps) and the over-redaction it reported,
//! one test per item, named `itemNN_…` after the issue's numbering. Each failed on the code
//! the issue was filed against (checked on the commit before each fix) and passes now.

use std::time::Duration;

use serde_json::json;
use wiremock::matchers::{method, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::{failing_run, project, psconform_in, sign_in_echo};
use crate::harness::bin::Run;
use crate::harness::files::{Project, line_of, one_case, sign_in, write};
use crate::harness::oracle::assert_no_secret;
use crate::harness::target::{base_url, every_get, nothing_listening, on};

/// A credential the target holds and psconform is never told: it can only be masked by where
/// it stands in an answer.
const SERVER_SECRET: &str = "ServerCanary-7f3a9c2e5b1d8f4a6c0e2b4d";

/// A case file that is valid and sends one `GET X`.
const OK_CASE: &str = "endpoint: X\ncases:\n  - name: a\n    summary: s\n    effect: read\n    steps:\n      - request: { method: GET, path: X }\n        expect: { status: 200 }\n";

/// A sign-in answer with every field its documented model requires, and `extra`.
fn documented_user(extra: serde_json::Value) -> serde_json::Value {
    let mut user = json!({"UserId": 1, "SID": null, "EmailAddress": "", "UserName": "svc-canary", "Name": "n"});
    if let (Some(u), Some(e)) = (user.as_object_mut(), extra.as_object()) {
        u.extend(e.clone());
    }
    user
}

/// Runs `psconform ARGS` in `project` with the canary credentials, killed after `limit`.
async fn psconform_within(project: &Project, args: &[&str], limit: Duration) -> Run {
    project.psconform().canaries().args(args).timeout(limit).run_async().await
}

/// The cells of a Markdown table row, split where GitHub splits them: at every `|` that no
/// backslash escapes, code spans included.
fn cells(row: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut chars = row.trim().chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                chars.next();
                out.last_mut().expect("a cell").push_str("\\|");
            }
            '|' => out.push(String::new()),
            c => out.last_mut().expect("a cell").push(c),
        }
    }
    // The outer pipes make an empty first and last cell.
    out.into_iter().map(|c| c.trim().to_owned()).filter(|c| !c.is_empty()).collect()
}

// ---------------------------------------------------------------------------------------------
// Leaks of decrypted secrets
// ---------------------------------------------------------------------------------------------

/// Issue #15, item 1: a decrypted secret list with one defect serde rejects (a UTF-8 BOM, a
/// `NaN` in another element, a trailing `\n\0`, one 0xFF byte in another element) lost its
/// field masking: the password reached the `-vv` log in every variant, and stdout, JUnit, the
/// JSON report and the HTML page too.
#[tokio::test]
async fn item01_a_secret_in_a_body_that_is_not_strict_json_stays_masked() {
    let pw = SERVER_SECRET;
    let variants: [(&str, Vec<u8>); 4] = [
        ("bom", [b"\xef\xbb\xbf".as_slice(), format!(r#"[{{"Password":"{pw}","Title":"a"}}]"#).as_bytes()].concat()),
        ("nan", format!(r#"[{{"Title":"a","Password":"{pw}"}},{{"Title":"b","Size":NaN}}]"#).into_bytes()),
        ("trailing", format!("[{{\"Title\":\"a\",\"Password\":\"{pw}\"}}]\n\0").into_bytes()),
        ("byte", [format!(r#"[{{"Title":"a","Password":"{pw}"}},{{"Title":""#).as_bytes(), b"\xff\"}]"].concat()),
    ];
    let server = MockServer::start().await;
    let mut cases = String::new();
    for (name, body) in &variants {
        on("GET", "Secrets-Safe/Secrets")
            .and(query_param("v", *name))
            .respond_with(ResponseTemplate::new(200).set_body_raw(body.clone(), "application/json"))
            .mount(&server)
            .await;
        cases.push_str(&format!(
            "  - name: {name}\n    summary: a decrypted list that is not strict JSON\n    effect: audited\n    steps:\n      \
             - request: {{ method: GET, path: Secrets-Safe/Secrets, query: {{ decrypt: \"true\", v: {name} }} }}\n        \
             expect:\n          status: 201\n          body: {{ text: {{ contains: nope }} }}\n          \
             paths:\n            $[0].Title: {{ equals: nope }}\n"
        ));
    }
    let yaml = format!("endpoint: GET Secrets-Safe/Secrets\ncases:\n{cases}");
    let (dir, run, all) = failing_run(&server, &yaml, &["-vv", "--html", "r.html"]).await;
    let all = all + &dir.read("r.html");
    assert!(run.stderr.contains("< 200"), "the -vv log was captured: {}", run.stderr);
    assert!(run.stdout.contains("Title"), "what is not a secret is still shown: {}", run.stdout);
    assert_no_secret("a body that is not strict JSON", &all, &[pw]);
}

/// Issue #15, item 2: masking followed the case's spelling of the path, not the URL sent.
/// `./Secrets-Safe/Secrets`, `x/../Secrets-Safe/Secrets`, `Secrets%2DSafe/Secrets` and
/// `%43redentials/42` reach the masked endpoints on the wire but were not masked. They are
/// refused before anything is sent now, each at its place with a hint.
#[tokio::test]
async fn item02_a_path_spelled_around_the_masking_is_refused_before_sending() {
    let server = MockServer::start().await;
    Mock::given(method("GET")).respond_with(ResponseTemplate::new(200)).expect(0).mount(&server).await;
    let spellings =
        ["./Secrets-Safe/Secrets", "x/../Secrets-Safe/Secrets", "Secrets%2DSafe/Secrets", "%43redentials/42"];
    let cases: String = spellings
        .iter()
        .enumerate()
        .map(|(i, p)| {
            format!(
                "  - name: s{i}\n    summary: s\n    effect: read\n    steps:\n      \
                 - request: {{ method: GET, path: \"{p}\" }}\n        expect: {{ status: 200 }}\n"
            )
        })
        .collect();
    let yaml = format!("endpoint: X\ncases:\n{cases}");
    let dir = project(&yaml);
    let validate = psconform_in(&dir, &["validate"]).await;
    assert_eq!(validate.code, Some(2), "{validate:#?}");
    for p in spellings {
        let at = format!("t.yaml:{}:", line_of(&yaml, p));
        assert!(validate.stderr.contains(&at), "{p} at {at}: {}", validate.stderr);
    }
    for words in ["a `.` segment", "a `..` segment", "`%2D` is an escape of `-`", "`%43` is an escape of `C`"] {
        assert!(validate.stderr.contains(words), "{words}: {}", validate.stderr);
    }
    let run = psconform_in(&dir, &["run", "--target", &base_url(&server)]).await;
    assert_eq!(run.code, Some(2), "{run:#?}");
    server.verify().await;
}

/// Issue #15, item 2: the fields that are credentials come from the catalog, for the endpoint
/// the URL as sent belongs to (here spelled in lower case with a trailing slash): a managed
/// account's `TotpParameters`, which the catalog marks secret, was shown whole.
#[tokio::test]
async fn item02_the_catalog_decides_which_fields_are_credentials_for_the_url_sent() {
    let body = json!([{ "AccountId": 1, "AccountName": "a", "TotpParameters": { "Seed": SERVER_SECRET } }]);
    let server = every_get(ResponseTemplate::new(200).set_body_json(body)).await;
    let case = one_case(
        "totp",
        "steps:\n  - request: { method: GET, path: managedaccounts/ }\n    expect:\n      status: 201\n      paths:\n        $[0].AccountName: { equals: nope }",
    );
    let (dir, run, all) = failing_run(&server, &case, &["-vv", "--html", "r.html"]).await;
    let all = all + &dir.read("r.html");
    assert!(run.stdout.contains("TotpParameters"), "the field is named, its value masked: {}", run.stdout);
    assert_no_secret("a field the catalog marks secret", &all, &[SERVER_SECRET]);
}

// ---------------------------------------------------------------------------------------------
// Promises broken
// ---------------------------------------------------------------------------------------------

/// Issue #15, item 3: `--proxy http://corp-proxy.test:PORT` with a loopback `http://` target
/// delivered `PS-Auth` with the API key in clear to the proxy. A plain-http proxy off loopback
/// now needs `--allow-plain-http`, as a plain-http target does.
#[tokio::test]
async fn item03_a_plain_http_proxy_off_loopback_needs_allow_plain_http() {
    let dir = project(&sign_in("status: 200"));
    let target = "http://127.0.0.1:9/BeyondTrust/api/public/v3";
    let run =
        psconform_in(&dir, &["run", "--target", target, "--proxy", "http://corp-proxy.test:3128", "--timeout", "2"])
            .await;
    assert_eq!(run.code, Some(2), "{run:#?}");
    assert!(
        run.stderr.contains("through the proxy corp-proxy.test") && run.stderr.contains("--allow-plain-http"),
        "{}",
        run.stderr
    );
    // The same proxy for the built-in simulator, and a loopback proxy, are refused and allowed
    // as the target would be.
    let run = psconform_in(&dir, &["run", "--proxy", "http://corp-proxy.test:3128"]).await;
    assert_eq!(run.code, Some(2), "{run:#?}");
    let run = psconform_in(&dir, &["run", "--target", target, "--proxy", "http://127.0.0.1:9", "--timeout", "2"]).await;
    assert_ne!(run.code, Some(2), "{run:#?}");
    // `cleanup` signs in with the same credentials: the same rule, before anything is sent.
    let cleanup = ["cleanup", "--target", target, "--proxy", "http://corp-proxy.test:3128", "--timeout", "2"];
    let run = psconform_in(&dir, &cleanup).await;
    assert_eq!(run.code, Some(2), "{run:#?}");
    assert!(run.stderr.contains("through the proxy corp-proxy.test"), "{}", run.stderr);
}

/// Issue #15, item 4: `match()` and `search()` inside a filter compiled their pattern for every
/// node, and the pattern could be a path into the response: an e-mail pattern over 200,000
/// elements ran past 300 s with `--timeout 5`, and a pattern taken from the response ran for a
/// minute and was reported as a plain "absent". The pattern is a literal compiled once, a path
/// is refused where it is written, and a query over the node-visit budget says so.
#[tokio::test]
async fn item04_jsonpath_filter_patterns_are_compiled_once_and_queries_are_budgeted() {
    let check = |path: &str, matcher: &str| {
        one_case(
            "q",
            &format!(
                "steps:\n  - request: {{ method: GET, path: X }}\n    expect:\n      paths:\n        \"{path}\": {matcher}\n"
            ),
        )
    };
    // An e-mail pattern over 200,000 elements, within `--timeout 5`.
    let people: Vec<_> = (0..200_000).map(|i| json!({"EmailAddress": format!("user{i}@example.com")})).collect();
    let server = every_get(ResponseTemplate::new(200).set_body_json(&people)).await;
    let email = r"[\\\\w.+-]+@[\\\\w-]+(\\\\.[\\\\w-]+)+";
    let dir = project(&check(&format!("$[?match(@.EmailAddress, '{email}')]"), "{ exists: true }"));
    let args = ["run", "--target", &base_url(&server), "--timeout", "5"];
    let run = psconform_within(&dir, &args, Duration::from_secs(60)).await;
    assert_eq!(run.code, Some(0), "{run:#?}");
    assert!(run.took < Duration::from_secs(30), "{:?}", run.took);

    // A pattern taken from the response is refused where it is written.
    let yaml = check("$[?search(@.x, $[0].p)]", "{ exists: false }");
    let dir = project(&yaml);
    let run = psconform_in(&dir, &["validate"]).await;
    assert_eq!(run.code, Some(2), "{run:#?}");
    let at = format!("t.yaml:{}:", line_of(&yaml, "search("));
    assert!(run.stderr.contains(&at) && run.stderr.contains("string literal"), "{}", run.stderr);
    assert!(run.stderr.contains("compiled once with the size limits"), "{}", run.stderr);

    // A query that would visit more nodes than the budget is not run, and says so.
    let rows: Vec<_> = (0..3_000).map(|i| json!({"A": [i, i, i, i, i, i, i, i]})).collect();
    let server = every_get(ResponseTemplate::new(200).set_body_json(&rows)).await;
    let (_dir, run, all) = failing_run(&server, &check("$[?count($..*) > 0]", "{ exists: true }"), &[]).await;
    assert!(all.contains("nodes of this body; not evaluated"), "{}", run.text());
    assert!(!run.stdout.contains("absent"), "{}", run.stdout);
}

/// Issue #15, item 5: contract changes were not capped. A 10 MB sign-in answer with 300,000
/// new fields gave a 66 MB JSON report, a 125 MB HTML page, 29 MB of record and of pending
/// files, a 16 MB drift report and 1.06 GiB of RSS. A shape keeps at most 1,000 fields per
/// object, a verdict lists at most 200 changes ("and N more"), and every report has a budget.
#[tokio::test]
async fn item05_a_huge_answer_gives_reports_within_their_caps() {
    let extra: serde_json::Map<String, serde_json::Value> =
        (0..300_000).map(|i| (format!("NewField{i:06}"), json!(format!("v{i:013}")))).collect();
    let body = serde_json::to_vec(&documented_user(serde_json::Value::Object(extra))).expect("JSON");
    assert!(body.len() > 10_000_000, "{}", body.len());
    let server = sign_in_echo(move |_| ResponseTemplate::new(200).set_body_raw(body.clone(), "application/json")).await;
    let dir = project(&sign_in("status: 200"));
    let outputs = ["--junit", "j.xml", "--report", "r.json", "--html", "h.html"];
    let sets = ["--record", "rec", "--pending", "pend", "--drift-report", "d.md", "--max-body", "64MiB"];
    let target = base_url(&server);
    let args = [&["run", "--target", &target][..], &outputs, &sets].concat();
    let run = psconform_in(&dir, &args).await;
    assert_eq!(run.code, Some(0), "{}", run.stdout);
    assert!(run.peak_rss_kib < 512 * 1024, "peak RSS {} MiB", run.peak_rss_kib / 1024);
    let size = |name: &str| {
        let path = dir.join(name);
        if path.is_dir() { crate::harness::files::read_tree(&path).len() } else { dir.read(name).len() }
    };
    for name in ["j.xml", "r.json", "h.html", "rec", "pend", "d.md"] {
        assert!(size(name) < 5_000_000, "{name}: {} bytes", size(name));
    }
    assert!(run.stdout.len() + run.stderr.len() < 1_000_000, "{} bytes shown", run.stdout.len() + run.stderr.len());
    let report = dir.read("r.json");
    assert!(report.contains("more fields than a shape keeps") && report.contains("\"more_changes\""), "{report:.2000}");
    assert!(run.stderr.contains("… and ") && dir.read("h.html").contains(" more</li>"), "{}", run.stderr);

    // The recording, compared with a contract of the documented user, drifts within caps.
    let user = "body: object\n  .EmailAddress: string\n  .Name: string\n  .SID: null\n  .UserId: integer\n  .UserName: string\n";
    dir.write(
        "old/post__auth__signappin__200.snap",
        format!("---\ninfo:\n  method: POST\n  route: \"Auth/SignAppin\"\n  status: 200\n---\nstatus: 200\ncontent-type: application/json\ncookies: (none)\n{user}"),
    );
    let drift = psconform_in(&dir, &["drift", "old", "rec"]).await;
    assert_eq!(drift.code, Some(1), "{drift:#?}");
    assert!(drift.stdout.len() < 100_000 && drift.stdout.contains("more changes"), "{}", drift.stdout.len());
}

// ---------------------------------------------------------------------------------------------
// Hardening gaps
// ---------------------------------------------------------------------------------------------

/// Issue #15, item 6: the contract loader lacked the case loader's guards: a `.snap` link to
/// `/dev/zero` grew to 3.7 GiB, and a FIFO `.snap` hung both `run` and `drift`. Both are
/// refused at once, by name.
#[cfg(unix)]
#[tokio::test]
async fn item06_a_contract_that_is_a_device_or_a_fifo_is_refused_at_once() {
    let dir = project(OK_CASE);
    std::fs::create_dir_all(dir.join("other")).expect("a folder");
    let snap = dir.join("snapshots/get__x__200.snap");
    let target = nothing_listening();
    for kind in ["device", "fifo"] {
        let _ = std::fs::remove_file(&snap);
        if kind == "device" {
            std::os::unix::fs::symlink("/dev/zero", &snap).expect("a link");
        } else {
            let made = std::process::Command::new("mkfifo").arg(&snap).status().is_ok_and(|s| s.success());
            assert!(made, "mkfifo");
        }
        for args in [&["run", "--target", &target][..], &["drift", "snapshots", "other"]] {
            let run = psconform_within(&dir, args, Duration::from_secs(20)).await;
            assert_eq!(run.code, Some(2), "{kind} {args:?}: {run:#?}");
            assert!(
                run.stderr.contains("get__x__200.snap") && run.stderr.contains("not a regular file"),
                "{kind} {args:?}: {}",
                run.stderr
            );
            assert!(run.took < Duration::from_secs(10), "{kind} {args:?}: {:?}", run.took);
        }
    }
}

/// Issue #15, item 7: the writability probe wrote `<dir>/.psconform-probe-<pid>` with a plain
/// write, so a link planted at that name truncated its target; reports followed a link at
/// their own path the same way. The probe is created exclusively under a random name, and
/// reports are written to a temporary file and renamed over the path.
#[cfg(unix)]
#[tokio::test]
async fn item07_a_link_at_the_probe_or_a_report_path_is_never_followed() {
    let dir = project(OK_CASE);
    let victim = dir.join("victim.txt");
    write(&victim, "precious");
    let victim2 = dir.join("victim2.txt");
    write(&victim2, "precious too");
    std::fs::create_dir_all(dir.join("rec")).expect("a folder");
    // The probe's name held the next process id: plant a link for each of the next few
    // thousand, in every folder psconform probes.
    let last: u32 =
        std::fs::read_to_string("/proc/sys/kernel/ns_last_pid").ok().and_then(|t| t.trim().parse().ok()).unwrap_or(0);
    for pid in last + 1..=last + 3000 {
        for folder in [dir.path(), &dir.join("rec")] {
            let _ = std::os::unix::fs::symlink(&victim, folder.join(format!(".psconform-probe-{pid}")));
        }
    }
    std::os::unix::fs::symlink(&victim2, dir.join("r.json")).expect("a link");
    let run =
        psconform_in(&dir, &["run", "--target", &nothing_listening(), "--record", "rec", "--report", "r.json"]).await;
    assert_eq!(run.code, Some(3), "{run:#?}");
    assert_eq!(std::fs::read_to_string(&victim).expect("the victim"), "precious");
    assert_eq!(std::fs::read_to_string(&victim2).expect("the victim"), "precious too");
    let report = std::fs::symlink_metadata(dir.join("r.json")).expect("the report");
    assert!(report.is_file(), "the report replaced the link: {report:?}");
    assert!(dir.read("r.json").contains("\"exit\""), "{}", dir.read("r.json"));
}

/// Issue #15, item 8: a backtick in a field or cookie name closed the code span of a drift
/// report, so `|` opened new table cells and images and links rendered where the report was
/// pasted. Names sit in a code span whose fence is longer than any backtick run in them, and
/// `|` is escaped in every cell.
#[tokio::test]
async fn item08_names_in_a_drift_report_cannot_break_out_of_their_cell() {
    let field = "a`|![x](http://127.0.0.1:1/p.png)|b";
    let server = sign_in_echo(move |_| {
        ResponseTemplate::new(200)
            .insert_header("set-cookie", "c`|d=v; path=/")
            .set_body_json(documented_user(json!({ field: 1 })))
    })
    .await;
    let dir = project(&sign_in("status: 200"));
    dir.write(
        "snapshots/post__auth__signappin__200.snap",
        "---\nsource: psconform contract\ndescription: \"POST Auth/SignAppin 200\"\ninfo:\n  method: POST\n  route: \"Auth/SignAppin\"\n  status: 200\n  cases: []\n---\nstatus: 200\ncontent-type: application/json\ncookies: (none)\nbody: object\n  .UserId: integer\n",
    );
    let run =
        psconform_in(&dir, &["run", "--target", &base_url(&server), "--drift-report", "d.md", "--record", "rec"]).await;
    assert_eq!(run.code, Some(0), "{run:#?}");
    let drift = psconform_in(&dir, &["drift", "snapshots", "rec"]).await;
    for (what, md) in [("--drift-report", dir.read("d.md")), ("drift", drift.stdout)] {
        let rows: Vec<&str> = md.lines().filter(|l| l.starts_with("| ") && !l.starts_with("| |")).collect();
        assert!(rows.len() >= 2, "{what}: a row per change: {md}");
        for row in &rows {
            assert_eq!(cells(row).len(), 3, "{what}: {row}");
        }
        let row = rows.iter().find(|r| r.contains("![x]")).unwrap_or_else(|| panic!("{what}: {md}"));
        let at = &cells(row)[1];
        assert!(at.starts_with("``") && at.ends_with("``") && !at.starts_with("```"), "{what}: {at}");
        assert!(md.contains("``cookie c`\\|d``"), "{what}: the cookie name: {md}");
    }
}

/// Issue #15, item 9: a JSON key holding `ESC[31m` and an OSC 52 sequence (which sets the
/// clipboard in several terminals) was printed raw inside a failing check's JSONPath on a
/// terminal. Controls and bidi overrides are shown escaped, as `\u{1b}`, on every stream.
#[tokio::test]
async fn item09_control_characters_from_a_server_are_shown_escaped_on_a_terminal() {
    let key = "\u{1b}[31mred\u{1b}]52;c;ZXZpbA==\u{7}";
    // The answer also echoes the PS-Auth header it got (the canary key and password) under a
    // key with a control character: on a terminal too, no credential is shown.
    let server = sign_in_echo(move |req| {
        let auth = req.headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        ResponseTemplate::new(200)
            .set_body_json(json!({ "UserId": 1, key: 1, "\u{202e}evil": 2, "\u{9b}31m": 3, "Echo\u{1b}": auth }))
    })
    .await;
    let dir = project(&sign_in("status: 200\npaths:\n  \"$.*\": { type: string }"));
    let t = base_url(&server);
    let run = dir.psconform().canaries().args(["-vv", "run", "--target", &t, "--color", "never"]).run_on_a_terminal();
    assert_eq!(run.code, Some(1), "{run:#?}");
    let out = &run.stdout;
    assert!(out.contains("\\u{1b}[31mred"), "the key is shown escaped: {out}");
    for raw in ['\u{1b}', '\u{7}', '\u{202e}', '\u{9b}'] {
        assert!(!out.contains(raw), "a raw {raw:?} reached the terminal: {out:?}");
    }
    assert!(run.text().contains("Echo"), "the -vv log shows the echoing answer: {}", run.text());
    assert_no_secret("a run on a terminal", &run.text(), crate::harness::oracle::SECRETS);
}

/// Issue #15, item 10: with `cases/home -> $HOME`, `validate` walked into `.config/` and
/// printed a `github_token: ghp_…` line of a foreign `.yml` file. A link that leaves the cases
/// folder is not followed, and a YAML file that is not a case file is named, never quoted.
#[cfg(unix)]
#[tokio::test]
async fn item10_the_case_walk_stays_in_its_folder_and_never_quotes_a_foreign_file() {
    const TOKEN: &str = "ghp_CanaryToken0123456789abcdefABCDEF0123";
    let dir = project(OK_CASE);
    let home = tempfile::tempdir().expect("a home");
    write(&home.path().join(".config/gh/hosts.yml"), format!("github.com:\n    user: me\n    github_token: {TOKEN}\n"));
    std::os::unix::fs::symlink(home.path(), dir.cases().join("home")).expect("a link");
    let run = psconform_in(&dir, &["validate"]).await;
    assert_eq!(run.code, Some(0), "{run:#?}");
    assert!(run.stderr.contains("home: skipped: a link out of the cases folder"), "{}", run.stderr);
    assert!(!run.text().contains("ghp_"), "{}", run.text());

    // A foreign file inside the folder is an error that names it and quotes nothing of it.
    write(&dir.cases().join("ci.yml"), format!("jobs:\n  build:\n    env:\n      github_token: {TOKEN}\n"));
    let run = psconform_in(&dir, &["validate"]).await;
    assert_eq!(run.code, Some(2), "{run:#?}");
    assert!(run.stderr.contains("ci.yml") && run.stderr.contains("not a case file"), "{}", run.stderr);
    assert!(!run.text().contains("ghp_") && !run.text().contains("github_token"), "{}", run.text());
}

/// Issue #15, item 11: path variables were not percent-encoded: a `#` in a value moved the
/// rest of the path into the fragment, and `?`, `/` and `..` changed the URL. Each value is
/// one segment now, and a value that is `..` is refused instead of sent.
#[tokio::test]
async fn item11_a_path_variable_is_one_segment_whatever_it_holds() {
    let server = MockServer::start().await;
    on("GET", "Values")
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"A": "x#y", "B": "a/b?c=d", "C": "50%", "D": ".."})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET")).respond_with(ResponseTemplate::new(200)).mount(&server).await;
    let steps = r#"steps:
  - request: { method: GET, path: Values }
    capture: { a: { path: $.A }, b: { path: $.B }, c: { path: $.C }, d: { path: $.D } }
  - request: { method: GET, path: "Users/{{ a }}/end" }
    expect: { status: 200 }
  - request: { method: GET, path: "Users/{{ b }}/end" }
    expect: { status: 200 }
  - request: { method: GET, path: "Users/{{ c }}/end" }
    expect: { status: 200 }
  - request: { method: GET, path: "Users/{{ d }}/end" }
    expect: { status: 200 }"#;
    let dir = project(&one_case("segments", steps));
    let run = psconform_in(&dir, &["run", "--target", &base_url(&server), "--report", "r.json"]).await;
    assert_eq!(run.code, Some(1), "{run:#?}");
    assert!(run.stdout.contains("`d` is `..`"), "the step that would leave its segment says why: {}", run.stdout);
    let requests = server.received_requests().await.expect("recorded");
    let paths: Vec<String> = requests.iter().map(|r| r.url.path().to_owned()).collect();
    let base = "/BeyondTrust/api/public/v3";
    assert_eq!(
        paths,
        [
            format!("{base}/Values"),
            format!("{base}/Users/x%23y/end"),
            format!("{base}/Users/a%2Fb%3Fc=d/end"),
            format!("{base}/Users/50%25/end")
        ],
        "{paths:#?}"
    );
    assert!(requests.iter().all(|r| r.url.query().is_none() && r.url.fragment().is_none()));
}

// ---------------------------------------------------------------------------------------------
// Over-redaction
// ---------------------------------------------------------------------------------------------

/// Issue #15: the ordinary body `"User not authenticated"` of a 401 from a credential endpoint
/// was learned as a secret and masked as `[REDACTED]` in case summaries and failure messages,
/// so the 401's reason was hidden. Only what a credential position held is masked.
#[tokio::test]
async fn ordinary_server_messages_stay_readable_everywhere() {
    let server = every_get(ResponseTemplate::new(401).set_body_json("User not authenticated")).await;
    let case = r#"endpoint: GET Credentials/{requestId}
cases:
  - name: no-session
    summary: Without a session the answer is 401 "User not authenticated".
    effect: audited
    steps:
      - request: { method: GET, path: Credentials/42 }
        expect: { status: 200 }
"#;
    let (dir, run, all) = failing_run(&server, case, &["--html", "r.html", "-vv"]).await;
    let all = all + &dir.read("r.html");
    assert!(run.stdout.contains("with body \"User not authenticated\""), "{}", run.stdout);
    assert!(!all.contains("[REDACTED]"), "{all}");
    for name in ["j.xml", "r.json", "r.html"] {
        assert!(dir.read(name).contains("User not authenticated"), "{name}");
    }
}
