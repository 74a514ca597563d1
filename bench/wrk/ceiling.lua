-- The HTTP ceiling: the same request shape as `poll` (a GET with a bearer
-- header of the same length) against bench/ceiling's fixed-answer server.
-- usage: wrk ... -s bench/wrk/ceiling.lua URL
package.path = debug.getinfo(1, "S").source:match("@(.*/)") .. "?.lua;" .. package.path
local common = require("common")

function init(args)
  req = wrk.format("GET", "/api/v1/queue/status",
                   { ["Authorization"] = "Bearer " .. string.rep("A", 22) })
end

function request()
  return req
end

function done(summary, latency, requests)
  common.print_summary("ceiling", summary, latency)
end
