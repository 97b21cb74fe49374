-- Shared by every task script (prepended by RedisScripts). ARGV[1] is the key prefix.
-- Keys, all under the prefix:
--   task:<id>     hash, the task (payload kept as the exact JSON text the client sent)
--   queue         zset of pending ids, score = (10 - priority) * BAND + seq: higher priority first, FIFO within one
--   inflight      zset of claimed ids, score = lease deadline (ms, Redis clock)
--   seq           counter; the FIFO order and the list cursor
--   idx:all, idx:<status>  zsets of ids by seq, for newest-first listing and counts
--   expiry        zset of terminal ids by the time their retention ends
--   idem:<key>    Idempotency-Key -> task id, 24 h
-- Time comes from Redis (TIME) so that every replica uses one clock.
local P = ARGV[1]
local BAND = 17592186044416 -- 2^44 sequence numbers per priority level; 11 levels stay below 2^53

local function num(x)
  return string.format('%.0f', x)
end

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function task_key(id)
  return P .. 'task:' .. id
end

local function queue_score(priority, seq)
  return num((10 - tonumber(priority)) * BAND + tonumber(seq))
end

local function reindex(id, seq, from, to)
  if from then
    redis.call('ZREM', P .. 'idx:' .. from, id)
  end
  redis.call('ZADD', P .. 'idx:' .. to, seq, id)
end

-- The task as a flat field/value list without the fields in `skip`, plus queue_position while pending.
local function read_task(id, skip)
  local fields = redis.call('HGETALL', task_key(id))
  if #fields == 0 then
    return false
  end
  local out = {}
  local status
  for i = 1, #fields, 2 do
    local f = fields[i]
    if f == 'status' then
      status = fields[i + 1]
    end
    if not (skip and skip[f]) then
      out[#out + 1] = f
      out[#out + 1] = fields[i + 1]
    end
  end
  if status == 'pending' then
    local rank = redis.call('ZRANK', P .. 'queue', id)
    if rank then
      out[#out + 1] = 'queue_position'
      out[#out + 1] = tostring(rank + 1)
    end
  end
  return out
end

-- A terminal state: out of the queue and the in-flight set, readable until its retention ends.
local function finish(id, from, to, now, retention_ms)
  local key = task_key(id)
  local seq = redis.call('HGET', key, 'seq')
  redis.call('HSET', key, 'status', to, 'completed_at', num(now), 'updated_at', num(now))
  redis.call('HDEL', key, 'lease_until')
  redis.call('ZREM', P .. 'queue', id)
  redis.call('ZREM', P .. 'inflight', id)
  reindex(id, seq, from, to)
  redis.call('PEXPIRE', key, retention_ms)
  redis.call('ZADD', P .. 'expiry', num(now + retention_ms), id)
end

-- A running task whose attempt ended without a result: back to its old place in the queue, or failed with
-- `error_json` when it has been started max_attempts times.
local function release(id, now, retention_ms, error_json)
  local key = task_key(id)
  local t = redis.call('HMGET', key, 'attempts', 'max_attempts', 'priority', 'seq')
  redis.call('ZREM', P .. 'inflight', id)
  if tonumber(t[1]) >= tonumber(t[2]) then
    redis.call('HSET', key, 'error', error_json)
    finish(id, 'running', 'failed', now, retention_ms)
    return 'failed'
  end
  redis.call('HSET', key, 'status', 'pending', 'updated_at', num(now), 'last_error', error_json)
  redis.call('HDEL', key, 'worker_id', 'lease_until')
  redis.call('ZADD', P .. 'queue', queue_score(t[3], t[4]), id)
  reindex(id, t[4], 'running', 'pending')
  return 'requeued'
end

-- Why `claimer` may not end the current attempt of task `id` ('' claimer = anyone may), or nil when it may.
local function not_held(id, claimer)
  local t = redis.call('HMGET', task_key(id), 'status', 'worker_id')
  if t[1] ~= 'running' then
    return t[1] or 'missing'
  end
  if claimer ~= '' and t[2] ~= claimer then
    return 'held by another claimer'
  end
  return nil
end
