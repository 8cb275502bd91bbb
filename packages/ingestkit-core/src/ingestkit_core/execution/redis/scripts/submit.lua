-- Queue a job (idempotent: a job id already queued returns its entry).
-- KEYS: job, queue, queues set, blob. ARGV: job id, processor, blob content ('' when none
-- or already stored), blob TTL, record TTL, field, value, ...
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('HGET', KEYS[1], 'entry') end
if ARGV[3] ~= '' then redis.call('SET', KEYS[4], ARGV[3], 'EX', ARGV[4]) end
redis.call('HSET', KEYS[1], unpack(ARGV, 6))
local entry = redis.call('XADD', KEYS[2], '*', 'job', ARGV[1])
redis.call('HSET', KEYS[1], 'entry', entry)
redis.call('EXPIRE', KEYS[1], ARGV[5])
redis.call('SADD', KEYS[3], ARGV[2])
return entry
