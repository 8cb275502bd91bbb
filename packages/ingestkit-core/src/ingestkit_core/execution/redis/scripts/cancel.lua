-- Cancel a job: a queued one leaves its queue; a running one is stopped by its worker's
-- next heartbeat (renew answers 'drop').
-- KEYS: job, history, retry, done, blob. ARGV: job id, result, now, default record TTL, queue key
-- prefix, only queued ('1' to leave running jobs alone, as `queue purge` does).
-- Returns 1 (cancelled), 0 (already final, or running with only queued) or -1 (unknown).
local f = redis.call('HMGET', KEYS[1], 'state', 'processor', 'entry')
if not f[1] then return -1 end
if f[1] ~= 'queued' and f[1] ~= 'running' then return 0 end
if f[1] == 'running' and ARGV[6] == '1' then return 0 end
if f[1] == 'queued' then
  if f[2] and f[3] then redis.call('XDEL', ARGV[5] .. f[2], f[3]) end
  redis.call('ZREM', KEYS[3], ARGV[1])
end
redis.call('HSET', KEYS[1], 'state', 'cancelled', 'result', ARGV[2], 'finished_at', ARGV[3])
local ttl = ttl_of(KEYS[1], ARGV[4])
redis.call('EXPIRE', KEYS[1], ttl)
redis.call('EXPIRE', KEYS[2], ttl)
redis.call('DEL', KEYS[5])
redis.call('XADD', KEYS[4], 'MAXLEN', '~', DONE_MAXLEN, '*', 'job_id', ARGV[1], 'state', 'cancelled')
return 1
