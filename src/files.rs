//! The files psconform reads from a user's tree and writes into it, each through one door.
//!
//! - [`read`]: case files, contract files, model files and reports are read by one bounded
//!   reader: regular files only (a FIFO, a device or a socket is refused without blocking on
//!   it), at most a given size, and never through a symbolic link that leads out of the folder
//!   the file was found in. What it refuses is named by its path, never quoted.
//! - [`write()`]: reports and contracts are written into a temporary file of the same folder
//!   (created exclusively, under a random name), then renamed over the path, so a reader never
//!   sees half a file and a link planted at the path is replaced, never followed.
//! - [`probe`]: a folder is proved writable the same way, with a file created exclusively
//!   under a random name and removed at once.
//!
//! It knows nothing of what the files hold: parsing is the caller's.

use std::fs::File;
use std::io::{self, Read as _, Write};
use std::path::{Path, PathBuf};

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file, or a folder on its way, does not exist.
    #[error("not found")]
    NotFound,
    /// A FIFO, a device, a socket or a folder.
    #[error("not a regular file (a FIFO, a device, a socket or a folder)")]
    NotRegular,
    /// A symbolic link whose target is outside the folder the file was found in.
    #[error("a link out of {}", root.display())]
    OutOfRoot {
        /// The folder.
        root: PathBuf,
    },
    /// Larger than the caller allows.
    #[error("larger than {} KiB", max / 1024)]
    TooLarge {
        /// The limit, in bytes.
        max: u64,
    },
    /// Not UTF-8 text.
    #[error("not UTF-8 text")]
    NotText,
    /// Anything else the system said.
    #[error("cannot read: {0}")]
    Io(io::Error),
}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> ReadError {
        if e.kind() == io::ErrorKind::NotFound { ReadError::NotFound } else { ReadError::Io(e) }
    }
}

/// Whether `path` (as found below `root`) leads out of `root` through a symbolic link: the
/// file itself or a folder on its way. A path that cannot be resolved is not judged here: the
/// read that follows says why it fails.
pub fn leaves(root: &Path, path: &Path) -> bool {
    match std::fs::canonicalize(path) {
        Ok(real) => outside(root, &real),
        Err(_) => false,
    }
}

/// Whether the resolved path `real` is outside `root`. The root's own resolution is kept for
/// the next call (a suite reads all its files from one root, thousands of them).
fn outside(root: &Path, real: &Path) -> bool {
    thread_local! {
        static LAST: std::cell::RefCell<Option<(PathBuf, PathBuf)>> = const { std::cell::RefCell::new(None) };
    }
    LAST.with(|last| {
        let mut last = last.borrow_mut();
        if last.as_ref().is_none_or(|(r, _)| r != root) {
            *last = std::fs::canonicalize(root).ok().map(|real_root| (root.to_path_buf(), real_root));
        }
        last.as_ref().is_some_and(|(_, real_root)| !real.starts_with(real_root))
    })
}

/// Whether the file open as `file` (found at `path` below `root`) is outside `root`: where the
/// handle itself leads, so a link swapped in after the path was looked at is caught too. Linux
/// names an open file's resolved path in `/proc/self/fd`, in one call; elsewhere, or without
/// `/proc`, the path is resolved again.
fn handle_leaves(root: &Path, path: &Path, file: &File) -> bool {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd as _;
        if let Ok(real) = std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd())) {
            return outside(root, &real);
        }
    }
    let _ = file;
    leaves(root, path)
}

/// Reads the text of `path`, found in the folder `root`: a regular file of at most `max`
/// bytes, not reached through a link out of `root`. A FIFO is opened without blocking and
/// refused, a device or a socket refused before a byte is read.
pub fn read(root: &Path, path: &Path, max: u64) -> Result<String, ReadError> {
    // What the path leads to, first: a device or a FIFO is named for what it is, wherever it
    // is (looking does not open it).
    if !std::fs::metadata(path)?.is_file() {
        return Err(ReadError::NotRegular);
    }
    let file = open_nonblocking(path)?;
    // The handle's own type and place, not the path's: the path may have changed since it was
    // looked at. Nothing is read before both are known.
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(ReadError::NotRegular);
    }
    if handle_leaves(root, path, &file) {
        return Err(ReadError::OutOfRoot { root: root.to_path_buf() });
    }
    // Sized by what the handle says, so a small file is read in one call; the cap still holds
    // if it grows meanwhile.
    let size = meta.len();
    if size > max {
        return Err(ReadError::TooLarge { max });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0).saturating_add(1));
    file.take(max + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(ReadError::TooLarge { max });
    }
    String::from_utf8(bytes).map_err(|_| ReadError::NotText)
}

/// Opens for reading without waiting for a FIFO's writer.
#[cfg(unix)]
fn open_nonblocking(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(path)
}

#[cfg(not(unix))]
fn open_nonblocking(path: &Path) -> io::Result<File> {
    File::open(path)
}

/// The folder a file path is in (`.` for a bare name).
fn folder_of(path: &Path) -> &Path {
    path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

/// Writes `path` with what `fill` writes: into a temporary file of the same folder, created
/// exclusively under a random name, then renamed over `path`. A link at `path` is replaced,
/// not followed; on an error nothing is left behind and `path` is as it was.
pub fn write(path: &Path, fill: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> io::Result<()> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(".psconform-").suffix(".tmp");
    // A report is as readable as any file the user makes: what `open(2)` gives before the
    // umask, not the owner-only mode of a temporary file.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let mut temp = builder.tempfile_in(folder_of(path))?;
    {
        let mut out = io::BufWriter::new(temp.as_file_mut());
        fill(&mut out)?;
        out.flush()?;
    }
    temp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// [`write()`] of bytes.
pub fn write_bytes(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write(path, |out| out.write_all(bytes))
}

/// Proves that files can be created in `dir`: one is created exclusively under a random name
/// (never through a link planted at a name psconform would choose) and removed at once.
pub fn probe(dir: &Path) -> io::Result<()> {
    let probe = tempfile::Builder::new().prefix(".psconform-probe-").tempfile_in(dir)?;
    probe.close()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_within_the_size_limit_are_read() {
        let dir = tempfile::tempdir().expect("a folder");
        let file = dir.path().join("a.yaml");
        std::fs::write(&file, "x".repeat(10)).expect("written");
        assert_eq!(read(dir.path(), &file, 10).expect("read"), "x".repeat(10));
        assert!(matches!(read(dir.path(), &file, 9), Err(ReadError::TooLarge { max: 9 })));
        assert!(matches!(read(dir.path(), dir.path(), 10), Err(ReadError::NotRegular)));
        assert!(matches!(read(dir.path(), &dir.path().join("none"), 10), Err(ReadError::NotFound)));
        std::fs::write(&file, b"\xff").expect("written");
        assert!(matches!(read(dir.path(), &file, 10), Err(ReadError::NotText)));
    }

    #[cfg(unix)]
    #[test]
    fn fifos_devices_and_links_out_of_the_folder_are_refused_at_once() {
        let dir = tempfile::tempdir().expect("a folder");
        let outside = tempfile::tempdir().expect("another folder");
        std::fs::write(outside.path().join("secret.yml"), "token: x").expect("written");
        let link = dir.path().join("out.yml");
        std::os::unix::fs::symlink(outside.path().join("secret.yml"), &link).expect("a link");
        assert!(matches!(read(dir.path(), &link, 100), Err(ReadError::OutOfRoot { .. })));
        // A link that stays inside is read.
        std::fs::write(dir.path().join("in.yml"), "a: 1").expect("written");
        std::os::unix::fs::symlink(dir.path().join("in.yml"), dir.path().join("link.yml")).expect("a link");
        assert_eq!(read(dir.path(), &dir.path().join("link.yml"), 100).expect("read"), "a: 1");
        let zero = dir.path().join("zero.snap");
        std::os::unix::fs::symlink("/dev/zero", &zero).expect("a link");
        assert!(matches!(read(Path::new("/"), &zero, 100), Err(ReadError::NotRegular)));
        let fifo = dir.path().join("fifo.snap");
        if std::process::Command::new("mkfifo").arg(&fifo).status().is_ok_and(|s| s.success()) {
            let started = std::time::Instant::now();
            assert!(matches!(read(dir.path(), &fifo, 100), Err(ReadError::NotRegular)));
            assert!(started.elapsed() < std::time::Duration::from_secs(5));
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_write_replaces_a_link_at_its_path_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().expect("a folder");
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "precious").expect("written");
        let report = dir.path().join("report.json");
        std::os::unix::fs::symlink(&victim, &report).expect("a link");
        write_bytes(&report, b"{}").expect("written");
        assert_eq!(std::fs::read_to_string(&victim).expect("read"), "precious");
        assert_eq!(std::fs::read_to_string(&report).expect("read"), "{}");
        assert!(std::fs::symlink_metadata(&report).expect("stat").is_file());
        let failed = write(&dir.path().join("other"), |_| Err(io::Error::other("no")));
        assert!(failed.is_err());
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .expect("listed")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
        probe(dir.path()).expect("writable");
        assert_eq!(std::fs::read_dir(dir.path()).expect("listed").count(), 2, "the probe is removed");
    }
}
