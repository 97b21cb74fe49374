-- KEYS: task:$2 events webhooks:due
-- ARGV: prefix, task id, prompt id, ms since ComfyUI started executing it. Records started_at while that prompt is
-- the task's running attempt and no start was recorded yet. Returns {1} when recorded, else {0}.
local t = redis.call('HMGET', task_key(ARGV[2]), 'status', 'prompt_id')
if t[1] == 'running' and t[2] == ARGV[3] and record_start(ARGV[2], now_ms(), ARGV[4]) then
  return { 1 }
end
return { 0 }
