//! Stopping a run: a signal (SIGINT, SIGTERM, SIGHUP) or a closed standard output asks every
//! case to stop starting steps, and ends every `wait:` and poll interval at once, so that the
//! teardowns (a check-in above all) run without waiting out a sleep. It is a flag and a
//! wake-up, not a sleep that checks a flag: a 40-second wait ends the moment the signal comes.
//!
//! It knows nothing of signals or cases: `cli::run` asks for the stop, the trials obey it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::Notify;

/// Whether the run has been asked to stop, shared by every case.
#[derive(Debug, Clone, Default)]
pub struct Stop(Arc<Inner>);

#[derive(Debug, Default)]
struct Inner {
    asked: AtomicBool,
    wake: Notify,
}

impl Stop {
    /// Asks the run to stop, and wakes every case that sleeps.
    pub fn ask(&self) {
        if !self.0.asked.swap(true, Ordering::SeqCst) {
            self.0.wake.notify_waiters();
        }
    }

    /// Whether the run has been asked to stop.
    pub fn asked(&self) -> bool {
        self.0.asked.load(Ordering::SeqCst)
    }

    /// Sleeps for `d`, or until the run is asked to stop, whichever comes first. Returns
    /// `true` when it slept the whole time.
    pub async fn sleep(&self, d: Duration) -> bool {
        let woken = self.0.wake.notified();
        tokio::pin!(woken);
        // Registered before the flag is read, so a stop asked in between still wakes it.
        woken.as_mut().enable();
        if self.asked() {
            return false;
        }
        tokio::select! {
            () = tokio::time::sleep(d) => true,
            () = woken => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    #[tokio::test]
    async fn a_sleep_ends_when_the_stop_is_asked_and_not_before() {
        let stop = Stop::default();
        assert!(stop.sleep(Duration::from_millis(5)).await, "nothing asked: it sleeps the whole time");
        let asker = stop.clone();
        let started = Instant::now();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            asker.ask();
        });
        assert!(!stop.sleep(Duration::from_secs(40)).await, "cut short");
        assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
        assert!(!stop.sleep(Duration::from_secs(40)).await, "once asked, no sleep at all");
    }

    #[test]
    fn sleepers_on_other_runtimes_wake_too() {
        // Each case runs on its worker thread's own runtime.
        let stop = Stop::default();
        let sleeper = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
                rt.block_on(stop.sleep(Duration::from_secs(40)))
            })
        };
        std::thread::sleep(Duration::from_millis(50));
        stop.ask();
        assert_eq!(sleeper.join().ok(), Some(false));
    }
}
