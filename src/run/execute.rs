//! The run: the preflight's findings first, then the selected cases go to the scheduler, each
//! case's sealed result comes back as it ends, [`RunResult`] counts it, and the listener (the
//! terminal and the reports) hears of it at once. A signal and a closed standard output stop
//! the run the same way: no new case or step starts, running cases finish their teardown, and
//! the reports are still written.

use std::sync::Arc;

use super::RunContext;
use super::scheduler::{self, Job};
use super::trial;
use crate::plan::{CaseRef, Suite};
use crate::result::run::Final;
use crate::result::{CaseResult, RunResult};
use crate::seal::Redacted;

/// Standard output was closed (a pipe reader such as `head` went away).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputClosed;

/// What hears of each case as it becomes final: the terminal and the reports.
pub trait Listener: Send {
    /// A case is final. `Err` when standard output is closed: the run then stops starting
    /// cases and steps, and the listener keeps hearing of the cases that end, for the
    /// reports.
    fn finished(&mut self, done: &Final) -> Result<(), OutputClosed>;
}

/// Runs `cases` of `suite` (the selection; the filter left out `filtered_out` others) on
/// `threads` worker threads, after the preflight's `findings`, telling `listener` of each case
/// as it becomes final. Each case takes its plan when it starts (the one the check kept, or its
/// file compiled again, in a batch with the next files when the run takes every case) and
/// drops it when it ends.
pub fn execute<'a>(
    suite: &Suite,
    cases: impl Iterator<Item = &'a CaseRef> + Send,
    findings: Vec<Redacted<CaseResult>>,
    ctx: &Arc<RunContext>,
    threads: usize,
    filtered_out: usize,
    listener: &mut dyn Listener,
) -> RunResult {
    let mut run = RunResult::new(!ctx.target.builtin, filtered_out);
    for finding in findings {
        let done = run.record(finding);
        tell(&mut run, ctx, listener, &done);
    }
    let jobs = cases.map(|c| Job { job: c, locks: &suite.needs(c).locks[..] });
    let plans = suite.plans(filtered_out == 0);
    scheduler::run(
        jobs,
        threads,
        |case| match plans.take(case) {
            Ok(plan) => trial::run(ctx, &plan),
            Err(why) => trial::not_started(ctx, &suite.name(case), why),
        },
        |result| {
            let done = run.record(result);
            tell(&mut run, ctx, listener, &done);
        },
    );
    run.interrupted = ctx.stop.asked() && !run.output_closed;
    run.target_stopped = ctx.http.unreachable();
    run
}

fn tell(run: &mut RunResult, ctx: &RunContext, listener: &mut dyn Listener, done: &Final) {
    if listener.finished(done).is_err() && !run.output_closed {
        run.output_closed = true;
        ctx.stop.ask();
        eprintln!("psconform: standard output was closed; finishing running steps and their teardown");
    }
}
