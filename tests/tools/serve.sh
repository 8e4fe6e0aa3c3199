# Sourced by the client checks: starts `psconform serve` and waits for its settings.
#
#   serve_start WORK_DIR SERVE_ARGS...   starts it on a free loopback port; sets $pid and
#                                        writes WORK_DIR/stdout (the URL, then PS_* lines)
#   serve_stop                           stops it by its pid; returns its exit code
serve_start() {
    local work="$1"
    shift
    "$target/debug/psconform" serve --listen 127.0.0.1:0 "$@" >"$work/stdout" 2>"$work/stderr" &
    pid=$!
    # Wait for the URL and the settings lines, PS_SECRET the last of them (or for the server to die).
    for _ in $(seq 1 100); do
        if grep -q '^PS_SECRET=' "$work/stdout"; then break; fi
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "psconform serve exited early:" >&2
            cat "$work/stderr" >&2
            exit 1
        fi
        sleep 0.1
    done
    echo "+ psconform serve --listen 127.0.0.1:0 $* (pid $pid): $(head -n1 "$work/stdout")"
}

serve_stop() {
    local code=0
    kill -TERM "$pid"
    wait "$pid" || code=$?
    pid=""
    echo "+ psconform serve stopped with exit code $code"
    return "$code"
}
