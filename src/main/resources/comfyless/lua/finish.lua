-- ARGV: prefix, id, claimer ('' = any), prompt id ('' = any attempt), retention ms, 'completed'|'failed', then
--       field/value pairs to store ('outputs', 'error').
-- Only a running task held by `claimer` (and still on the attempt sent as `prompt id`) finishes: a second
-- completion, or a late one of an earlier attempt, is ignored. Its worker is freed unless it already moved on to
-- the next task (see handoff.lua).
-- Returns {status} or {'ignored', why}.
local id, claimer, prompt_id = ARGV[2], ARGV[3], ARGV[4]
local why = not_held(id, claimer)
if not why and prompt_id ~= '' and redis.call('HGET', task_key(id), 'prompt_id') ~= prompt_id then
  why = 'another attempt'
end
if why then
  return { 'ignored', why }
end
for i = 7, #ARGV, 2 do
  redis.call('HSET', task_key(id), ARGV[i], ARGV[i + 1])
end
finish(id, 'running', ARGV[6], now_ms(), tonumber(ARGV[5]))
return { ARGV[6] }
