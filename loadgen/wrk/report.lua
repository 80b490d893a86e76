-- report.lua: make wrk print its results as ONE machine-readable line.
--
--   wrk -t2 -c64 -d10s -s report.lua http://127.0.0.1:8080/ping
--
-- prints, after wrk's usual text report, a line
--   LABJSON {"requests":...,"duration_us":...,"rate_samples":{...},...}
-- Units: microseconds (duration_us), bytes, requests per second.
--
-- No latency: wrk 4.x runs stats_correct() on its latency histogram before
-- done() sees it, adding synthetic samples for every latency over twice the
-- mean gap between a connection's requests, so its percentiles are not
-- measurements. The closed-loop mean latency follows from Little's law
-- (connections / completed requests per second) instead.
--
-- Non-2xx responses: wrk counts statuses > 399 in errors.status (they are also
-- counted in requests). There is deliberately no response() hook: defining
-- one makes wrk hand every response's headers and body to Lua, which costs
-- throughput on fast endpoints.

local threads = 0

-- setup() runs once per wrk thread, in the main Lua state that done() also uses.
function setup(thread)
   threads = threads + 1
end

-- A JSON number, or null for nan/inf (e.g. the mean of no samples).
local function num(x)
   if x ~= x or x == math.huge or x == -math.huge then
      return "null"
   end
   if x == math.floor(x) and math.abs(x) < 2^53 then
      return string.format("%d", x)
   end
   return string.format("%.3f", x)
end

-- done(summary, latency, requests): `requests` holds wrk's per-thread rate
-- samples: every ~100 ms each thread records (requests completed since its
-- last sample) / (ms since then) * 1000, truncated to an integer. A thread
-- that completed nothing in an interval records nothing, and its next sample
-- spans the empty intervals too.
function done(summary, latency, requests)
   local e = summary.errors
   local seconds = summary.duration / 1e6
   local rates = "null"
   if summary.requests > 0 then
      local parts = {
         '"min":' .. num(requests.min),
         '"mean":' .. num(requests.mean),
         '"stdev":' .. num(requests.stdev),
         '"max":' .. num(requests.max),
      }
      for _, p in ipairs({ { "p50", 50 }, { "p90", 90 }, { "p99", 99 } }) do
         parts[#parts + 1] = '"' .. p[1] .. '":' .. num(requests:percentile(p[2]))
      end
      rates = "{" .. table.concat(parts, ",") .. "}"
   end
   io.write(string.format(
      'LABJSON {"requests":%s,"duration_us":%s,"bytes":%s,"threads":%s,' ..
      '"errors":{"connect":%s,"read":%s,"write":%s,"status":%s,"timeout":%s},' ..
      '"requests_per_s":%s,"rate_samples":%s}\n',
      num(summary.requests), num(summary.duration), num(summary.bytes), num(threads),
      num(e.connect), num(e.read), num(e.write), num(e.status), num(e.timeout),
      seconds > 0 and num(summary.requests / seconds) or "null", rates))
end
