"""psconform's benchmark (run it as `bench/run`; bench/README.md says what it measures and why).

The same suite, N x [POST Auth/SignAppin with PS-Auth, check UserName and UserId; POST
Auth/Signout], run by psconform, Hurl, Tavern and a wrk floor against a static nginx on
loopback; psconform against its own simulator; and the simulator as a wrk load-test target.
Not part of CI: only `--smoke --psconform-only` runs in `cargo test` (tests/it/bench_smoke.rs).

The flow, top to bottom in this file:

    arguments -> Config -> install or find the peers -> psconform binary -> nginx
      -> per size: generate the suites, record shapes, `reps` rounds of measured runs
      -> tables (stdout) -> load test -> notes -> exit code

Python 3 standard library only. What has to be another language lives next to this file:
the wrk scripts in bench/wrk/*.lua and the nginx config template bench/nginx.conf.in.

Exit codes: 0 every suite passed; 1 a measured run failed (its row says `(FAILED nx)`), or
psconform could not be built or found; 2 bad arguments; 130 interrupted.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WRK_SCRIPTS = HERE / "wrk"
NGINX_TEMPLATE = HERE / "nginx.conf.in"

HURL_VERSION = "8.0.1"
TAVERN_VERSION = "3.7.1"
PYTEST_VERSION = "9.1.1"  # Tavern 3.7.1 breaks on pytest 9.2
RUNAS = "bench-user"
# Tavern takes about 6 ms a case: N=20000 would be two minutes a run, for a figure that says
# nothing new. Larger sizes measure psconform's and Hurl's memory as N grows.
TAVERN_MAX_N = 2000
API_KEY = "bench-0123456789abcdef0123456789abcdef"  # any value: nginx does not check it
BASE_PATH = "/BeyondTrust/api/public/v3"

# Credentials that would change what psconform or the simulator does if they leaked in from
# the caller's environment.
CREDENTIAL_VARS = ("PS_API_KEY", "PS_RUNAS", "PS_RUNAS_PASSWORD", "PS_CLIENT_ID", "PS_CLIENT_SECRET")

USAGE = """\
usage: bench/run [options]
  --smoke              N=5, one repetition, no load test; missing peers are reported and skipped
  --psconform-only     run only psconform, against its built-in simulator and `psconform serve`:
                       no nginx, no peers, no install (what tests/it/bench_smoke.rs runs)
  --install            install missing peers first (apt-get, cargo install hurl, a Tavern venv)
  --n "200 2000 20000" suite sizes (cases; each case is 2 requests); Tavern runs up to
                       N=2000 only (a run of 20000 would take minutes)
  --reps 3             repetitions of each measurement (medians are reported)
  --threads "default 2 8 32"
                       psconform --test-threads values measured against nginx
  --no-load            skip the wrk load test of the simulator
  --load-secs 60       duration of each load-test run
  --load-conns 32      wrk connections in the load test (one wrk thread)
  --keep               keep the work folder (suites, logs, raw results)
environment:
  PSCONFORM_BIN        the psconform binary (default: cargo build --release, then
                       ${CARGO_TARGET_DIR:-target}/release/psconform)
  BENCH_TOOLS          where Hurl and the Tavern venv are installed
                       (default ~/.cache/psconform-bench)
"""


# --- configuration ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Config:
    """The validated options: nothing below looks at raw arguments."""

    smoke: bool
    ps_only: bool
    install: bool
    sizes: list[int]
    reps: int
    threads: list[str]  # "default" or a number, as given to --test-threads
    load: bool
    load_secs: int
    load_conns: int
    keep: bool
    tools: Path


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's own usage line would not list the options
        sys.stderr.write(f"bench/run: {message}\n{USAGE}")
        sys.exit(2)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def _sizes(text: str) -> list[int]:
    if not text.split():
        raise argparse.ArgumentTypeError("no size given")
    return [_positive(word) for word in text.split()]


def _threads(text: str) -> list[str]:
    if not text.split():
        raise argparse.ArgumentTypeError("no --test-threads value given")
    for word in text.split():
        if word != "default" and not (word.isdigit() and int(word) > 0):
            raise argparse.ArgumentTypeError(f"{word!r} is neither `default` nor a number of threads")
    return text.split()


def parse_config(argv: list[str]) -> Config:
    p = _Parser(prog="bench/run", add_help=False, allow_abbrev=False)
    p.add_argument("-h", "--help", action="store_true")
    p.add_argument("--smoke", action="store_true")
    p.add_argument("--psconform-only", dest="ps_only", action="store_true")
    p.add_argument("--install", action="store_true")
    p.add_argument("--n", dest="sizes", type=_sizes, default=[200, 2000, 20000])
    p.add_argument("--reps", type=_positive, default=3)
    p.add_argument("--threads", type=_threads, default=["default", "2", "8", "32"])
    p.add_argument("--no-load", dest="load", action="store_false")
    p.add_argument("--load-secs", type=_positive, default=60)
    p.add_argument("--load-conns", type=_positive, default=32)
    p.add_argument("--keep", action="store_true")
    a = p.parse_args(argv)
    if a.help:
        sys.stdout.write(USAGE)
        sys.exit(0)
    if a.smoke:  # smoke overrides the sizes, repetitions, threads and load test
        a.sizes, a.reps, a.load, a.threads = [5], 1, False, ["default"]
    if a.ps_only:
        a.load, a.install = False, False
    tools = Path(os.environ.get("BENCH_TOOLS") or Path.home() / ".cache/psconform-bench")
    return Config(a.smoke, a.ps_only, a.install, a.sizes, a.reps, a.threads, a.load, a.load_secs,
                  a.load_conns, a.keep, tools)


# --- the session: work folder, notes, background servers, measured runs ------------------------


@dataclasses.dataclass
class Run:
    """One measured process: one line of results.tsv."""

    label: str
    n: int
    rep: int
    wall: float  # seconds, the whole process
    cpu: float  # seconds, user + system of the process and the children it waited for
    rss_kib: int | None  # the largest single process of the tree (GNU time's %M); None without it
    rc: int


class Session:
    """What one `bench/run` owns: its work folder, its notes and the servers it started."""

    def __init__(self, config: Config):
        self.config = config
        self.work = Path(tempfile.mkdtemp(prefix="psconform-bench.", dir=os.environ.get("TMPDIR") or "/tmp"))
        (self.work / "log").mkdir()
        self.results_tsv = self.work / "results.tsv"  # label, n, rep, wall s, cpu s, max rss KiB, exit code
        self.results_tsv.touch()
        self.runs: list[Run] = []
        self.notes: list[str] = []  # what was missing or went wrong, printed under the tables
        self.servers: list[subprocess.Popen] = []  # stopped by pid at the end and on error
        self.serve_count = 0  # names each `psconform serve`'s output file
        self.gnu_time: str | None = None  # set by find_peers, after any install

    def say(self, text: str) -> None:
        print(f"bench: {text}", file=sys.stderr, flush=True)

    def note(self, text: str) -> None:
        self.notes.append(text)
        self.say(text)

    def measure(self, label: str, n: int, rep: int, argv: list[str], env: dict[str, str] | None = None) -> Run:
        """Runs argv once and measures the whole process: wall time around it; CPU user + system
        of the process and every descendant it waited for, from wait4's rusage; and peak memory,
        the largest single process of the tree (not a sum), from GNU time.

        Why GNU time for memory: a process started from here inherits this Python process's
        peak RSS in its ru_maxrss (the kernel keeps the old image's peak across exec, and
        vfork shares it), about 10-25 MiB, as large as what is measured. GNU time forks from
        its own 1 MiB image, so its %M is the command's own peak. GNU time's own CPU (under a
        millisecond) is in the figure; its %U and %S would be truncated to 10 ms each."""
        out_path, err_path, time_path = (self.log(label, n, rep, s) for s in (".out", ".err", ".time"))
        if self.gnu_time:
            argv = [self.gnu_time, "-f", "%M", "-o", str(time_path), *argv]
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            t0 = time.perf_counter()
            try:
                proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env)
            except OSError as e:
                err.write(f"cannot start {argv[0]}: {e}\n".encode())
                rc, wall, cpu = 127, 0.0, 0.0
            else:
                try:
                    _, status, usage = os.wait4(proc.pid, 0)
                except BaseException:  # interrupted: take the measured process down too
                    proc.kill()
                    proc.wait()
                    raise
                wall = time.perf_counter() - t0
                proc.returncode = rc = _exit_code(status)  # reaped here, so Popen must not wait again
                cpu = usage.ru_utime + usage.ru_stime
        # GNU time writes "Command exited with non-zero status N" before the figure when rc != 0.
        last = _tail(time_path, 200).split()
        rss = int(last[-1]) if self.gnu_time and last and last[-1].isdigit() else None
        run = Run(label, n, rep, wall, cpu, rss, rc)
        self.runs.append(run)
        with open(self.results_tsv, "a") as f:
            f.write(f"{label}\t{n}\t{rep}\t{wall:.6f}\t{cpu:.6f}\t{'-' if rss is None else rss}\t{rc}\n")
        if rc != 0:
            tail = (_tail(err_path, 600) + " " + _tail(out_path, 600)).replace("\n", " ")[:400]
            self.note(f"{label} at N={n} (run {rep}) exited {rc}: {tail}")
        return run

    def log(self, label: str, n: int, rep: int, suffix: str) -> Path:
        """Where a measured run's output goes: log/LABEL-N-REP.out, .err, .time."""
        return self.work / "log" / f"{_safe_name(label)}-{n}-{rep}{suffix}"

    def start(self, argv: list[str], out: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
        """Starts a background server, its stdout in `out` and its stderr in `out`.err."""
        with open(out, "wb") as o, open(f"{out}.err", "wb") as e:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=o, stderr=e, env=env)
        self.servers.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen) -> None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc in self.servers:
            self.servers.remove(proc)

    def close(self) -> None:
        for proc in list(self.servers):
            self.stop(proc)
        if self.config.keep:
            print(f"work folder kept: {self.work}", file=sys.stderr)
        else:
            shutil.rmtree(self.work, ignore_errors=True)


def _exit_code(status: int) -> int:
    """The shell's convention: a signal death is 128 + the signal's number."""
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


def _safe_name(label: str) -> str:
    return "".join(c if c.isalnum() or c in "_.-" else "_" for c in label)


def _tail(path: Path, chars: int) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return ""


# --- the peers: installing or finding them -----------------------------------------------------


@dataclasses.dataclass
class Peers:
    nginx: str | None
    wrk: str | None
    hurl: str | None
    tavern_python: str | None


def find_hurl(tools: Path) -> str | None:
    """Hurl HURL_VERSION, the one installed in `tools` or the one on PATH."""
    for candidate in (str(tools / "hurl/bin/hurl"), shutil.which("hurl")):
        if candidate and os.access(candidate, os.X_OK):
            first = _first_line([candidate, "--version"])
            if first.split()[:2] == ["hurl", HURL_VERSION]:
                return candidate
    return None


def find_tavern(tools: Path) -> str | None:
    """The venv's python when it has Tavern TAVERN_VERSION and pytest-xdist."""
    python = tools / "tavern-venv/bin/python"
    if not os.access(python, os.X_OK):
        return None
    check = "import importlib.metadata as m, xdist; print(m.version('tavern'))"
    return str(python) if _first_line([str(python), "-c", check]) == TAVERN_VERSION else None


def find_gnu_time() -> str | None:
    """/usr/bin/time when it is GNU time (it takes -f and -o)."""
    path = "/usr/bin/time"
    if os.access(path, os.X_OK) and subprocess.run([path, "-f", "%M", "-o", os.devnull, "true"],
                                                   stdin=subprocess.DEVNULL, capture_output=True).returncode == 0:
        return path
    return None


def find_nginx() -> str | None:
    return shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)


def install_peers(session: Session) -> None:
    """Installs what is missing: Debian packages, Hurl with cargo, Tavern in a venv."""
    tools = session.config.tools
    need = []
    if not find_nginx():
        need.append("nginx")
    if not shutil.which("wrk"):
        need.append("wrk")
    if not find_gnu_time():
        need.append("time")
    if not find_hurl(tools):
        # What building Hurl needs; libclang for bindgen in the libxml crate.
        need += ["libcurl4-openssl-dev", "libxml2-dev", "pkg-config", "libclang-dev"]
    if need:
        session.say(f"apt-get install {' '.join(need)}")
        apt_install(session, need)
    if not find_hurl(tools):
        session.say(f"cargo install hurl --version {HURL_VERSION} --locked (several minutes)")
        tools.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env.pop("CARGO_TARGET_DIR", None)  # its own target folder, not the project's
        log = tools / "hurl-install.log"
        cmd = ["cargo", "install", "hurl", "--version", HURL_VERSION, "--locked", "--root", str(tools / "hurl")]
        if not _run_logged(cmd, log, cwd=tools, env=env):
            session.note(f"cargo install hurl {HURL_VERSION} failed: see {log}")
    if not find_tavern(tools):
        venv = tools / "tavern-venv"
        session.say(f"Tavern {TAVERN_VERSION}, pytest {PYTEST_VERSION} and pytest-xdist in {venv}")
        tools.mkdir(parents=True, exist_ok=True)
        log = tools / "tavern-install.log"
        pip = [str(venv / "bin/pip"), "install", "-q", "--disable-pip-version-check",
               f"tavern=={TAVERN_VERSION}", f"pytest=={PYTEST_VERSION}", "pytest-xdist"]
        if not (_run_logged([sys.executable, "-m", "venv", str(venv)], log) and _run_logged(pip, log)):
            session.note(f"installing Tavern failed: see {log}")


def apt_install(session: Session, packages: list[str]) -> None:
    if not shutil.which("apt-get"):
        session.note(f"no apt-get: cannot install {' '.join(packages)}")
        return
    session.config.tools.mkdir(parents=True, exist_ok=True)
    log = session.config.tools / "apt.log"
    _run_logged(["apt-get", "update", "-q"], log)  # a failed update still leaves the old lists
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    if not _run_logged(["apt-get", "install", "-y", "-q", *packages], log, env=env):
        session.note(f"apt-get install {' '.join(packages)} failed: see {log}")


def _run_logged(argv: list[str], log: Path, **kwargs) -> bool:
    with open(log, "ab") as f:
        try:
            done = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT, **kwargs)
            return done.returncode == 0
        except OSError as e:
            f.write(f"cannot start {argv[0]}: {e}\n".encode())
            return False


def _first_line(argv: list[str]) -> str:
    """The first line a command prints (stdout, else stderr), or "" when it cannot run."""
    try:
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    lines = (done.stdout or done.stderr).strip().splitlines()
    return lines[0].strip() if lines else ""


def find_peers(session: Session) -> Peers:
    """What is installed; each peer that is not is a `missing:` note, never dropped silently."""
    tools = session.config.tools
    session.gnu_time = find_gnu_time()
    if not session.gnu_time:
        session.note("missing: GNU time (/usr/bin/time, apt package time): no peak memory")
    if session.config.ps_only:  # no peer runs, so Hurl and Tavern are not looked for
        return Peers(find_nginx(), shutil.which("wrk"), None, None)
    peers = Peers(find_nginx(), shutil.which("wrk"), find_hurl(tools), find_tavern(tools))
    if not peers.hurl:
        session.note(f"missing: Hurl {HURL_VERSION} (bench/run --install, or cargo install hurl "
                     f"--version {HURL_VERSION} --locked)")
    if not peers.tavern_python:
        session.note(f"missing: Tavern {TAVERN_VERSION} with pytest-xdist (bench/run --install)")
    if not peers.wrk:
        session.note("missing: wrk (apt-get install wrk): no floor and no load test")
    if not peers.nginx:
        session.note("missing: nginx (apt-get install nginx): only psconform against its simulator runs")
    return peers


def psconform_binary(session: Session) -> str | None:
    """PSCONFORM_BIN, or a fresh release build."""
    binary = os.environ.get("PSCONFORM_BIN")
    if not binary:
        session.say("cargo build --release")
        if subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT).returncode != 0:
            session.say("cargo build --release failed")
            return None
        binary = str(Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target") / "release/psconform")
    if not os.access(binary, os.X_OK):
        session.say(f"no psconform binary at {binary}")
        return None
    return binary


# --- the targets: nginx and `psconform serve` ---------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen) -> bool:
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            if proc.poll() is not None:
                return False
            time.sleep(0.05)
    return False


def start_nginx(session: Session, nginx: str) -> str | None:
    """nginx with bench/nginx.conf.in on a free port; returns its API base URL."""
    folder = session.work / "nginx"
    (folder / "logs").mkdir(parents=True)
    (folder / "tmp").mkdir()
    port = free_port()
    conf = NGINX_TEMPLATE.read_text()
    values = {"@DIR@": str(folder), "@PORT@": str(port), "@BASE_PATH@": BASE_PATH, "@RUNAS@": RUNAS}
    for key, value in values.items():
        conf = conf.replace(key, value)
    (folder / "nginx.conf").write_text(conf)
    proc = session.start([nginx, "-p", str(folder), "-c", str(folder / "nginx.conf")], folder / "logs/nginx.out")
    if not wait_for_port(port, proc):
        logs = _tail(folder / "logs/nginx.out.err", 300) + _tail(folder / "logs/error.log", 300)
        session.note(f"nginx did not start: {' '.join(logs.split())}")
        return None
    base = f"http://127.0.0.1:{port}{BASE_PATH}"
    # The static answer, checked once, so every tool measures against the same thing.
    status, _, body = http(f"{base}/Auth/SignAppin", method="POST")
    if f'"UserName":"{RUNAS}"' not in body:
        session.note(f"nginx answers unexpectedly: {status} {body}")
    session.say(f"nginx (pid {proc.pid}) on 127.0.0.1:{port}")
    return base


@dataclasses.dataclass
class Serve:
    proc: subprocess.Popen
    url: str
    printed: dict[str, str]  # the PS_…=value lines it printed after its URL


def start_serve(session: Session, binary: str, env: dict[str, str]) -> Serve | None:
    """`psconform serve` on a free port: its first line is the URL, then one PS_…=value line
    per setting (the credentials it generated, or "(from PS_…)")."""
    session.serve_count += 1
    out = session.work / f"serve-{session.serve_count}.out"
    proc = session.start([binary, "serve", "--listen", "127.0.0.1:0"], out, env=env)
    for _ in range(200):
        lines = out.read_text(errors="replace").splitlines()
        # The URL comes first, flushed with the settings; wait for both all the same.
        if lines and lines[0].startswith("http") and any(line.startswith("PS_RUNAS=") for line in lines):
            printed = dict(line.split("=", 1) for line in lines[1:] if "=" in line)
            return Serve(proc, lines[0].strip(), printed)
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    session.note(f"psconform serve did not start: {_tail(Path(f'{out}.err'), 600).strip()}")
    session.stop(proc)
    return None


def http(url: str, method: str = "GET", headers: dict[str, str] | None = None) -> tuple[int, list[str], str]:
    """One request without proxies: (status, Set-Cookie headers, body); status 0 when none came."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with opener.open(request, timeout=10) as r:
            return r.status, r.headers.get_all("Set-Cookie") or [], r.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get_all("Set-Cookie") or [], e.read().decode(errors="replace")
    except OSError as e:
        return 0, [], str(e)


# --- the suites ----------------------------------------------------------------------------------

# One test per file for every tool (bench/README.md, "The equivalent suites").

PSCONFORM_CASE = """\
endpoint: POST Auth/SignAppin
cases:
  - name: sign-in
    summary: An API key and run-as user sign in and sign out.
    source: bench
    effect: audited
    steps:
      - request: { method: POST, path: Auth/SignAppin, auth: ps-auth }
        expect:
          status: 200
          paths:
            $.UserName: { equals: "{{ runas }}" }
            $.UserId: { type: integer }
      - request: { method: POST, path: Auth/Signout }
        expect: { status: 200 }
"""

HURL_CASE = """\
POST {{base}}/Auth/SignAppin
Authorization: PS-Auth key={{api_key}}; runas={{runas}};
HTTP *
[Asserts]
status == 200
jsonpath "$.UserName" == "{{runas}}"
jsonpath "$.UserId" isInteger

POST {{base}}/Auth/Signout
HTTP *
[Asserts]
status == 200
"""

TAVERN_CASE = """\
test_name: sign in and out @ID@
strict:
  - json:off
stages:
  - name: sign in
    request:
      url: "{tavern.env_vars.BENCH_BASE}/Auth/SignAppin"
      method: POST
      headers:
        Authorization: "PS-Auth key={tavern.env_vars.PS_API_KEY}; runas={tavern.env_vars.PS_RUNAS};"
    response:
      status_code: 200
      json:
        UserName: "{tavern.env_vars.PS_RUNAS}"
        UserId: !anyint
  - name: sign out
    request:
      url: "{tavern.env_vars.BENCH_BASE}/Auth/Signout"
      method: POST
    response:
      status_code: 200
"""


def write_suites(folder: Path, n: int) -> None:
    """N files per tool: psconform/bench/case-00001.yaml, hurl/case-00001.hurl,
    tavern/test_case_00001.tavern.yaml, ..."""
    for sub in ("psconform/bench", "hurl", "tavern"):
        (folder / sub).mkdir(parents=True)
    for i in range(1, n + 1):
        id = f"{i:05d}"
        (folder / f"psconform/bench/case-{id}.yaml").write_text(PSCONFORM_CASE)
        (folder / f"hurl/case-{id}.hurl").write_text(HURL_CASE)
        (folder / f"tavern/test_case_{id}.tavern.yaml").write_text(TAVERN_CASE.replace("@ID@", id))


# --- the measured runs ---------------------------------------------------------------------------


class Bench:
    """The runs of one size after another, in the order of the table rows: psconform against
    nginx at each --test-threads, Hurl, Tavern, the wrk floor, psconform's built-in simulator,
    and (smoke or psconform-only) psconform against `psconform serve`."""

    def __init__(self, session: Session, binary: str, peers: Peers, nginx_base: str | None):
        self.session, self.config = session, session.config
        self.binary, self.peers, self.nginx_base = binary, peers, nginx_base
        self.tree_notes: list[str] = []
        # CI=true: psconform compares every response's shape with a snapshot set and writes
        # nothing, as in a pipeline. Each target's set is recorded once, untimed, before the
        # measured runs.
        self.ps_env = _env(unset=("PS_TARGET", "PS_RUNAS_PASSWORD", "PS_CLIENT_ID", "PS_CLIENT_SECRET"),
                           PS_API_KEY=API_KEY, PS_RUNAS=RUNAS, CI="true")
        self.peer_env = _env(BENCH_BASE=nginx_base or "", PS_API_KEY=API_KEY, PS_RUNAS=RUNAS)

    def record_shapes(self, snapshots: Path, *args: str) -> None:
        argv = [self.binary, "run", *args, "-q", "--snapshots", str(snapshots), "--update-snapshots"]
        if subprocess.run(argv, env=self.ps_env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode != 0:
            self.session.note(f"recording shapes for {snapshots} failed")

    def run_size(self, n: int) -> None:
        folder = self.session.work / "suites" / str(n)
        write_suites(folder, n)
        cases, sim_snaps, nginx_snaps = folder / "psconform", folder / "snapshots-sim", folder / "snapshots-nginx"
        self.session.say(f"N={n}: {2 * n} requests per run, {self.config.reps} run(s) each")
        if self.nginx_base:
            self.record_shapes(nginx_snaps, "--target", self.nginx_base, "--cases", str(cases))
        self.record_shapes(sim_snaps, "--cases", str(cases))
        psconform = [self.binary, "run", "--cases", str(cases), "-q"]
        # One round goes through every tool, so a slow phase of a shared machine hits them all.
        for rep in range(1, self.config.reps + 1):
            if self.nginx_base:
                for t in self.config.threads:
                    label, extra = ("psconform nginx", []) if t == "default" else (
                        f"psconform nginx --test-threads {t}", ["--test-threads", t])
                    argv = [*psconform, "--target", self.nginx_base, "--snapshots", str(nginx_snaps), *extra]
                    self.session.measure(label, n, rep, argv, self.ps_env)
                if not self.config.ps_only:
                    self.run_peers(folder, n, rep)
            # The built-in simulator, started by the run itself (its CPU and memory count).
            argv = [*psconform, "--snapshots", str(sim_snaps)]
            self.session.measure("psconform built-in simulator", n, rep, argv, self.ps_env)
            # `psconform serve` as the target: the nginx-free stand-in for a real server.
            if self.config.smoke or self.config.ps_only:
                serve = start_serve(self.session, self.binary, _env(PS_API_KEY=API_KEY, PS_RUNAS=RUNAS))
                if serve:
                    argv = [*psconform, "--target", serve.url, "--snapshots", str(sim_snaps)]
                    self.session.measure("psconform psconform-serve", n, rep, argv, self.ps_env)
                    self.session.stop(serve.proc)
        if not self.config.smoke and self.peers.tavern_python and self.nginx_base and n <= TAVERN_MAX_N:
            peak = tree_peak_mib(self.tavern_argv(folder), self.peer_env)
            shown = "?" if peak is None else f"{peak:.1f}"
            self.tree_notes.append(
                f"N={n}: Tavern's processes together (pytest and its 2 xdist workers; summed RSS sampled "
                f"every 50 ms in one extra untimed run) peak at {shown} MiB")

    def tavern_argv(self, folder: Path) -> list[str]:
        return [self.peers.tavern_python, "-m", "pytest", "-n", "2", "-q", "-p", "no:cacheprovider",
                "--rootdir", str(folder / "tavern"), str(folder / "tavern")]

    def run_peers(self, folder: Path, n: int, rep: int) -> None:
        if self.peers.hurl:
            self.session.measure("hurl --test --jobs 2", n, rep, [
                self.peers.hurl, "--test", "--jobs", "2", "--no-color",
                "--variable", f"base={self.nginx_base}", "--variable", f"api_key={API_KEY}",
                "--variable", f"runas={RUNAS}", *sorted(map(str, (folder / "hurl").glob("*.hurl")))])
        if self.peers.tavern_python and n <= TAVERN_MAX_N:
            self.session.measure("tavern pytest -n 2", n, rep, self.tavern_argv(folder), self.peer_env)
        if self.peers.wrk:
            origin = self.nginx_base.removesuffix(BASE_PATH)
            env = _env(BENCH_REQUESTS=str(2 * n), BENCH_PATH=BASE_PATH, PS_API_KEY=API_KEY, PS_RUNAS=RUNAS)
            label = "wrk floor -t1 -c1"
            self.session.measure(label, n, rep, [
                self.peers.wrk, "-t1", "-c1", "-d120s", "-s", str(WRK_SCRIPTS / "floor.lua"), origin], env)
            # The floor counts only if wrk made exactly the 2N requests, all answered 2xx.
            out = self.session.log(label, n, rep, ".out")
            summary = [line for line in _tail(out, 10_000).splitlines() if line.startswith("bench:")]
            if summary != [f"bench: {2 * n} responses, 0 non-2xx"]:
                self.session.note(
                    f"wrk floor at N={n}: {' '.join(summary)}, expected {2 * n} responses, 0 non-2xx")


def _env(unset: tuple[str, ...] = (), **set_vars: str) -> dict[str, str]:
    """This process's environment without `unset` and with `set_vars`."""
    env = {k: v for k, v in os.environ.items() if k not in unset}
    env.update(set_vars)
    return env


def tree_peak_mib(argv: list[str], env: dict[str, str]) -> float | None:
    """Runs argv once (untimed) and returns the peak of the summed RSS of its whole process tree,
    sampled every 50 ms. ru_maxrss is the largest single process, which undercounts a tool that
    forks workers (pytest-xdist)."""
    try:
        proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
    except OSError:
        return None
    peak = 0
    while proc.poll() is None:
        children: dict[int, list[int]] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    stat = Path(f"/proc/{entry}/stat").read_text()
                    ppid = int(stat.rsplit(")", 1)[1].split()[1])  # the name may hold spaces and ')'
                except (OSError, ValueError, IndexError):
                    continue
                children.setdefault(ppid, []).append(int(entry))
        total, stack = 0, [proc.pid]
        while stack:
            pid = stack.pop()
            total += proc_status_kib(pid, "VmRSS") or 0
            stack.extend(children.get(pid, []))
        peak = max(peak, total)
        time.sleep(0.05)
    return peak / 1024


def proc_status_kib(pid: int, field: str) -> int | None:
    """A `kB` field of /proc/PID/status (VmRSS, VmHWM), or None when the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


# --- the report ----------------------------------------------------------------------------------

ROW = "| {:<38} | {:>8} | {:>8} | {:>12} | {:>10} | {:>9} |"
RULE = "|----------------------------------------|---------:|---------:|-------------:|-----------:|----------:|"


def render_tables(runs: list[Run], sizes: list[int]) -> list[str]:
    """One Markdown table per size: medians per tool, in the order first run, ratio to the first
    row (psconform against nginx at the default --test-threads, or the first that ran)."""
    lines = []
    for n in sizes:
        by_label: dict[str, list[Run]] = {}
        for run in runs:
            if run.n == n:
                by_label.setdefault(run.label, []).append(run)
        if not by_label:
            continue
        first = next(iter(by_label.values()))
        lines += ["", f"N={n} cases ({2 * n} requests), median of {len(first)} run(s); "
                      "ratio = psconform (first row) / row",
                  ROW.format("tool", "wall s", "CPU s", "max RSS MiB", "wall ratio", "CPU ratio"), RULE]
        base_wall = statistics.median(r.wall for r in first)
        base_cpu = statistics.median(r.cpu for r in first)
        for label, group in by_label.items():
            wall = statistics.median(r.wall for r in group)
            cpu = statistics.median(r.cpu for r in group)
            known = [r.rss_kib for r in group if r.rss_kib is not None]
            rss = max(known) if len(known) == len(group) else None
            failed = sum(r.rc != 0 for r in group)
            shown = f"{label} (FAILED {failed}x)" if failed else label
            lines.append(ROW.format(
                shown, f"{wall:.3f}", f"{cpu:.2f}", "-" if rss is None else f"{rss / 1024:.1f}",
                render_ratio(base_wall / wall) if wall > 0 else "-",
                render_ratio(base_cpu / cpu) if cpu > 0 and base_cpu > 0 else "-"))
    return lines


def render_ratio(r: float) -> str:
    return f"{r:.0f}" if r >= 10 else f"{r:.2f}" if r >= 0.1 else f"{r:.3f}"


def render_header(config: Config, binary: str, peers: Peers, nginx_base: str | None) -> list[str]:
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%MZ")
    lines = ["", f"psconform benchmark ({'smoke' if config.smoke else 'full'} mode): {now}",
             f"psconform: {_first_line([binary, '--version'])} ({binary})"]
    if peers.hurl:
        lines.append(f"hurl: {_first_line([peers.hurl, '--version'])}")
    if peers.tavern_python:
        check = ("import importlib.metadata as m; print(m.version('tavern'), 'pytest', m.version('pytest'), "
                 "'pytest-xdist', m.version('pytest-xdist'))")
        lines.append(f"tavern: {_first_line([peers.tavern_python, '-c', check])}")
    if peers.nginx and nginx_base:
        lines.append(f"nginx: {_first_line([peers.nginx, '-v']).split(': ', 1)[-1]}")
    if peers.wrk:
        lines.append(f"wrk: {' '.join(_first_line([peers.wrk, '-v']).split()[:2])}")
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    system = f"{os.uname().sysname} {os.uname().release}"
    lines.append(f"machine: {os.cpu_count()} cores, {system}, load average {load}")
    return lines


# --- the load test -------------------------------------------------------------------------------

LOAD_ROW = "| {:<46} | {:>10} | {:>10} | {:>8} | {:<40} |"
LOAD_RULE = ("|------------------------------------------------|-----------:|-----------:|---------:|"
             "------------------------------------------|")


def load_test(session: Session, binary: str, wrk: str | None, nginx_base: str | None) -> None:
    """wrk against `psconform serve` (sign-in, then one session's calls) and nginx's static
    sign-in, with the simulator's VmRSS before, between and after; prints its table."""
    if not wrk:
        session.note("load test skipped: no wrk")
        return
    c = session.config
    wrk_args = [wrk, "-t1", f"-c{c.load_conns}", f"-d{c.load_secs}s", "--latency"]
    folder = session.work / "load"
    folder.mkdir()
    # No credentials in its environment: the simulator generates them and prints them.
    serve = start_serve(session, binary, _env(unset=CREDENTIAL_VARS))
    if not serve:
        return
    auth = f"PS-Auth key={serve.printed.get('PS_API_KEY', '')}; runas={serve.printed.get('PS_RUNAS', '')};"
    pid = serve.proc.pid

    def wrk_run(script: str, url: str, out: str, **env: str) -> Path:
        path = folder / out
        with open(path, "wb") as f:
            subprocess.run([*wrk_args, "-s", str(WRK_SCRIPTS / script), url], env=_env(**env),
                           stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT)
        return path

    rss0 = proc_status_kib(pid, "VmRSS")
    session.say(f"load: POST Auth/SignAppin on the simulator for {c.load_secs}s")
    signin = wrk_run("signin.lua", f"{serve.url}/Auth/SignAppin", "signin.out", BENCH_AUTH=auth)
    rss1 = proc_status_kib(pid, "VmRSS")
    _, cookies, _ = http(f"{serve.url}/Auth/SignAppin", method="POST", headers={"Authorization": auth})
    cookie = next((v.split(";", 1)[0].strip() for v in cookies if v.startswith("ASP.NET_SessionId=")), "")
    if not cookie:
        session.note("load: could not sign in to get a session cookie")
    status, _, _ = http(f"{serve.url}/Configuration/Version", headers={"Cookie": cookie})
    if status != 200:
        session.note(f"load: GET Configuration/Version with the session answered {status} before the run")
    session.say(f"load: GET Configuration/Version with a session cookie for {c.load_secs}s")
    session_out = wrk_run("session.lua", f"{serve.url}/Configuration/Version", "session.out", BENCH_COOKIE=cookie)
    rss2, hwm = proc_status_kib(pid, "VmRSS"), proc_status_kib(pid, "VmHWM")
    session.stop(serve.proc)
    nginx_out = None
    if nginx_base:
        session.say(f"load: POST Auth/SignAppin on nginx (static) for {c.load_secs}s")
        nginx_out = wrk_run("signin.lua", f"{nginx_base}/Auth/SignAppin", "nginx.out", BENCH_AUTH=auth)

    print(f"\nLoad test: wrk {' '.join(wrk_args[1:])} on loopback (release build of psconform serve)")
    print(LOAD_ROW.format("target", "req/s", "requests", "non-2xx", "socket errors"))
    print(LOAD_RULE)
    print(render_wrk_row("simulator POST Auth/SignAppin (PS-Auth)", signin))
    print(render_wrk_row("simulator GET Configuration/Version (session)", session_out))
    if nginx_out:
        print(render_wrk_row("nginx POST Auth/SignAppin (static answer)", nginx_out))
    print(f"simulator VmRSS: {_mib(rss0)} at start, {_mib(rss1)} after the sign-in run, "
          f"{_mib(rss2)} after the session run (VmHWM {_mib(hwm)})", flush=True)
    for name, path in (("session", session_out), ("sign-in", signin)):
        lines = _tail(path, 100_000).splitlines()
        errors = [line.strip() for line in lines if "Non-2xx" in line or "Socket errors" in line]
        if errors:
            session.note(f"load: the {name} run had errors: {' '.join(errors)}")


def render_wrk_row(label: str, path: Path) -> str:
    """requests/s, requests, non-2xx and socket errors from wrk's summary."""
    rps = requests = ""
    non2xx, socket_errors = "0", "none"
    for line in _tail(path, 100_000).splitlines():
        words = line.replace(",", "").split()
        if "requests in" in line:  # "  3454598 requests in 1.00m, 1.23GB read"
            requests = words[0]
        elif line.strip().startswith("Requests/sec:"):
            rps = words[1]
        elif "Non-2xx or 3xx" in line:
            non2xx = words[-1]
        elif "Socket errors:" in line:  # "Socket errors: connect 0, read 1, write 0, timeout 0"
            socket_errors = f"connect {words[3]}, read {words[5]}, write {words[7]}, timeout {words[9]}"
    return LOAD_ROW.format(label, rps, requests, non2xx, socket_errors)


def _mib(kib: int | None) -> str:
    return "" if kib is None else f"{kib / 1024:.1f} MiB"


# --- main ----------------------------------------------------------------------------------------


def main(argv: list[str]) -> int:
    config = parse_config(argv)
    session = Session(config)
    try:
        return run(session)
    finally:
        session.close()


def run(session: Session) -> int:
    config = session.config
    if config.install:
        install_peers(session)
    peers = find_peers(session)
    binary = psconform_binary(session)
    if not binary:
        return 1
    nginx_base = start_nginx(session, peers.nginx) if peers.nginx and not config.ps_only else None
    bench = Bench(session, binary, peers, nginx_base)
    for n in config.sizes:
        bench.run_size(n)

    lines = render_header(config, binary, peers, nginx_base) + render_tables(session.runs, config.sizes)
    if bench.tree_notes:
        lines += ["", *bench.tree_notes]
    print("\n".join(lines), flush=True)
    if config.load:
        load_test(session, binary, peers.wrk, nginx_base)
    if session.notes:
        print("\nNotes:")
        print("\n".join(f"- {note}" for note in session.notes), flush=True)
    # A tool whose suite did not pass makes the whole benchmark fail.
    return 1 if any(run.rc != 0 for run in session.runs) else 0


def _interrupted(signum, frame):
    raise KeyboardInterrupt


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _interrupted)
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(130)
