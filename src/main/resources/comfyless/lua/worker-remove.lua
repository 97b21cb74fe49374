-- ARGV: prefix, worker id. Forgets a worker that is not running a task (its server or instance is gone).
-- Returns {'removed'} | {'busy'} | {'missing'}.
local id = ARGV[2]
local wk = P .. 'worker:' .. id
local status = redis.call('HGET', wk, 'status')
if not status then
  return { 'missing' }
end
if status == 'running' then
  return { 'busy' }
end
redis.call('DEL', wk)
redis.call('ZREM', P .. 'workers', id)
redis.call('ZREM', P .. 'workers:idle', id)
return { 'removed' }
