-- KEYS: task:$2 worker:$3 queue inflight idx:pending idx:running workers:idle fleet:runs fleet:ledger events webhooks:due
-- ARGV: prefix, id, worker id, prompt id, ms since ComfyUI started executing it ('' = unknown), prompt id for the
--       worker's next task ('' = do not pair), lease ms, lease owner of the next task.
-- The task's prompt ended on its worker (ComfyUI stored its history entry). The task stays running while its
-- outputs are copied (finish.lua ends it), but the worker is free now: it goes back to the idle set (or becomes
-- terminating when draining) and, when a prompt id is given, takes the best pending task in the same step, so that
-- the GPU does not wait for the copy. The task is marked worker_done_at, which lets another process adopt it if
-- this one dies before finishing it.
-- Returns {'ok', next task or {}, its worker or {}, pending tasks left} or {'ignored', why}.
local id, worker_id, prompt_id = ARGV[2], ARGV[3], ARGV[4]
local key = task_key(id)
local t = redis.call('HMGET', key, 'status', 'worker_id', 'prompt_id', 'worker_done_at')
if t[1] ~= 'running' or t[2] ~= worker_id or t[3] ~= prompt_id then
  return { 'ignored', t[1] or 'missing' }
end
local now = now_ms()
if not t[4] then
  redis.call('HSET', key, 'worker_done_at', num(now))
  record_start(id, now, ARGV[5])
end
free_worker(worker_id, id, now)
local next_task, worker = {}, {}
if ARGV[6] ~= '' then
  local taken = take_next(worker_id, now, ARGV[6], tonumber(ARGV[7]), ARGV[8])
  if taken then
    next_task, worker = taken[1], taken[2]
  end
end
return { 'ok', next_task, worker, redis.call('ZCARD', P .. 'queue') }
