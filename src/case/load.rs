//! Finding case files and parsing them into the spanned model.
//!
//! Parsing stops at the first structural error of a file (serde cannot go on past it), but
//! every file is parsed, and validation then adds every semantic error of every file that
//! parsed, so one `psconform validate` shows all there is to fix.

use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

use regex::Regex;

use super::diagnostic::{Diagnostic, did_you_mean_from_message};
use super::spec::CaseFileSpec;
use crate::strings::Paths;

/// A parsed case file with its source, kept for diagnostics.
#[derive(Debug)]
pub struct CaseFile {
    /// The path as found (joined to the folder the user named).
    pub path: PathBuf,
    /// The first part of trial names: the folder below the cases root, `::`-joined.
    pub area: String,
    /// The file name without its extension.
    pub stem: String,
    /// The file's text.
    pub source: Arc<str>,
    /// What the file says.
    pub spec: CaseFileSpec,
}

/// Largest case file read: a case file is a few kilobytes, and a link to `/dev/zero` must not
/// read until memory runs out.
pub const MAX_CASE_FILE: u64 = 1024 * 1024;

/// What a walk of the cases folder found.
#[derive(Debug, Default)]
pub struct Discovered {
    /// The folder trial names are taken from: the one walked, or a file's own folder.
    pub base: PathBuf,
    /// Case files below `base` (as found where one is not below it), sorted, so trial order is
    /// stable: the walk takes each folder's entries in the order of their names, which is the
    /// order of the paths. Kept compact: a suite may have tens of thousands.
    pub files: Paths,
    /// The size of those files in bytes, as the walk saw them: whether a suite's plans can all
    /// be kept is decided from it before any file is read.
    pub bytes: u64,
    /// Problems that stop the run: an unreadable folder, a symlink loop.
    pub errors: Vec<Diagnostic>,
    /// Entries skipped with a reason: a FIFO, a device, a socket named `*.yaml`.
    pub skipped: Vec<Diagnostic>,
}

/// Every `*.yaml` and `*.yml` file below `root`, following symlinks that stay inside `root`
/// but never one that leads out of it (a link to a home folder must not read its dotfiles),
/// never round a loop, and each file once however many links lead to it.
pub fn discover(root: &Path) -> Discovered {
    let base = if is_folder(root) { root } else { root.parent().unwrap_or(Path::new("")) };
    let mut found = Discovered { base: base.to_path_buf(), ..Discovered::default() };
    let below = |path: &Path| path.strip_prefix(base).unwrap_or(path).to_path_buf();
    if crate::suite::is_builtin(root) {
        for path in crate::suite::files_under(root).into_iter().filter(|p| is_case_file(p)) {
            found.bytes += crate::suite::text(&path).map_or(0, |t| t.len() as u64);
            found.files.push(&below(&path));
        }
        if found.files.is_empty() {
            found.errors.push(Diagnostic::whole(root, "not a file or folder of the built-in suite"));
        }
        return found;
    }
    let meta = match std::fs::metadata(root) {
        Ok(m) => m,
        Err(e) => {
            found.errors.push(Diagnostic::whole(root, format!("cannot read the cases folder: {e}")));
            return found;
        }
    };
    if !meta.is_dir() {
        if meta.is_file() {
            found.bytes = meta.len();
            found.files.push(&below(root));
        } else {
            found.errors.push(Diagnostic::whole(root, "not a regular file or a folder"));
        }
        return found;
    }
    // A folder: its files' paths are kept below it (`base` is `root`).
    let mut walk = Walk {
        root,
        found: &mut found,
        left: Vec::new(),
        ancestors: Vec::new(),
        seen: std::collections::HashSet::new(),
        all_seen: cfg!(not(unix)),
    };
    walk.folder(root, false);
    let left = std::mem::take(&mut walk.left);
    for path in left {
        found.skipped.push(
            Diagnostic::whole(&path, "skipped: a link out of the cases folder")
                .with_hint("case folders follow links only to files and folders inside them"),
        );
    }
    found
}

/// A walk of a cases folder, following links that stay inside it: each folder's entries in
/// the order of their names, a folder's files before its next sibling, as a sorted walk
/// (`walkdir`'s) goes. Each folder's listing is kept compact while it is walked (its names end
/// to end): a folder of 20,000 case files is listed in about 600 KB, not an entry struct and
/// a path per file.
struct Walk<'a> {
    /// The folder walked, which found paths are kept below.
    root: &'a Path,
    found: &'a mut Discovered,
    /// Links that lead out of the folder, skipped.
    left: Vec<PathBuf>,
    /// The folders being walked, with their paths: one met again below itself is a loop.
    ancestors: Vec<(FileId, PathBuf)>,
    /// The files found that a second name could reach: those with more than one hard link
    /// and, once the walk meets a link, every file.
    seen: std::collections::HashSet<FileId>,
    /// The walk met a link: every file found is in `seen`.
    all_seen: bool,
}

impl Walk<'_> {
    fn cannot_read(&mut self, path: &Path, e: &std::io::Error) {
        self.found.errors.push(Diagnostic::whole(path, format!("cannot read: {e}")));
    }

    fn folder(&mut self, folder: &Path, linked: bool) {
        let entries = match std::fs::read_dir(folder) {
            Ok(entries) => entries,
            Err(e) => return self.cannot_read(folder, &e),
        };
        let depth = self.ancestors.len();
        if let Ok(meta) = std::fs::metadata(folder) {
            self.ancestors.push((file_id(folder, &meta), folder.to_path_buf()));
        }
        let mut names = Paths::default();
        let mut kinds = Vec::new();
        for entry in entries {
            match entry.and_then(|e| Ok((e.file_type()?, e.file_name()))) {
                Ok((kind, name)) => {
                    names.push(Path::new(&name));
                    kinds.push(kind);
                }
                Err(e) => self.cannot_read(folder, &e),
            }
        }
        let mut order: Vec<usize> = (0..names.len()).collect();
        order.sort_unstable_by(|a, b| names.get(*a).as_os_str().cmp(names.get(*b).as_os_str()));
        // Room for this folder's files at once: a folder of many case files is the usual suite.
        let prefix = folder.strip_prefix(self.root).map_or(0, |p| p.as_os_str().len() + 1);
        self.found.files.reserve(names.len(), names.bytes() + prefix * names.len());
        for i in order {
            let (Some(kind), path) = (kinds.get(i).copied(), folder.join(names.get(i))) else { continue };
            self.entry(path, kind, linked);
        }
        self.ancestors.truncate(depth);
    }

    fn entry(&mut self, path: PathBuf, kind: std::fs::FileType, linked: bool) {
        let link = kind.is_symlink();
        let (kind, meta) = if link || kind.is_dir() || (kind.is_file() && is_case_file(&path)) {
            match std::fs::metadata(&path) {
                Ok(meta) => (meta.file_type(), Some(meta)),
                Err(e) => return self.cannot_read(&path, &e),
            }
        } else {
            (kind, None)
        };
        if link {
            // A link to a device or a FIFO is skipped below for what it is, wherever it points.
            if (kind.is_dir() || kind.is_file()) && crate::files::leaves(self.root, &path) {
                return self.left.push(path);
            }
            self.met_link();
        }
        if kind.is_dir() {
            if link || linked {
                let id = meta.as_ref().map(|m| file_id(&path, m));
                if let Some((_, ancestor)) = self.ancestors.iter().find(|(a, _)| Some(a) == id.as_ref()) {
                    let d =
                        Diagnostic::whole(&path, format!("a symlink loop: this leads back to {}", ancestor.display()))
                            .with_hint("remove the link; case folders are walked following links");
                    return self.found.errors.push(d);
                }
            }
            return self.folder(&path, link || linked);
        }
        if !is_case_file(&path) {
            return;
        }
        if !kind.is_file() {
            let d = Diagnostic::whole(&path, "skipped: not a regular file (a FIFO, a device or a socket)");
            return self.found.skipped.push(d);
        }
        // Two names of one file would run its cases twice.
        if let Some(meta) = &meta
            && (self.all_seen || hard_links(meta) > 1)
            && !self.seen.insert(file_id(&path, meta))
        {
            return;
        }
        self.found.bytes += meta.map_or(0, |m| m.len());
        self.found.files.push(path.strip_prefix(self.root).unwrap_or(&path));
    }

    /// The walk meets its first link: from now on a file may be reached by a second name, so
    /// the files found so far are remembered too.
    fn met_link(&mut self) {
        if self.all_seen {
            return;
        }
        self.all_seen = true;
        for found in self.found.files.iter() {
            let path = self.root.join(found);
            if let Ok(meta) = std::fs::metadata(&path) {
                self.seen.insert(file_id(&path, &meta));
            }
        }
    }
}

/// What tells two names of one file apart from two files: its device and inode (one `stat`),
/// or where it resolves to where there are none.
#[derive(Debug, PartialEq, Eq, Hash)]
enum FileId {
    #[cfg(unix)]
    Inode(u64, u64),
    #[cfg(not(unix))]
    Path(Box<Path>),
}

fn file_id(path: &Path, meta: &std::fs::Metadata) -> FileId {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        let _ = path;
        FileId::Inode(meta.dev(), meta.ino())
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        FileId::Path(std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()).into())
    }
}

/// How many hard links a file has (on Unix; elsewhere, as if two: every file is remembered).
fn hard_links(meta: &std::fs::Metadata) -> u64 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        meta.nlink()
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        2
    }
}

fn is_case_file(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "yaml" || e == "yml")
}

/// Whether `root` is a folder of case files (on disk, or in the built-in suite).
pub fn is_folder(root: &Path) -> bool {
    if crate::suite::is_builtin(root) { crate::suite::is_builtin_dir(root) } else { root.is_dir() }
}

/// Reads a case file found below `root` (in the built-in suite, or on disk with the bounded
/// reader, [`crate::files::read`]: a regular file of at most [`MAX_CASE_FILE`] bytes, not
/// reached through a link out of `root`).
pub fn read_capped(root: &Path, path: &Path) -> Result<String, Diagnostic> {
    if crate::suite::is_builtin(path) {
        return crate::suite::text(path)
            .map(str::to_owned)
            .ok_or_else(|| Diagnostic::whole(path, "not a file of the built-in suite"));
    }
    crate::files::read(root, path, MAX_CASE_FILE).map_err(|e| match e {
        crate::files::ReadError::TooLarge { .. } => {
            Diagnostic::whole(path, format!("{e}: not a case file")).with_hint("split it into several files")
        }
        e => Diagnostic::whole(path, e.to_string()),
    })
}

/// Reads and parses one file. `root` is the cases folder the trial names are relative to.
pub fn load_file(root: &Path, path: &Path) -> Result<CaseFile, Diagnostic> {
    let source = read_capped(root, path)?;
    let spec = parse(path, &source)?;
    let rel = path.strip_prefix(root).unwrap_or(path);
    let stem = rel.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let area = rel
        .parent()
        .map(|p| p.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect::<Vec<_>>())
        .unwrap_or_default()
        .join("::");
    Ok(CaseFile { path: path.to_path_buf(), area, stem, source: source.into(), spec })
}

/// Writes into `out` (after what it holds) the trial name of the case named `case` in the file
/// at `rel` below the cases folder: `<folder>::…::<stem>::<case>`, the name [`load_file`]'s
/// `area` and `stem` give it. A large suite keeps each file's path and each distinct case
/// name once, and writes a case's full name when it is needed.
pub fn write_trial_name(out: &mut String, rel: &Path, case: &str) {
    for folder in rel.parent().into_iter().flat_map(Path::components) {
        out.push_str(&folder.as_os_str().to_string_lossy());
        out.push_str("::");
    }
    out.push_str(&rel.file_stem().map(|s| s.to_string_lossy()).unwrap_or_default());
    out.push_str("::");
    out.push_str(case);
}

static LOCATION_PREFIX: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(error: )?line \d+ column \d+: ").expect("the prefix pattern is a valid regex"));
static LOCATION_SUFFIX: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r",? at line \d+,? column \d+$").expect("the suffix pattern is a valid regex"));

/// Parses case-file text. YAML 1.2 booleans only, and numbers with leading zeros stay
/// strings, so `yes` and `012` in a request body mean what they say.
///
/// A YAML file that is not a case file at all (no top-level `cases:`: a CI workflow, a tool's
/// settings with a token in them) is named and never quoted: its lines may hold anything.
pub fn parse(path: &Path, source: &str) -> Result<CaseFileSpec, Diagnostic> {
    let options = serde_saphyr::options! { strict_booleans: true, leading_zero_numbers_as_strings: true };
    serde_saphyr::from_str_with_options::<CaseFileSpec>(source, options).map_err(|err| {
        if meant_as_case_file(source) {
            yaml_error(path, source, &err)
        } else {
            Diagnostic::whole(path, "not a case file: it has no top-level `cases:`")
                .with_hint("a case file has `endpoint:` and `cases:`; move other YAML files out of the cases folder")
        }
    })
}

/// Whether a text that did not parse was meant as a case file: a line that starts `cases:` at
/// the top level.
fn meant_as_case_file(source: &str) -> bool {
    source.lines().any(|l| l.strip_prefix("cases:").is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '#'])))
}

/// A serde-saphyr error as a [`Diagnostic`]: its first line without the location serde-saphyr
/// writes into it (the diagnostic carries the location), and a did-you-mean hint for a
/// misspelled key. Every YAML file psconform reads (cases, models) reports errors this way.
pub fn yaml_error(path: &Path, source: &str, err: &serde_saphyr::Error) -> Diagnostic {
    let plain = err.render_with_options(serde_saphyr::render_options! { snippets: serde_saphyr::SnippetMode::Off });
    let first = plain.lines().next().unwrap_or("invalid YAML").trim();
    let message = LOCATION_SUFFIX.replace(&LOCATION_PREFIX.replace(first, ""), "").into_owned();
    let (line, column) = err.location().map_or((0, 0), |l| (l.line() as usize, l.column() as usize));
    let hint = did_you_mean_from_message(&message);
    let diag =
        if line == 0 { Diagnostic::whole(path, message) } else { Diagnostic::at(path, source, line, column, message) };
    match hint {
        Some(h) => diag.with_hint(h),
        None => diag,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn a_file_reached_by_two_names_is_found_once() {
        let dir = tempfile::tempdir().expect("a folder");
        std::fs::create_dir(dir.path().join("sub")).expect("a subfolder");
        std::fs::write(dir.path().join("sub/a.yaml"), "x").expect("written");
        std::fs::write(dir.path().join("sub/b.yaml"), "x").expect("written");
        std::os::unix::fs::symlink("sub/a.yaml", dir.path().join("link.yaml")).expect("a link to a file");
        std::os::unix::fs::symlink("sub", dir.path().join("again")).expect("a link to a folder");
        let found = discover(dir.path());
        let names: Vec<String> = found.files.iter().map(|p| p.display().to_string()).collect();
        assert_eq!(names, ["again/a.yaml", "again/b.yaml"], "each file once, by its first name in walk order");
        assert_eq!(found.bytes, 2, "and its size once");
        assert!(found.errors.is_empty() && found.skipped.is_empty(), "{:?}", found.errors);
    }

    #[cfg(unix)]
    #[test]
    fn a_file_found_before_a_link_to_it_or_with_a_second_hard_link_is_found_once() {
        let dir = tempfile::tempdir().expect("a folder");
        std::fs::create_dir(dir.path().join("a")).expect("a subfolder");
        std::fs::write(dir.path().join("a/x.yaml"), "x").expect("written");
        std::fs::write(dir.path().join("h1.yaml"), "x").expect("written");
        std::fs::hard_link(dir.path().join("h1.yaml"), dir.path().join("h2.yaml")).expect("a hard link");
        // Walked after the file it names.
        std::os::unix::fs::symlink("a/x.yaml", dir.path().join("z.yaml")).expect("a link to a file");
        let found = discover(dir.path());
        let names: Vec<String> = found.files.iter().map(|p| p.display().to_string()).collect();
        assert_eq!(names, ["a/x.yaml", "h1.yaml"], "each file once, by its first name in walk order");
    }

    #[cfg(unix)]
    #[test]
    fn the_walk_goes_in_name_order_and_reports_loops_broken_links_and_fifos() {
        let dir = tempfile::tempdir().expect("a folder");
        let root = dir.path();
        for file in ["b.yaml", "a/z.yaml", "a.yaml", "a-b/c.yml", "A.yaml", "notes.txt", "sub/deeper/x.yaml"] {
            let path = root.join(file);
            std::fs::create_dir_all(path.parent().expect("a folder")).expect("mkdir");
            std::fs::write(path, "x").expect("written");
        }
        std::os::unix::fs::symlink("..", root.join("a/up")).expect("a link to the folder above");
        std::os::unix::fs::symlink("nowhere", root.join("broken.yaml")).expect("a broken link");
        let fifo = std::process::Command::new("mkfifo").arg(root.join("pipe.yaml")).status();
        assert!(fifo.is_ok_and(|s| s.success()), "mkfifo");
        let found = discover(root);
        let names: Vec<String> = found.files.iter().map(|p| p.display().to_string()).collect();
        assert_eq!(names, ["A.yaml", "a/z.yaml", "a-b/c.yml", "a.yaml", "b.yaml", "sub/deeper/x.yaml"]);
        // The order a sorted `walkdir` walk has (what discovery used before it kept its
        // listings compact).
        let walked: Vec<String> = walkdir::WalkDir::new(root)
            .follow_links(true)
            .sort_by_file_name()
            .into_iter()
            .flatten()
            .filter(|e| e.file_type().is_file() && is_case_file(e.path()))
            .map(|e| e.path().strip_prefix(root).expect("below").display().to_string())
            .collect();
        assert_eq!(names, walked);
        let errors: Vec<String> = found.errors.iter().map(|d| format!("{}: {}", d.file.display(), d.message)).collect();
        let [looped, broken] = &errors[..] else { panic!("{errors:?}") };
        assert!(looped.contains("a/up: a symlink loop: this leads back to"), "{looped}");
        assert!(broken.contains("broken.yaml: cannot read: No such file"), "{broken}");
        let skipped: Vec<&str> = found.skipped.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(skipped, ["skipped: not a regular file (a FIFO, a device or a socket)"]);
    }

    fn parse_err(src: &str) -> Diagnostic {
        match parse(Path::new("t.yaml"), src) {
            Ok(_) => panic!("expected a parse error"),
            Err(d) => d,
        }
    }

    const HEAD: &str = "endpoint: GET X\ncases:\n  - name: a\n    summary: s\n    effect: read\n    steps:\n      - request: { method: GET, path: X }\n";

    #[test]
    fn misspelled_key_points_at_it_with_a_suggestion() {
        let d = parse_err(&format!("{HEAD}        expect: {{ statuz: 200 }}\n"));
        assert_eq!((d.line, d.column), (8, 19), "{}", d.message);
        assert!(d.message.contains("unknown field `statuz`"), "{}", d.message);
        assert_eq!(d.hint.as_deref(), Some("did you mean `status`?"));
    }

    #[test]
    fn misspelled_matcher_gets_did_you_mean() {
        let d = parse_err(&format!("{HEAD}        expect:\n          paths:\n            $.a: {{ equal: 1 }}\n"));
        assert_eq!(d.line, 10);
        assert_eq!(d.hint.as_deref(), Some("did you mean `equals`?"));
    }

    #[test]
    fn wrong_type_and_bad_status_are_located() {
        let d = parse_err(&format!("{HEAD}        expect: {{ status: 2000 }}\n"));
        assert_eq!(d.line, 8);
        assert!(d.message.contains("not an HTTP status code"), "{}", d.message);
        let d = parse_err("endpoint: X\ncases: 5\n");
        assert_eq!(d.line, 2);
    }

    #[test]
    fn duplicate_keys_and_malformed_yaml_are_errors() {
        let d = parse_err("endpoint: X\nendpoint: Y\ncases: []\n");
        assert_eq!(d.line, 2);
        let d = parse_err("endpoint: X\ncases: [\n");
        assert!(d.line >= 2, "{d:?}");
    }

    #[test]
    fn parses_every_form_of_the_format() {
        let src = r#"
endpoint: POST Auth/SignAppin
cases:
  - name: all-forms
    summary: every form
    effect: audited
    steps:
      - request:
          method: POST
          path: Auth/SignAppin
          auth: { ps-auth: { key: "{{ random_key }}", pwd: false, compact: true } }
          body: { form: { a: b } }
        expect:
          status: 4xx
          headers: { Content-Type: { matches: "json" } }
          cookies: { ASP.NET_SessionId: { http_only: true } }
          body: { exact: "User not authenticated" }
          paths:
            $.SID: { type: [string, null] }
            $.N: { type: "integer|null", equals: null, length: { min: 1 } }
        capture:
          token: { path: $.access_token, secret: true }
      - request: { method: GET, path: X, auth: { bearer: "{{ token }}" } }
        expect: { status: [200, 204] }
    teardown:
      - request: { method: POST, path: Auth/Signout, auth: none }
"#;
        let spec = match parse(Path::new("t.yaml"), src) {
            Ok(s) => s,
            Err(d) => panic!("{}", d.render()),
        };
        let case = &spec.cases[0];
        assert_eq!(case.steps.len(), 2);
        let paths = &case.steps[0].expect.paths.0;
        assert_eq!(paths[1].1.equals, Some(serde_json::Value::Null));
        assert_eq!(paths[0].0.referenced.line(), 19);
    }
}
