-- stats: one atomic read for /metrics and tests. Standalone (no step.lua:
-- stats carries no time, so it changes nothing). KEYS 1 line, 2 active,
-- 3 pre, 4 rate, 5 drawn. ARGV 1 the latest now_ms this instance passed.
-- Reply: {line, active, pre, admissions out of the line in the 60 seconds
-- ending with that now's second, drawn (1 or 0), when it was drawn (ms,
-- 0 when not)}.
local now_s = math.floor(tonumber(ARGV[1]) / 1000)
local flat = redis.call('HGETALL', KEYS[4])
local last_minute = 0
for i = 1, #flat, 2 do
  local second = tonumber(flat[i])
  if second > now_s - 60 and second <= now_s then
    last_minute = last_minute + tonumber(flat[i + 1])
  end
end
return {redis.call('ZCARD', KEYS[1]), redis.call('ZCARD', KEYS[2]),
        redis.call('ZCARD', KEYS[3]), last_minute,
        redis.call('EXISTS', KEYS[5]),
        tonumber(redis.call('HGET', KEYS[5], 'at') or 0)}
