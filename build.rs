//! Embeds what psconform ships, so an installed binary works from any folder: the documented
//! models (`catalog/models/*.yaml`), the shipped cases (`cases/**/*.yaml`) and their
//! contracts (`snapshots/*.snap`). The lists of files are generated here, so a new file is
//! compiled in without touching the code.
//!
//! It also reads, from the same files, what each endpoint does to the server (its effect), so
//! that compiling a case needs no parse of the whole catalog at run time (reading every model
//! costs a run a tenth of a second). The catalog itself stays the one source: a unit test
//! (`plan::effect`) proves the table equals what `Catalog` reads from the files.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// An entry of `catalog/endpoints.yaml`, as far as effects go.
#[derive(Deserialize)]
struct Listed {
    area: String,
    method: String,
    route: String,
    effect: String,
}

/// A model file, as far as effects go.
#[derive(Deserialize)]
struct ModelFile {
    area: String,
    #[serde(default)]
    endpoints: Vec<Documented>,
}

/// An endpoint of a model file, as far as effects go.
#[derive(Deserialize)]
struct Documented {
    method: String,
    route: String,
    effect: String,
    #[serde(default)]
    unverified: bool,
}

/// The key two spellings of one route share: the method upper case, each literal segment lower
/// case, each `{param}` the same.
fn key(method: &str, route: &str) -> (String, String) {
    let segments: Vec<String> = route
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| if s.starts_with('{') && s.ends_with('}') { "{}".to_owned() } else { s.to_ascii_lowercase() })
        .collect();
    (method.to_ascii_uppercase(), segments.join("/"))
}

/// Every endpoint with its area and effect, in the catalog's order: the generated list's `read`
/// or `change`, refined by the model files, then the endpoints only clients call (`unverified`).
fn effects(root: &Path, models: &[PathBuf]) -> String {
    let read = |rel: &Path| std::fs::read_to_string(root.join(rel)).expect("the catalog files are readable");
    let listed: Vec<Listed> =
        serde_saphyr::from_str(&read(Path::new("catalog/endpoints.yaml"))).expect("catalog/endpoints.yaml parses");
    let mut rows: Vec<[String; 5]> = Vec::new();
    let mut at: BTreeMap<(String, String), usize> = BTreeMap::new();
    for e in listed {
        let effect = if e.effect == "read" { "read" } else { "change" };
        at.insert(key(&e.method, &e.route), rows.len());
        rows.push([e.method, e.route, e.area, effect.to_owned(), "true".to_owned()]);
    }
    for rel in models {
        // A model file that does not parse is reported, with its place, by the catalog's own
        // loader (and its test); here it only adds nothing.
        let Ok(file) = serde_saphyr::from_str::<ModelFile>(&read(rel)) else { continue };
        for d in file.endpoints {
            let method = d.method.to_ascii_uppercase();
            let route = d.route.trim_matches('/').to_owned();
            match at.get(&key(&method, &route)) {
                Some(&i) if !d.unverified => rows[i][3] = d.effect,
                Some(_) => {}
                None => rows.push([method, route, file.area.clone(), d.effect, (!d.unverified).to_string()]),
            }
        }
    }
    let mut out = String::from(
        "/// Every endpoint as `(method, route, area, effect, verified)`, in the catalog's order, read\n\
         /// from its files at build time; `verified` is false for an endpoint only clients call.\n",
    );
    out.push_str("pub const EFFECTS: &[(&str, &str, &str, &str, bool)] = &[\n");
    for [method, route, area, effect, verified] in rows {
        writeln!(out, "    ({method:?}, {route:?}, {area:?}, {effect:?}, {verified}),").expect("writing to a String");
    }
    out.push_str("];\n");
    out
}

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
    for dir in ["catalog/models", "catalog/endpoints.yaml", "cases", "snapshots"] {
        println!("cargo:rerun-if-changed={dir}");
    }
    let mut out = String::new();
    let models = files(root, "catalog/models", &[".yaml"]);
    table(&mut out, root, "MODEL_FILES", "The documented models", &models);
    out.push_str(&effects(root, &models));
    table(&mut out, root, "CASE_FILES", "The shipped cases", &files(root, "cases", &[".yaml", ".yml"]));
    table(&mut out, root, "SNAPSHOT_FILES", "The shipped contracts", &files(root, "snapshots", &[".snap"]));
    let dest = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("embedded.rs");
    std::fs::write(dest, out).expect("OUT_DIR is writable");
}
