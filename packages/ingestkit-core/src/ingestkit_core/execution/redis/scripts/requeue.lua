-- Put a dead letter back in its queue with fresh attempts.
-- KEYS: dead, job, history, queues set. ARGV: dead entry, job id, processor, queue key,
-- record, record TTL, field, value, ... Returns 1, or 0 when the dead letter is gone.
if redis.call('XDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[2], unpack(ARGV, 7))
redis.call('HSET', KEYS[2], 'state', 'queued', 'attempts', 0, 'worker', '')
redis.call('RPUSH', KEYS[3], ARGV[5])
local ttl = ttl_of(KEYS[2], ARGV[6])
redis.call('EXPIRE', KEYS[2], ttl)
redis.call('EXPIRE', KEYS[3], ttl)
redis.call('HSET', KEYS[2], 'entry', redis.call('XADD', ARGV[4], '*', 'job', ARGV[2]))
redis.call('SADD', KEYS[4], ARGV[3])
return 1
