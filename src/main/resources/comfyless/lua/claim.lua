-- ARGV: prefix, claimer id, lease ms. Takes the best pending task and records it in flight in the same step.
-- Returns the task (with payload), or an empty list when the queue is empty.
local claimer, lease = ARGV[2], tonumber(ARGV[3])
for _ = 1, 100 do
  local popped = redis.call('ZPOPMIN', P .. 'queue', 1)
  if #popped == 0 then
    return {}
  end
  local id = popped[1]
  local key = task_key(id)
  local t = redis.call('HMGET', key, 'status', 'seq')
  if t[1] == 'pending' then
    local now = now_ms()
    local deadline = num(now + lease)
    redis.call('HINCRBY', key, 'attempts', 1)
    redis.call('HSET', key, 'status', 'running', 'worker_id', claimer, 'started_at', num(now),
      'updated_at', num(now), 'lease_until', deadline)
    redis.call('ZADD', P .. 'inflight', deadline, id)
    reindex(id, t[2], 'pending', 'running')
    return read_task(id, nil)
  end
  -- a queue entry without a pending task behind it cannot exist by construction; if one ever does, it is
  -- dropped here so that it can never wedge the queue
end
return {}
