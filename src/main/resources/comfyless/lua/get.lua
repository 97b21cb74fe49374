-- KEYS: task:$2 queue
-- ARGV: prefix, id, what to read besides the summary: '0' the metadata (the API's task without payload), '1' the
-- metadata and payload (the API's GET), 'run' the payload and inputs (to send it to a worker again).
-- Returns the task, or an empty list when there is none.
local with = WITH_METADATA
if ARGV[3] == '1' then
  with = WITH_PAYLOAD
elseif ARGV[3] == 'run' then
  with = TO_RUN
end
return read_task(ARGV[2], with) or {}
