-- The wrk floor: the benchmark's 2N requests with nothing checked and nothing loaded.
--
-- bench/bench.py runs `wrk -t1 -c1 -d120s -s bench/wrk/floor.lua http://127.0.0.1:PORT` against
-- the static nginx. On its one connection this script alternates the suite's two requests,
-- POST Auth/SignAppin with a PS-Auth header and POST Auth/Signout, and stops after exactly
-- BENCH_REQUESTS responses, so that wrk's whole-process time is the time of those requests
-- plus wrk's start and report.
--
-- Stopping needs two steps. wrk.thread:stop() only stops the worker thread: wrk's main thread
-- sleeps for the whole -d before it reports. A SIGINT ends that sleep (wrk's own handler), so
-- the last response stops the thread and sends SIGINT to the process through LuaJIT's FFI.
--
-- Parameters (environment): BENCH_REQUESTS (2N), BENCH_PATH (the API base path),
-- PS_API_KEY and PS_RUNAS (the PS-Auth header).
-- Output: one line `bench: R responses, E non-2xx`, which bench.py checks against 2N and 0.

local ffi = require("ffi")
ffi.cdef [[ int kill(int pid, int sig); int getpid(void); ]]
local SIGINT = 2

local total = tonumber(os.getenv("BENCH_REQUESTS"))
local base = os.getenv("BENCH_PATH")
local auth = "PS-Auth key=" .. os.getenv("PS_API_KEY") .. "; runas=" .. os.getenv("PS_RUNAS") .. ";"

local sent, seen = 0, 0
local reqs

function init(args)
  -- Built once: wrk sends the same bytes every time, as a floor should.
  reqs = {
    wrk.format("POST", base .. "/Auth/SignAppin", { ["Authorization"] = auth }, ""),
    wrk.format("POST", base .. "/Auth/Signout", nil, ""),
  }
end

function request()
  sent = sent + 1
  return reqs[(sent - 1) % 2 + 1]
end

function response(status, headers, body)
  seen = seen + 1
  if seen == total then
    wrk.thread:stop()
    ffi.C.kill(ffi.C.getpid(), SIGINT)
  end
end

function done(summary, latency, requests)
  io.write(string.format("bench: %d responses, %d non-2xx\n", summary.requests, summary.errors.status))
end
