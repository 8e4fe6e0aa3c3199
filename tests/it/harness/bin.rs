//! Running programs from the tests: the built `psconform` in a clean environment, any program
//! under a time limit, and several runs at once. It ends every process it starts (one that
//! outlives its limit is killed, with its process group) and never judges a run: that is the
//! test's business.

use std::ffi::OsStr;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::files::root;
use super::{KEY, RUNAS, oracle};

/// What psconform reads from the environment. A run starts without any of them, so a
/// developer's own settings never reach a test; the test sets the ones it means.
const READ_FROM_THE_ENVIRONMENT: &[&str] = &[
    "PS_API_KEY",
    "PS_RUNAS",
    "PS_RUNAS_PASSWORD",
    "PS_CLIENT_ID",
    "PS_CLIENT_SECRET",
    "PS_ACCOUNT",
    "PS_SECRET",
    "PS_TARGET",
    "RUST_LOG",
];

/// How long a run may take unless the test says otherwise: long enough for the whole shipped
/// suite on a loaded machine, short enough that a hang fails instead of stalling `cargo test`.
const TIMEOUT: Duration = Duration::from_secs(120);

/// How often a running process is looked at (for its end, its memory and its time limit).
const POLL: Duration = Duration::from_millis(10);

/// What a finished process left behind.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// From the start to the end of the process.
    pub took: Duration,
    /// The largest resident set seen while it ran, in KiB (0 where `/proc` cannot tell).
    pub peak_rss_kib: u64,
}

impl Run {
    /// Everything the user saw: stdout, then stderr.
    pub fn text(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    /// No panic, the exit code `code`, and every piece of `texts` (ignoring case) in the output.
    pub fn assert(&self, code: i32, texts: &[&str]) {
        assert!(!self.text().contains("panicked"), "{self:#?}");
        assert_eq!(self.code, Some(code), "{self:#?}");
        let lower = self.text().to_ascii_lowercase();
        for t in texts {
            assert!(lower.contains(&t.to_ascii_lowercase()), "the output does not mention {t:?}:\n{}", self.text());
        }
    }
}

/// A command line for the built `psconform`, run in the repository's root.
pub fn psconform() -> Psconform {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_psconform"));
    cmd.current_dir(root());
    for var in READ_FROM_THE_ENVIRONMENT {
        cmd.env_remove(var);
    }
    // As in CI (snapshots are compared, never written into the repository's set), and without
    // colour whatever the terminal.
    cmd.env("CI", "true").env("NO_COLOR", "1");
    Psconform { cmd, timeout: TIMEOUT }
}

/// A `psconform` command line being built; [`Psconform::run`] runs it.
pub struct Psconform {
    cmd: Command,
    timeout: Duration,
}

impl Psconform {
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Psconform {
        self.cmd.arg(arg);
        self
    }

    pub fn args(mut self, args: impl IntoIterator<Item = impl AsRef<OsStr>>) -> Psconform {
        self.cmd.args(args);
        self
    }

    pub fn env(mut self, name: &str, value: impl AsRef<OsStr>) -> Psconform {
        self.cmd.env(name, value);
        self
    }

    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Psconform {
        self.cmd.current_dir(dir);
        self
    }

    /// Kills the run, and fails the test, after `limit` instead of the default two minutes.
    pub fn timeout(mut self, limit: Duration) -> Psconform {
        self.timeout = limit;
        self
    }

    /// The test credentials, [`KEY`] and [`RUNAS`].
    pub fn credentials(self) -> Psconform {
        self.env("PS_API_KEY", KEY).env("PS_RUNAS", RUNAS)
    }

    /// Every credential setting, set to the oracle's canaries.
    pub fn canaries(mut self) -> Psconform {
        self.cmd.envs(oracle::ENV.iter().copied());
        self
    }

    /// Runs to the end and returns what it left behind.
    pub fn run(self) -> Run {
        run_command(self.cmd, self.timeout)
    }

    /// [`Psconform::run`] on a blocking thread, so that servers on the test's runtime keep
    /// answering while it runs.
    pub async fn run_async(self) -> Run {
        tokio::task::spawn_blocking(move || self.run()).await.expect("the blocking run ends")
    }

    /// The command itself, for a test that drives the process (a signal, a long-running
    /// `serve`); the test then owns it and must end it.
    pub fn command(self) -> Command {
        self.cmd
    }

    /// Runs to the end on a pseudo-terminal (util-linux `script`), so psconform's standard
    /// output and error are a TTY, as a person's shell is; both come back in `stdout`.
    pub fn run_on_a_terminal(self) -> Run {
        let Psconform { cmd, timeout } = self;
        let line = std::iter::once(cmd.get_program())
            .chain(cmd.get_args())
            .map(|a| shell_quoted(&a.to_string_lossy()))
            .collect::<Vec<_>>()
            .join(" ");
        let mut script = Command::new("script");
        script.args(["-qec", &line, "/dev/null"]);
        for (name, value) in cmd.get_envs() {
            match value {
                Some(v) => script.env(name, v),
                None => script.env_remove(name),
            };
        }
        if let Some(dir) = cmd.get_current_dir() {
            script.current_dir(dir);
        }
        run_command(script, timeout)
    }
}

/// `text` as one word for `sh`.
fn shell_quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

impl Psconform {
    /// Starts this command (a `serve`) with its standard output piped, and returns it with the
    /// first `lines` lines it printed (the base URL first). The test ends it with [`stop`].
    pub fn spawn_reading(mut self, lines: usize) -> (std::process::Child, Vec<String>) {
        use std::io::BufRead as _;
        let mut child = self.cmd.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("the server starts");
        let stdout = child.stdout.take().expect("piped");
        let read = std::io::BufReader::new(stdout).lines().take(lines).map(|l| l.expect("a line")).collect();
        (child, read)
    }
}

/// Stops a server the test started with SIGTERM, by its pid, and returns how it exited.
pub fn stop(mut child: std::process::Child) -> std::process::ExitStatus {
    let stopped = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill runs");
    assert!(stopped.success(), "the server got the signal");
    child.wait().expect("the server ends")
}

/// Runs `cmd` to its end with stdin closed, reading both pipes and sampling its resident
/// memory. A process still running after `limit` is killed (with its process group, when it
/// leads one) and the test fails with what it printed.
pub fn run_command(mut cmd: Command, limit: Duration) -> Run {
    // The program and its arguments name the run; the environment may hold credentials.
    let what = std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| a.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ");
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("`{what}` does not start: {e}"));
    let pid = child.id();
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let mut peak_rss_kib = 0;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(e) => panic!("`{what}` cannot be waited for: {e}"),
        }
        if let Some(rss) = rss_kib(pid) {
            peak_rss_kib = peak_rss_kib.max(rss);
        }
        if started.elapsed() > limit {
            // Its process group, if it leads one, then the process itself: it is not reaped
            // yet, so no other process or group can hold its id.
            let group = format!("-{pid}");
            let _ = Command::new("kill").args(["-KILL", "--", &group]).stderr(Stdio::null()).status();
            let _ = child.kill();
            let _ = child.wait();
            panic!("`{what}` (pid {pid}) ran for over {limit:?} and was killed:\n{}\n{}", join(stdout), join(stderr));
        }
        std::thread::sleep(POLL);
    };
    let took = started.elapsed();
    Run { code: status.code(), stdout: join(stdout), stderr: join(stderr), took, peak_rss_kib }
}

/// Reads a pipe to its end on a thread of its own, so a full pipe never blocks the child.
fn drain(pipe: Option<impl Read + Send + 'static>) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes);
        }
        bytes
    })
}

fn join(reader: JoinHandle<Vec<u8>>) -> String {
    String::from_utf8_lossy(&reader.join().unwrap_or_default()).into_owned()
}

/// The resident set of process `pid` now, in KiB; `None` where `/proc` does not say.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// How many runs [`in_parallel`] keeps going per core. A run of the shipped suite against the
/// simulator, one case at a time, spends over nine tenths of its wall time waiting (the cases
/// that prove an idle session or a release expires sleep through it): 0.4 s of CPU in 6 s here.
const RUNS_PER_CORE: usize = 8;

/// `run` on each of `items`, several at once, with the results in the order of `items`. A
/// panic in any of them fails the caller with its own message, once every run has ended.
pub fn in_parallel<T: Sync, R: Send>(items: &[T], run: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let workers = (cores * RUNS_PER_CORE).min(items.len());
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(item) = items.get(i) else { return done };
                        done.push((i, run(item)));
                    }
                })
            })
            .collect();
        let mut done: Vec<(usize, R)> = Vec::with_capacity(items.len());
        for handle in handles {
            done.extend(handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)));
        }
        done.sort_by_key(|(i, _)| *i);
        done.into_iter().map(|(_, r)| r).collect()
    })
}

/// What every run of the binary stands on: a clean environment, a time limit that holds, and
/// parallel runs that keep their order.
mod tests {
    use std::process::Command;
    use std::time::{Duration, Instant};

    use super::{READ_FROM_THE_ENVIRONMENT, in_parallel, psconform, run_command};

    #[test]
    fn a_run_starts_without_any_setting_psconform_reads() {
        let cmd = psconform().command();
        let envs: Vec<_> = cmd.get_envs().collect();
        for var in READ_FROM_THE_ENVIRONMENT {
            assert!(envs.contains(&(std::ffi::OsStr::new(var), None)), "{var} is not removed: {envs:?}");
        }
    }

    #[test]
    fn a_run_past_its_limit_is_killed_and_fails_the_test() {
        let started = Instant::now();
        let outcome = std::panic::catch_unwind(|| {
            let mut sleep = Command::new("sleep");
            sleep.arg("30");
            run_command(sleep, Duration::from_millis(200))
        });
        let message = outcome.err().and_then(|p| p.downcast_ref::<String>().cloned()).unwrap_or_default();
        assert!(message.contains("was killed"), "{message:?}");
        assert!(started.elapsed() < Duration::from_secs(10), "the limit held: {:?}", started.elapsed());
    }

    #[test]
    fn runs_in_parallel_go_at_once_and_keep_their_order() {
        let started = Instant::now();
        let items: Vec<u64> = (0..6).collect();
        let done = in_parallel(&items, |i| {
            std::thread::sleep(Duration::from_millis(300));
            i * 10
        });
        assert_eq!(done, [0, 10, 20, 30, 40, 50]);
        assert!(started.elapsed() < Duration::from_millis(6 * 300), "one at a time: {:?}", started.elapsed());
    }
}
