-- ARGV: prefix, id, claimer ('' = any), retention ms, 'completed'|'failed', field ('outputs'|'error'), value.
-- Only a running task (held by `claimer`) finishes; a second completion is ignored.
-- Returns {status} or {'ignored', why}.
local id = ARGV[2]
local why = not_held(id, ARGV[3])
if why then
  return { 'ignored', why }
end
redis.call('HSET', task_key(id), ARGV[6], ARGV[7])
finish(id, 'running', ARGV[5], now_ms(), tonumber(ARGV[4]))
return { ARGV[5] }
