-- KEYS: webhooks:failed webhooks:due
-- ARGV: prefix, msg id. A dead letter is due again now, with its retries counted afresh (an operator fixed the
-- receiver). Returns {'resent'} or {'missing'} when it is not a dead letter.
local msg = ARGV[2]
local key = P .. 'webhook:' .. msg
if not redis.call('ZSCORE', P .. 'webhooks:failed', msg) or redis.call('EXISTS', key) == 0 then
  return { 'missing' }
end
local now = num(now_ms())
redis.call('ZREM', P .. 'webhooks:failed', msg)
redis.call('PERSIST', key)
redis.call('HSET', key, 'attempts', 0, 'created_at', now)
redis.call('HDEL', key, 'delay')
redis.call('ZADD', P .. 'webhooks:due', now, msg)
return { 'resent' }
