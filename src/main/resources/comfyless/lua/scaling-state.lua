-- ARGV: prefix, '' to read | time (ms) of a scale-up to record. Returns the recorded time of the last scale-up
-- (ms) or ''. One key; a script so that the cooldown uses the same store and clock as everything else.
local key = P .. 'scaling:last-up'
if ARGV[2] ~= '' then
  redis.call('SET', key, ARGV[2])
  return ARGV[2]
end
return redis.call('GET', key) or ''
