-- ARGV: prefix, then the product ids of the fleet. The GPU-time ledger for the operator's view:
-- {ledger hash as field/value pairs, run times (ms), Redis now (ms), arrivals in the last 60 s, boot times (ms) of
-- the products}.
local now = now_ms()
local bucket = math.floor(now / 10000)
local a1 = 0
for b = bucket - 5, bucket do
  a1 = a1 + (tonumber(redis.call('GET', P .. 'fleet:arrivals:' .. b)) or 0)
end
local boots = {}
for i = 2, #ARGV do
  for _, v in ipairs(redis.call('LRANGE', P .. 'fleet:boots:' .. ARGV[i], 0, -1)) do
    boots[#boots + 1] = v
  end
end
return { redis.call('HGETALL', P .. 'fleet:ledger'), redis.call('LRANGE', P .. 'fleet:runs', 0, -1), num(now), a1,
  boots }
