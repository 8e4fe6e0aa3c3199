#!/usr/bin/env bash
# Runs the official Python client (beyondtrust-bips-library) against `psconform serve --tls`.
#
#   python3 -m venv /tmp/bips-venv
#   /tmp/bips-venv/bin/pip install beyondtrust-bips-library==2.32.1 beyondtrust-bips-cli
#   tests/tools/python-client-check.sh            # PYTHON=/path/to/python overrides the venv
#
# The CLI check uses the venv's ps-cli (PSCLI=/path/to/ps-cli overrides it) and is skipped with
# a note when it is not installed.
#
# Builds the binary, starts the simulator on a free port, reads the base URL from its first
# stdout line, runs python-client-check.py, then stops the simulator by its pid and checks that
# it exited cleanly.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
python="${PYTHON:-/tmp/bips-venv/bin/python}"
target="${CARGO_TARGET_DIR:-$root/target}"

echo "+ cargo build --bin psconform"
(cd "$root" && cargo build --quiet --bin psconform)

work="$(mktemp -d)"
"$target/debug/psconform" serve --listen 127.0.0.1:0 --tls >"$work/stdout" 2>"$work/stderr" &
pid=$!
cleanup() {
    kill "$pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

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
echo "+ psconform serve --listen 127.0.0.1:0 --tls (pid $pid): $(head -n1 "$work/stdout")"

status=0
"$python" "$here/python-client-check.py" "$work/stdout" || status=$?

kill -TERM "$pid"
server_status=0
wait "$pid" || server_status=$?
echo "+ psconform serve stopped with exit code $server_status"
sed 's/^/  server stderr: /' "$work/stderr"
if [ "$server_status" -ne 0 ]; then status=1; fi
exit "$status"
