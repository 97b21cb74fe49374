-- KEYS: worker:$2 workers:idle
-- ARGV: prefix, worker id, expected statuses ('' = any, else comma-separated), then field/value pairs.
-- A compare-and-set of one worker's fields: applied only when the worker exists and is in an expected status, so
-- that a step acting on a stale read (the instance watcher, reconcile) can never undo a newer transition. A
-- status other than idle also takes the worker out of the idle set, in the same step.
-- Returns {'ok'} | {'conflict', current status} | {'missing'}.
local id = ARGV[2]
local wk = P .. 'worker:' .. id
local status = redis.call('HGET', wk, 'status')
if not status then
  return { 'missing' }
end
if ARGV[3] ~= '' and not string.find(',' .. ARGV[3] .. ',', ',' .. status .. ',', 1, true) then
  return { 'conflict', status }
end
local fields = { 'updated_at', num(now_ms()) }
local new_status
for i = 4, #ARGV, 2 do
  fields[#fields + 1] = ARGV[i]
  fields[#fields + 1] = ARGV[i + 1]
  if ARGV[i] == 'status' then
    new_status = ARGV[i + 1]
  end
end
redis.call('HSET', wk, unpack(fields))
if new_status and new_status ~= 'idle' then
  redis.call('ZREM', P .. 'workers:idle', id)
end
return { 'ok' }
