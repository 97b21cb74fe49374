-- KEYS: webhooks:due
-- ARGV: prefix, msg id. The receiver took the delivery (2xx): it is not sent again.
redis.call('ZREM', P .. 'webhooks:due', ARGV[2])
redis.call('DEL', P .. 'webhook:' .. ARGV[2])
return { 1 }
