-- KEYS: inflight queue idx:pending idx:running idx:failed expiry workers:idle fleet:runs fleet:ledger events webhooks:due
-- ARGV: prefix, retention ms, batch size, error JSON used if the attempts are used up, adopter ('' = none),
--       lease ms of an adopted task.
-- Every in-flight task whose lease deadline has passed (its watcher died or stopped) is decided in this one step:
-- - adopted by `adopter` when its worker still holds it (the prompt may still be running or finished there: the
--   adopter watches it, it is never re-run), or when its prompt already ended there (worker_done_at: only its
--   outputs were still to be copied) and the worker is still usable, with a fresh lease;
-- - otherwise back to the queue with its attempt counted (or failed after max_attempts).
-- Either way it leaves the expired range in the same step, so a second sweep, here or on another replica, cannot
-- act on it again. Returns {requeued, failed, {adopted ids}, {requeued or failed ids}}.
local now = now_ms()
local adopter, lease_ms = ARGV[5], tonumber(ARGV[6])
local ids = redis.call('ZRANGEBYSCORE', P .. 'inflight', '-inf', num(now), 'LIMIT', 0, tonumber(ARGV[3]))
local requeued, failed, adopted, released = 0, 0, {}, {}
for _, id in ipairs(ids) do
  local key = task_key(id)
  local t = redis.call('HMGET', key, 'status', 'worker_id', 'prompt_id', 'worker_done_at')
  if t[1] == 'running' then
    local held = false
    if adopter and adopter ~= '' and t[2] and t[3] then
      local w = redis.call('HMGET', P .. 'worker:' .. t[2], 'status', 'current_task')
      held = (w[1] == 'running' and w[2] == id)
        or (t[4] and (w[1] == 'idle' or w[1] == 'running' or w[1] == 'terminating'))
    end
    if held then
      local deadline = num(now + lease_ms)
      redis.call('HSET', key, 'lease_owner', adopter, 'lease_until', deadline)
      redis.call('ZADD', P .. 'inflight', deadline, id)
      adopted[#adopted + 1] = id
    elseif release(id, now, tonumber(ARGV[2]), ARGV[4]) == 'requeued' then
      requeued = requeued + 1
      released[#released + 1] = id
    else
      failed = failed + 1
      released[#released + 1] = id
    end
  else
    redis.call('ZREM', P .. 'inflight', id)
  end
end
return { requeued, failed, adopted, released }
