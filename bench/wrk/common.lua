-- Shared by the wrk scripts of bench/: a token pool read from a file (one
-- "TOKEN USERID STATUS" line per token, as `bo_load tokens` writes it) and
-- a summary printed as one JSON line that bench/run.sh picks up.
local common = {}

-- wrk's setup(): numbers the threads (thread_index in each), so that each
-- starts at its own place in a pool.
local thread_count = 0
function common.number_threads(thread)
  thread:set("thread_index", thread_count)
  thread_count = thread_count + 1
end

-- The place in a pool of `n` where this thread starts.
function common.first_index(n)
  return ((thread_index or 0) * 7919) % n + 1
end

-- Tokens whose status is in `wanted` (a set; nil for all).
function common.load_tokens(path, wanted)
  local tokens = {}
  for line in io.lines(path) do
    local token, _, status = line:match("^(%S+)%s+(%S+)%s+(%S+)")
    if token and (wanted == nil or wanted[status]) then
      tokens[#tokens + 1] = token
    end
  end
  assert(#tokens > 0, "no usable tokens in " .. path)
  return tokens
end

-- wrk's own figures: latency percentiles in ms, requests per second over
-- the run, and every kind of error it counts (non-2xx/3xx answers among
-- them) as one number.
function common.print_summary(workload, summary, latency)
  local e = summary.errors
  local seconds = summary.duration / 1e6
  io.write(string.format(
    'json:{"workload":"%s","requests":%d,"seconds":%.3f,"rps":%.1f,' ..
    '"p50_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f,"errors":%d,' ..
    '"non_2xx":%d,"socket_errors":%d}\n',
    workload, summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, e.status + e.connect + e.read + e.write + e.timeout,
    e.status, e.connect + e.read + e.write + e.timeout))
end

return common
