-- KEYS: task:$2 idem:$3 seq queue idx:all idx:pending workers:idle inflight idx:running events webhooks:due
-- ARGV: prefix, id, idempotency key ('' = none), idempotency ttl ms, priority, then what pairing the new task takes:
--       lease ms ('' = none: the task only waits for dispatch), prompt id, lease owner, the busy endpoints (one per
--       line, see dispatch.lua); then field/value pairs.
-- Returns {'created'|'existing', task without payload}, and for a created task with pairing, what dispatch_one
-- returned: a task submitted while a worker idles is paired in this step, without a dispatch run's round trip.
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
for i = 10, #ARGV, 2 do
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
emit(id, 'queued', 'position', position(id))
local created = read_task(id, WITH_METADATA)
if ARGV[6] == '' then
  return { 'created', created }
end
local avoid, busy = {}, 0
for endpoint in string.gmatch(ARGV[9], '[^\n]+') do
  avoid[endpoint] = true
  busy = busy + 1
end
return { 'created', created, dispatch_one(tonumber(ARGV[6]), ARGV[7], ARGV[8], avoid, busy) }
