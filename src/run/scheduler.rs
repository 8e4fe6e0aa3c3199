//! The scheduler: runs jobs on `threads` worker threads and hands each result, one at a time,
//! to the caller's `done` as soon as it is ready. A job holds locks (named shared resources, such as the
//! account a release case requests): two jobs that hold the same lock never run at once, and
//! everything else runs in parallel, as nextest's test groups do.
//!
//! A job takes all of its locks at once, under the queue's one mutex, and only when every one
//! of them is free; so two jobs can never each hold a lock the other waits for, and no set of
//! locks can deadlock. Jobs start in the order given, except that one waiting for a lock lets
//! the jobs behind it start.
//!
//! It knows nothing of cases or HTTP: `run::execute` gives it the cases and what to do with
//! each.

use std::collections::{BTreeSet, VecDeque};
use std::sync::{Condvar, Mutex};

/// A job with the locks it holds while it runs.
#[derive(Debug)]
pub struct Job<'a, J, L> {
    /// What to run.
    pub job: J,
    /// The locks it holds.
    pub locks: &'a [L],
}

/// The jobs not started yet: those not looked at (taken from the caller's list one at a time,
/// so a run of many thousand cases queues none of them) and those passed over for a lock.
struct Queue<'a, J, L, I> {
    /// Jobs not looked at yet, in order.
    rest: std::iter::Fuse<I>,
    /// Jobs passed over because a lock they hold was held, in order.
    waiting: VecDeque<Job<'a, J, L>>,
    held: BTreeSet<&'a L>,
}

impl<'a, J, L: Ord, I: Iterator<Item = Job<'a, J, L>>> Queue<'a, J, L, I> {
    fn free(&self, job: &Job<'a, J, L>) -> bool {
        job.locks.iter().all(|l| !self.held.contains(l))
    }

    /// The first job whose locks are all free, taking its locks: one passed over before, else
    /// the next not looked at (passing over those that must wait). `None` when every job left
    /// is waiting for a lock, or there are none.
    fn take(&mut self) -> Option<Job<'a, J, L>> {
        let job = match self.waiting.iter().position(|j| self.free(j)) {
            Some(i) => self.waiting.remove(i)?,
            None => loop {
                let job = self.rest.next()?;
                if self.free(&job) {
                    break job;
                }
                self.waiting.push_back(job);
            },
        };
        self.held.extend(job.locks);
        Some(job)
    }
}

/// Runs every job with `work` on `threads` threads (at least one), calling `done` with each
/// result as it comes, one result at a time. Returns when every job has run.
///
/// `done` runs on the worker that finished the job, under a lock: handing each result to
/// another thread would wake that thread once per job, which on a small machine costs as much
/// as a request.
pub fn run<'a, J, L, R, I>(jobs: I, threads: usize, work: impl Fn(J) -> R + Sync, done: impl FnMut(R) + Send)
where
    I: IntoIterator<Item = Job<'a, J, L>>,
    I::IntoIter: Send,
    J: Send + 'a,
    L: Ord + Sync + 'a,
{
    let queue = Mutex::new(Queue { rest: jobs.into_iter().fuse(), waiting: VecDeque::new(), held: BTreeSet::new() });
    let freed = Condvar::new();
    let done = Mutex::new(done);
    std::thread::scope(|scope| {
        for _ in 0..threads.max(1) {
            let (queue, freed, work, done) = (&queue, &freed, &work, &done);
            scope.spawn(move || worker(queue, freed, work, done));
        }
    });
}

fn worker<'a, J, L: Ord, R, I: Iterator<Item = Job<'a, J, L>>>(
    queue: &Mutex<Queue<'a, J, L, I>>,
    freed: &Condvar,
    work: &(impl Fn(J) -> R + Sync),
    done: &Mutex<impl FnMut(R)>,
) {
    loop {
        let job = {
            // A poisoned queue means a worker panicked while holding it, which cannot happen
            // (jobs run outside the lock); stop taking jobs rather than spread the panic.
            let Ok(mut q) = queue.lock() else { return };
            loop {
                if let Some(job) = q.take() {
                    break job;
                }
                // `take` has looked at every job left: none is left, or every one waiting needs a
                // lock another worker holds; then wait for one to free.
                if q.waiting.is_empty() {
                    return;
                }
                q = match freed.wait(q) {
                    Ok(q) => q,
                    Err(_) => return,
                };
            }
        };
        let locks = job.locks;
        let result = work(job.job);
        // Only a freed lock can start a waiting worker: a job that held none wakes nobody
        // (waking is a system call, one per case otherwise).
        if !locks.is_empty() {
            if let Ok(mut q) = queue.lock() {
                for l in locks {
                    q.held.remove(l);
                }
            }
            freed.notify_all();
        }
        // A poisoned lock means `done` panicked on another worker: the run is over anyway.
        if let Ok(mut done) = done.lock() {
            done(result);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, Instant};

    fn jobs<'a>(locks: &[&'a [&'a str]]) -> Vec<Job<'a, usize, &'a str>> {
        locks.iter().enumerate().map(|(i, ls)| Job { job: i, locks: ls }).collect()
    }

    #[test]
    fn two_holders_of_one_lock_never_overlap() {
        let inside = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        let mut finished = Vec::new();
        let all = jobs(&[&["account"], &[], &["account"], &["account", "other"], &[], &["account"]]);
        run(
            all,
            4,
            |i| {
                let holds = [0, 2, 3, 5].contains(&i);
                if holds {
                    let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                }
                std::thread::sleep(Duration::from_millis(20));
                if holds {
                    inside.fetch_sub(1, Ordering::SeqCst);
                }
                i
            },
            |i| finished.push(i),
        );
        finished.sort_unstable();
        assert_eq!(finished, [0, 1, 2, 3, 4, 5], "every job ran once");
        assert_eq!(most.load(Ordering::SeqCst), 1, "the holders of `account` ran one at a time");
    }

    #[test]
    fn jobs_without_locks_run_in_parallel() {
        // Each job waits until all four are running: they can only finish if they overlap.
        let running = AtomicUsize::new(0);
        let mut together = 0;
        run(
            jobs(&[&[], &[], &[], &[]]),
            4,
            |_| {
                running.fetch_add(1, Ordering::SeqCst);
                let deadline = Instant::now() + Duration::from_secs(10);
                while running.load(Ordering::SeqCst) < 4 && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(1));
                }
                running.load(Ordering::SeqCst) == 4
            },
            |all| together += usize::from(all),
        );
        assert_eq!(together, 4, "the four jobs ran at the same time");
    }

    #[test]
    fn several_locks_in_any_order_do_not_deadlock() {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let sets: Vec<&[&str]> =
                (0..60).map(|i| [&["a", "b"][..], &["b", "a"], &["a"], &["b", "c"], &["c", "a"], &[]][i % 6]).collect();
            let mut n = 0;
            run(jobs(&sets), 3, |i| std::thread::sleep(Duration::from_millis(1 + (i % 3) as u64)), |()| n += 1);
            let _ = tx.send(n);
        });
        assert_eq!(rx.recv_timeout(Duration::from_secs(30)), Ok(60), "every job ran, none stuck");
    }

    #[test]
    fn jobs_are_taken_from_the_list_only_as_they_start() {
        // A list of 1,000 jobs is never queued whole: when a job runs, the list has been read
        // up to it.
        const NO_LOCKS: &[&str] = &[];
        let pulled = AtomicUsize::new(0);
        let list = (0..1000).map(|i| {
            pulled.fetch_add(1, Ordering::SeqCst);
            Job { job: i, locks: NO_LOCKS }
        });
        let mut most_ahead = 0;
        run(list, 1, |i| pulled.load(Ordering::SeqCst) - i, |ahead| most_ahead = most_ahead.max(ahead));
        assert_eq!(pulled.load(Ordering::SeqCst), 1000, "every job ran");
        assert_eq!(most_ahead, 1, "each job was read when it started, not before");
    }

    #[test]
    fn results_reach_the_caller_as_they_come() {
        let mut order = Vec::new();
        run(jobs(&[&[], &[]]), 1, |i| i, |i| order.push(i));
        assert_eq!(order, [0, 1], "one thread runs the jobs in order");
    }
}
