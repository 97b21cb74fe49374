-- KEYS: task:$2 idem:$3 seq queue idx:all idx:pending
-- ARGV: prefix, id, idempotency key ('' = none), idempotency ttl ms, priority, then field/value pairs.
-- Returns {'created'|'existing', task without payload}.
local id, idem = ARGV[2], ARGV[3]
if idem ~= '' then
  local existing = redis.call('GET', P .. 'idem:' .. idem)
  if existing then
    local t = read_task(existing, WITH_METADATA)
    if t then
      return { 'existing', t }
    end
  end
end
local seq = redis.call('INCR', P .. 'seq')
local now = num(now_ms())
local fields = { 'id', id, 'status', 'pending', 'seq', seq, 'attempts', 0, 'created_at', now, 'updated_at', now }
for i = 6, #ARGV, 2 do
  fields[#fields + 1] = ARGV[i]
  fields[#fields + 1] = ARGV[i + 1]
end
redis.call('HSET', task_key(id), unpack(fields))
redis.call('ZADD', P .. 'queue', queue_score(ARGV[5], seq), id)
redis.call('ZADD', P .. 'idx:all', seq, id)
reindex(id, seq, nil, 'pending')
-- arrivals in 10-second buckets: the scaling policy reads the rates of the last 1, 5 and 15 minutes
local bucket = P .. 'fleet:arrivals:' .. math.floor(now / 10000)
redis.call('INCR', bucket)
redis.call('PEXPIRE', bucket, 1000000)
if idem ~= '' then
  redis.call('SET', P .. 'idem:' .. idem, id, 'PX', ARGV[4])
end
return { 'created', read_task(id, WITH_METADATA) }
