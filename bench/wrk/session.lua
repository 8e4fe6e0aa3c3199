-- Load test: GET Configuration/Version on one signed-in session, as fast as wrk can.
--
-- bench/bench.py signs in once itself, then runs
-- `wrk -t1 -cC -dDs --latency -s bench/wrk/session.lua URL/Configuration/Version` against
-- `psconform serve`. Parameter (environment): BENCH_COOKIE, the Cookie header value
-- `ASP.NET_SessionId=…` from that sign-in.

wrk.method = "GET"
wrk.headers["Cookie"] = os.getenv("BENCH_COOKIE")
