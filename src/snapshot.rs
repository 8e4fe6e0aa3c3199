//! Shape snapshots: one insta `.snap` file per step, compared by shape, not by text.
//!
//! The files are insta's format (a YAML header, then the shape text), so `cargo insta review`
//! and `cargo insta accept` handle the `.snap.new` files a run leaves, and insta's reader
//! parses them back. They are written here rather than through insta's assertion macros:
//! those read their mode from process environment variables, print to stdout, and spawn
//! `cargo metadata`, none of which a shipped binary running in parallel trials can allow.
//! The comparison is a shape diff, so a reviewer sees "field removed" rather than a text diff.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::Serialize;

use crate::shape::{Change, ResponseShape, Severity, diff};

/// What a run does with snapshots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Compare; write `.snap.new` for a difference or a missing snapshot.
    Review,
    /// Compare; write nothing (CI).
    ReadOnly,
    /// Compare, and write every difference straight into the `.snap` file (accept).
    Update,
}

/// Snapshot settings of a run.
#[derive(Debug)]
pub struct Snapshots {
    /// The snapshot set compared against.
    pub dir: PathBuf,
    /// What to write.
    pub mode: Mode,
    /// Additive changes and missing snapshots fail too.
    pub strict: bool,
    /// Also write every shape of the run as a complete set here.
    pub record: Option<PathBuf>,
    /// Compare with the set at all (`--no-snapshots` with `--record` only records).
    pub compare: bool,
    /// Names of the snapshots this run looked at, for the unreferenced report.
    seen: Mutex<BTreeSet<String>>,
    /// Stored shapes read so far (`None`: no readable snapshot), so a run reads each file once.
    stored: Mutex<HashMap<String, Option<Arc<ResponseShape>>>>,
}

/// How one step's shape compared.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "snapshot")]
pub enum SnapshotOutcome {
    /// The shape is as recorded.
    Matched,
    /// There is no snapshot yet.
    Missing {
        /// The `.snap.new` written, if any.
        written: Option<String>,
    },
    /// The shape differs.
    Changed {
        /// Every difference, breaking ones first.
        changes: Vec<Change>,
        /// The `.snap.new` written (or the `.snap` updated), if any.
        written: Option<String>,
    },
}

impl SnapshotOutcome {
    /// Whether this outcome fails the step under the given strictness.
    pub fn fails(&self, strict: bool) -> bool {
        match self {
            SnapshotOutcome::Matched => false,
            SnapshotOutcome::Missing { .. } => strict,
            SnapshotOutcome::Changed { changes, .. } => {
                strict || changes.iter().any(|c| c.severity == Severity::Breaking)
            }
        }
    }
}

/// A snapshot file read back.
#[derive(Debug, Clone)]
pub struct SnapFile {
    /// The case file it came from (insta's `source`).
    pub source: String,
    /// `<trial> step N: METHOD path`.
    pub description: String,
    /// The shape.
    pub shape: ResponseShape,
}

impl SnapFile {
    /// `METHOD path` from the description, to group changes by endpoint.
    pub fn endpoint(&self) -> String {
        self.description.split_once(": ").map_or_else(|| self.description.clone(), |(_, e)| e.to_owned())
    }
}

/// `auth::sign-app-in::api-key`, step 1 → `auth__sign-app-in__api-key__1`; teardown steps are
/// `…__teardown1`.
pub fn name(trial: &str, teardown: bool, index: usize) -> String {
    let base = trial.replace("::", "__");
    if teardown { format!("{base}__teardown{index}") } else { format!("{base}__{index}") }
}

impl Snapshots {
    /// Snapshot settings for a run.
    pub fn new(dir: PathBuf, mode: Mode, strict: bool, record: Option<PathBuf>) -> Self {
        Snapshots {
            dir,
            mode,
            strict,
            record,
            compare: true,
            seen: Mutex::new(BTreeSet::new()),
            stored: Mutex::new(HashMap::new()),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.snap"))
    }

    /// Records the shape where `--record` asks, then compares it with the step's snapshot,
    /// writing what the mode asks for. `None` when the run does not compare.
    pub fn observe(
        &self,
        name: &str,
        source: &str,
        description: &str,
        shape: &ResponseShape,
    ) -> Option<SnapshotOutcome> {
        if let Some(dir) = &self.record {
            let _ = write(&dir.join(format!("{name}.snap")), source, description, shape);
        }
        self.compare.then(|| self.check(name, source, description, shape))
    }

    /// Compares a step's shape with its snapshot, writing what the mode asks for.
    pub fn check(&self, name: &str, source: &str, description: &str, shape: &ResponseShape) -> SnapshotOutcome {
        if let Ok(mut seen) = self.seen.lock() {
            seen.insert(name.to_owned());
        }
        let path = self.path(name);
        let stored = self.stored(name, &path);
        let pending = path.with_extension("snap.new");
        let outcome = match stored {
            Some(old) if *old == *shape => {
                // A stale .snap.new from an earlier run would mislead `cargo insta review`.
                if self.mode != Mode::ReadOnly {
                    let _ = std::fs::remove_file(&pending);
                }
                return SnapshotOutcome::Matched;
            }
            Some(old) => SnapshotOutcome::Changed { changes: diff(&old, shape), written: None },
            None => SnapshotOutcome::Missing { written: None },
        };
        let target = match self.mode {
            Mode::ReadOnly => return outcome,
            Mode::Review => pending,
            Mode::Update => path,
        };
        let written = write(&target, source, description, shape).ok().map(|()| target.display().to_string());
        if self.mode == Mode::Update
            && written.is_some()
            && let Ok(mut stored) = self.stored.lock()
        {
            stored.insert(name.to_owned(), Some(Arc::new(shape.clone())));
        }
        match outcome {
            SnapshotOutcome::Changed { changes, .. } => SnapshotOutcome::Changed { changes, written },
            SnapshotOutcome::Missing { .. } => SnapshotOutcome::Missing { written },
            SnapshotOutcome::Matched => SnapshotOutcome::Matched,
        }
    }

    /// The stored shape of `name`, read from disk the first time.
    fn stored(&self, name: &str, path: &Path) -> Option<Arc<ResponseShape>> {
        if let Some(hit) = self.stored.lock().ok().and_then(|s| s.get(name).cloned()) {
            return hit;
        }
        let shape = read(path).ok().map(|f| Arc::new(f.shape));
        if let Ok(mut stored) = self.stored.lock() {
            stored.insert(name.to_owned(), shape.clone());
        }
        shape
    }

    /// `.snap` files in the set that no step of this run looked at.
    pub fn unreferenced(&self) -> Vec<String> {
        let seen = self.seen.lock().map(|s| s.clone()).unwrap_or_default();
        list(&self.dir).into_iter().filter(|n| !seen.contains(n)).collect()
    }
}

/// Names of the `.snap` files directly in `dir`, sorted.
pub fn list(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.strip_suffix(".snap")).map(str::to_owned))
        .collect();
    names.sort();
    names
}

/// Reads every snapshot of a set.
pub fn load_set(dir: &Path) -> Result<BTreeMap<String, SnapFile>, String> {
    if !dir.is_dir() {
        return Err(format!("{} is not a folder of snapshots", dir.display()));
    }
    list(dir)
        .into_iter()
        .map(|n| {
            let p = dir.join(format!("{n}.snap"));
            read(&p).map(|f| (n, f))
        })
        .collect()
}

/// Reads one snapshot file and parses its shape. Files in the form [`write`] produces (and
/// `cargo insta accept` keeps) are read directly; anything else goes through insta's reader.
pub fn read(path: &Path) -> Result<SnapFile, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let (source, description, contents) = match split_header(&text) {
        Some(parts) => parts,
        None => {
            let snap = insta::Snapshot::from_file(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let contents = snap
                .as_text()
                .map(|t| t.to_string())
                .ok_or_else(|| format!("{}: not a text snapshot", path.display()))?;
            let meta = snap.metadata();
            (meta.source().unwrap_or_default().to_owned(), meta.description().unwrap_or_default().to_owned(), contents)
        }
    };
    let shape = ResponseShape::parse(&contents).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(SnapFile { source, description, shape })
}

/// `---`, `key: value` lines with plain or double-quoted values, `---`, then the contents.
/// `None` for anything else (block scalars, other quoting), which insta's reader handles.
fn split_header(text: &str) -> Option<(String, String, String)> {
    let rest = text.strip_prefix("---\n")?;
    let end = rest.find("\n---\n")?;
    let (mut source, mut description) = (String::new(), String::new());
    for line in rest[..end].lines() {
        let (key, value) = line.split_once(": ")?;
        let value = if value.starts_with('"') {
            serde_json::from_str::<String>(value).ok()?
        } else if value.starts_with(['\'', '|', '>', '&', '*', '!', '{', '[']) {
            return None;
        } else {
            value.to_owned()
        };
        match key {
            "source" => source = value,
            "description" => description = value,
            _ => {}
        }
    }
    Some((source, description, rest[end + 5..].to_owned()))
}

/// Writes a snapshot in insta's format.
pub fn write(path: &Path, source: &str, description: &str, shape: &ResponseShape) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    // As insta's own writer does: plain scalars bare, anything YAML could misread quoted, so
    // `cargo insta accept` leaves the header as it was.
    let quote = |s: &str| {
        let plain = !s.is_empty()
            && !s.starts_with([' ', '-', '.'])
            && !s.ends_with(' ')
            && s.chars().all(|c| c.is_ascii_alphanumeric() || " _./-".contains(c));
        if plain { s.to_owned() } else { serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into()) }
    };
    let text = format!("---\nsource: {}\ndescription: {}\n---\n{}", quote(source), quote(description), shape.render());
    std::fs::write(path, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(body: &str) -> ResponseShape {
        ResponseShape::infer(200, Some("application/json"), ["ASP.NET_SessionId".to_owned()], body.as_bytes())
    }

    #[test]
    fn written_files_are_insta_snapshots_that_read_back() {
        let dir = tempfile::tempdir().expect("temp");
        let s = shape(r#"{"UserId": 7, "Name": "x"}"#);
        let p = dir.path().join("auth__x__1.snap");
        write(&p, "cases/auth/x.yaml", "auth::x step 1: POST Auth/SignAppin", &s).expect("write");
        let snap = insta::Snapshot::from_file(&p).expect("insta reads it");
        assert_eq!(snap.metadata().source(), Some("cases/auth/x.yaml"));
        let back = read(&p).expect("read");
        assert_eq!(back.shape, s);
        assert_eq!(back.endpoint(), "POST Auth/SignAppin");
    }

    #[test]
    fn the_direct_reader_agrees_with_insta() {
        let dir = tempfile::tempdir().expect("temp");
        let p = dir.path().join("a.snap");
        let s = shape(r#"{"A": [1, null]}"#);
        for (source, description) in [("cases/a.yaml", "a step 1: GET X"), ("odd: name", "quote \" and \\ back")] {
            write(&p, source, description, &s).expect("write");
            let direct = read(&p).expect("read");
            let snap = insta::Snapshot::from_file(&p).expect("insta reads it");
            assert_eq!(snap.metadata().source(), Some(direct.source.as_str()));
            assert_eq!(snap.metadata().description(), Some(direct.description.as_str()));
            assert_eq!(snap.as_text().map(|t| t.to_string()), Some(s.render().trim_end().to_owned()));
            assert_eq!(direct.shape, s);
        }
        // A header insta wrote with a block scalar still reads, through insta.
        std::fs::write(&p, format!("---\nsource: x.yaml\ndescription: |\n  multi\n---\n{}", s.render()))
            .expect("write");
        assert_eq!(read(&p).map(|f| f.shape), Ok(s));
    }

    #[test]
    fn review_mode_writes_pending_and_ci_writes_nothing() {
        let dir = tempfile::tempdir().expect("temp");
        let old = shape(r#"{"UserId": 7}"#);
        let new = shape(r#"{"UserId": "7", "Extra": 1}"#);
        write(&dir.path().join("a__1.snap"), "c.yaml", "a step 1: GET X", &old).expect("write");

        let ci = Snapshots::new(dir.path().to_path_buf(), Mode::ReadOnly, false, None);
        let out = ci.check("a__1", "c.yaml", "a step 1: GET X", &new);
        assert!(out.fails(false));
        assert!(!dir.path().join("a__1.snap.new").exists());
        assert_eq!(ci.check("b__1", "c.yaml", "b step 1: GET X", &new), SnapshotOutcome::Missing { written: None });

        let review = Snapshots::new(dir.path().to_path_buf(), Mode::Review, false, None);
        let SnapshotOutcome::Changed { changes, written } = review.check("a__1", "c.yaml", "a step 1: GET X", &new)
        else {
            panic!("changed")
        };
        assert_eq!(changes.len(), 2);
        assert!(written.is_some_and(|w| w.ends_with("a__1.snap.new")));
        assert!(review.check("a__1", "c.yaml", "a step 1: GET X", &old) == SnapshotOutcome::Matched);
        assert!(!dir.path().join("a__1.snap.new").exists(), "a match clears the stale pending file");
        assert_eq!(review.unreferenced(), Vec::<String>::new());
    }

    #[test]
    fn additive_changes_pass_unless_strict() {
        let dir = tempfile::tempdir().expect("temp");
        write(&dir.path().join("a__1.snap"), "c.yaml", "d", &shape(r#"{"A": 1}"#)).expect("write");
        let s = Snapshots::new(dir.path().to_path_buf(), Mode::ReadOnly, false, None);
        let out = s.check("a__1", "c.yaml", "d", &shape(r#"{"A": 1, "B": true}"#));
        assert!(!out.fails(false));
        assert!(out.fails(true));
        let unref = Snapshots::new(dir.path().to_path_buf(), Mode::ReadOnly, false, None);
        assert_eq!(unref.unreferenced(), vec!["a__1".to_string()]);
    }

    #[test]
    fn update_mode_accepts() {
        let dir = tempfile::tempdir().expect("temp");
        let s = Snapshots::new(dir.path().to_path_buf(), Mode::Update, false, None);
        let v = shape("[1]");
        assert!(matches!(s.check("a__1", "c.yaml", "d", &v), SnapshotOutcome::Missing { written: Some(_) }));
        assert_eq!(s.check("a__1", "c.yaml", "d", &v), SnapshotOutcome::Matched);
    }
}
