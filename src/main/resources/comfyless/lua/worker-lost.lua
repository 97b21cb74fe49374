-- KEYS: worker:$2 workers:idle fleet:ledger fleet:runs queue inflight idx:pending idx:running idx:failed expiry events webhooks:due
-- ARGV: prefix, worker id, retention ms, task error JSON (used if the task's attempts are used up), reason,
--       '1' when the task's prompt certainly never reached the worker (its attempt is given back).
-- The worker failed while it was being used (refused the prompt's connection, died mid-task).
-- Returns {task id, 'requeued'|'failed'} when it had a task, else {}.
return lose_worker(ARGV[2], now_ms(), tonumber(ARGV[3]), ARGV[4], ARGV[5], ARGV[6] == '1')
