//! The suite psconform ships, compiled into the binary: the documented models, the cases and
//! their contracts, each as its path in the repository and its text. An installed binary runs
//! them from any folder; `psconform init DIR` writes them out to start a suite of one's own.
//! Knows nothing of what the files mean.

use std::path::Path;

include!(concat!(env!("OUT_DIR"), "/embedded.rs"));

/// Writes the shipped cases and contracts below `dir` (`dir/cases/…`, `dir/snapshots/…`),
/// refusing to overwrite a file that is there. Returns how many files it wrote.
pub fn write_out(dir: &Path) -> std::io::Result<usize> {
    let mut n = 0;
    for (rel, text) in CASE_FILES.iter().chain(SNAPSHOT_FILES) {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        std::io::Write::write_all(&mut file, text.as_bytes())?;
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
    fn writing_out_refuses_to_overwrite() {
        let dir = std::env::temp_dir().join(format!("psconform-init-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let n = write_out(&dir).expect("writes");
        assert_eq!(n, CASE_FILES.len() + SNAPSHOT_FILES.len());
        assert!(dir.join("cases/auth/sign-app-in.yaml").is_file());
        assert!(write_out(&dir).is_err(), "a second write must not overwrite");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
