-- KEYS: events:$2 task:$2 queue
-- ARGV: prefix, task id, the id of the last event the reader has ('' = from the first kept), at most this many.
-- A reader's view of a task's events (GET /api/v1/tasks/{id}/events, the events route, webhook deliveries): the
-- events after that id, and the task's status and queue position now (a pending task's position changes with every
-- dispatch, which is not an event of its own). Returns {events as XRANGE gives them, status or '', position or ''}.
local id = ARGV[2]
local from = ARGV[3] == '' and '-' or '(' .. ARGV[3]
local events = redis.call('XRANGE', P .. 'events:' .. id, from, '+', 'COUNT', tonumber(ARGV[4]))
local status = redis.call('HGET', task_key(id), 'status') or ''
local pos = ''
if status == 'pending' then
  pos = position(id)
end
return { events, status, pos }
