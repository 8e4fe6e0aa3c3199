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
python="${PYTHON:-/tmp/bips-venv/bin/python}"

# shellcheck source=serve.sh
. "$here/serve.sh"
build_for_serve
start_serve "$psconform" "$work" --tls
echo "+ psconform serve --listen 127.0.0.1:0 --tls (pid $pid): $(head -n1 "$work/stdout")"

status=0
"$python" "$here/python-client-check.py" "$work/stdout" || status=$?

stop_serve "$work" || status=1
exit "$status"
