-- KEYS: worker:$2 workers:idle
-- ARGV: prefix, worker id, reason, 'idle-only' | 'unused' | 'drain'.
-- Takes a worker out of service in one step, so that dispatch can never pick a worker that is being deleted
-- (nor a scale-down delete a worker dispatch has just picked). An idle worker becomes terminating at once. With
-- 'drain', a running worker is marked draining: it finishes its task and then becomes terminating instead of idle
-- (free_worker). 'unused' also takes a booting worker (a boot the autoscaler no longer needs), never a running one.
-- Returns {'terminating'} | {'draining'} | {'busy'} (running, idle-only) | {'missing'} | {'ignored', status}.
local id = ARGV[2]
local wk = P .. 'worker:' .. id
local status = redis.call('HGET', wk, 'status')
if not status then
  return { 'missing' }
end
local now = num(now_ms())
if status == 'idle' or ((ARGV[4] == 'drain' or ARGV[4] == 'unused') and (status == 'pending' or status == 'starting')) then
  redis.call('ZREM', P .. 'workers:idle', id)
  redis.call('HSET', wk, 'status', 'terminating', 'updated_at', now, 'last_error', ARGV[3])
  return { 'terminating' }
end
if status == 'running' then
  if ARGV[4] == 'drain' then
    redis.call('HSET', wk, 'draining', '1', 'updated_at', now)
    return { 'draining' }
  end
  return { 'busy' }
end
return { 'ignored', status }
