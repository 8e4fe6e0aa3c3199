//! Embeds what psconform ships, so an installed binary works from any folder: the documented
//! models (`catalog/models/*.yaml`), the shipped cases (`cases/**/*.yaml`) and their
//! contracts (`snapshots/*.snap`). The lists of files are generated here, so a new file is
//! compiled in without touching the code.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Every file below `dir` whose name ends with one of `endings`, as paths relative to `root`,
/// sorted.
fn files(root: &Path, dir: &str, endings: &[&str]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.join(dir)];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.filter_map(Result::ok) {
            let path = e.path();
            let Ok(kind) = e.file_type() else { continue };
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_file()
                && endings.iter().any(|end| path.to_string_lossy().ends_with(end))
                && let Ok(rel) = path.strip_prefix(root)
            {
                out.push(rel.to_path_buf());
            }
        }
    }
    out.sort();
    out
}

fn table(out: &mut String, root: &Path, name: &str, doc: &str, list: &[PathBuf]) {
    writeln!(out, "/// {doc}, as `(path relative to the repository, text)`.").expect("writing to a String");
    writeln!(out, "pub const {name}: &[(&str, &str)] = &[").expect("writing to a String");
    for rel in list {
        let rel_text = rel.to_string_lossy().replace('\\', "/");
        let abs = root.join(rel);
        writeln!(out, "    ({rel_text:?}, include_str!({:?})),", abs.display().to_string())
            .expect("writing to a String");
    }
    out.push_str("];\n");
}

fn main() {
    let root = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let root = Path::new(&root);
    for dir in ["catalog/models", "cases", "snapshots"] {
        println!("cargo:rerun-if-changed={dir}");
    }
    let mut out = String::new();
    table(&mut out, root, "MODEL_FILES", "The documented models", &files(root, "catalog/models", &[".yaml"]));
    table(&mut out, root, "CASE_FILES", "The shipped cases", &files(root, "cases", &[".yaml", ".yml"]));
    table(&mut out, root, "SNAPSHOT_FILES", "The shipped contracts", &files(root, "snapshots", &[".snap"]));
    let dest = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("embedded.rs");
    std::fs::write(dest, out).expect("OUT_DIR is writable");
}
