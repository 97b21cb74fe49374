-- KEYS: task:$2 queue inflight idx:pending idx:running idx:cancelled expiry workers:idle fleet:runs fleet:ledger events webhooks:due
-- ARGV: prefix, id, retention ms. A running task's worker is freed in the same step; the caller interrupts the
-- prompt on it and erases its uploaded inputs there, so the task returned keeps its inputs (only when it was
-- running: they are deleted from Redis with this step). Returns {'cancelled', task, worker endpoint or ''} |
-- {'terminal', status} | {'missing'}.
local id = ARGV[2]
local t = redis.call('HMGET', task_key(id), 'status', 'worker_id')
local status = t[1]
if not status then
  return { 'missing' }
end
if status ~= 'pending' and status ~= 'running' then
  return { 'terminal', status }
end
local endpoint, inputs = '', nil
if status == 'running' and t[2] then
  endpoint = redis.call('HGET', P .. 'worker:' .. t[2], 'endpoint') or ''
  inputs = redis.call('HGET', task_key(id), 'inputs')
end
finish(id, status, 'cancelled', now_ms(), tonumber(ARGV[3]))
local task = read_task(id, WITH_METADATA)
if inputs then
  task[#task + 1] = 'inputs'
  task[#task + 1] = inputs
end
return { 'cancelled', task, endpoint }
