-- Move due retries back into their queues.
-- KEYS: retry. ARGV: now, limit, job key prefix, queue key prefix. Returns how many.
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[1], id)
  local job = ARGV[3] .. id
  local f = redis.call('HMGET', job, 'state', 'processor')
  if f[1] == 'queued' and f[2] then
    redis.call('HSET', job, 'entry', redis.call('XADD', ARGV[4] .. f[2], '*', 'job', id))
  end
end
return #ids
