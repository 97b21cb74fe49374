-- KEYS: leader:$2 members:$2
-- A member leaves the namespace (graceful stop): the lease is deleted only if it still holds this member's id,
-- so that the next member takes over at once and no other member's lease is ever removed.
-- ARGV: prefix, namespace, member id. Returns 1 when the lease was ours and is gone, else 0.
local key = P .. 'leader:' .. ARGV[2]
redis.call('ZREM', P .. 'members:' .. ARGV[2], ARGV[3])
if redis.call('GET', key) == ARGV[3] then
  redis.call('DEL', key)
  return 1
end
return 0
