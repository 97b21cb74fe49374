-- KEYS: task:$2 events webhooks:due
-- ARGV: prefix, task id, prompt id, progress JSON. Recorded only while that prompt is the task's running attempt,
-- so a late event can never touch a finished (or expired) task. Returns {1} when recorded, else {0}.
local key = task_key(ARGV[2])
local t = redis.call('HMGET', key, 'status', 'prompt_id')
if t[1] == 'running' and t[2] == ARGV[3] then
  redis.call('HSET', key, 'progress', ARGV[4])
  emit(ARGV[2], 'progress', 'progress', ARGV[4])
  return { 1 }
end
return { 0 }
