//! A step sent once, or repeated until its expectations hold (`poll:`): each attempt renders
//! the request, sends it, learns the secrets the response carries and evaluates the
//! expectations; an attempt that does not hold is kept (its failures) and the next one waits
//! the interval, unless the status is one the poll does not wait through, or the run is asked
//! to stop (the interval ends at once, and nothing more is sent). The last attempt's response
//! is captured from and compared with its contract (`observe`). Every request is checked by
//! `guard` before it goes out, and every answer tells it what the case opened or closed.

use std::time::{Duration, Instant};

use super::step::{At, MAX_OUTCOMES, build, capture, evaluate, excerpt, learn, log_request_details, log_response};
use super::{CaseRun, guard, observe};
use crate::plan::{Role, StepPlan};
use crate::result::{Attempt, CheckKind, CheckOutcome, Note, Phase, StepError, StepResult};
use crate::secret::show_header;

/// How long the last check-in of a release may take once the target has stopped answering.
pub const LAST_CHANCE: Duration = Duration::from_secs(3);

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
        // A target that stopped answering gets nothing more, except one last, short try to
        // check a release in.
        let limit = if !ctx.http.unreachable() {
            None
        } else if phase == Phase::Teardown && matches!(step.role, Some(Role::CheckIn { .. })) {
            Some(LAST_CHANCE)
        } else {
            r.error = Some(StepError::Unreachable);
            return r;
        };
        if let Err(refusal) = guard::before_send(ctx, step, &run.releases, &built.path, built.outgoing.body.as_deref())
        {
            r.error = Some(StepError::Refused(refusal));
            return r;
        }
        r.fields = built.fields.clone();
        let fields = &built.fields;
        tracing::info!("{}", run.redactor.text(&format!("> {} {}", built.outgoing.method, built.shown_url)));
        log_request_details(run, &built.outgoing, fields);
        let started = Instant::now();
        let sent = match limit {
            Some(limit) => ctx.http.send_within(&built.outgoing, &run.jar, limit).await,
            None => ctx.http.send(&built.outgoing, &run.jar).await,
        };
        r.duration = started.elapsed();
        let resp = match sent {
            Ok(resp) => resp,
            Err(e) => {
                tracing::info!("{}", run.redactor.text(&format!("{} {}: {e}", built.outgoing.method, built.shown_url)));
                if last || ctx.http.unreachable() {
                    // A transport error cannot be a wrong account: only releases and check-ins
                    // learn from it.
                    let _ = run.releases.after(step, &ctx.settings, &run.vars, Err(&e));
                    r.error = Some(StepError::Transport(e));
                    return r;
                }
                r.attempts.push(Attempt {
                    status: None,
                    duration: r.duration,
                    failed: Vec::new(),
                    error: Some(StepError::Transport(e)),
                });
                if !interval(at, step, phase).await {
                    r.error = Some(StepError::Interrupted);
                    return r;
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
            if !interval(at, step, phase).await {
                r.error = Some(StepError::Interrupted);
                return r;
            }
            continue;
        }
        if let Some(e) = over {
            r.error = Some(e);
        }
        // A release that was refused created no request: there is no id to take from it.
        let refused_release = matches!(step.role, Some(Role::Release { .. })) && !(200..300).contains(&resp.status);
        if !refused_release {
            capture(run, step, &resp, fields, &mut outcomes);
        }
        if let Err(refusal) = run.releases.after(step, &ctx.settings, &run.vars, Ok(&resp)) {
            r.error = Some(StepError::Refused(refusal));
        }
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
            r.body_excerpt = Some(excerpt(run, &resp, fields));
        }
        return r;
    }
    r
}

/// Waits a poll's interval before the next attempt. In the steps, a stop asked meanwhile ends
/// the wait at once and the poll with it (`false`); a teardown step waits it out, since it is
/// what undoes the case.
async fn interval(at: At<'_>, step: &StepPlan, phase: Phase) -> bool {
    let Some(p) = &step.poll else { return true };
    match phase {
        Phase::Step => at.ctx.stop.sleep(p.interval).await,
        Phase::Teardown => {
            tokio::time::sleep(p.interval).await;
            true
        }
    }
}
