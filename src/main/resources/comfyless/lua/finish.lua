-- ARGV: prefix, id, claimer ('' = any), retention ms, 'completed'|'failed', field ('outputs'|'error'), value,
--       prompt id for the worker's next task ('' = do not pair), lease ms, lease owner of the next task.
-- Only a running task (held by `claimer`) finishes; a second completion is ignored. When a prompt id is given,
-- the worker freed by this task takes the best pending task in the same step (what the dispatch script would do
-- next, without another round trip).
-- Returns {status, next task or {}, its worker or {}, pending tasks left} or {'ignored', why}.
local id, claimer = ARGV[2], ARGV[3]
local why = not_held(id, claimer)
if why then
  return { 'ignored', why }
end
redis.call('HSET', task_key(id), ARGV[6], ARGV[7])
local now = now_ms()
finish(id, 'running', ARGV[5], now, tonumber(ARGV[4]))
local next_task, worker = {}, {}
if ARGV[8] ~= '' and claimer ~= '' then
  local wk = P .. 'worker:' .. claimer
  if redis.call('HGET', wk, 'status') == 'idle' then
    local next_id = claim_next(claimer, tonumber(ARGV[9]), now, ARGV[8], ARGV[10])
    if next_id then
      redis.call('ZREM', P .. 'workers:idle', claimer)
      redis.call('HSET', wk, 'status', 'running', 'current_task', next_id, 'last_active_at', num(now))
      next_task = read_task(next_id, nil)
      worker = redis.call('HGETALL', wk)
    end
  end
end
return { ARGV[5], next_task, worker, redis.call('ZCARD', P .. 'queue') }
