-- ARGV: prefix, id, claimer ('' = any), retention ms, error JSON used if the attempts are used up.
-- Returns {'requeued'|'failed'} or {'ignored', why}.
local id, claimer = ARGV[2], ARGV[3]
local t = redis.call('HMGET', task_key(id), 'status', 'worker_id')
if t[1] ~= 'running' then
  return { 'ignored', t[1] or 'missing' }
end
if claimer ~= '' and t[2] ~= claimer then
  return { 'ignored', 'held by another claimer' }
end
return { release(id, now_ms(), tonumber(ARGV[4]), ARGV[5]) }
