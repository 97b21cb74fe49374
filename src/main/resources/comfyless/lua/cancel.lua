-- ARGV: prefix, id, retention ms. Returns {'cancelled', task} | {'terminal', status} | {'missing'}.
local id = ARGV[2]
local status = redis.call('HGET', task_key(id), 'status')
if not status then
  return { 'missing' }
end
if status ~= 'pending' and status ~= 'running' then
  return { 'terminal', status }
end
finish(id, status, 'cancelled', now_ms(), tonumber(ARGV[3]))
return { 'cancelled', read_task(id, { payload = true }) }
