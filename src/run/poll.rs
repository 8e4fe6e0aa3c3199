//! A step sent once, or repeated until its expectations hold (`poll:`): each attempt renders
//! the request, sends it, learns the secrets the response carries and evaluates the
//! expectations; an attempt that does not hold is kept (its failures) and the next one waits
//! the interval, unless the status is one the poll does not wait through. The last attempt's
//! response is captured from and compared with its contract (`observe`).

use std::time::Instant;

use super::step::{At, MAX_OUTCOMES, build, capture, evaluate, excerpt, learn, log_request_details, log_response};
use super::{CaseRun, observe};
use crate::plan::StepPlan;
use crate::result::{Attempt, CheckKind, CheckOutcome, Note, Phase, StepError, StepResult};
use crate::secret::{FieldPolicy, show_header};

/// Sends the step's request until its expectations hold or its attempts run out.
pub(super) async fn run(at: At<'_>, run: &mut CaseRun, step: &StepPlan, mut r: StepResult) -> StepResult {
    let ctx = at.ctx;
    let phase = r.phase;
    let attempts = step.poll.as_ref().map_or(1, |p| p.attempts.max(1));
    for attempt in 1..=attempts {
        let last = attempt == attempts || (phase == Phase::Step && ctx.interrupted());
        let built = match build(ctx, run, at.base, step) {
            Ok(b) => b,
            Err(e) => {
                r.error = Some(e);
                return r;
            }
        };
        r.request = Some(built.line.clone());
        let fields = FieldPolicy::for_path(&built.line.path);
        tracing::info!("{}", run.redactor.text(&format!("> {} {}", built.outgoing.method, built.shown_url)));
        log_request_details(run, &built.outgoing);
        let started = Instant::now();
        let sent = ctx.http.send(&built.outgoing, &run.jar).await;
        r.duration = started.elapsed();
        let resp = match sent {
            Ok(resp) => resp,
            Err(e) => {
                tracing::info!("{}", run.redactor.text(&format!("{} {}: {e}", built.outgoing.method, built.shown_url)));
                if last {
                    r.error = Some(StepError::Transport(e));
                    return r;
                }
                r.attempts.push(Attempt {
                    status: None,
                    duration: r.duration,
                    failed: Vec::new(),
                    error: Some(StepError::Transport(e)),
                });
                if let Some(p) = &step.poll {
                    tokio::time::sleep(p.interval).await;
                }
                continue;
            }
        };
        learn(run, &resp, fields);
        r.body_masked = run.saturated;
        log_response(run, &resp, fields, r.duration);
        r.status = Some(resp.status);
        let (mut outcomes, over) = evaluate(ctx, run, step, &resp, fields);
        if let Some(loc) = resp.header("location").filter(|_| (300..400).contains(&resp.status)) {
            let loc = run.redactor.text(&show_header("location", loc));
            for o in outcomes.iter_mut().filter(|o| o.kind == CheckKind::Status && o.fails()) {
                o.note = Some(Note::Text(format!(
                    "a redirect to {loc}; psconform does not follow redirects: point --target at the final URL"
                )));
            }
        }
        let holds = over.is_none() && !outcomes.iter().any(CheckOutcome::fails);
        // A status the poll does not wait through (a refusal, not "not yet") ends it at once.
        let waiting = step.poll.as_ref().and_then(|p| p.while_status.as_ref()).is_none_or(|s| s.accepts(resp.status));
        if !holds && !last && waiting {
            let failed = outcomes.into_iter().filter(|o| o.fails()).take(MAX_OUTCOMES).collect();
            r.attempts.push(Attempt { status: Some(resp.status), duration: r.duration, failed, error: None });
            if let Some(p) = &step.poll {
                tokio::time::sleep(p.interval).await;
            }
            continue;
        }
        if let Some(e) = over {
            r.error = Some(e);
        }
        capture(run, step, &resp, fields, &mut outcomes);
        if let Some(o) = observe::contract(ctx, at.case, run, step, &built, &resp, &mut r) {
            outcomes.push(o);
        }
        if outcomes.len() > MAX_OUTCOMES {
            // Keep every failure first, then passes, up to the cap.
            outcomes.sort_by_key(|o| !o.fails());
            r.outcomes_omitted = outcomes.len() - MAX_OUTCOMES;
            outcomes.truncate(MAX_OUTCOMES);
        }
        r.outcomes = outcomes;
        if r.failed() && !resp.body.is_empty() {
            r.body_excerpt = Some(excerpt(run, &resp.body, fields));
        }
        return r;
    }
    r
}
