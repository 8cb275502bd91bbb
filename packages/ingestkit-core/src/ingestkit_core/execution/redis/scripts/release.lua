-- Hand a running job back to its queue without using up an attempt (worker stopping).
-- KEYS: queue, job, history. ARGV: worker, entry, record, job id.
-- Returns lost | dropped | released.
if not mine(KEYS[1], ARGV[2], ARGV[1]) then return 'lost' end
redis.call('XACK', KEYS[1], 'workers', ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
local f = redis.call('HMGET', KEYS[2], 'state', 'worker', 'attempts')
if f[1] ~= 'running' or f[2] ~= ARGV[1] then return 'dropped' end
redis.call('RPUSH', KEYS[3], ARGV[3])
local attempts = tonumber(f[3]) or 1
local entry = redis.call('XADD', KEYS[1], '*', 'job', ARGV[4])
redis.call('HSET', KEYS[2], 'state', 'queued', 'worker', '', 'entry', entry, 'attempts', math.max(0, attempts - 1))
return 'released'
