-- join: the user's live token again, or a new place. Runs after step.lua.
-- ARGV 9 user_id, 10 a fresh token (22 characters) to use if one is needed.
-- KEYS 13 spent:<fresh token>, only to rule out a (2^-128) clash with it.
-- Before the on-sale a new token waits in the pre-queue, unordered, until
-- the draw; once an instance has begun the draw (its clock says the
-- on-sale came, this one's is behind), it goes to the line like any join
-- after the on-sale, so the pre-queue only shrinks while it is drawn. Otherwise it goes straight to ACTIVE only when nobody waits and
-- the policy lets one in, so it overtakes no one; else it takes the next
-- INCR number, which puts it behind every join that ran before, on any
-- instance (and, on a line with a pre-queue, behind every drawn entry).
local admitted = step()
local user, fresh = ARGV[9], ARGV[10]

local token = redis.call('HGET', K_HOLDER, user)
if token and not live_owner(token) then
  token = false
end
if token then
  touch(token)
  return describe(token, user, 0, admitted)
end

if redis.call('HEXISTS', K_OWNER, fresh) == 1 or
    redis.call('EXISTS', K_SPENT) == 1 then
  return {R_RETRY}
end
redis.call('HSET', K_OWNER, fresh, user)
redis.call('HSET', K_HOLDER, user, fresh)
if on_sale > 0 and now < on_sale and not is_drawn() and
    redis.call('EXISTS', K_DRAW_LOCK) == 0 then
  -- Not in `seen`: a pre-queue place is never dropped as idle.
  redis.call('ZADD', K_PRE, int(now), fresh)
elseif redis.call('ZCARD', K_LINE) == 0 and admission_room() > 0 then
  redis.call('ZADD', K_ACTIVE, int(now + active_ms), fresh)
  spend_credit(1)
  admitted = admitted + 1
else
  local seq = redis.call('INCR', K_SEQ)
  if has_pre_queue() then
    seq = seq + LATE
  end
  redis.call('ZADD', K_LINE, int(seq), fresh)
  redis.call('ZADD', K_SEEN, int(seen_time()), fresh)
end
return describe(fresh, user, 1, admitted)
