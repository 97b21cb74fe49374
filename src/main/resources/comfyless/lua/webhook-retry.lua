-- KEYS: webhooks:due webhooks:failed
-- ARGV: prefix, msg id, when it is due again (ms, '' = never: its retries ran out), why this attempt failed, the
--       body it was sent with (kept, so every attempt sends the same bytes), the delay chosen (ms), how long a dead
--       letter is kept (ms), how many requests this attempt made.
-- A delivery attempt failed: due again later, or moved to the dead letters (GET /api/v1/webhooks/failed), where it is
-- kept until re-sent or until its record expires. Returns {'retry'|'dead'}.
local key = P .. 'webhook:' .. ARGV[2]
if redis.call('EXISTS', key) == 0 then
  return { 'gone' }
end
local now = now_ms()
redis.call('HINCRBY', key, 'attempts', tonumber(ARGV[8]))
redis.call('HSET', key, 'last_error', ARGV[4], 'last_attempt_at', num(now), 'body', ARGV[5], 'delay', ARGV[6])
if ARGV[3] == '' then
  redis.call('ZREM', P .. 'webhooks:due', ARGV[2])
  redis.call('ZADD', P .. 'webhooks:failed', num(now), ARGV[2])
  redis.call('PEXPIRE', key, tonumber(ARGV[7]))
  return { 'dead' }
end
redis.call('ZADD', P .. 'webhooks:due', ARGV[3], ARGV[2])
return { 'retry' }
