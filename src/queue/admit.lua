-- admit: the housekeeping pass. Runs after step.lua, which does all of it.
-- Reply: {code, admitted, stranded}: stranded is 1 when people wait in the
-- pre-queue of a line whose on-sale was called off (on_sale 0), for the
-- driver to draw them at its next admit().
local admitted = step()
local stranded = 0
if on_sale == 0 and not is_drawn() and redis.call('ZCARD', K_PRE) > 0 then
  stranded = 1
end
return {R_OK, admitted, stranded}
