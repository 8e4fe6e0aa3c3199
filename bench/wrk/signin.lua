-- Load test: POST Auth/SignAppin with a PS-Auth header, as fast as wrk can.
--
-- bench/bench.py runs `wrk -t1 -cC -dDs --latency -s bench/wrk/signin.lua URL/Auth/SignAppin`
-- against `psconform serve` (every request creates a session) and against the static nginx.
-- Parameter (environment): BENCH_AUTH, the whole Authorization header value,
-- `PS-Auth key=…; runas=…;` built from the credentials the simulator printed.

wrk.method = "POST"
wrk.headers["Authorization"] = os.getenv("BENCH_AUTH")
