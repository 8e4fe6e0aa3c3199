//! Embeds the data psconform ships: the documented models (`catalog/models/*.yaml`). The list
//! of files is generated here, so a new file is compiled in without touching the code.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let root = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let root = Path::new(&root);
    println!("cargo:rerun-if-changed=catalog/models");
    let mut files: Vec<String> = std::fs::read_dir(root.join("catalog/models"))
        .map(|dir| {
            dir.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".yaml"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    let mut out =
        String::from("/// The model files, as `(file name, text)`.\npub const MODEL_FILES: &[(&str, &str)] = &[\n");
    for f in &files {
        let path = root.join("catalog/models").join(f);
        writeln!(out, "    ({f:?}, include_str!({:?})),", path.display().to_string()).expect("writing to a String");
    }
    out.push_str("];\n");
    let dest = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("embedded.rs");
    std::fs::write(dest, out).expect("OUT_DIR is writable");
}
