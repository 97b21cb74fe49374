-- KEYS: workers:idle queue inflight idx:pending idx:running events webhooks:due
-- ARGV: prefix, lease ms, prompt id for ComfyUI, lease owner (the process that sends and watches the prompt), then
--       the endpoints of idle workers that are busy with other clients' prompts (taken only when no other is idle).
-- Pairs the best pending task with the most recently active idle worker (dispatch_one in lib.lua): the task becomes
-- running on that worker (with a lease and the prompt id it will be sent under), the worker running with that task.
-- Returns what dispatch_one returns.
local avoid, busy = {}, 0
for i = 5, #ARGV do
  avoid[ARGV[i]] = true
  busy = busy + 1
end
return dispatch_one(tonumber(ARGV[2]), ARGV[3], ARGV[4], avoid, busy)
