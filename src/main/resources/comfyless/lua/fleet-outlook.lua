-- KEYS: fleet:boots:$2 fleet:runs queue
-- ARGV: prefix, product id, how many queued tasks to look at. What the scaling policy reads each turn, in one step:
-- Returns {boot times of the product (ms, newest first), run times (ms, newest first), arrivals in the last 60 s,
-- 300 s and 900 s, created_at of the first queued tasks in dispatch order}.
local now = now_ms()
local boots = redis.call('LRANGE', P .. 'fleet:boots:' .. ARGV[2], 0, -1)
local runs = redis.call('LRANGE', P .. 'fleet:runs', 0, -1)
local bucket = math.floor(now / 10000)
local keys = {}
for b = bucket - 89, bucket do
  keys[#keys + 1] = P .. 'fleet:arrivals:' .. b
end
local counts = redis.call('MGET', unpack(keys))
local a1, a5, a15 = 0, 0, 0
for i, c in ipairs(counts) do
  local n = tonumber(c) or 0
  a15 = a15 + n
  if i > 60 then a5 = a5 + n end
  if i > 84 then a1 = a1 + n end
end
local waiting = {}
if tonumber(ARGV[3]) > 0 then
  for _, id in ipairs(redis.call('ZRANGE', P .. 'queue', 0, tonumber(ARGV[3]) - 1)) do
    waiting[#waiting + 1] = redis.call('HGET', task_key(id), 'created_at') or num(now)
  end
end
return { boots, runs, a1, a5, a15, waiting, num(now) }
