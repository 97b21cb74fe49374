-- KEYS: task:$2 worker:$3 queue inflight idx:pending idx:running idx:completed idx:failed expiry workers:idle fleet:runs fleet:ledger events webhooks:due
-- ARGV: prefix, id, claimer ('' = any), prompt id of the attempt that ended ('' only for a task claimed without
--       one, see claim.lua), retention ms, 'completed'|'failed',
--       prompt id for the freed worker's next task ('' = do not pair), lease ms, lease owner of the next task,
--       ms since ComfyUI started executing it ('' = unknown; recorded as started_at if none is), then field/value
--       pairs to store ('outputs', 'error').
-- Only a running task held by `claimer` (and still on the attempt sent as `prompt id`) finishes: a second
-- completion, or a late one of an earlier attempt, is ignored. Its worker is freed unless it already moved on to
-- the next task (see handoff.lua); when it is freed here and a next prompt id is given, it takes the best pending
-- task in the same step.
-- Returns {status, next task or {}, its worker or {}, pending tasks left, the ended task without its payload} or
-- {'ignored', why}.
local id, claimer, prompt_id = ARGV[2], ARGV[3], ARGV[4]
local why = not_held(id, claimer, prompt_id)
if why then
  return { 'ignored', why }
end
for i = 11, #ARGV, 2 do
  redis.call('HSET', task_key(id), ARGV[i], ARGV[i + 1])
end
local now = now_ms()
record_start(id, now, ARGV[10])
finish(id, 'running', ARGV[6], now, tonumber(ARGV[5]))
local next_task, worker = {}, {}
if ARGV[7] ~= '' and claimer ~= '' then
  local taken = take_next(claimer, now, ARGV[7], tonumber(ARGV[8]), ARGV[9])
  if taken then
    next_task, worker = taken[1], taken[2]
  end
end
return { ARGV[6], next_task, worker, redis.call('ZCARD', P .. 'queue'),
  read_task(id, WITH_METADATA) or {} }
