-- leave: a live token (WAITING, in the line or the pre-queue, or ACTIVE)
-- stops being live and reads SPENT for spent_keep_ms; its ACTIVE slot goes
-- to the next in line at once. Runs after step.lua. ARGV 9 token,
-- 10 spent_keep_ms, 11 the extra Redis TTL past forget_at (clock skew
-- between instances). KEYS 13 spent:<token>. Reply: {code, admitted}.
local admitted = step()
local token, keep_ms, slack_ms = ARGV[9], tonumber(ARGV[10]),
                                 tonumber(ARGV[11])

local user = live_owner(token)
if not user then
  return {R_NOT_FOUND, admitted}
end
drop_owner(token)
redis.call('ZREM', K_ACTIVE, token)
redis.call('ZREM', K_LINE, token)
redis.call('ZREM', K_SEEN, token)
redis.call('ZREM', K_PRE, token)
if keep_ms > 0 then
  redis.call('SET', K_SPENT, int(now + keep_ms) .. ':' .. user, 'PX',
             int(keep_ms + slack_ms))
end
admitted = admitted + step()
return {R_OK, admitted}
