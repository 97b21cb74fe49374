-- KEYS: webhooks:failed
-- ARGV: prefix, offset, at most this many. The dead letters, newest first; entries whose record expired are dropped.
-- Returns {total, {{msg id, url, task id, event id, type, attempts, created_at, last_attempt_at, last_error}, ...}}.
local failed = P .. 'webhooks:failed'
local msgs = redis.call('ZREVRANGE', failed, tonumber(ARGV[2]), tonumber(ARGV[2]) + tonumber(ARGV[3]) - 1)
local out = {}
for _, msg in ipairs(msgs) do
  local d = redis.call('HMGET', P .. 'webhook:' .. msg, 'url', 'task', 'event', 'type', 'attempts', 'created_at',
    'last_attempt_at', 'last_error')
  if d[1] then
    out[#out + 1] = { msg, d[1], d[2], d[3], d[4], d[5] or '0', d[6] or '', d[7] or '', d[8] or '' }
  else
    redis.call('ZREM', failed, msg)
  end
end
return { redis.call('ZCARD', failed), out }
