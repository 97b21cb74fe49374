-- KEYS: worker:$2 workers
-- ARGV: prefix, worker id, then field/value pairs. Records a new worker as 'starting' (not dispatchable until a
-- health check passes); an existing worker keeps its state. Returns {'created'|'exists'}.
local id = ARGV[2]
local wk = P .. 'worker:' .. id
if redis.call('EXISTS', wk) == 1 then
  return { 'exists' }
end
local now = num(now_ms())
local fields = { 'id', id, 'status', 'starting', 'health', 'false', 'consecutive_failures', 0, 'created_at', now,
  'updated_at', now }
for i = 3, #ARGV, 2 do
  fields[#fields + 1] = ARGV[i]
  fields[#fields + 1] = ARGV[i + 1]
end
redis.call('HSET', wk, unpack(fields))
redis.call('ZADD', P .. 'workers', now, id)
return { 'created' }
