-- KEYS: queue inflight idx:pending idx:running events webhooks:due
-- Not used by the service (dispatch.lua pairs a task with a worker); the queue tests use it to take tasks without
-- workers. ARGV: prefix, claimer id, lease ms. Takes the best pending task and records it in flight in the same step.
-- Returns the task (with payload), or an empty list when the queue is empty.
local id = claim_next(ARGV[2], tonumber(ARGV[3]), now_ms(), nil)
if not id then
  return {}
end
return read_task(id, TO_RUN)
