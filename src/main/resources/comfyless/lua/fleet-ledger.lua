-- KEYS: fleet:ledger fleet:runs fleet:products
-- ARGV: prefix, then product ids of the live fleet (read too in case their boot list predates fleet:products).
-- The GPU-time ledger for the operator's view, in one step:
-- {ledger hash as field/value pairs, run times (ms), Redis now (ms), arrivals in the last 60 s, boot times (ms) of
-- every product that ever booted}.
local now = now_ms()
local bucket = math.floor(now / 10000)
local keys = {}
for b = bucket - 5, bucket do
  keys[#keys + 1] = P .. 'fleet:arrivals:' .. b
end
local a1 = 0
for _, c in ipairs(redis.call('MGET', unpack(keys))) do
  a1 = a1 + (tonumber(c) or 0)
end
-- every product that booted, not only those with a worker now: a fleet scaled to zero keeps its boot times
local products = {}
for _, p in ipairs(redis.call('SMEMBERS', P .. 'fleet:products')) do
  products[p] = true
end
for i = 2, #ARGV do
  products[ARGV[i]] = true
end
local boots = {}
for p in pairs(products) do
  for _, v in ipairs(redis.call('LRANGE', P .. 'fleet:boots:' .. p, 0, -1)) do
    boots[#boots + 1] = v
  end
end
return { redis.call('HGETALL', P .. 'fleet:ledger'), redis.call('LRANGE', P .. 'fleet:runs', 0, -1), num(now), a1,
  boots }
