-- KEYS: events:$2 task:$2
-- ARGV: prefix, task id, event id. One event of a task (a webhook delivery renders its body from it), as emit stored
-- it, or an empty list when it is no longer kept.
local log = P .. 'events:' .. ARGV[2]
local kept = redis.call('LLEN', log)
local first = tonumber(redis.call('HGET', task_key(ARGV[2]), 'event_seq') or kept) - kept + 1
local index = tonumber(string.match(ARGV[3], '-(%d+)$')) - first
if index < 0 or index >= kept then
  return {}
end
return { redis.call('LINDEX', log, index) }
