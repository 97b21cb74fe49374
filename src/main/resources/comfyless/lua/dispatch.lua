-- KEYS: workers:idle queue inflight idx:pending idx:running
-- ARGV: prefix, lease ms, prompt id for ComfyUI, lease owner (the process that sends and watches the prompt), then
--       the endpoints of idle workers that are busy with other clients' prompts (taken only when no other is idle).
-- Pairs the best pending task with the most recently active idle worker, both changing state in this one step:
-- the task becomes running on that worker (with a lease and the prompt id it will be sent under), the worker
-- becomes running with that task. Recent workers first, so that the others idle long enough to be scaled down.
-- Returns {task with payload, worker fields, 1 if another pair is possible now else 0, pending tasks left}, or
-- {pending tasks} when there is no idle worker, or an empty list when there is no pending task.
local idle = P .. 'workers:idle'
local avoid = {}
for i = 5, #ARGV do
  avoid[ARGV[i]] = true
end
-- among the most recent idle workers, one more than there are busy endpoints: at least one is not busy if any is
local pick, fallback
for _ = 1, 10 do
  local candidates = redis.call('ZREVRANGE', idle, 0, #ARGV - 4)
  if #candidates == 0 then
    return { redis.call('ZCARD', P .. 'queue') }
  end
  local stale = false
  for _, worker_id in ipairs(candidates) do
    local w = redis.call('HMGET', P .. 'worker:' .. worker_id, 'status', 'endpoint')
    if w[1] ~= 'idle' then
      -- an idle-set entry whose worker is no longer idle: dropped so that it can never be picked
      redis.call('ZREM', idle, worker_id)
      stale = true
    elseif not avoid[w[2] or ''] then
      pick = worker_id
      break
    elseif not fallback then
      fallback = worker_id
    end
  end
  if pick or not stale then
    break
  end
end
pick = pick or fallback
if not pick then
  return { redis.call('ZCARD', P .. 'queue') }
end
local taken = take_next(pick, now_ms(), ARGV[3], tonumber(ARGV[2]), ARGV[4])
if not taken then
  return {}
end
local pending = redis.call('ZCARD', P .. 'queue')
local more = 0
if pending > 0 and redis.call('ZCARD', idle) > 0 then
  more = 1
end
return { taken[1], taken[2], more, pending }
