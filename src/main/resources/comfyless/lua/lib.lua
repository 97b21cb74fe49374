-- Shared by every task script (prepended by RedisScripts). ARGV[1] is the key prefix.
-- Key rule (Redis Cluster): every key is P .. name, and P holds a hash tag ({comfyless}: by default), so all of a
-- deployment's keys are in one slot and a script may touch any of them. Each script's first line declares the keys it
-- can name before running, "-- KEYS: name name:$n ...", $n standing for ARGV[n] (a key whose ARGV is '' is left
-- out); RedisScripts passes them, under the prefix, as KEYS, so that the client sends the script to the node that
-- holds the slot. Keys found only while running (task:<id> read from a zset, fleet:arrivals:<bucket>) cannot be
-- declared: the hash tag keeps them in the same slot. Scripts still build keys from P; KEYS is for routing.
-- RedisScriptsKeysTest checks that every key a script names literally is declared.
-- Keys, all under the prefix:
--   task:<id>     hash, the task (payload kept as the exact JSON text the client sent); while running:
--                 dispatched_at (sent to its worker), started_at (ComfyUI began executing it; unset while the prompt
--                 waits in the worker's queue), worker_done_at (the prompt ended on the worker, which may already run
--                 the next task while this one's outputs are copied)
--   queue         zset of pending ids, score = (10 - priority) * BAND + seq: higher priority first, FIFO within one
--   inflight      zset of claimed ids, score = lease deadline (ms, Redis clock); the task's lease_owner (the process
--                 watching it) renews it while the worker answers, and another process adopts it when it expires
--   seq           counter; the FIFO order and the list cursor
--   idx:all, idx:<status>  zsets of ids by seq, for newest-first listing and counts
--   expiry        zset of terminal ids by the time their retention ends
--   idem:<key>    Idempotency-Key -> task id, 24 h
--   worker:<id>   hash, a worker (a ComfyUI server) and its state
--   workers       zset of all worker ids by creation time
--   workers:idle  zset of idle, healthy workers by last activity: the only workers dispatch may pick
--   fleet:boots:<product>  list, the last 20 boot times (ms, create requested -> first healthy check) of a product
--   fleet:runs    list, the last 200 run times (ms, a worker taking a task -> the task leaving it)
--   fleet:arrivals:<t/10 s>  submits in that 10-second bucket (expire after ~17 min)
--   fleet:products  set of the product ids that have a boot list (the operator's view reads them all, also when
--                 no worker of a product is left)
--   fleet:ledger  hash, per provider: <p>:boots, <p>:boot_ms, <p>:busy_ms, <p>:billed_ms (of workers removed or
--                 runs ended; the live part is added at read time, FleetLedger.report). Static servers are not billed.
--   events:<id>  list, the task's events (see emit): bounded, expiring with the task, readable by every replica;
--                the task's event_seq field counts them
--   events       pub/sub channel (not a key): "<task id> <event id> <type>" after each event, so that open event
--                streams and the events route learn of it without polling
--   webhooks:due  zset of pending webhook deliveries (msg id) by the time they are due; a claimed delivery's score
--                is pushed past its claim timeout, so a replica that dies mid-delivery leaves it due again
--   webhook:<msg>  hash, one delivery: url, task, event id, type, attempts, body (once rendered), last_error
--   webhooks:failed  zset of deliveries whose retries ran out (the dead letters) by the time they gave up
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

-- The fields of a task that every reader gets (what the API shows of it, and what the dispatcher needs besides its
-- payload). Read with HMGET, never HGETALL: a task's payload and base64 inputs can be megabytes, and copying them
-- inside Redis for a GET or for each item of a list page held every other client behind it.
local SUMMARY = { 'id', 'workflow_id', 'status', 'priority', 'seq', 'attempts', 'max_attempts', 'timeout_seconds',
  'created_at', 'updated_at', 'dispatched_at', 'started_at', 'worker_done_at', 'completed_at', 'worker_id',
  'prompt_id', 'lease_until', 'lease_owner', 'progress', 'outputs', 'error' }
local STATUS = 3 -- SUMMARY[STATUS] == 'status': every task has one

-- The task as a flat field/value list: the summary fields, plus those of `with` (a list of more field names, such
-- as 'metadata', 'payload', 'inputs'; nil = none), plus queue_position while pending. false when there is no task.
local function read_task(id, with)
  local names = SUMMARY
  if with and #with > 0 then
    names = {}
    for _, f in ipairs(SUMMARY) do
      names[#names + 1] = f
    end
    for _, f in ipairs(with) do
      names[#names + 1] = f
    end
  end
  local values = redis.call('HMGET', task_key(id), unpack(names))
  if not values[STATUS] then
    return false
  end
  local out = {}
  for i, f in ipairs(names) do
    if values[i] then
      out[#out + 1] = f
      out[#out + 1] = values[i]
    end
  end
  if values[STATUS] == 'pending' then
    local rank = redis.call('ZRANK', P .. 'queue', id)
    if rank then
      out[#out + 1] = 'queue_position'
      out[#out + 1] = tostring(rank + 1)
    end
  end
  return out
end

-- The most recent events kept per task: a progress event is written at most every few seconds, so this holds a long
-- task's whole story; a client resuming after more than this many events gets the oldest kept onwards.
local EVENTS_KEPT = 1000
-- Events a webhook gets unless the task names others: the terminal ones.
local TERMINAL = ',completed,failed,cancelled,'

-- Appends an event of task `id` to its log (type, then `...` as field/value pairs), tells every replica (pub/sub),
-- and queues a webhook delivery when the task has a webhook_url that wants this type. Runs in the same step as the
-- change it tells of, so an event exists exactly when its change does. Returns the event's id, "<ms>-<n>": Redis'
-- clock, and the task's n-th event (n orders them; a reader resumes after it).
-- The log is a list of JSON arrays [id, type, field, value, ...], not a Redis stream: a stream costs ~8 KB per key
-- however short, a list of a few entries a few hundred bytes, and every task has one for its whole retention.
local function emit(id, kind, ...)
  local seq = redis.call('HINCRBY', task_key(id), 'event_seq', 1)
  local eid = num(now_ms()) .. '-' .. seq
  local entry = { eid, kind, ... }
  local log = P .. 'events:' .. id
  redis.call('RPUSH', log, cjson.encode(entry))
  if seq > EVENTS_KEPT then
    redis.call('LTRIM', log, -EVENTS_KEPT, -1)
  end
  local hook = redis.call('HMGET', task_key(id), 'webhook_url', 'webhook_events')
  if hook[1] and hook[1] ~= '' then
    local wanted = hook[2] and (',' .. hook[2] .. ',') or TERMINAL
    if wanted == ',all,' or string.find(wanted, ',' .. kind .. ',', 1, true) then
      local msg = 'msg_' .. id .. '_' .. eid
      local now = num(now_ms())
      redis.call('HSET', P .. 'webhook:' .. msg, 'url', hook[1], 'task', id, 'event', eid, 'type', kind,
        'attempts', 0, 'created_at', now)
      redis.call('ZADD', P .. 'webhooks:due', now, msg)
    end
  end
  redis.call('PUBLISH', P .. 'events', id .. ' ' .. eid .. ' ' .. kind)
  return eid
end

-- The queue position (1 = next) of a pending task, as text, or '' when it is not queued.
local function position(id)
  local rank = redis.call('ZRANK', P .. 'queue', id)
  return rank and tostring(rank + 1) or ''
end

-- One `output` event per stored file of the task (its outputs field, a JSON array), before its terminal event.
local function emit_outputs(id)
  local json = redis.call('HGET', task_key(id), 'outputs')
  if not json or json == '' then
    return
  end
  local ok, outputs = pcall(cjson.decode, json)
  if not ok or type(outputs) ~= 'table' then
    return
  end
  for _, output in ipairs(outputs) do
    if type(output) == 'table' and output.filename then
      emit(id, 'output', 'output', cjson.encode(output))
    end
  end
end

-- What each reader adds to the summary: the API's single task (submit, GET, cancel) shows its metadata; a GET shows
-- the payload too; a task sent to a worker needs its payload and inputs, and nothing the API alone shows.
local WITH_METADATA = { 'metadata' }
local WITH_PAYLOAD = { 'metadata', 'payload' }
local TO_RUN = { 'payload', 'inputs' }

-- A worker whose task ended goes back to the idle set, unless something else (a failure, a deletion) has
-- claimed it meanwhile. A draining worker (an operator asked to delete it) becomes terminating instead. A worker
-- whose last health check failed while it ran becomes idle but stays out of the idle set: dispatch must not pick
-- it until a check passes again (worker-health.lua puts it back), and enough failed checks fail it.
local function free_worker(worker_id, task_id, now)
  if not worker_id or worker_id == '' then
    return
  end
  local wk = P .. 'worker:' .. worker_id
  local w = redis.call('HMGET', wk, 'status', 'current_task', 'draining', 'last_active_at', 'provider', 'health')
  if w[1] == 'running' and w[2] == task_id then
    -- the run time (the worker took the task at last_active_at), for the scaling policy and the GPU-time ledger
    if w[4] and w[4] ~= '' then
      local run = math.max(0, now - tonumber(w[4]))
      redis.call('LPUSH', P .. 'fleet:runs', num(run))
      redis.call('LTRIM', P .. 'fleet:runs', 0, 199)
      redis.call('HINCRBY', P .. 'fleet:ledger', (w[5] or '') .. ':busy_ms', num(run))
    end
    if w[3] == '1' then
      redis.call('HSET', wk, 'status', 'terminating', 'current_task', '', 'last_active_at', num(now),
        'updated_at', num(now))
      return
    end
    redis.call('HSET', wk, 'status', 'idle', 'current_task', '', 'last_active_at', num(now))
    if w[6] ~= 'false' then
      redis.call('ZADD', P .. 'workers:idle', num(now), worker_id)
    end
  end
end

-- A terminal state: out of the queue and the in-flight set, its worker free again, readable until its
-- retention ends. Its input images go now: the API never returns them and no attempt will upload them again
-- (they can be megabytes of base64 per task, kept for the whole retention otherwise). The payload stays, since
-- GET /api/v1/tasks/{id} returns it until the retention ends.
local function finish(id, from, to, now, retention_ms)
  local key = task_key(id)
  local t = redis.call('HMGET', key, 'seq', 'worker_id')
  redis.call('HSET', key, 'status', to, 'completed_at', num(now), 'updated_at', num(now))
  redis.call('HDEL', key, 'lease_until', 'lease_owner', 'inputs')
  redis.call('ZREM', P .. 'queue', id)
  redis.call('ZREM', P .. 'inflight', id)
  reindex(id, t[1], from, to)
  if from == 'running' then
    free_worker(t[2], id, now)
  end
  if to ~= 'cancelled' then
    emit_outputs(id)
  end
  emit(id, to)
  redis.call('PEXPIRE', key, retention_ms)
  redis.call('PEXPIRE', P .. 'events:' .. id, retention_ms)
  redis.call('ZADD', P .. 'expiry', num(now + retention_ms), id)
end

-- A running task whose attempt ended without a result: back to its old place in the queue, or failed with
-- `error_json` when it has been started max_attempts times.
local function release(id, now, retention_ms, error_json)
  local key = task_key(id)
  local t = redis.call('HMGET', key, 'attempts', 'max_attempts', 'priority', 'seq', 'worker_id')
  redis.call('ZREM', P .. 'inflight', id)
  if tonumber(t[1]) >= tonumber(t[2]) then
    redis.call('HSET', key, 'error', error_json)
    finish(id, 'running', 'failed', now, retention_ms)
    return 'failed'
  end
  free_worker(t[5], id, now)
  redis.call('HSET', key, 'status', 'pending', 'updated_at', num(now), 'last_error', error_json)
  redis.call('HDEL', key, 'worker_id', 'lease_until', 'lease_owner', 'prompt_id', 'progress', 'dispatched_at',
    'started_at', 'worker_done_at')
  redis.call('ZADD', P .. 'queue', queue_score(t[3], t[4]), id)
  reindex(id, t[4], 'running', 'pending')
  emit(id, 'requeued', 'position', position(id), 'error', error_json)
  return 'requeued'
end

-- Why `claimer` may not end attempt `prompt_id` of task `id` ('' claimer = anyone may), or nil when it may. The
-- prompt id must be the running attempt's, as in progress.lua: each dispatch gives an attempt a new one, so a late
-- ending of an earlier attempt (even on the same worker) never ends the current one. '' matches only a task
-- claimed without a prompt id (claim.lua).
local function not_held(id, claimer, prompt_id)
  local t = redis.call('HMGET', task_key(id), 'status', 'worker_id', 'prompt_id')
  if t[1] ~= 'running' then
    return t[1] or 'missing'
  end
  if claimer ~= '' and t[2] ~= claimer then
    return 'held by another claimer'
  end
  if (t[3] or '') ~= (prompt_id or '') then
    return 'another attempt'
  end
  return nil
end

-- Takes the best pending task for `claimer` (a worker id, or any claimer's id) and records it in flight with a
-- lease of `lease_ms` held by `owner` (the process that will watch it; nil = none) in the same step.
-- Returns its id, or nil when the queue is empty.
local function claim_next(claimer, lease_ms, now, prompt_id, owner)
  for _ = 1, 100 do
    local popped = redis.call('ZPOPMIN', P .. 'queue', 1)
    if #popped == 0 then
      return nil
    end
    local id = popped[1]
    local key = task_key(id)
    local t = redis.call('HMGET', key, 'status', 'seq')
    if t[1] == 'pending' then
      local deadline = num(now + lease_ms)
      redis.call('HINCRBY', key, 'attempts', 1)
      redis.call('HSET', key, 'status', 'running', 'worker_id', claimer, 'dispatched_at', num(now),
        'updated_at', num(now), 'lease_until', deadline)
      if prompt_id and prompt_id ~= '' then
        redis.call('HSET', key, 'prompt_id', prompt_id)
      end
      if owner and owner ~= '' then
        redis.call('HSET', key, 'lease_owner', owner)
      end
      redis.call('ZADD', P .. 'inflight', deadline, id)
      reindex(id, t[2], 'pending', 'running')
      emit(id, 'running', 'worker', claimer)
      return id
    end
    -- a queue entry without a pending task behind it cannot exist by construction; if one ever does, it is
    -- dropped here so that it can never wedge the queue
  end
  return nil
end

-- A worker that cannot be used any more (dead, unreachable): failed, out of the idle set, and the task it was
-- running goes back to the queue (or fails with task_error_json after max_attempts). With `refund`, the task's
-- prompt certainly never reached the worker (the connection was refused): its attempt is given back, so it goes
-- back to the queue whatever max_attempts says. Returns {task id, 'requeued'|'failed'} when it had a task, else {}.
local function lose_worker(worker_id, now, retention_ms, task_error_json, reason, refund)
  local wk = P .. 'worker:' .. worker_id
  local w = redis.call('HMGET', wk, 'status', 'current_task', 'last_active_at', 'provider')
  if not w[1] then
    return {}
  end
  -- the interrupted run kept the GPU busy until now: its busy time stays in the ledger (the operator's view counts
  -- a running worker's run as busy; without this it would turn into idle). Not a run-time sample: it never ended.
  if w[1] == 'running' and w[3] and w[3] ~= '' then
    redis.call('HINCRBY', P .. 'fleet:ledger', (w[4] or '') .. ':busy_ms', num(math.max(0, now - tonumber(w[3]))))
  end
  redis.call('HSET', wk, 'status', 'failed', 'health', 'false', 'last_error', reason, 'current_task', '',
    'updated_at', num(now))
  redis.call('ZREM', P .. 'workers:idle', worker_id)
  local task = w[2]
  if task and task ~= '' then
    local t = redis.call('HMGET', task_key(task), 'status', 'worker_id')
    if t[1] == 'running' and t[2] == worker_id then
      if refund then
        redis.call('HINCRBY', task_key(task), 'attempts', -1)
      end
      return { task, release(task, now, retention_ms, task_error_json) }
    end
  end
  return {}
end

-- Records that ComfyUI started executing task `id` `ago_ms` before `now`, unless a start is recorded already; never
-- before the task was sent to its worker. `ago_ms` '' or nil: unknown, nothing recorded.
local function record_start(id, now, ago_ms)
  if not ago_ms or ago_ms == '' then
    return false
  end
  local t = redis.call('HMGET', task_key(id), 'started_at', 'dispatched_at')
  if t[1] then
    return false
  end
  redis.call('HSET', task_key(id), 'started_at', num(math.max(now - tonumber(ago_ms), tonumber(t[2] or now))))
  emit(id, 'started')
  return true
end

-- Lets worker `worker_id`, just freed by `free_worker`, take the best pending task in the same step (what the
-- dispatch script would do next, without another round trip). Returns {next task, worker} or nil.
local function take_next(worker_id, now, prompt_id, lease_ms, owner)
  local wk = P .. 'worker:' .. worker_id
  local w = redis.call('HMGET', wk, 'status', 'health')
  -- only a worker dispatch could pick too: an idle one whose health checks pass (see free_worker)
  if w[1] ~= 'idle' or w[2] == 'false' then
    return nil
  end
  local next_id = claim_next(worker_id, lease_ms, now, prompt_id, owner)
  if not next_id then
    return nil
  end
  redis.call('ZREM', P .. 'workers:idle', worker_id)
  redis.call('HSET', wk, 'status', 'running', 'current_task', next_id, 'last_active_at', num(now))
  return { read_task(next_id, TO_RUN), redis.call('HGETALL', wk) }
end

-- Pairs the best pending task with the most recently active idle worker (the dispatch script's step, and a submit's
-- when it may start its task at once): both change state in this one step. Recent workers first, so that the others
-- idle long enough to be scaled down. Idle workers whose endpoints are in `avoid` (a set of `busy` endpoints, busy
-- with other clients' prompts) are taken only when no other is idle.
-- Returns {task with payload, worker fields, 1 if another pair is possible now else 0, pending tasks left}, or
-- {pending tasks} when there is no idle worker, or an empty list when there is no pending task.
local function dispatch_one(lease_ms, prompt_id, owner, avoid, busy)
  local idle = P .. 'workers:idle'
  -- among the most recent idle workers, one more than there are busy endpoints: at least one is not busy if any is
  local pick, fallback
  for _ = 1, 10 do
    local candidates = redis.call('ZREVRANGE', idle, 0, busy)
    if #candidates == 0 then
      return { redis.call('ZCARD', P .. 'queue') }
    end
    local stale = false
    for _, worker_id in ipairs(candidates) do
      local w = redis.call('HMGET', P .. 'worker:' .. worker_id, 'status', 'endpoint')
      if w[1] ~= 'idle' then
        -- an idle-set entry whose worker is no longer idle: dropped so that it can never be picked
        redis.call('ZREM', idle, worker_id)
        stale = true
      elseif not avoid[w[2] or ''] then
        pick = worker_id
        break
      elseif not fallback then
        fallback = worker_id
      end
    end
    if pick or not stale then
      break
    end
  end
  pick = pick or fallback
  if not pick then
    return { redis.call('ZCARD', P .. 'queue') }
  end
  local taken = take_next(pick, now_ms(), prompt_id, lease_ms, owner)
  if not taken then
    return {}
  end
  local pending = redis.call('ZCARD', P .. 'queue')
  local more = 0
  if pending > 0 and redis.call('ZCARD', idle) > 0 then
    more = 1
  end
  return { taken[1], taken[2], more, pending }
end
