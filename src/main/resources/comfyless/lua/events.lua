-- KEYS: events:$2 task:$2 queue
-- ARGV: prefix, task id, the id of the last event the reader has ('' = from the first kept), at most this many.
-- A reader's view of a task's events (GET /api/v1/tasks/{id}/events, webhook deliveries): the events after that id,
-- and the task's status and queue position now (a pending task's position changes with every dispatch, which is not
-- an event of its own). Returns {events (JSON arrays, see emit), status or '', position or ''}.
local id = ARGV[2]
local log = P .. 'events:' .. id
local t = redis.call('HMGET', task_key(id), 'status', 'event_seq')
local kept = redis.call('LLEN', log)
-- the n of the first kept event: the log keeps the last ones
local first = tonumber(t[2] or kept) - kept + 1
local start = 0
if ARGV[3] ~= '' then
  start = math.max(0, tonumber(string.match(ARGV[3], '-(%d+)$')) - first + 1)
end
local events = redis.call('LRANGE', log, start, start + tonumber(ARGV[4]) - 1)
local status = t[1] or ''
local pos = ''
if status == 'pending' then
  pos = position(id)
end
return { events, status, pos }
