-- KEYS: inflight
-- ARGV: prefix, owner, lease ms, task ids... Extends the lease of each running task `owner` still holds to now +
-- lease ms (0 = expire it now, so another process adopts it at once). Returns the ids `owner` no longer holds
-- (ended, requeued, cancelled, or adopted by another process): their watchers stop.
local owner, lease_ms = ARGV[2], tonumber(ARGV[3])
local deadline = num(now_ms() + lease_ms)
local lost = {}
for i = 4, #ARGV do
  local id = ARGV[i]
  local t = redis.call('HMGET', task_key(id), 'status', 'lease_owner')
  if t[1] == 'running' and t[2] == owner then
    redis.call('HSET', task_key(id), 'lease_until', deadline)
    redis.call('ZADD', P .. 'inflight', 'XX', deadline, id)
  else
    lost[#lost + 1] = id
  end
end
return lost
