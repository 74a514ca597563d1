-- status: what a token is now. Runs after step.lua, so an ACTIVE token whose
-- time ran out is already gone, whether or not anyone ran admit.
-- ARGV 9 token. KEYS 13 spent:<token>.
-- Asking about a WAITING token marks it as still wanted (idle_ms).
local admitted = step()
local token = ARGV[9]

local user = live_owner(token)
if user then
  touch(token)
  return describe(token, user, 0, admitted)
end

-- "forget_at:user_id". The key's Redis TTL only collects garbage; SPENT
-- ends at forget_at by the caller's clock, like every other deadline.
local spent = redis.call('GET', K_SPENT)
if spent then
  local sep = string.find(spent, ':', 1, true)
  local forget_at = tonumber(string.sub(spent, 1, sep - 1))
  if forget_at > now then
    return {R_OK, S_SPENT, tonumber(string.sub(spent, sep + 1)), 0, 0, 0,
            token, 0, admitted, 0}
  end
  redis.call('DEL', K_SPENT)
end
return {R_NOT_FOUND, 0, 0, 0, 0, 0, '', 0, admitted, 0}
