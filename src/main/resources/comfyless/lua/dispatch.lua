-- ARGV: prefix, lease ms, prompt id for ComfyUI, lease owner (the process that sends and watches the prompt).
-- Pairs the best pending task with the most recently active idle worker, both changing state in this one step:
-- the task becomes running on that worker (with a lease and the prompt id it will be sent under), the worker
-- becomes running with that task. Recent workers first, so that the others idle long enough to be scaled down.
-- Returns {task with payload, worker fields, 1 if another pair is possible now else 0} or an empty list when
-- there is no task or no idle worker.
local idle = P .. 'workers:idle'
for _ = 1, 100 do
  local top = redis.call('ZRANGE', idle, -1, -1)
  if #top == 0 then
    return {}
  end
  local worker_id = top[1]
  local wk = P .. 'worker:' .. worker_id
  if redis.call('HGET', wk, 'status') == 'idle' then
    local now = now_ms()
    local id = claim_next(worker_id, tonumber(ARGV[2]), now, ARGV[3], ARGV[4])
    if not id then
      return {}
    end
    redis.call('ZREM', idle, worker_id)
    redis.call('HSET', wk, 'status', 'running', 'current_task', id, 'last_active_at', num(now))
    local more = 0
    if redis.call('ZCARD', P .. 'queue') > 0 and redis.call('ZCARD', idle) > 0 then
      more = 1
    end
    return { read_task(id, nil), redis.call('HGETALL', wk), more }
  end
  -- an idle-set entry whose worker is no longer idle: dropped so that it can never be picked
  redis.call('ZREM', idle, worker_id)
end
return {}
