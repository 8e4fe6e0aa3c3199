//! The HTML report in a real browser (issue #10): the shipped suite runs against the built-in
//! simulator with a deviation, its page is opened from disk in headless Chromium, and the DOM
//! Chromium serializes after the inline script ran is read for the counts, a failed
//! expectation and the coverage grid; a screenshot is taken.
//!
//! Chromium is Debian's `chromium` package (`/usr/bin/chromium`, or `PSCONFORM_CHROMIUM`).
//! Where it is missing the test says so and passes, except under `CI=true`, where it fails:
//! CI installs it (`.ci/run`).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::harness::bin::{psconform, run_command};
use crate::harness::report;

/// How long one browser run may take before it is killed.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(60);

/// Says something on the terminal even when the harness captures the test's output.
fn say(text: &str) {
    let _ = writeln!(std::io::stderr(), "browser test: {text}");
}

/// The browser: `PSCONFORM_CHROMIUM` when set (only it), else Debian's `/usr/bin/chromium`.
fn chromium() -> (PathBuf, bool) {
    let bin = std::env::var_os("PSCONFORM_CHROMIUM").map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    let found = bin.is_file();
    (bin, found)
}

/// Runs Chromium headless on `url` with `args`, in a fresh profile, with no background
/// connections (the machine's network is closed; they would only be refused), and returns its
/// stdout. A browser that outlives [`BROWSER_TIMEOUT`] is killed, with every process it
/// started (they share its process group).
fn browse(bin: &Path, args: &[String], url: &str) -> String {
    let profile = tempfile::tempdir().expect("a temporary profile folder");
    let mut cmd = Command::new(bin);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
    ])
    .arg(format!("--user-data-dir={}", profile.path().display()))
    .args(args)
    .arg(url);
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let run = run_command(cmd, BROWSER_TIMEOUT);
    assert_eq!(run.code, Some(0), "Chromium failed on {url}:\n{}", run.stderr);
    run.stdout
}

/// The opening tags of the elements whose opening tag contains `marker`.
fn tags_with<'a>(dom: &'a str, marker: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut rest = dom;
    while let Some(at) = rest.find(marker) {
        let start = rest[..at].rfind('<').unwrap_or(0);
        let end = rest[at..].find('>').map_or(rest.len(), |e| at + e + 1);
        out.push(&rest[start..end]);
        rest = &rest[end..];
    }
    out
}

#[test]
fn the_report_of_a_run_with_failures_reads_in_chromium() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("an output folder");
    let (page, json) = (dir.join("report.html"), dir.join("report.json"));
    let run = psconform()
        .args(["run", "--cases", "cases", "--sim-fault", "signin-userid-as-string", "--test-threads", "4"])
        .arg("--report")
        .arg(&json)
        .arg("--html")
        .arg(&page)
        .run();
    assert_eq!(run.code, Some(1), "the deviation fails cases: {}", run.stderr);
    let report = report::read(&json);
    let size = std::fs::metadata(&page).expect("the page is written").len();
    let cases = report.cases.len() as u64;
    assert!(
        size < cases * 6 * 1024,
        "the page of the shipped suite is {size} bytes for {cases} cases, over 6 KiB a case"
    );

    let (bin, found) = chromium();
    if !found {
        let message = format!(
            "Chromium was not found at {}: the page was written but not opened in a browser; \
             `apt-get install chromium` (Debian) to run this check",
            bin.display()
        );
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{message}; under CI=true that is a failure");
        say(&message);
        return;
    }
    let url = format!("file://{}", page.display());
    let started = Instant::now();

    // The page as Chromium built it, after the inline script ran.
    let dom = browse(&bin, &["--dump-dom".into()], &url);
    std::fs::write(dir.join("dom.html"), &dom).expect("keep the DOM for a reader");
    let summary = &report.summary;
    for (attr, count) in [
        ("data-summary-passed", summary.passed),
        ("data-summary-failed", summary.failed),
        ("data-summary-ignored", summary.ignored),
    ] {
        let want = format!("{attr}=\"{count}\"");
        assert!(dom.contains(&want), "{want} is in the DOM");
    }
    assert!(summary.failed > 0);
    assert!(dom.contains(r#"data-exit-code="1""#));
    let failed_contract = regex::Regex::new(
        r#"outcome failed" data-contract="catalog/models/authentication\.yaml: POST Auth/SignAppin 200 \(with snapshots/post__auth__signappin__200\.snap\)">.*?<li class="change breaking"><span class="sev">breaking</span> \.UserId: retyped \(integer -&gt; string\)</li>"#,
    )
    .expect("regex");
    assert!(
        failed_contract.is_match(&dom),
        "the breaking contract verdict, with the model and the retyped field, is shown"
    );
    let cells = tags_with(&dom, "data-endpoint=");
    let covered = cells.iter().filter(|t| t.contains(r#"class="cell covered"#)).count();
    let coverage = report.coverage.as_ref().expect("the report has the coverage matrix");
    assert_eq!(cells.len(), coverage.endpoints.len(), "one cell per endpoint (the unverified ones too)");
    let with_cases = coverage.endpoints.iter().filter(|e| !e.cases.is_empty()).count();
    assert_eq!(covered, with_cases, "covered cells");
    assert!(dom.contains(r#"<html lang="en" data-filter="ready">"#), "the inline script ran");
    assert!(dom.contains(r#"<form id="filters" class="filters" role="search">"#), "the filters are shown");

    // `?only=failed`: the script hides every case that did not fail.
    let filtered = browse(&bin, &["--dump-dom".into()], &format!("{url}?only=failed"));
    let cases = tags_with(&filtered, "data-outcome=");
    assert_eq!(cases.len(), report.cases.len());
    for tag in &cases {
        let failed = tag.contains(r#"data-outcome="failed""#);
        assert_eq!(tag.contains(" hidden"), !failed, "{tag}");
    }

    // Without JavaScript (Chromium's --dump-dom needs it, so this reads the file as written):
    // the filters are not offered, and the failed cases are open.
    let source = std::fs::read_to_string(&page).expect("the page");
    assert!(source.contains(r#"<form id="filters" class="filters" hidden role="search">"#), "no dead controls");
    for tag in tags_with(&source, r#"data-outcome="failed""#) {
        assert!(tag.ends_with(" open>"), "a failed case is open: {tag}");
    }

    let shot = dir.join("report.png");
    browse(&bin, &[format!("--screenshot={}", shot.display()), "--window-size=1280,2000".into()], &url);
    let png = std::fs::read(&shot).expect("the screenshot is written");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 20_000, "a real screenshot: {} bytes", png.len());
    say(&format!(
        "{} bytes of HTML, checked in Chromium in {:.1}s; screenshot {}",
        size,
        started.elapsed().as_secs_f64(),
        shot.display()
    ));
}
