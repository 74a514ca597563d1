-- join: the user's live token again, or a new place. Runs after step.lua.
-- ARGV 5 user_id, 6 a fresh token (22 characters) to use if one is needed.
-- KEYS 8 spent:<fresh token>, only to rule out a (2^-128) clash with it.
-- A token goes straight to ACTIVE only when nobody waits and there is room,
-- so it overtakes no one; otherwise it takes the next INCR number, which
-- puts it behind every join that ran before, on any instance.
local admitted = step()
local user, fresh = ARGV[5], ARGV[6]

local token = redis.call('HGET', K_HOLDER, user)
if token and not live_owner(token) then
  token = false
end
if token then
  touch(token)
  return describe(token, user, 0, admitted)
end

if redis.call('HEXISTS', K_OWNER, fresh) == 1 or
    redis.call('EXISTS', KEYS[8]) == 1 then
  return {R_RETRY}
end
redis.call('HSET', K_OWNER, fresh, user)
redis.call('HSET', K_HOLDER, user, fresh)
if redis.call('ZCARD', K_LINE) == 0 and
    redis.call('ZCARD', K_ACTIVE) < active_max then
  redis.call('ZADD', K_ACTIVE, int(now + active_ms), fresh)
  admitted = admitted + 1
else
  local seq = redis.call('INCR', K_SEQ)
  redis.call('ZADD', K_LINE, int(seq), fresh)
  redis.call('ZADD', K_SEEN, int(seen_time()), fresh)
end
return describe(fresh, user, 1, admitted)
