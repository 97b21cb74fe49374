-- KEYS: task:$2 queue inflight idx:pending idx:running idx:failed expiry workers:idle fleet:runs fleet:ledger events webhooks:due
-- ARGV: prefix, id, claimer ('' = any), retention ms, error JSON used if the attempts are used up, prompt id of
--       the attempt to end ('' only for a task claimed without one). A late release of an earlier attempt (the
--       task was requeued and dispatched again meanwhile, maybe to the same worker) is ignored.
-- Returns {'requeued'|'failed'} or {'ignored', why}.
local id = ARGV[2]
local why = not_held(id, ARGV[3], ARGV[6] or '')
if why then
  return { 'ignored', why }
end
return { release(id, now_ms(), tonumber(ARGV[4]), ARGV[5]) }
