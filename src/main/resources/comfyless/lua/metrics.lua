-- KEYS: queue idx:running idx:completed idx:failed idx:cancelled
-- ARGV: prefix. Returns {{pending, running, completed, failed, cancelled}, {depth of priority 0..10},
-- oldest pending id, its created_at, Redis now}.
local q = P .. 'queue'
local counts = {
  redis.call('ZCARD', q),
  redis.call('ZCARD', P .. 'idx:running'),
  redis.call('ZCARD', P .. 'idx:completed'),
  redis.call('ZCARD', P .. 'idx:failed'),
  redis.call('ZCARD', P .. 'idx:cancelled'),
}
local depth, oldest_id, oldest_created = {}, '', ''
for p = 0, 10 do
  local lo = num((10 - p) * BAND)
  local hi = '(' .. num((11 - p) * BAND)
  depth[#depth + 1] = redis.call('ZCOUNT', q, lo, hi)
  -- FIFO within a level: the first entry of each level is that level's oldest task
  local first = redis.call('ZRANGEBYSCORE', q, lo, hi, 'LIMIT', 0, 1)
  if #first > 0 then
    local created = redis.call('HGET', task_key(first[1]), 'created_at')
    if created and (oldest_created == '' or tonumber(created) < tonumber(oldest_created)) then
      oldest_id, oldest_created = first[1], created
    end
  end
end
return { counts, depth, oldest_id, oldest_created, num(now_ms()) }
