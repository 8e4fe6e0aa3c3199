# Sourced by the checks in this folder and by .ci/run: builds psconform for a check run from the
# checkout, starts `psconform serve` on a free loopback port and waits until it has printed its
# base URL and settings, and stops it by its pid.

# For a check run from this checkout: builds the debug binary (into CARGO_TARGET_DIR when it is
# set) and sets `psconform` to it, makes a temporary folder and sets `work` to it, and traps the
# exit to stop a server still running and remove the folder (`serve_cleanup`).
#
#   build_for_serve
build_for_serve() {
    local root
    root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
    echo "+ cargo build --bin psconform"
    (cd "$root" && cargo build --quiet --bin psconform)
    psconform="${CARGO_TARGET_DIR:-$root/target}/debug/psconform"
    work="$(mktemp -d)"
    pid=""
    trap 'serve_cleanup "$work"' EXIT
}

# Starts the server:
#
#   start_serve PSCONFORM WORK [SERVE-OPTIONS…]
#
# Sets `pid` to the server's pid (the caller stops it by that pid) and leaves its standard
# output in WORK/stdout (the base URL first, then `NAME=value` settings, PS_SECRET the last)
# and its standard error in WORK/stderr. Fails when the server exits before it is ready.
start_serve() {
    local psconform="$1" work="$2"
    shift 2
    "$psconform" serve --listen 127.0.0.1:0 "$@" >"$work/stdout" 2>"$work/stderr" &
    pid=$!
    for _ in $(seq 1 100); do
        if grep -q '^PS_SECRET=' "$work/stdout"; then return 0; fi
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "psconform serve exited early:" >&2
            cat "$work/stderr" >&2
            return 1
        fi
        sleep 0.1
    done
    echo "psconform serve printed no settings in 10 s" >&2
    return 1
}

# Stops the server `start_serve` started, by its pid, and fails (printing its standard error)
# unless it exited cleanly.
stop_serve() {
    local work="$1" server_status=0
    kill -TERM "$pid"
    wait "$pid" || server_status=$?
    pid=""
    echo "+ psconform serve stopped with exit code $server_status"
    if [ "$server_status" -ne 0 ]; then
        sed 's/^/  server stderr: /' "$work/stderr"
        return 1
    fi
}

# For `trap 'serve_cleanup "$work"' EXIT`: stops a server still running and removes WORK.
serve_cleanup() {
    if [ -n "${pid:-}" ]; then kill "$pid" 2>/dev/null || true; fi
    rm -rf "$1"
}
