#!/usr/bin/env bash
# Checks psconform's OpenAPI document as the OpenAPI ecosystem reads it:
#
#   python3 -m venv /tmp/psconform-openapi-venv
#   /tmp/psconform-openapi-venv/bin/pip install openapi-spec-validator==0.9.0 schemathesis==4.32.5
#   tests/tools/openapi-check.sh PSCONFORM     # VENV=/path/to/venv overrides the venv
#
# 1. `psconform openapi` writes the document; openapi-spec-validator must accept it.
# 2. `psconform serve` starts on a free loopback port; a session is opened with the PS-Auth
#    credentials it prints, and Schemathesis sends generated requests for every operation with
#    that session's cookie, checking that no answer is a server error and that every answer's
#    status, content type and body are what the document says. The known exceptions, each with
#    its reason, are in schemathesis.toml beside this script, which Schemathesis reads.
# 3. The server is stopped by its pid and must exit cleanly.
#
# The run is bounded (SCHEMATHESIS_EXAMPLES examples per operation, 2 by default; no stateful
# phase) so it takes a few minutes. SCHEMATHESIS_EXTRA adds options, such as
# `--include-name 'POST /Imports'` to look at one operation.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
psconform="${1:?usage: openapi-check.sh PATH-TO-PSCONFORM}"
venv="${VENV:-/tmp/psconform-openapi-venv}"
examples="${SCHEMATHESIS_EXAMPLES:-2}"

work="$(mktemp -d)"
# shellcheck source=serve.sh
. "$here/serve.sh"
pid=""
trap 'serve_cleanup "$work"' EXIT

echo "+ psconform openapi --output openapi.json"
"$psconform" openapi --output "$work/openapi.json"
echo "+ openapi-spec-validator openapi.json"
"$venv/bin/openapi-spec-validator" "$work/openapi.json"

start_serve "$psconform" "$work"
base="$(head -n1 "$work/stdout")"
echo "+ psconform serve --listen 127.0.0.1:0 (pid $pid): $base"

# The credentials the simulator printed, read without echoing them.
setting() { sed -n "s/^$1=//p" "$work/stdout" | head -n1; }
key="$(setting PS_API_KEY)"
runas="$(setting PS_RUNAS)"
pwd_part=""
if [ -n "$(setting PS_RUNAS_PASSWORD)" ]; then pwd_part=" pwd=[$(setting PS_RUNAS_PASSWORD)];"; fi
session="$(curl -s -o /dev/null -c - -X POST \
    -H "Authorization: PS-Auth key=$key; runas=$runas;$pwd_part" "$base/Auth/SignAppin" |
    awk '$6 == "ASP.NET_SessionId" { print $7 }')"
if [ -z "$session" ]; then
    echo "signing in to the simulator opened no session" >&2
    exit 1
fi

status=0
echo "+ schemathesis run --max-examples $examples (config: tests/tools/schemathesis.toml)"
(cd "$work" && "$venv/bin/schemathesis" --config-file "$here/schemathesis.toml" run "$work/openapi.json" \
    --url "$base" \
    -H "Cookie: ASP.NET_SessionId=$session" \
    --phases examples,coverage,fuzzing \
    --max-examples "$examples" \
    --seed 1 \
    --no-color \
    ${SCHEMATHESIS_EXTRA:-}) || status=$?

stop_serve "$work" || status=1
exit "$status"
