//! The suite psconform ships, compiled into the binary: the documented models, the cases and
//! their contracts, each as its path in the repository and its text. An installed binary runs
//! them from any folder; `psconform init DIR` writes them out to start a suite of one's own.
//!
//! The built-in files go by paths below [`ROOT`] (`(built-in)/cases/auth/sign-app-in.yaml`),
//! which is not a folder on disk: the readers of case and contract files ask [`text`] and
//! [`files_under`] for a path below it, and everything else (trial names, reports, the
//! snapshots folder beside the cases) works on those paths as on any other. Knows nothing of
//! what the files mean, and imports nothing from the crate.

use std::path::{Path, PathBuf};

include!(concat!(env!("OUT_DIR"), "/embedded.rs"));

/// The folder the built-in suite is shown under: `(built-in)/cases` and
/// `(built-in)/snapshots`. The parentheses keep it apart from any folder a suite would have.
pub const ROOT: &str = "(built-in)";

/// The built-in cases folder, `(built-in)/cases`.
pub fn cases_dir() -> PathBuf {
    Path::new(ROOT).join("cases")
}

/// Where a command's cases come from when its command line names none: `./cases` when the
/// working folder has one (a checkout, or a suite written out by `psconform init`), and the
/// built-in suite otherwise.
pub fn default_cases() -> PathBuf {
    let local = Path::new("cases");
    if local.exists() { local.to_path_buf() } else { cases_dir() }
}

/// Whether `path` names the built-in suite or a file or folder in it.
pub fn is_builtin(path: &Path) -> bool {
    path.starts_with(ROOT)
}

/// Every built-in case and contract file, as its path below [`ROOT`] and its text.
fn all() -> impl Iterator<Item = (PathBuf, &'static str)> {
    CASE_FILES.iter().chain(SNAPSHOT_FILES).map(|(rel, text)| (Path::new(ROOT).join(rel), *text))
}

/// The text of a built-in file, by its path below [`ROOT`].
pub fn text(path: &Path) -> Option<&'static str> {
    all().find(|(p, _)| p == path).map(|(_, text)| text)
}

/// The built-in files at or below `path` (a path below [`ROOT`]), sorted.
pub fn files_under(path: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = all().map(|(p, _)| p).filter(|p| p.starts_with(path)).collect();
    out.sort();
    out
}

/// Whether `path` is a built-in folder (it holds built-in files, and is not one itself).
pub fn is_builtin_dir(path: &Path) -> bool {
    text(path).is_none() && !files_under(path).is_empty()
}

/// Writes the shipped cases and contracts below `dir` (`dir/cases/…`, `dir/snapshots/…`).
/// Without `force` it refuses to overwrite anything and writes nothing when a file is there;
/// with it, it replaces the shipped files and leaves every other file alone. Returns how many
/// files it wrote.
pub fn write_out(dir: &Path, force: bool) -> std::io::Result<usize> {
    let files = CASE_FILES.iter().chain(SNAPSHOT_FILES);
    if !force && let Some((rel, _)) = files.clone().find(|(rel, _)| dir.join(rel).symlink_metadata().is_ok()) {
        let path = dir.join(rel);
        return Err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            format!("{} already exists (--force replaces the shipped files)", path.display()),
        ));
    }
    let mut n = 0;
    for (rel, text) in files {
        let path = dir.join(rel);
        let context = |e: std::io::Error| std::io::Error::new(e.kind(), format!("{}: {e}", path.display()));
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(context)?;
        }
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .create_new(!force)
            .open(&path)
            .map_err(context)?;
        std::io::Write::write_all(&mut file, text.as_bytes()).map_err(context)?;
        n += 1;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_files_are_embedded_with_repository_paths() {
        assert!(CASE_FILES.iter().any(|(p, _)| *p == "cases/auth/sign-app-in.yaml"));
        assert!(SNAPSHOT_FILES.iter().any(|(p, _)| *p == "snapshots/post__auth__signappin__200.snap"));
        assert!(MODEL_FILES.iter().any(|(p, _)| *p == "catalog/models/authentication.yaml"));
        assert!(CASE_FILES.len() >= 18 && SNAPSHOT_FILES.len() >= 30 && MODEL_FILES.len() >= 59);
    }

    #[test]
    fn writing_out_refuses_to_overwrite_unless_forced() {
        let dir = tempfile::tempdir().expect("temp");
        let dir = dir.path();
        let n = write_out(dir, false).expect("writes");
        assert_eq!(n, CASE_FILES.len() + SNAPSHOT_FILES.len());
        let case = dir.join("cases/auth/sign-app-in.yaml");
        assert!(case.is_file());
        std::fs::write(&case, "edited").expect("edit");
        std::fs::write(dir.join("cases/mine.yaml"), "mine").expect("own file");
        let e = write_out(dir, false).expect_err("a second write must not overwrite");
        assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read_to_string(&case).expect("read"), "edited", "nothing was written");
        assert_eq!(write_out(dir, true).expect("forced"), n);
        assert_ne!(std::fs::read_to_string(&case).expect("read"), "edited");
        assert_eq!(std::fs::read_to_string(dir.join("cases/mine.yaml")).expect("read"), "mine");
    }

    #[test]
    fn built_in_paths_resolve_against_the_tables() {
        let case = cases_dir().join("auth/sign-app-in.yaml");
        assert!(is_builtin(&case) && !is_builtin(Path::new("cases/auth/sign-app-in.yaml")));
        assert_eq!(text(&case), CASE_FILES.iter().find(|(p, _)| *p == "cases/auth/sign-app-in.yaml").map(|(_, t)| *t));
        assert_eq!(files_under(&cases_dir()).len(), CASE_FILES.len());
        assert_eq!(files_under(&Path::new(ROOT).join("snapshots")).len(), SNAPSHOT_FILES.len());
        assert!(is_builtin_dir(&cases_dir().join("auth")) && !is_builtin_dir(&case));
        assert!(files_under(&cases_dir().join("au")).is_empty(), "a prefix of a name is not a folder");
        assert_eq!(text(&cases_dir().join("nothing.yaml")), None);
    }
}
