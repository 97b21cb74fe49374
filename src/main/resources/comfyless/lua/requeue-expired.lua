-- ARGV: prefix, retention ms, batch size, error JSON used if the attempts are used up.
-- Every in-flight task whose lease deadline has passed goes back to the queue (or fails); it leaves the
-- in-flight set in the same step, so a second sweep, here or on another replica, cannot requeue it again.
-- Returns {requeued, failed}.
local now = now_ms()
local ids = redis.call('ZRANGEBYSCORE', P .. 'inflight', '-inf', num(now), 'LIMIT', 0, tonumber(ARGV[3]))
local requeued, failed = 0, 0
for _, id in ipairs(ids) do
  if redis.call('HGET', task_key(id), 'status') == 'running' then
    if release(id, now, tonumber(ARGV[2]), ARGV[4]) == 'requeued' then
      requeued = requeued + 1
    else
      failed = failed + 1
    end
  else
    redis.call('ZREM', P .. 'inflight', id)
  end
end
return { requeued, failed }
