-- `seatmap`: GET /api/v1/schedules/{id}/seats with ACTIVE tokens, the
-- schedules taken in turn from FIRST..LAST.
-- usage: wrk ... -s bench/wrk/seatmap.lua URL -- TOKENS_FILE FIRST LAST
package.path = debug.getinfo(1, "S").source:match("@(.*/)") .. "?.lua;" .. package.path
local common = require("common")

local tokens, paths, next_token, next_path
setup = common.number_threads

function init(args)
  tokens = common.load_tokens(args[1], { ACTIVE = true })
  paths = {}
  for id = tonumber(args[2]), tonumber(args[3]) do
    paths[#paths + 1] = "/api/v1/schedules/" .. id .. "/seats"
  end
  next_token = common.first_index(#tokens)
  next_path = 1
end

function request()
  local token, path = tokens[next_token], paths[next_path]
  next_token = next_token % #tokens + 1
  next_path = next_path % #paths + 1
  return wrk.format("GET", path, { ["Authorization"] = "Bearer " .. token })
end

function done(summary, latency, requests)
  common.print_summary("seatmap", summary, latency)
end
