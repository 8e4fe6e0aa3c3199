//! Bounded, expiring key → value maps for sessions and OAuth tokens. Owns only memory bounds
//! and expiry; what a key means is up to `routes`.
//!
//! A load test must not be able to grow memory without bound, so every map has a hard cap.
//! When an insert finds the map full it first sweeps expired entries (at most once a second,
//! because the sweep walks the whole map), then evicts the oldest insertions. The lock is a
//! `std::sync::Mutex` held only for a map operation and never across an `.await`.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// How often a full map may be swept for expired entries.
const SWEEP_INTERVAL: Duration = Duration::from_secs(1);

/// The default cap of each map.
pub(crate) const DEFAULT_CAP: usize = 100_000;

#[derive(Debug)]
pub(crate) struct Store<V> {
    cap: usize,
    inner: Mutex<Inner<V>>,
}

#[derive(Debug)]
struct Inner<V> {
    map: HashMap<String, Slot<V>>,
    /// Insertion sequence → key, to find the oldest entry in O(log n).
    order: BTreeMap<u64, String>,
    next_seq: u64,
    last_sweep: Option<Instant>,
}

#[derive(Debug)]
struct Slot<V> {
    value: V,
    seq: u64,
    /// `None` never expires.
    expires_at: Option<Instant>,
}

impl<V: Clone> Store<V> {
    pub(crate) fn new(cap: usize) -> Self {
        Store {
            cap: cap.max(1),
            inner: Mutex::new(Inner { map: HashMap::new(), order: BTreeMap::new(), next_seq: 0, last_sweep: None }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner<V>> {
        // A panic while holding the lock cannot leave the maps inconsistent in a way that
        // matters for a simulator, so a poisoned lock is simply taken over.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Inserts `value` under `key`, making room first if the map is full.
    pub(crate) fn insert(&self, key: String, value: V, expires_at: Option<Instant>, now: Instant) {
        let mut inner = self.lock();
        if let Some(old) = inner.map.remove(&key) {
            inner.order.remove(&old.seq);
        }
        if inner.map.len() >= self.cap {
            let due = inner.last_sweep.is_none_or(|t| now.duration_since(t) >= SWEEP_INTERVAL);
            if due {
                inner.last_sweep = Some(now);
                inner.sweep(now);
            }
            while inner.map.len() >= self.cap {
                let Some((_, oldest)) = inner.order.pop_first() else {
                    break;
                };
                inner.map.remove(&oldest);
            }
        }
        let seq = inner.next_seq;
        inner.next_seq += 1;
        inner.order.insert(seq, key.clone());
        inner.map.insert(key, Slot { value, seq, expires_at });
    }

    /// The value under `key` if it is live at `now`; an expired entry is removed. When `renew`
    /// is given, a live entry's expiry becomes `renew(now)`, which is how an idle timeout
    /// slides forward on each use.
    pub(crate) fn get(&self, key: &str, now: Instant, renew: Option<&dyn Fn(Instant) -> Option<Instant>>) -> Option<V> {
        let mut inner = self.lock();
        let slot = inner.map.get_mut(key)?;
        if slot.expires_at.is_some_and(|t| now >= t) {
            let seq = slot.seq;
            inner.map.remove(key);
            inner.order.remove(&seq);
            return None;
        }
        if let Some(renew) = renew {
            slot.expires_at = renew(now);
        }
        Some(slot.value.clone())
    }

    /// Removes `key`, returning whether it was present (live or not).
    pub(crate) fn remove(&self, key: &str) -> bool {
        let mut inner = self.lock();
        match inner.map.remove(key) {
            Some(slot) => {
                inner.order.remove(&slot.seq);
                true
            }
            None => false,
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lock().map.len()
    }
}

impl<V> Inner<V> {
    fn sweep(&mut self, now: Instant) {
        let order = &mut self.order;
        self.map.retain(|_, slot| {
            let live = slot.expires_at.is_none_or(|t| now < t);
            if !live {
                order.remove(&slot.seq);
            }
            live
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn entries_expire() {
        let s = Store::new(10);
        let t0 = Instant::now();
        s.insert("a".into(), 1, Some(t0 + secs(5)), t0);
        s.insert("forever".into(), 2, None, t0);
        assert_eq!(s.get("a", t0 + secs(4), None), Some(1));
        assert_eq!(s.get("a", t0 + secs(5), None), None);
        assert_eq!(s.len(), 1, "an expired entry is dropped when seen");
        assert_eq!(s.get("forever", t0 + secs(1_000_000), None), Some(2));
    }

    #[test]
    fn renew_slides_the_expiry() {
        let s = Store::new(10);
        let t0 = Instant::now();
        let idle = |now: Instant| Some(now + secs(5));
        s.insert("a".into(), 1, idle(t0), t0);
        assert_eq!(s.get("a", t0 + secs(4), Some(&idle)), Some(1));
        assert_eq!(s.get("a", t0 + secs(8), Some(&idle)), Some(1));
        assert_eq!(s.get("a", t0 + secs(14), Some(&idle)), None);
    }

    #[test]
    fn a_full_map_drops_expired_entries_first() {
        let s = Store::new(3);
        let t0 = Instant::now();
        s.insert("old-live".into(), 1, None, t0);
        s.insert("expired".into(), 2, Some(t0 + secs(1)), t0);
        s.insert("live".into(), 3, None, t0);
        s.insert("new".into(), 4, None, t0 + secs(2));
        assert_eq!(s.len(), 3);
        assert_eq!(s.get("old-live", t0 + secs(2), None), Some(1));
        assert_eq!(s.get("expired", t0, None), None);
        assert_eq!(s.get("new", t0 + secs(2), None), Some(4));
    }

    #[test]
    fn a_full_map_without_expired_entries_evicts_the_oldest() {
        let s = Store::new(2);
        let t0 = Instant::now();
        s.insert("a".into(), 1, None, t0);
        s.insert("b".into(), 2, None, t0);
        s.insert("c".into(), 3, None, t0);
        assert_eq!(s.len(), 2);
        assert_eq!(s.get("a", t0, None), None);
        assert_eq!(s.get("b", t0, None), Some(2));
        assert_eq!(s.get("c", t0, None), Some(3));
    }

    #[test]
    fn the_cap_holds_under_many_inserts() {
        let s = Store::new(100);
        let t0 = Instant::now();
        for i in 0..10_000 {
            s.insert(format!("k{i}"), i, Some(t0 + secs(60)), t0);
        }
        assert_eq!(s.len(), 100);
        assert_eq!(s.lock().order.len(), 100, "the age index shrinks with the map");
        assert_eq!(s.get("k9999", t0, None), Some(9999));
    }

    #[test]
    fn remove_and_reinsert() {
        let s = Store::new(2);
        let t0 = Instant::now();
        s.insert("a".into(), 1, None, t0);
        assert!(s.remove("a"));
        assert!(!s.remove("a"));
        s.insert("a".into(), 2, None, t0);
        s.insert("a".into(), 3, None, t0);
        assert_eq!(s.len(), 1);
        assert_eq!(s.lock().order.len(), 1);
        assert_eq!(s.get("a", t0, None), Some(3));
    }
}
