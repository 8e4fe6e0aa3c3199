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
bt="${BT:-/tmp/bt-venv/bin/bt}"
python="${PYTHON:-python3}"

# shellcheck source=serve.sh
. "$here/serve.sh"
build_for_serve

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

start_serve "$psconform" "$work" "${tls[@]}"
echo "+ psconform serve --listen 127.0.0.1:0 ${tls[*]} (pid $pid): $(head -n1 "$work/stdout")"

status=0
"$python" "$here/bt-cli-check.py" "$work/stdout" "$bt" || status=$?

stop_serve "$work" || status=1
exit "$status"
