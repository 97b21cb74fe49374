-- ARGV: prefix, id, claimer ('' = any), retention ms, 'completed'|'failed', field ('outputs'|'error'), value.
-- Only a running task (held by `claimer`) finishes; a second completion is ignored.
-- Returns {status} or {'ignored', why}.
local id, claimer = ARGV[2], ARGV[3]
local key = task_key(id)
local t = redis.call('HMGET', key, 'status', 'worker_id')
if t[1] ~= 'running' then
  return { 'ignored', t[1] or 'missing' }
end
if claimer ~= '' and t[2] ~= claimer then
  return { 'ignored', 'held by another claimer' }
end
redis.call('HSET', key, ARGV[6], ARGV[7])
finish(id, 'running', ARGV[5], now_ms(), tonumber(ARGV[4]))
return { ARGV[5] }
