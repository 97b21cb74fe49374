-- KEYS: events:$2
-- ARGV: prefix, task id, event id. One event of a task (a webhook delivery renders its body from it), as XRANGE
-- gives it, or an empty list when it is no longer kept.
return redis.call('XRANGE', P .. 'events:' .. ARGV[2], ARGV[3], ARGV[3])
