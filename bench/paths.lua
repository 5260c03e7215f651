-- wrk script: GET the request paths listed in a file, round-robin, one line per path.
--
--   wrk -t1 -c8 -d10s --latency -s bench/paths.lua http://127.0.0.1:8001 -- FILE START THREADS [ETAG]
--
-- FILE: request paths, one a line. START: index (0-based) where thread 0 begins; thread k
-- begins START + k * #paths / THREADS further on. ETAG: sent as If-None-Match when given.
-- done() prints one line "WRKSTATS {json}" with request count, duration, latency percentiles
-- (microseconds) and the count of every HTTP status seen, so the harness can tell a run
-- full of errors (or of cache hits that should not be there) from a good one.

local paths = {}
local counter = 0
local threads = {}
statuses = {}

function setup(thread)
   thread:set("id", #threads)
   table.insert(threads, thread)
end

function init(args)
   for line in io.lines(args[1]) do
      if #line > 0 then
         paths[#paths + 1] = line
      end
   end
   local start = tonumber(args[2]) or 0
   local nthreads = tonumber(args[3]) or 1
   counter = (start + math.floor(id * #paths / nthreads)) % #paths
   if args[4] and #args[4] > 0 then
      wrk.headers["If-None-Match"] = args[4]
   end
end

function request()
   counter = counter + 1
   if counter > #paths then
      counter = 1
   end
   return wrk.format(nil, paths[counter])
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
   local merged = {}
   for _, thread in ipairs(threads) do
      local seen = thread:get("statuses")
      for status, n in pairs(seen) do
         merged[status] = (merged[status] or 0) + n
      end
   end
   local parts = {}
   for status, n in pairs(merged) do
      parts[#parts + 1] = string.format('"%d": %d', status, n)
   end
   local e = summary.errors
   io.write(string.format(
      'WRKSTATS {"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, '
         .. '"p99_us": %d, "max_us": %d, "connect_errors": %d, "read_errors": %d, '
         .. '"write_errors": %d, "timeouts": %d, "bad_status": %d, "statuses": {%s}}\n',
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency.max, e.connect, e.read, e.write, e.timeout, e.status,
      table.concat(parts, ", ")))
end
