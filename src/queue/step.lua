-- The prelude of every Redis queue script that carries a time (admit, join,
-- status, leave). The C driver loads each of those as this text followed by
-- the script's own text, so all four run one and the same step() and a
-- change to admission is made in one place. See docs/queue.md.
--
-- KEYS (all under the line's hash tag, so one Redis Cluster slot):
--   1 line    ZSET token -> seq          WAITING, in join order (a line
--                                        with a pre-queue: drawn 1..n,
--                                        later joins LATE + seq)
--   2 active  ZSET token -> expires_at   ACTIVE
--   3 seen    ZSET token -> last status  WAITING in the line, for idle removal
--   4 owner   HASH token -> user_id      live tokens (WAITING, ACTIVE)
--   5 holder  HASH user_id -> token      live tokens
--   6 rate    HASH second -> admissions out of the line in that second
--   7 seq     STRING, INCR               the one global join order
--   8 pre     ZSET token -> joined at    the pre-queue (unordered)
--   9 bucket  HASH credit, at            the rate limit's token bucket
--  10 drawn   HASH at, count             exists once the pre-queue is drawn
--  11 started STRING ms                  since when the line has been
--                                        admitting (first admission out of
--                                        the line, or the draw)
--  12 draw_lock STRING, PX TTL           an instance is drawing: the
--                                        pre-queue takes no one more
--  13 spent:<token> STRING "forget_at:user_id", PX TTL (scripts that need it)
-- ARGV: 1 now_ms, 2 active_max, 3 active_ms, 4 idle_ms (0 = never),
-- 5 admit_per_minute (0 = no limit), 6 admit_cap (-1 = none), 7 paused
-- (1 or 0), 8 on_sale_at_ms (0 = no pre-queue); then the script's own
-- arguments from 9 on. The policy (2, 5..8) is each instance's own copy,
-- sent with every call; nothing of it is stored here.
--
-- Times are the caller's now_ms, never Redis TIME: instances' clocks are
-- NTP-synced, and tests move a clock by hand.

local K_LINE, K_ACTIVE, K_SEEN = KEYS[1], KEYS[2], KEYS[3]
local K_OWNER, K_HOLDER, K_RATE, K_SEQ = KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local K_PRE, K_BUCKET, K_DRAWN, K_STARTED = KEYS[8], KEYS[9], KEYS[10],
                                            KEYS[11]
local K_DRAW_LOCK, K_SPENT = KEYS[12], KEYS[13]
local now = tonumber(ARGV[1])
local active_max = tonumber(ARGV[2])
local active_ms = tonumber(ARGV[3])
local idle_ms = tonumber(ARGV[4])
local admit_per_minute = tonumber(ARGV[5])
local admit_cap = tonumber(ARGV[6])
local paused = ARGV[7] == '1'
local on_sale = tonumber(ARGV[8])

-- Reply codes and token states; redis_internal.h has the same numbers.
local R_OK, R_NOT_FOUND, R_RETRY = 0, 1, 2
local S_WAITING, S_ACTIVE, S_SPENT = 1, 2, 3

local RATE_WINDOW_S = 60
-- queue.h's BO_QUEUE_ETA_MIN_SAMPLES and BO_QUEUE_ETA_MIN_SPAN_MS.
local ETA_MIN_SAMPLES, ETA_MIN_SPAN_MS = 20, 5000
-- Idle WAITING tokens dropped per call: bounds the time one script holds
-- Redis when a crowd walks away at once. The rest go on later calls, and
-- in the meantime is_idle() keeps them from being admitted or answered.
local IDLE_BATCH = 1000
-- Joins of a line with a pre-queue are scored LATE + seq, behind the drawn
-- entries' 1..n whenever the draw happens (draw.lua has the same number).
local LATE = 1099511627776 -- 2^40
-- One admission's credit in the bucket. r per minute is then exactly r
-- units per ms, so every instance computes the same whole numbers (the
-- memory driver's memory_bucket.c uses the same units).
local CREDIT = 60000

-- Integers as Redis arguments: Lua's own number-to-string conversion is
-- "%.14g", which would round a 15-digit value.
local function int(n)
  return string.format('%d', n)
end

local function floor_div(a, b)
  return math.floor(a / b)
end

local function ceil_div(a, b)
  return floor_div(a + b - 1, b)
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

-- A WAITING token not asked about for idle_ms. Pre-queue tokens are not
-- in `seen`, so they never are.
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

local function is_drawn()
  return redis.call('EXISTS', K_DRAWN) == 1
end

-- The pre-queue waits for its draw, and until then the line admits
-- nobody: an on-sale time not drawn yet, or people left in the pre-queue
-- by an on-sale that was called off (on_sale 0), whom the next admit()
-- draws.
local function draw_pending()
  if on_sale > 0 and not is_drawn() then
    return true
  end
  return redis.call('ZCARD', K_PRE) > 0
end

-- Whether joins are scored LATE + seq: the line has (or had) a pre-queue,
-- whose drawn entries hold 1..n.
local function has_pre_queue()
  return on_sale > 0 or is_drawn() or redis.call('ZCARD', K_PRE) > 0
end

-- The bucket's credit now, in units, and the time it is as of. Full when
-- the line opens (no state yet); fills at admit_per_minute units per ms up
-- to one second's worth (at least one admission). A clock behind the one
-- that last wrote it adds nothing and does not move `at` back.
local function bucket_level()
  local cap = admit_per_minute * (CREDIT / 60)
  if cap < CREDIT then
    cap = CREDIT
  end
  local state = redis.call('HMGET', K_BUCKET, 'credit', 'at')
  if not state[1] then
    return cap, now
  end
  local level, at = tonumber(state[1]), tonumber(state[2])
  if now > at then
    -- A minute fills any bucket; counting no further keeps it exact.
    local elapsed = math.min(now - at, 60000)
    level = level + elapsed * admit_per_minute
    at = now
  end
  if level > cap then
    level = cap
  end
  return level, at
end

-- How many the policy lets in now: room under active_max and admit_cap,
-- the bucket's whole credits, none while paused or before the draw.
local function admission_room()
  if paused or draw_pending() then
    return 0
  end
  local active = redis.call('ZCARD', K_ACTIVE)
  local room = active_max - active
  if admit_cap >= 0 and admit_cap - active < room then
    room = admit_cap - active
  end
  if room > 0 and admit_per_minute > 0 then
    local credits = floor_div(bucket_level(), CREDIT)
    if credits < room then
      room = credits
    end
  end
  return room
end

-- Spends one credit per admission (out of the line or straight in).
local function spend_credit(count)
  if admit_per_minute > 0 and count > 0 then
    local level, at = bucket_level()
    redis.call('HSET', K_BUCKET, 'credit', int(level - count * CREDIT), 'at',
               int(at))
  end
end

-- Drops run-out ACTIVE tokens and idle WAITING ones, then moves the front
-- of the line to ACTIVE while the policy lets anyone in. Returns how many
-- it admitted.
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
  local room = admission_room()
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
    -- Only admissions out of the line measure how fast it moves, and only
    -- from the first of them on (or from the draw): the ETA's window
    -- starts there (memory_describe.c says why).
    redis.call('SET', K_STARTED, int(now), 'NX')
    redis.call('HINCRBY', K_RATE, int(floor_div(now, 1000)), admitted)
    spend_credit(admitted)
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

-- The part of the rate's window the line has been admitting, in ms: from
-- the window's first millisecond or `started`, whichever is later, to now,
-- at least one second. A line that began 5 s ago has a 5 s rate, not a
-- 60 s one twelve times too slow. The memory driver's rule, to the ms.
local function rate_span_ms()
  local from = (floor_div(now, 1000) - (RATE_WINDOW_S - 1)) * 1000
  local started = redis.call('GET', K_STARTED)
  if started and tonumber(started) > from then
    from = tonumber(started)
  end
  if now - from < 1000 then
    return 1000, now - from
  end
  return now - from, now - from
end

local function eta(position)
  local admitted = rate_count()
  if admitted > 0 then
    local span_ms, real_span_ms = rate_span_ms()
    -- Faster than the bucket allows is a burst (a full bucket at the
    -- draw), not a rate; fewer than ETA_MIN_SAMPLES admissions in under
    -- ETA_MIN_SPAN_MS is too thin to trust. Either way, with a rate set,
    -- the bucket's rate is the estimate (queue.h, memory_describe.c).
    local thin = admitted < ETA_MIN_SAMPLES and real_span_ms < ETA_MIN_SPAN_MS
    if admit_per_minute <= 0 or
        (admitted * 60000 <= admit_per_minute * span_ms and not thin) then
      return ceil_div(position * span_ms, admitted * 1000)
    end
  end
  if admit_per_minute > 0 then
    -- Nothing measured, but the bucket sets the pace.
    return ceil_div(position * 60, admit_per_minute)
  end
  -- Nothing measured: every slot held for its full active time.
  local worst = ceil_div(position * active_ms, 1000 * active_max)
  if worst < 1 then
    return 1
  end
  return worst
end

-- Seconds until the on-sale, at least 1 (the draw may be a tick late).
-- Seconds to the on-sale, plus, with a rate set, the wait of the draw's
-- middle place at that rate: where a token lands is not known before the
-- draw, and the middle is the estimate with the least error on average
-- (memory_describe.c has the same rule).
local function pre_queue_eta(pre_count)
  local wait = ceil_div(on_sale - now, 1000)
  if wait < 1 then
    wait = 1
  end
  if admit_per_minute > 0 then
    wait = wait + ceil_div(floor_div(pre_count + 1, 2) * 60, admit_per_minute)
  end
  return wait
end

-- The reply of join and status:
-- {code, state, user_id, position, eta, expires_at, token, created, admitted,
--  pre_queue}
local function describe(token, user, created, admitted)
  local expires = redis.call('ZSCORE', K_ACTIVE, token)
  if expires then
    return {R_OK, S_ACTIVE, tonumber(user), 0, 0, tonumber(expires), token,
            created, admitted, 0}
  end
  local rank = redis.call('ZRANK', K_LINE, token)
  if rank then
    local position = rank + 1
    if draw_pending() then
      -- The pre-queue will be drawn in ahead of this token.
      position = position + redis.call('ZCARD', K_PRE)
    end
    return {R_OK, S_WAITING, tonumber(user), position, eta(position), 0, token,
            created, admitted, 0}
  end
  if redis.call('ZSCORE', K_PRE, token) then
    local pre_count = redis.call('ZCARD', K_PRE)
    return {R_OK, S_WAITING, tonumber(user), pre_count,
            pre_queue_eta(pre_count), 0, token, created, admitted, 1}
  end
  -- A live token is in one of the three sets; anything else is a bug.
  return redis.error_reply('queue: live token in no set')
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
-- ACTIVE or pre-queue token to the set.
local function touch(token)
  redis.call('ZADD', K_SEEN, 'XX', int(seen_time()), token)
end
