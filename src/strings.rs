//! Many short strings end to end in one buffer, each found by its index: a suite keeps every
//! case's name and every file's path this way, a few bytes of bookkeeping each instead of a
//! heap block (with its header and rounding) per string.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Strings stored end to end, in the order pushed.
#[derive(Debug, Default)]
pub struct Strings {
    text: String,
    /// Where each string ends in `text`; it starts where the one before ends. Four bytes each:
    /// a suite keeps one for each of its files.
    ends: Vec<u32>,
}

impl Strings {
    /// Adds `s` at the end; its index is the number of strings before it. The strings hold at
    /// most 4 GiB of text together (no suite's paths come near it); past that, `s` is kept
    /// empty.
    pub fn push(&mut self, s: &str) -> usize {
        if u32::try_from(self.text.len() + s.len()).is_ok() {
            self.text.push_str(s);
        }
        self.ends.push(u32::try_from(self.text.len()).unwrap_or(u32::MAX));
        self.ends.len() - 1
    }

    /// The string at `index` (empty past the end).
    pub fn get(&self, index: usize) -> &str {
        let start = index.checked_sub(1).and_then(|i| self.ends.get(i)).copied().unwrap_or(0);
        let end = self.ends.get(index).copied().unwrap_or(start);
        self.text.get(start as usize..end as usize).unwrap_or("")
    }

    /// How many strings there are.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// How many bytes the strings take together.
    pub fn bytes(&self) -> usize {
        self.text.len()
    }

    /// Makes room for `strings` more strings of `bytes` bytes in all.
    pub fn reserve(&mut self, strings: usize, bytes: usize) {
        self.ends.reserve(strings);
        self.text.reserve(bytes);
    }

    /// Gives back the room no string uses.
    pub fn shrink_to_fit(&mut self) {
        self.text.shrink_to_fit();
        self.ends.shrink_to_fit();
    }
}

/// Paths stored end to end, in the order pushed. A path that is not UTF-8 (rare, and legal on
/// Unix) is kept whole on its own.
#[derive(Debug, Default)]
pub struct Paths {
    text: Strings,
    other: BTreeMap<usize, PathBuf>,
}

impl Paths {
    /// Adds `path` at the end; its index is the number of paths before it.
    pub fn push(&mut self, path: &Path) -> usize {
        match path.to_str() {
            Some(s) => self.text.push(s),
            None => {
                let index = self.text.push("");
                self.other.insert(index, path.to_path_buf());
                index
            }
        }
    }

    /// The path at `index` (empty past the end).
    pub fn get(&self, index: usize) -> &Path {
        self.other.get(&index).map_or_else(|| Path::new(self.text.get(index)), PathBuf::as_path)
    }

    /// How many paths there are.
    pub fn len(&self) -> usize {
        self.text.len()
    }

    /// Every path, in the order pushed.
    pub fn iter(&self) -> impl Iterator<Item = &Path> {
        (0..self.len()).map(|i| self.get(i))
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// How many bytes the paths take together (those kept whole aside).
    pub fn bytes(&self) -> usize {
        self.text.bytes()
    }

    /// Makes room for `paths` more paths of `bytes` bytes in all.
    pub fn reserve(&mut self, paths: usize, bytes: usize) {
        self.text.reserve(paths, bytes);
    }

    /// Gives back the room no path uses.
    pub fn shrink_to_fit(&mut self) {
        self.text.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::{Paths, Strings};

    #[test]
    fn each_string_is_found_by_its_index_empty_ones_included() {
        let mut s = Strings::default();
        assert_eq!((s.len(), s.is_empty(), s.get(0)), (0, true, ""));
        assert_eq!(s.push("a::b"), 0);
        assert_eq!(s.push(""), 1);
        assert_eq!(s.push("αβ/c.yaml"), 2);
        assert_eq!((s.get(0), s.get(1), s.get(2), s.get(3)), ("a::b", "", "αβ/c.yaml", ""));
        assert_eq!(s.len(), 3);
    }

    #[cfg(unix)]
    #[test]
    fn a_path_that_is_not_utf8_is_kept_whole() {
        use std::os::unix::ffi::OsStrExt as _;
        let odd = std::path::Path::new(std::ffi::OsStr::from_bytes(b"a/\xff.yaml"));
        let mut p = Paths::default();
        p.push(std::path::Path::new("x/y.yaml"));
        p.push(odd);
        p.push(std::path::Path::new("z.yml"));
        assert_eq!(
            (p.get(0), p.get(1), p.get(2)),
            (std::path::Path::new("x/y.yaml"), odd, std::path::Path::new("z.yml"))
        );
        assert_eq!((p.len(), p.get(3)), (3, std::path::Path::new("")));
        assert_eq!(
            p.iter().collect::<Vec<_>>(),
            [std::path::Path::new("x/y.yaml"), odd, std::path::Path::new("z.yml")]
        );
    }
}
