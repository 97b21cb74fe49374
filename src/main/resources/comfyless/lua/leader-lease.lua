-- KEYS: leader:$2 members:$2
-- The leader lease of one namespace (RedisClusterService), run every lease/3 by each member.
-- ARGV: prefix, namespace, member id, lease ms.
-- Keys: leader:<namespace> = the leader's member id, expiring after the lease unless renewed;
--       members:<namespace> = zset of member ids by the time (Redis clock) their membership lapses.
-- Acquires the lease when it is free (SET NX PX), renews it (PEXPIRE) only while it still holds our id, never
-- touches another member's lease. Returns {1 if we hold the lease else 0, holder or '', live member ids...}.
local ns = ARGV[2]
local me = ARGV[3]
local lease = tonumber(ARGV[4])
local key = P .. 'leader:' .. ns
local members = P .. 'members:' .. ns
local now = now_ms()
redis.call('ZADD', members, num(now + lease), me)
redis.call('ZREMRANGEBYSCORE', members, '-inf', '(' .. num(now))
redis.call('PEXPIRE', members, lease * 2)
local held = 0
if redis.call('SET', key, me, 'NX', 'PX', lease) then
  held = 1
elseif redis.call('GET', key) == me then
  redis.call('PEXPIRE', key, lease)
  held = 1
end
local holder = redis.call('GET', key) or ''
local reply = { held, holder }
for _, id in ipairs(redis.call('ZRANGEBYSCORE', members, num(now), '+inf')) do
  reply[#reply + 1] = id
end
return reply
