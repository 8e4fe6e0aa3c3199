//! Regression tests of the security reviews, one module per issue, each test against the
//! built binary and a target made for it, named after the finding it guards. Each test failed
//! on the code its issue was filed against and passes now.
//!
//! Secrets are checked by an oracle written in the harness, independently of psconform's own
//! redactor: every encoding a serializer, a URL or a server echo applies, and every
//! 24-character fragment of each, must be absent from every artifact.

mod issue15;
mod issue8;

use wiremock::{MockServer, Request, ResponseTemplate};

use crate::harness::bin::Run;
use crate::harness::files::{Project, sign_in};
use crate::harness::target::{base_url, sign_in_answering};

/// Runs `psconform ARGS` in `project` with the canary credentials, sampling its memory.
async fn psconform_in(project: &Project, args: &[&str]) -> Run {
    project.psconform().canaries().args(args).run_async().await
}

/// A project whose one case file, `cases/t.yaml`, is `yaml`.
fn project(yaml: &str) -> Project {
    Project::new(&[("t.yaml", yaml)])
}

/// Signs in and expects a string UserId, which no server here answers.
fn sign_in_case() -> String {
    sign_in("status: 200\npaths:\n  $.UserId: { type: string }")
}

/// A target whose `POST Auth/SignAppin` answers with `respond(request)`.
async fn sign_in_echo(respond: impl Fn(&Request) -> ResponseTemplate + Send + Sync + 'static) -> MockServer {
    sign_in_answering(respond, ..).await
}

/// Runs `yaml` against `server` with JUnit, the JSON report and `extra`; the run fails (exit
/// 1). Returns the project, the run, and everything it showed and wrote into those two.
async fn failing_run(server: &MockServer, yaml: &str, extra: &[&str]) -> (Project, Run, String) {
    let dir = project(yaml);
    let target = base_url(server);
    let args = [&["run", "--target", &target, "--junit", "j.xml", "--report", "r.json"], extra].concat();
    let run = psconform_in(&dir, &args).await;
    assert_eq!(run.code, Some(1), "{run:#?}");
    let all = format!("{}{}{}", run.text(), dir.read("j.xml"), dir.read("r.json"));
    (dir, run, all)
}

/// The Authorization header a request carried.
fn auth_of(req: &Request) -> String {
    req.headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned()
}
