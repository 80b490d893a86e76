-- report.lua: make wrk print its results as ONE machine-readable line.
--
--   wrk -t2 -c64 -d10s -s report.lua http://127.0.0.1:8080/ping
--
-- prints, after wrk's usual text report, a line
--   LABJSON {"requests":...,"latency_us":{...},...}
-- Units: microseconds (duration_us, latency_us.*), bytes, requests per second.
-- Non-2xx responses: wrk itself counts statuses > 399 in errors.status. There is
-- deliberately no response() hook: defining one makes wrk hand every response's
-- headers and body to Lua, which costs throughput on fast endpoints.

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

function done(summary, latency, requests)
   local e = summary.errors
   local seconds = summary.duration / 1e6
   local lat = "null"
   if summary.requests > 0 then
      local parts = {
         '"min":' .. num(latency.min),
         '"mean":' .. num(latency.mean),
         '"stdev":' .. num(latency.stdev),
         '"max":' .. num(latency.max),
      }
      for _, p in ipairs({ { "p50", 50 }, { "p75", 75 }, { "p90", 90 }, { "p99", 99 }, { "p99_9", 99.9 } }) do
         parts[#parts + 1] = '"' .. p[1] .. '":' .. num(latency:percentile(p[2]))
      end
      lat = "{" .. table.concat(parts, ",") .. "}"
   end
   io.write(string.format(
      'LABJSON {"requests":%s,"duration_us":%s,"bytes":%s,"threads":%s,' ..
      '"errors":{"connect":%s,"read":%s,"write":%s,"status":%s,"timeout":%s},' ..
      '"latency_us":%s,"requests_per_s":%s}\n',
      num(summary.requests), num(summary.duration), num(summary.bytes), num(threads),
      num(e.connect), num(e.read), num(e.write), num(e.status), num(e.timeout),
      lat, seconds > 0 and num(summary.requests / seconds) or "null"))
end
