-- KEYS: workers worker:$2
-- ARGV: prefix, worker id or '' for all. Returns a list of workers (flat field/value lists), oldest first.
local ids
if ARGV[2] ~= '' then
  ids = { ARGV[2] }
else
  ids = redis.call('ZRANGE', P .. 'workers', 0, -1)
end
local out = {}
for _, id in ipairs(ids) do
  local fields = redis.call('HGETALL', P .. 'worker:' .. id)
  if #fields > 0 then
    out[#out + 1] = fields
  end
end
return out
