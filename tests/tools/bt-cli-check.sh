#!/usr/bin/env bash
# Runs bt-cli (an unofficial BeyondTrust CLI from PyPI) against `psconform serve` over TLS with
# a certificate it verifies.
#
#   python3 -m venv /tmp/bt-venv && /tmp/bt-venv/bin/pip install bt-cli==0.6.1
#   BT=/tmp/bt-venv/bin/bt tests/tools/bt-cli-check.sh
#
# Builds the binary, makes a throwaway self-signed certificate for 127.0.0.1 with openssl,
# starts the simulator on a free port with it, runs bt-cli-check.py (which sets SSL_CERT_FILE
# so bt-cli verifies the certificate), then stops the simulator by its pid.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bt="${BT:-/tmp/bt-venv/bin/bt}"
python="${PYTHON:-python3}"
target="${CARGO_TARGET_DIR:-$root/target}"

echo "+ cargo build --bin psconform"
(cd "$root" && cargo build --quiet --bin psconform)

work="$(mktemp -d)"
pid=""
cleanup() {
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

tls=(--tls)
if command -v openssl >/dev/null 2>&1; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=127.0.0.1" \
        -addext "subjectAltName=IP:127.0.0.1" \
        -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
    tls=(--tls-cert "$work/cert.pem" --tls-key "$work/key.pem")
    export SSL_CERT_FILE="$work/cert.pem"
else
    echo "openssl not found: bt-cli runs with certificate verification off" >&2
fi

# shellcheck source=serve.sh
. "$here/serve.sh"
serve_start "$work" "${tls[@]}"

status=0
"$python" "$here/bt-cli-check.py" "$work/stdout" "$bt" || status=$?

server_status=0
serve_stop || server_status=$?
if [ "$server_status" -ne 0 ]; then status=1; fi
exit "$status"
