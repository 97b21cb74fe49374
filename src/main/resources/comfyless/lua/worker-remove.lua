-- KEYS: worker:$2 workers workers:idle fleet:ledger
-- ARGV: prefix, worker id. Forgets a worker that is not running a task (its server or instance is gone).
-- Returns {'removed'} | {'busy'} | {'missing'}.
local id = ARGV[2]
local wk = P .. 'worker:' .. id
local w = redis.call('HMGET', wk, 'status', 'created_at', 'provider', 'started_at')
local status = w[1]
if not status then
  return { 'missing' }
end
if status == 'running' then
  return { 'busy' }
end
-- a created instance is billed from its create until it is gone: its lifetime goes to the ledger. One that never
-- answered a health check (a boot cancelled or failed) was booting all its life: that is boot time too, as the
-- operator's view showed while it lived (so the counters never go down).
if w[2] and w[2] ~= '' and w[3] ~= 'static' then
  local life = num(math.max(0, now_ms() - tonumber(w[2])))
  redis.call('HINCRBY', P .. 'fleet:ledger', w[3] .. ':billed_ms', life)
  if not w[4] or w[4] == '' then
    redis.call('HINCRBY', P .. 'fleet:ledger', w[3] .. ':boot_ms', life)
  end
end
redis.call('DEL', wk)
redis.call('ZREM', P .. 'workers', id)
redis.call('ZREM', P .. 'workers:idle', id)
return { 'removed' }
