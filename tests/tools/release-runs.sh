#!/usr/bin/env bash
# Issue #14's acceptance run: the whole shipped suite, with every release and change case,
# against one separately started `psconform serve`, RUNS times (20 unless told otherwise) at the
# default thread count. Release cases share one run-as user and one account, so a missing lock
# shows up here as a check-in or renew ending another case's request.
#
#   tests/tools/release-runs.sh            # RUNS=5 tests/tools/release-runs.sh for fewer
#
# Every run must pass, and in every run the terminal's result line, the exit code, JUnit, the
# JSON report and the HTML page must say the same counts and the same verdict. Builds the
# binary, starts the simulator on a free port (serve.sh), reads the base URL and the settings
# it prints (into this script's environment, never onto the terminal), stops it by its pid at
# the end.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
runs="${RUNS:-20}"

# shellcheck source=serve.sh
. "$here/serve.sh"
build_for_serve
bin="$psconform"
start_serve "$psconform" "$work"
url="$(head -n1 "$work/stdout")"
while IFS='=' read -r name value; do
    case "$name" in
        PS_API_KEY | PS_RUNAS | PS_RUNAS_PASSWORD | PS_CLIENT_ID | PS_CLIENT_SECRET | PS_ACCOUNT | PS_SECRET)
            export "$name=$value"
            ;;
    esac
done < <(tail -n +2 "$work/stdout")
echo "+ psconform serve --listen 127.0.0.1:0 (pid $pid): $url"

failed=0
for i in $(seq 1 "$runs"); do
    out="$work/run$i"
    mkdir -p "$out"
    code=0
    (cd "$root" && "$bin" run --target "$url" --allow-credential-release --allow-mutations \
        --junit "$out/junit.xml" --report "$out/report.json" --html "$out/report.html") \
        >"$out/stdout" 2>"$out/stderr" || code=$?
    verdict=0
    python3 - "$out" "$code" <<'PY' || verdict=$?
import json, re, sys
out, code = sys.argv[1], int(sys.argv[2])
stdout = open(f"{out}/stdout").read()
line = next((l for l in stdout.splitlines() if l.startswith("test result:")), "")
m = re.match(r"test result: (ok|FAILED)\. (\d+) passed; (\d+) failed; (\d+) ignored", line)
if not m:
    sys.exit(f"no result line in the terminal output:\n{stdout[-2000:]}")
word, passed, failed, ignored = m.group(1), *map(int, m.groups()[1:])
report = json.load(open(f"{out}/report.json"))
junit = open(f"{out}/junit.xml").read()
root = re.search(r'<testsuites [^>]*tests="(\d+)" skipped="(\d+)" failures="(\d+)"', junit)
html = open(f"{out}/report.html").read()
attr = lambda name: int(re.search(rf'{name}="(\d+)"', html).group(1))
says = {
    "terminal": (passed, failed, ignored, word == "ok"),
    "exit code": (passed, failed, ignored, code == 0),
    "JSON": (report["summary"]["passed"], report["summary"]["failed"], report["summary"]["ignored"], report["exit"]["code"] == 0),
    "JUnit": (int(root.group(1)) - int(root.group(2)) - int(root.group(3)), int(root.group(3)), int(root.group(2)), int(root.group(3)) == 0),
    "HTML": (attr("data-summary-passed"), attr("data-summary-failed"), attr("data-summary-ignored"), attr("data-exit-code") == 0),
}
if report["exit"]["code"] != code or attr("data-exit-code") != code:
    sys.exit(f"exit code {code}, JSON says {report['exit']['code']}, HTML says {attr('data-exit-code')}")
if len(set(says.values())) != 1:
    sys.exit("the outputs disagree (passed, failed, ignored, green): " + ", ".join(f"{k} {v}" for k, v in says.items()))
if code != 0 or failed:
    sys.exit(f"exit {code}: {line}")
print(f"{line} (exit {code}; JUnit, JSON and HTML agree)")
PY
    if [ "$verdict" -ne 0 ]; then
        failed=$((failed + 1))
        echo "run $i of $runs FAILED; its output:" >&2
        grep -v '^test .* \.\.\. \(ok\|ignored\)' "$out/stdout" | tail -n 60 >&2 || true
        tail -n 20 "$out/stderr" >&2
    else
        echo "run $i of $runs: ok"
    fi
done

server_ok=0
stop_serve "$work" || server_ok=$?
if [ "$failed" -ne 0 ] || [ "$server_ok" -ne 0 ]; then
    echo "$failed of $runs runs failed" >&2
    exit 1
fi
echo "$runs of $runs runs passed, every output agreeing"
