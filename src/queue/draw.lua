-- draw: one chunk of the draw of a line's pre-queue (redis_draw.c has the
-- protocol). Standalone: it carries the draw's time but runs no step, so
-- nobody is admitted by it.
-- KEYS 1 pre, 2 line, 3 seen, 4 drawn, 5 ids, 6 started, 7 drawing,
--      8 draw_lock (the step.lua names; ids, drawing and draw_lock are
--      the draw's own, docs/queue.md).
-- ARGV 1 now_ms, 2 this attempt's nonce, 3 how many entries the earlier
--      chunks of this attempt moved, 4 the pre-queue's size when the
--      attempt read it, 5 "1" on the attempt's last chunk, then pairs
--      (token, entry id in hex) in drawn order.
-- Reply {code}: 0 done (this chunk; the whole draw after the last one),
-- 1 the line was drawn already, 2 the pre-queue changed since it was read
-- (read it again and start over), 3 another attempt took over (stop).
--
-- Entries go into the line as they come, scored by their drawn place
-- 1..n, ahead of every later join (LATE + seq, step.lua); but the line
-- admits nobody until `drawn` exists, which only the last chunk writes, so
-- a half-done draw is never seen as a line that moves. An attempt that
-- stopped half-way (its instance died, or the pre-queue changed under it)
-- is undone by the first chunk of the next one.
local K_PRE, K_LINE, K_SEEN, K_DRAWN = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local K_IDS, K_STARTED, K_DRAWING, K_LOCK = KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local now, nonce = tonumber(ARGV[1]), ARGV[2]
local done_before, total = tonumber(ARGV[3]), tonumber(ARGV[4])
local last = ARGV[5] == '1'
local D_OK, D_ALREADY, D_RETRY, D_LOST = 0, 1, 2, 3
local FIRST_PAIR = 6

local function int(n)
  return string.format('%d', n)
end

if redis.call('EXISTS', K_DRAWN) == 1 then
  return {D_ALREADY}
end

-- Each chunk keeps the draw lock alive for another BO_REDISQ_DRAW_LOCK_MS
-- (redis_draw.c), so a big draw that outlasts the first lock is not taken
-- over and undone half-way by another instance.
redis.call('PEXPIRE', K_LOCK, 10000)

if done_before == 0 then
  -- A new attempt: put back what an unfinished one moved (drawn places
  -- 1..its total), then check that the list read is the whole pre-queue.
  local moved_total = tonumber(redis.call('HGET', K_DRAWING, 'total') or '0')
  if moved_total > 0 then
    local moved = redis.call('ZRANGEBYSCORE', K_LINE, 1, int(moved_total))
    for _, token in ipairs(moved) do
      redis.call('ZREM', K_LINE, token)
      redis.call('ZREM', K_SEEN, token)
      redis.call('ZADD', K_PRE, int(now), token)
    end
  end
  redis.call('DEL', K_IDS)
  if redis.call('ZCARD', K_PRE) ~= total then
    redis.call('DEL', K_DRAWING)
    return {D_RETRY}
  end
  redis.call('HSET', K_DRAWING, 'nonce', nonce, 'total', int(total))
elseif redis.call('HGET', K_DRAWING, 'nonce') ~= nonce then
  return {D_LOST}
end

local place = done_before
for i = FIRST_PAIR, #ARGV, 2 do
  local token = ARGV[i]
  -- Gone from the pre-queue (it left) or listed twice: the list is stale.
  if redis.call('ZREM', K_PRE, token) == 0 then
    return {D_RETRY}
  end
  place = place + 1
  redis.call('ZADD', K_LINE, int(place), token)
  redis.call('ZADD', K_SEEN, int(now), token)
  redis.call('RPUSH', K_IDS, ARGV[i + 1])
end

if last then
  -- Every entry moved and none left over: the list was the pre-queue.
  if place ~= total or redis.call('ZCARD', K_PRE) ~= 0 then
    return {D_RETRY}
  end
  redis.call('HSET', K_DRAWN, 'at', int(now), 'count', int(total))
  -- The measured rate starts over: before the draw nobody was admitted.
  redis.call('SET', K_STARTED, int(now))
  redis.call('DEL', K_DRAWING, K_LOCK)
end
return {D_OK}
