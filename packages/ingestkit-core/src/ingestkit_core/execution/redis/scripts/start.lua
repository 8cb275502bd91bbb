-- Mark a delivered job running under this worker.
-- KEYS: job, history, blob. ARGV: worker, entry, now, default record TTL.
-- Returns {verdict, blob content or false, job fields}; verdicts in broker.StartVerdict.
-- Numbers in the hash are read defensively: a forged hash must not break the script.
local f = redis.call('HMGET', KEYS[1], 'state', 'entry', 'worker', 'attempts', 'max_attempts')
local state = f[1]
if not state then return {'missing'} end
if f[2] ~= ARGV[2] then return {'stale'} end
if state ~= 'queued' and state ~= 'running' then return {'final'} end
local attempts = tonumber(f[4]) or 0
local max_attempts = tonumber(f[5]) or 1
if state == 'running' and f[3] == ARGV[1] then
  return {'run', redis.call('GET', KEYS[3]), redis.call('HGETALL', KEYS[1])}
end
if state == 'running' then
  redis.call('RPUSH', KEYS[2], cjson.encode({attempt = attempts, worker = f[3], outcome = 'lost',
    message = 'worker stopped renewing its lease', ended_at = tonumber(ARGV[3])}))
  redis.call('EXPIRE', KEYS[2], ttl_of(KEYS[1], ARGV[4]))
  if attempts >= max_attempts then
    redis.call('HSET', KEYS[1], 'worker', ARGV[1])
    return {'exhausted', false, redis.call('HGETALL', KEYS[1])}
  end
end
redis.call('HSET', KEYS[1], 'state', 'running', 'attempts', attempts + 1, 'worker', ARGV[1],
  'started_at', ARGV[3])
redis.call('EXPIRE', KEYS[1], ttl_of(KEYS[1], ARGV[4]))
return {'run', redis.call('GET', KEYS[3]), redis.call('HGETALL', KEYS[1])}
