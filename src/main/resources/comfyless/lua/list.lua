-- KEYS: idx:$2 queue
-- ARGV: prefix, index ('all' or a status), upper bound ('+inf' or '(<seq>'), limit.
-- Returns {next cursor seq or '', {task, ...}} newest first, without payload and metadata.
-- Index entries whose task has expired since the retention sweep last ran are dropped on the way.
local idx = P .. 'idx:' .. ARGV[2]
local max, limit = ARGV[3], tonumber(ARGV[4])
local items, last_seq, more = {}, '', false
for _ = 1, 10 do
  local want = limit - #items + 1
  local page = redis.call('ZREVRANGEBYSCORE', idx, max, '-inf', 'WITHSCORES', 'LIMIT', 0, want)
  for i = 1, #page, 2 do
    if #items == limit then
      more = true
      break
    end
    local t = read_task(page[i], nil)
    if t then
      items[#items + 1] = t
      last_seq = page[i + 1]
    else
      redis.call('ZREM', idx, page[i])
    end
    max = '(' .. page[i + 1]
  end
  if more or #page / 2 < want then
    break
  end
end
if not more then
  last_seq = ''
end
return { last_seq, items }
