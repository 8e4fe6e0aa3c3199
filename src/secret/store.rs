//! Secret values and where they occur in a text.
//!
//! Every form of a secret (see `encodings`) is matched, and so is every fragment of a form that
//! is at least [`FRAGMENT`] bytes long: a preview cut inside a secret, or a server that echoes
//! a truncated key, still shows nothing of it. Fragments are found with a rolling hash over the
//! text, so matching stays linear in the text whatever the number of secrets; forms shorter
//! than a fragment are matched whole with Aho-Corasick.
//!
//! A store has a bound on the secrets it learns from responses; past it, [`SecretStore::add`]
//! says so and the caller masks what it cannot vouch for.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, RwLock};

use aho_corasick::{AhoCorasick, MatchKind};

use super::encodings;

/// Fragments of this many bytes of any form of a secret are masked wherever they appear.
pub const FRAGMENT: usize = 16;

/// Values learned from responses shorter than this are not matched globally: a load
/// balancer's `lb=1` must not mask every `1` of a report. They are still masked where they
/// stand (a cookie value, a credential field).
pub const MIN_LEARNED: usize = 8;

/// Configured credentials shorter than this are only masked where psconform puts them (the
/// Authorization header, a template): matching `k` everywhere would mask every `k` of a
/// report.
pub const MIN_CONFIGURED: usize = 4;

/// How many learned secrets one store keeps.
pub const LEARNED_CAP: usize = 4096;

/// Where a secret comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A configured credential or a value a case marks `secret`: matched from
    /// [`MIN_CONFIGURED`] characters.
    Configured,
    /// A value seen in a response (a cookie, a credential field): matched when long enough,
    /// and counted against the bound.
    Learned,
}

/// What [`SecretStore::add`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    /// The value is now matched.
    New,
    /// The value was already known.
    Known,
    /// Too short to match globally; mask it where it stands.
    TooShort,
    /// The bound was reached: the value is not matched.
    Full,
}

/// Hashes are already mixed; hashing them again is wasted work.
#[derive(Default)]
struct Identity(u64);

impl Hasher for Identity {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type HashSet64 = HashSet<u64, BuildHasherDefault<Identity>>;

const BASE: u64 = 0x0100_0000_01b3;

/// `BASE^(FRAGMENT-1)`, to take the outgoing byte off a rolling hash.
const fn top_power() -> u64 {
    let mut p: u64 = 1;
    let mut i = 1;
    while i < FRAGMENT {
        p = p.wrapping_mul(BASE);
        i += 1;
    }
    p
}
const TOP: u64 = top_power();

fn mix(mut z: u64) -> u64 {
    // splitmix64's finaliser: spreads the polynomial hash over all bits.
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Calls `f(start, hash)` for every window of [`FRAGMENT`] bytes.
fn windows(bytes: &[u8], mut f: impl FnMut(usize, u64)) {
    if bytes.len() < FRAGMENT {
        return;
    }
    let byte = |i: usize| u64::from(encodings::fold(bytes[i]));
    let mut h: u64 = 0;
    for i in 0..FRAGMENT {
        h = h.wrapping_mul(BASE).wrapping_add(byte(i));
    }
    f(0, mix(h));
    for i in FRAGMENT..bytes.len() {
        h = h.wrapping_sub(byte(i - FRAGMENT).wrapping_mul(TOP)).wrapping_mul(BASE).wrapping_add(byte(i));
        f(i + 1 - FRAGMENT, mix(h));
    }
}

#[derive(Default)]
struct Inner {
    raw: HashSet<String>,
    learned: usize,
    full: bool,
    fragments: HashSet64,
    short: Vec<String>,
    short_set: HashSet<String>,
    matcher: Option<AhoCorasick>,
    built: usize,
}

impl Inner {
    fn index(&mut self, secret: &str) {
        let forms = encodings::forms(secret);
        // Room for every window at once: a case's store is new, and grew by doubling.
        self.fragments.reserve(forms.iter().map(|f| (f.len() + 1).saturating_sub(FRAGMENT)).sum());
        for form in forms {
            if form.len() >= FRAGMENT {
                let fragments = &mut self.fragments;
                windows(form.as_bytes(), |_, h| {
                    fragments.insert(h);
                });
            } else {
                let form = encodings::folded(&form).into_owned();
                if self.short_set.insert(form.clone()) {
                    self.short.push(form);
                }
            }
        }
    }

    /// Rebuilds the whole-form matcher when enough short forms have been added since.
    fn prepare(&mut self) {
        let tail = self.short.len() - self.built;
        if tail > 0 && (self.matcher.is_none() || tail > self.built.max(32)) {
            self.matcher = AhoCorasick::builder().match_kind(MatchKind::Standard).build(&self.short).ok();
            self.built = if self.matcher.is_some() { self.short.len() } else { 0 };
        }
    }

    fn ranges(&self, text: &str, out: &mut Vec<(usize, usize)>) -> Result<(), Unreadable> {
        if !self.short.is_empty() {
            // Folding maps ASCII bytes to ASCII bytes: offsets stay the same.
            let text = encodings::folded(text);
            if self.built > 0 {
                let m = self.matcher.as_ref().ok_or(Unreadable)?;
                out.extend(m.find_overlapping_iter(text.as_ref()).map(|h| (h.start(), h.end())));
            }
            for needle in &self.short[self.built..] {
                out.extend(text.match_indices(needle.as_str()).map(|(i, n)| (i, i + n.len())));
            }
        }
        if !self.fragments.is_empty() {
            windows(text.as_bytes(), |i, h| {
                if self.fragments.contains(&h) {
                    out.push((i, i + FRAGMENT));
                }
            });
        }
        Ok(())
    }
}

/// The store's lock was poisoned by a panic: the caller must show nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unreadable;

/// A shared, append-only, bounded set of secret values.
#[derive(Clone, Default)]
pub struct SecretStore {
    inner: Arc<RwLock<Inner>>,
}

impl std::fmt::Debug for SecretStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretStore([REDACTED])")
    }
}

impl SecretStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// A store of configured credentials (the run's settings hand them over as strings).
    pub fn configured<S: AsRef<str>>(secrets: impl IntoIterator<Item = S>) -> Self {
        let store = Self::new();
        for secret in secrets {
            store.add(secret.as_ref(), Origin::Configured);
        }
        store
    }

    /// Registers a secret.
    pub fn add(&self, secret: &str, origin: Origin) -> Added {
        if secret.is_empty() {
            return Added::Known;
        }
        let min = if origin == Origin::Learned { MIN_LEARNED } else { MIN_CONFIGURED };
        if secret.chars().count() < min {
            return Added::TooShort;
        }
        if self.inner.read().is_ok_and(|i| i.raw.contains(secret)) {
            return Added::Known;
        }
        let Ok(mut inner) = self.inner.write() else { return Added::Full };
        if origin == Origin::Learned {
            if inner.learned >= LEARNED_CAP {
                inner.full = true;
                return Added::Full;
            }
            inner.learned += 1;
        }
        if !inner.raw.insert(secret.to_owned()) {
            return Added::Known;
        }
        inner.index(secret);
        Added::New
    }

    /// Whether a value is registered.
    pub fn contains(&self, secret: &str) -> bool {
        self.inner.read().is_ok_and(|i| i.raw.contains(secret))
    }

    /// Whether the bound on learned secrets was reached at some point.
    pub fn is_full(&self) -> bool {
        self.inner.read().map_or(true, |i| i.full)
    }

    /// Whether nothing is registered.
    pub fn is_empty(&self) -> bool {
        self.inner.read().is_ok_and(|i| i.raw.is_empty())
    }

    /// How many secrets are registered.
    pub fn len(&self) -> usize {
        self.inner.read().map_or(0, |i| i.raw.len())
    }

    /// Byte ranges of every occurrence of a form or fragment of a secret, unsorted. `Err` when
    /// the store cannot be read: the caller must then show nothing.
    pub fn find(&self, text: &str, out: &mut Vec<(usize, usize)>) -> Result<(), Unreadable> {
        {
            let inner = self.inner.read().map_err(|_| Unreadable)?;
            if inner.raw.is_empty() {
                return Ok(());
            }
            if inner.built == inner.short.len() {
                return inner.ranges(text, out);
            }
        }
        let mut inner = self.inner.write().map_err(|_| Unreadable)?;
        inner.prepare();
        inner.ranges(text, out)
    }
}

/// Replaces the given byte ranges of `text` with `mask`, merging overlaps and widening each
/// range to whole characters.
pub fn mask_ranges(text: &str, mut ranges: Vec<(usize, usize)>, mask: &str) -> String {
    if ranges.is_empty() {
        return text.to_owned();
    }
    ranges.sort_unstable();
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    let mut current: Option<(usize, usize)> = None;
    let flush = |(a, b): (usize, usize), out: &mut String, last: &mut usize| {
        let mut a = a.max(*last);
        while a > 0 && !text.is_char_boundary(a) {
            a -= 1;
        }
        let mut b = b.min(text.len());
        while b < text.len() && !text.is_char_boundary(b) {
            b += 1;
        }
        if a >= *last {
            out.push_str(&text[*last..a]);
            out.push_str(mask);
            *last = b;
        } else if b > *last {
            *last = b;
        }
    };
    for (a, b) in ranges {
        match current {
            Some((ca, cb)) if a <= cb => current = Some((ca, cb.max(b))),
            Some(c) => {
                flush(c, &mut out, &mut last);
                current = Some((a, b));
            }
            None => current = Some((a, b)),
        }
    }
    if let Some(c) = current {
        flush(c, &mut out, &mut last);
    }
    out.push_str(&text[last.min(text.len())..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redact(store: &SecretStore, text: &str) -> String {
        let mut r = Vec::new();
        store.find(text, &mut r).expect("readable");
        mask_ranges(text, r, "[REDACTED]")
    }

    const KEY: &str = "c4a7a12ecafe0000canary0000key00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000099";

    #[test]
    fn a_cut_inside_a_secret_leaves_nothing_of_it() {
        let store = SecretStore::new();
        store.add(KEY, Origin::Configured);
        for cut in [20, 64, 117, 127] {
            let text = format!("<html>PS-Auth key={}", &KEY[..cut]);
            let out = redact(&store, &text);
            assert!(out.ends_with("key=[REDACTED]"), "{cut}: {out}");
        }
        let tail = format!("...{} end", &KEY[100..]);
        assert_eq!(redact(&store, &tail), "...[REDACTED] end");
    }

    #[test]
    fn short_learned_values_are_not_matched_globally() {
        let store = SecretStore::new();
        assert_eq!(store.add("1", Origin::Learned), Added::TooShort);
        assert_eq!(redact(&store, "line 1, status 401"), "line 1, status 401");
        assert_eq!(store.add("k", Origin::Configured), Added::TooShort);
        assert_eq!(store.add("abcd", Origin::Configured), Added::New);
        assert_eq!(redact(&store, "xabcdx key"), "x[REDACTED]x key");
    }

    #[test]
    fn the_learned_bound_holds() {
        let store = SecretStore::new();
        for i in 0..LEARNED_CAP {
            assert_eq!(store.add(&format!("learned-secret-{i:06}"), Origin::Learned), Added::New);
        }
        assert_eq!(store.add("one-too-many-secrets", Origin::Learned), Added::Full);
        assert!(store.is_full());
        assert_eq!(store.add("configured-still-ok", Origin::Configured), Added::New);
    }

    #[test]
    fn ranges_merge_and_respect_characters() {
        assert_eq!(mask_ranges("aébc", vec![(1, 2)], "*"), "a*bc");
        assert_eq!(mask_ranges("abcdef", vec![(1, 3), (2, 5)], "*"), "a*f");
        assert_eq!(mask_ranges("abcdef", vec![(4, 6), (0, 1)], "*"), "*bcd*");
    }

    #[test]
    fn base64_in_either_alphabet_at_any_alignment_is_found() {
        use base64::Engine as _;
        use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
        let store = SecretStore::new();
        let secret = "Canary>>>???Pwd~~~with<<<bits";
        store.add(secret, Origin::Configured);
        for prefix in ["", "u:", "us:", "usr:"] {
            for encoded in [
                STANDARD.encode(format!("{prefix}{secret}")),
                URL_SAFE.encode(format!("{prefix}{secret}")),
                URL_SAFE_NO_PAD.encode(format!("{prefix}{secret}!")),
            ] {
                let out = redact(&store, &format!("Basic {encoded} end"));
                assert!(out.contains("[REDACTED]") && out.len() < encoded.len(), "{prefix:?}: {encoded} -> {out}");
            }
        }
    }

    #[test]
    fn every_form_is_found() {
        let store = SecretStore::new();
        let pwd = "Canary+Pwd/with=&\"quotes\" 42 <&> 'x' \\ %";
        store.add(pwd, Origin::Configured);
        for form in encodings::forms(pwd) {
            let out = redact(&store, &format!("before {form} after"));
            assert_eq!(out, "before [REDACTED] after", "{form}");
        }
    }
}
