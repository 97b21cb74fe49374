-- ARGV: prefix, task id, prompt id, ms since ComfyUI started executing it. Records started_at while that prompt is
-- the task's running attempt and no start was recorded yet. Returns {1} when recorded, else {0}.
local key = task_key(ARGV[2])
local t = redis.call('HMGET', key, 'status', 'prompt_id', 'started_at', 'dispatched_at')
if t[1] == 'running' and t[2] == ARGV[3] and not t[3] then
  local now = now_ms()
  redis.call('HSET', key, 'started_at', num(math.max(now - tonumber(ARGV[4]), tonumber(t[4] or now))))
  return { 1 }
end
return { 0 }
