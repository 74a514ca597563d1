-- admit: the housekeeping pass. Runs after step.lua, which does all of it.
-- Reply: {code, admitted}.
return {R_OK, step()}
