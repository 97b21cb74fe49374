-- KEYS: worker:$2 workers:idle fleet:products fleet:ledger fleet:runs queue inflight idx:pending idx:running idx:failed expiry events webhooks:due
-- ARGV: prefix, worker id, '1' healthy | '0' not, failure threshold, '1' if a failed worker may recover
-- (static servers come back; cloud instances are replaced instead), retention ms, task error JSON, reason.
-- A healthy answer makes a starting (or recovered) worker idle; any failed check takes the worker out of the
-- idle set at once; `threshold` failures in a row fail it and send its task back to the queue.
-- Returns {status after, task id or '', 'requeued'|'failed'|''}.
local id = ARGV[2]
local wk = P .. 'worker:' .. id
local w = redis.call('HMGET', wk, 'status', 'consecutive_failures', 'started_at', 'created_at', 'provider',
  'product_id')
local status = w[1]
if not status then
  return { 'missing', '', '' }
end
local now = now_ms()
if ARGV[3] == '1' then
  redis.call('HSET', wk, 'health', 'true', 'last_health_check', num(now), 'consecutive_failures', 0,
    'last_error', '')
  if status == 'starting' or (status == 'failed' and ARGV[5] == '1') then
    status = 'idle'
    redis.call('HSET', wk, 'status', 'idle', 'last_active_at', num(now), 'updated_at', num(now))
    if not w[3] or w[3] == '' then
      redis.call('HSET', wk, 'started_at', num(now))
      -- its first healthy answer ends the boot: measured per product for the scaling policy (static servers do
      -- not boot for us)
      if w[4] and w[4] ~= '' and w[5] ~= 'static' then
        local boot = math.max(0, now - tonumber(w[4]))
        local boots = P .. 'fleet:boots:' .. (w[6] or '')
        redis.call('LPUSH', boots, num(boot))
        redis.call('LTRIM', boots, 0, 19)
        redis.call('SADD', P .. 'fleet:products', w[6] or '')
        redis.call('HINCRBY', P .. 'fleet:ledger', w[5] .. ':boots', 1)
        redis.call('HINCRBY', P .. 'fleet:ledger', w[5] .. ':boot_ms', num(boot))
      end
    end
  end
  if status == 'idle' then
    redis.call('ZADD', P .. 'workers:idle', 'NX', num(now), id)
  end
  return { status, '', '' }
end
local failures = tonumber(w[2] or '0') + 1
redis.call('HSET', wk, 'health', 'false', 'last_health_check', num(now), 'consecutive_failures', failures,
  'last_error', ARGV[8])
redis.call('ZREM', P .. 'workers:idle', id)
if failures >= tonumber(ARGV[4]) and (status == 'idle' or status == 'running') then
  local lost = lose_worker(id, now, tonumber(ARGV[6]), ARGV[7], ARGV[8])
  return { 'failed', lost[1] or '', lost[2] or '' }
end
return { status, '', '' }
