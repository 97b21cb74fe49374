-- ARGV: prefix, worker id. Forgets a worker that is not running a task (its server or instance is gone).
-- Returns {'removed'} | {'busy'} | {'missing'}.
local id = ARGV[2]
local wk = P .. 'worker:' .. id
local w = redis.call('HMGET', wk, 'status', 'created_at', 'provider')
local status = w[1]
if not status then
  return { 'missing' }
end
if status == 'running' then
  return { 'busy' }
end
-- a created instance is billed from its create until it is gone: its lifetime goes to the ledger
if w[2] and w[2] ~= '' and w[3] ~= 'static' then
  redis.call('HINCRBY', P .. 'fleet:ledger', w[3] .. ':billed_ms', num(math.max(0, now_ms() - tonumber(w[2]))))
end
redis.call('DEL', wk)
redis.call('ZREM', P .. 'workers', id)
redis.call('ZREM', P .. 'workers:idle', id)
return { 'removed' }
