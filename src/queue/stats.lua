-- stats: {waiting, active} in one atomic read. Standalone (no step.lua:
-- stats carries no time). KEYS 1 line, 2 active.
return {redis.call('ZCARD', KEYS[1]), redis.call('ZCARD', KEYS[2])}
