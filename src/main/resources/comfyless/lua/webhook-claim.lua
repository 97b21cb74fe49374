-- KEYS: webhooks:due
-- ARGV: prefix, at most this many, claim ms.
-- Takes the webhook deliveries that are due, pushing each one's due time `claim ms` ahead in the same step: another
-- replica's turn does not take them meanwhile, and if this one dies while delivering they are due again after that
-- (each event is delivered at least once). Returns {{msg id, url, task id, event id, type, attempts, created_at,
-- body or '', last delay ms or ''}, ...}.
local now = now_ms()
local due = P .. 'webhooks:due'
local msgs = redis.call('ZRANGEBYSCORE', due, '-inf', num(now), 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for _, msg in ipairs(msgs) do
  local d = redis.call('HMGET', P .. 'webhook:' .. msg, 'url', 'task', 'event', 'type', 'attempts', 'created_at',
    'body', 'delay')
  if d[1] then
    redis.call('ZADD', due, num(now + tonumber(ARGV[3])), msg)
    out[#out + 1] = { msg, d[1], d[2], d[3], d[4], d[5] or '0', d[6] or num(now), d[7] or '', d[8] or '' }
  else
    -- a delivery whose record is gone (its dead letter expired) is never due again
    redis.call('ZREM', due, msg)
  end
end
return out
