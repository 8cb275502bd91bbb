-- Publish a run's outcome: done (succeeded/failed), retry later, or dead-letter.
-- KEYS: queue, job, history, done, dead, retry, blob.
-- ARGV: worker, entry, outcome (done|retry|dead), state, result, record, now, due, job id,
--       dead-letter spec, error code, default record TTL.
-- Returns lost (lease gone) | dropped (cancelled meanwhile) | retry | done.
if not mine(KEYS[1], ARGV[2], ARGV[1]) then return 'lost' end
redis.call('XACK', KEYS[1], 'workers', ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
local f = redis.call('HMGET', KEYS[2], 'state', 'worker', 'attempts')
if f[1] ~= 'running' or f[2] ~= ARGV[1] then return 'dropped' end
redis.call('RPUSH', KEYS[3], ARGV[6])
local ttl = ttl_of(KEYS[2], ARGV[12])
redis.call('EXPIRE', KEYS[2], ttl)
redis.call('EXPIRE', KEYS[3], ttl)
if ARGV[3] == 'retry' then
  redis.call('HSET', KEYS[2], 'state', 'queued', 'worker', '')
  redis.call('ZADD', KEYS[6], ARGV[8], ARGV[9])
  return 'retry'
end
redis.call('HSET', KEYS[2], 'state', ARGV[4], 'result', ARGV[5], 'finished_at', ARGV[7])
if ARGV[3] == 'dead' then
  -- the inline content stays until its own TTL, so `queue retry` can run the job again
  local history = redis.call('LRANGE', KEYS[3], 0, -1)
  redis.call('XADD', KEYS[5], 'MAXLEN', '~', DEAD_MAXLEN, '*', 'job_id', ARGV[9], 'spec', ARGV[10],
    'attempts', f[3] or '0', 'code', ARGV[11], 'dead_at', ARGV[7],
    'history', '[' .. table.concat(history, ',') .. ']')
else
  redis.call('DEL', KEYS[7])
end
redis.call('XADD', KEYS[4], 'MAXLEN', '~', DONE_MAXLEN, '*', 'job_id', ARGV[9], 'state', ARGV[4])
return 'done'
