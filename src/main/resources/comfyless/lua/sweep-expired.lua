-- KEYS: expiry idx:all idx:completed idx:failed idx:cancelled
-- ARGV: prefix, batch size. Drops the index entries of terminal tasks whose retention has ended (the task hash
-- itself expires by PEXPIRE). Returns the ids dropped (their outputs are deleted by the caller).
local ids = redis.call('ZRANGEBYSCORE', P .. 'expiry', '-inf', num(now_ms()), 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(ids) do
  redis.call('DEL', task_key(id), P .. 'events:' .. id)
  redis.call('ZREM', P .. 'idx:all', id)
  redis.call('ZREM', P .. 'idx:completed', id)
  redis.call('ZREM', P .. 'idx:failed', id)
  redis.call('ZREM', P .. 'idx:cancelled', id)
  redis.call('ZREM', P .. 'expiry', id)
end
return ids
