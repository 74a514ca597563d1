-- The prelude of every Redis queue script that carries a time (admit, join,
-- status, leave). The C driver loads each of those as this text followed by
-- the script's own text, so all four run one and the same step() and a
-- change to admission is made in one place. See docs/queue.md.
--
-- KEYS (all under one hash tag, so one Redis Cluster slot):
--   1 line    ZSET token -> seq          WAITING, in join order
--   2 active  ZSET token -> expires_at   ACTIVE
--   3 seen    ZSET token -> last status  WAITING, for idle removal
--   4 owner   HASH token -> user_id      live tokens (WAITING, ACTIVE)
--   5 holder  HASH user_id -> token      live tokens
--   6 rate    HASH second -> admissions out of the line in that second
--   7 seq     STRING, INCR               the one global join order
--   8 spent:<token> STRING "forget_at:user_id", PX TTL (scripts that need it)
-- ARGV: 1 now_ms, 2 active_max, 3 active_ms, 4 idle_ms (0 = never); then the
-- script's own arguments from 5 on.
--
-- Times are the caller's now_ms, never Redis TIME: instances' clocks are
-- NTP-synced, and tests move a clock by hand.

local K_LINE, K_ACTIVE, K_SEEN = KEYS[1], KEYS[2], KEYS[3]
local K_OWNER, K_HOLDER, K_RATE, K_SEQ = KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local now = tonumber(ARGV[1])
local active_max = tonumber(ARGV[2])
local active_ms = tonumber(ARGV[3])
local idle_ms = tonumber(ARGV[4])

-- Reply codes and token states; redis_internal.h has the same numbers.
local R_OK, R_NOT_FOUND, R_RETRY = 0, 1, 2
local S_WAITING, S_ACTIVE, S_SPENT = 1, 2, 3

local RATE_WINDOW_S = 60
-- Idle WAITING tokens dropped per call: bounds the time one script holds
-- Redis when a crowd walks away at once. The rest go on later calls, and
-- in the meantime is_idle() keeps them from being admitted or answered.
local IDLE_BATCH = 1000

-- Integers as Redis arguments: Lua's own number-to-string conversion is
-- "%.14g", which would round a 15-digit value.
local function int(n)
  return string.format('%d', n)
end

local function floor_div(a, b)
  return math.floor(a / b)
end

-- Forgets the token's owner entries. The caller removes it from the sets.
local function drop_owner(token)
  local user = redis.call('HGET', K_OWNER, token)
  if user then
    redis.call('HDEL', K_OWNER, token)
    if redis.call('HGET', K_HOLDER, user) == token then
      redis.call('HDEL', K_HOLDER, user)
    end
  end
end

-- A WAITING token not asked about for idle_ms.
local function is_idle(token)
  if idle_ms <= 0 then
    return false
  end
  local seen = redis.call('ZSCORE', K_SEEN, token)
  return seen ~= false and tonumber(seen) <= now - idle_ms
end

local function drop_waiting(token)
  drop_owner(token)
  redis.call('ZREM', K_LINE, token)
  redis.call('ZREM', K_SEEN, token)
end

-- Drops run-out ACTIVE tokens and idle WAITING ones, then moves the front
-- of the line to ACTIVE while fewer than active_max are ACTIVE. Returns how
-- many it admitted.
local function step()
  local expired = redis.call('ZRANGEBYSCORE', K_ACTIVE, '-inf', int(now))
  if #expired > 0 then
    for _, token in ipairs(expired) do
      drop_owner(token)
    end
    redis.call('ZREMRANGEBYSCORE', K_ACTIVE, '-inf', int(now))
  end

  if idle_ms > 0 then
    local idle = redis.call('ZRANGEBYSCORE', K_SEEN, '-inf',
                            int(now - idle_ms), 'LIMIT', 0, IDLE_BATCH)
    for _, token in ipairs(idle) do
      drop_waiting(token)
    end
  end

  local admitted = 0
  local budget = IDLE_BATCH -- idle tokens met at the front, same bound
  local room = active_max - redis.call('ZCARD', K_ACTIVE)
  while room > 0 do
    local popped = redis.call('ZPOPMIN', K_LINE, room)
    if #popped == 0 then
      break
    end
    for i = 1, #popped, 2 do
      local token = popped[i]
      if is_idle(token) then
        drop_waiting(token)
        budget = budget - 1
      else
        redis.call('ZADD', K_ACTIVE, int(now + active_ms), token)
        redis.call('ZREM', K_SEEN, token)
        admitted = admitted + 1
        room = room - 1
      end
    end
    if budget <= 0 then
      break
    end
  end
  if admitted > 0 then
    -- Only admissions out of the line measure how fast it moves.
    redis.call('HINCRBY', K_RATE, int(floor_div(now, 1000)), admitted)
  end
  return admitted
end

-- Admissions out of the line in the 60 seconds ending with now's second;
-- forgets older seconds on the way. A second in the future (another
-- instance's clock a little ahead) is kept but not counted yet.
local function rate_count()
  local now_s = floor_div(now, 1000)
  local flat = redis.call('HGETALL', K_RATE)
  local total = 0
  for i = 1, #flat, 2 do
    local second = tonumber(flat[i])
    if second <= now_s - RATE_WINDOW_S then
      redis.call('HDEL', K_RATE, flat[i])
    elseif second <= now_s then
      total = total + tonumber(flat[i + 1])
    end
  end
  return total
end

local function ceil_div(a, b)
  return floor_div(a + b - 1, b)
end

local function eta(position)
  local admitted = rate_count()
  if admitted > 0 then
    return ceil_div(position * RATE_WINDOW_S, admitted)
  end
  -- Nothing measured: every slot held for its full active time.
  local worst = ceil_div(position * active_ms, 1000 * active_max)
  if worst < 1 then
    return 1
  end
  return worst
end

-- The reply of join and status:
-- {code, state, user_id, position, eta, expires_at, token, created, admitted}
local function describe(token, user, created, admitted)
  local expires = redis.call('ZSCORE', K_ACTIVE, token)
  if expires then
    return {R_OK, S_ACTIVE, tonumber(user), 0, 0, tonumber(expires), token,
            created, admitted}
  end
  local rank = redis.call('ZRANK', K_LINE, token)
  if rank then
    local position = rank + 1
    return {R_OK, S_WAITING, tonumber(user), position, eta(position), 0, token,
            created, admitted}
  end
  -- A live token is in one of the two sets; anything else is a bug.
  return redis.error_reply('queue: live token in neither set')
end

-- The user of a live token, or false. A WAITING token that went idle but
-- was not dropped yet (more than IDLE_BATCH at once) is dropped here.
local function live_owner(token)
  local user = redis.call('HGET', K_OWNER, token)
  if user and is_idle(token) then
    drop_waiting(token)
    return false
  end
  return user
end

-- When a WAITING token is seen now: now, or the latest time any token was
-- seen if that is later (this instance's clock is behind another's, or
-- stepped back). So a place may be kept a little longer than idle_ms, but
-- is never dropped sooner, whichever clock is behind.
local function seen_time()
  local latest = redis.call('ZREVRANGE', K_SEEN, 0, 0, 'WITHSCORES')
  if latest[2] and tonumber(latest[2]) > now then
    return tonumber(latest[2])
  end
  return now
end

-- Marks a WAITING token as still wanted (idle_ms). XX: never adds an
-- ACTIVE token to the set.
local function touch(token)
  redis.call('ZADD', K_SEEN, 'XX', int(seen_time()), token)
end
