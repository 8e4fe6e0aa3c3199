//! Files the tests read and write: the repository's own (its root, the shipped case files),
//! temporary projects, and case-file text built from pieces. It writes only below temporary
//! folders, never into the repository.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use psconform::case::Diagnostic;
use psconform::plan::Plan;
use psconform::simulator::SimState;
use tempfile::TempDir;

use super::bin::{Psconform, psconform};

/// The repository's root, where `cases/`, `snapshots/` and the README are.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every shipped case file (`cases/**/*.yaml`), sorted.
pub fn shipped_case_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(root().join("cases"))
        .into_iter()
        .map(|entry| entry.expect("the cases folder reads").into_path())
        .filter(|path| path.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no shipped case files found");
    files
}

/// Writes `bytes` to `path`, creating the folders it needs.
pub fn write(path: &Path, bytes: impl AsRef<[u8]>) {
    std::fs::create_dir_all(path.parent().expect("a file has a folder")).expect("the folder is created");
    std::fs::write(path, bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

/// The text of `path`, or nothing when it is missing: the test then fails on what it expected
/// to find there.
pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// Every file below `dir`, concatenated.
pub fn read_tree(dir: &Path) -> String {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .map(|e| read(e.path()))
        .collect()
}

/// The files of a folder (not below it), by name, with their bytes.
pub fn listing(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).unwrap_or_default()))
        .collect()
}

/// Copies `from` into `to`, folders included.
pub fn copy_tree(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.expect("the folder reads");
        let target = to.join(entry.path().strip_prefix(from).expect("below the folder"));
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).expect("the folder is created");
        } else {
            std::fs::copy(entry.path(), &target).unwrap_or_else(|e| panic!("{}: {e}", entry.path().display()));
        }
    }
}

/// A temporary project as psconform expects one: `cases/` and `snapshots/` side by side. It
/// is deleted when dropped.
pub struct Project {
    dir: TempDir,
}

impl Project {
    /// `cases/` holding `case_files` (paths below `cases/`, folders created) and an empty
    /// `snapshots/`.
    pub fn new(case_files: &[(&str, &str)]) -> Project {
        let project = Project { dir: tempfile::tempdir().expect("a temporary folder") };
        std::fs::create_dir_all(project.cases()).expect("the cases folder is created");
        std::fs::create_dir_all(project.path().join("snapshots")).expect("the snapshots folder is created");
        for (name, text) in case_files {
            write(&project.cases().join(name), text);
        }
        project
    }

    /// The shipped case files below `cases/<below>` (`""` for all of them) and every shipped
    /// contract.
    pub fn shipped(below: &str) -> Project {
        let project = Project::new(&[]);
        copy_tree(&root().join("cases").join(below), &project.cases().join(below));
        copy_tree(&root().join("snapshots"), &project.path().join("snapshots"));
        project
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `psconform` run in the project's folder, where `cases/` and `snapshots/` are the
    /// defaults.
    pub fn psconform(&self) -> Psconform {
        psconform().current_dir(self.path())
    }

    pub fn cases(&self) -> PathBuf {
        self.path().join("cases")
    }

    /// `name` (a path below the project).
    pub fn join(&self, name: &str) -> PathBuf {
        self.path().join(name)
    }

    /// The text of `name`, or nothing when it is missing.
    pub fn read(&self, name: &str) -> String {
        read(&self.join(name))
    }

    /// Writes `name`, creating the folders it needs.
    pub fn write(&self, name: &str, bytes: impl AsRef<[u8]>) {
        write(&self.join(name), bytes);
    }

    /// Compiles the project's cases as `psconform run` would, with the simulator's states
    /// known, without running anything.
    pub fn compile(&self) -> Result<Plan, Vec<Diagnostic>> {
        let states: Vec<&str> = SimState::NAMES.iter().map(|(name, _)| *name).collect();
        psconform::plan::compile(&[self.cases()], &states)
    }
}

/// Strips the indentation common to all non-blank lines, so YAML can be written indented
/// inside a test.
pub fn dedent(text: &str) -> String {
    let depth =
        text.lines().filter(|l| !l.trim().is_empty()).map(|l| l.len() - l.trim_start().len()).min().unwrap_or(0);
    text.lines().map(|l| l.get(depth..).unwrap_or("").trim_end()).collect::<Vec<_>>().join("\n")
}

/// `text`, dedented, then indented by `by` spaces, each line ending in a line break.
pub fn indent(text: &str, by: usize) -> String {
    let pad = " ".repeat(by);
    dedent(text).lines().map(|l| format!("{pad}{l}\n")).collect()
}

/// A case file with one case, `name`; `body` is the rest of the case (`needs`, `steps`,
/// `teardown`, an `effect` when it means to narrow where the case runs) at any indentation.
pub fn one_case(name: &str, body: &str) -> String {
    let mut yaml = format!("endpoint: X\ncases:\n  - name: {name}\n    summary: s\n");
    yaml.push_str(&indent(body, 4));
    yaml
}

/// The step that signs in with PS-Auth (the configured API key and run-as user), as an item
/// of `steps:` without its `expect`.
pub const SIGN_IN_STEP: &str = "- request: { method: POST, path: Auth/SignAppin, auth: ps-auth }";

/// A case file with one case, `sign-in`, that signs in with PS-Auth and expects `expect` (the
/// lines of an `expect:` mapping, at any indentation) of the answer: the case most targets
/// that are not the simulator are pointed at.
pub fn sign_in(expect: &str) -> String {
    one_case("sign-in", &format!("effect: audited\nsteps:\n  {SIGN_IN_STEP}\n    expect:\n{}", indent(expect, 6)))
}

/// The 1-based number of the first line of `text` that contains `needle`.
pub fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).unwrap_or_else(|| panic!("{needle:?} is not in:\n{text}")) + 1
}
