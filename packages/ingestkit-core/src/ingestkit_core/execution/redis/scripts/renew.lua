-- Renew the leases of the jobs a worker holds.
-- KEYS: (queue, job) pairs. ARGV: worker, entry per pair. Returns ok | lost | drop per pair.
local out = {}
for i = 1, #KEYS / 2 do
  local queue, job, entry = KEYS[2 * i - 1], KEYS[2 * i], ARGV[i + 1]
  if not mine(queue, entry, ARGV[1]) then
    out[i] = 'lost'
  else
    redis.call('XCLAIM', queue, 'workers', ARGV[1], 0, entry, 'JUSTID')
    local f = redis.call('HMGET', job, 'state', 'worker')
    if f[1] == 'running' and f[2] == ARGV[1] then out[i] = 'ok' else out[i] = 'drop' end
  end
end
return out
