-- KEYS: task:$2 queue inflight idx:pending idx:running idx:failed expiry workers:idle fleet:runs fleet:ledger
-- ARGV: prefix, id, claimer ('' = any), retention ms, error JSON used if the attempts are used up.
-- Returns {'requeued'|'failed'} or {'ignored', why}.
local id = ARGV[2]
local why = not_held(id, ARGV[3])
if why then
  return { 'ignored', why }
end
return { release(id, now_ms(), tonumber(ARGV[4]), ARGV[5]) }
