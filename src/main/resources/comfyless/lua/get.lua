-- KEYS: task:$2 queue
-- ARGV: prefix, id, '1' to include the payload. Returns the task, or an empty list when there is none.
local skip = { payload = true, inputs = true }
if ARGV[3] == '1' then
  skip = nil
end
return read_task(ARGV[2], skip) or {}
