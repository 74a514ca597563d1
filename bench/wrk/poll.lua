-- `poll`: GET /api/v1/queue/status, each request with the next token of
-- the pool (WAITING and ACTIVE alike), so the server sees many distinct
-- live tokens as on an on-sale day, not one hot key.
-- usage: wrk ... -s bench/wrk/poll.lua URL -- TOKENS_FILE
package.path = debug.getinfo(1, "S").source:match("@(.*/)") .. "?.lua;" .. package.path
local common = require("common")

local tokens, next_token
setup = common.number_threads

function init(args)
  tokens = common.load_tokens(args[1])
  next_token = common.first_index(#tokens)
end

function request()
  local token = tokens[next_token]
  next_token = next_token % #tokens + 1
  return wrk.format("GET", "/api/v1/queue/status",
                    { ["Authorization"] = "Bearer " .. token })
end

function done(summary, latency, requests)
  common.print_summary("poll", summary, latency)
end
