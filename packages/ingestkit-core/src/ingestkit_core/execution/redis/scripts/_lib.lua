-- Shared by every script (prepended when loaded). "mine": the stream entry is in the
-- group's pending list under this worker's name, i.e. the worker still holds the lease.
local DONE_MAXLEN = 100000
local DEAD_MAXLEN = 100000

-- The job's own record TTL (set by its client) when it is a positive number, else the default.
local function ttl_of(job, default)
  local ttl = tonumber(redis.call('HGET', job, 'ttl'))
  if ttl and ttl >= 1 then return math.floor(ttl) end
  return default
end

local function mine(stream, entry, worker)
  local p = redis.call('XPENDING', stream, 'workers', entry, entry, 1)
  return #p == 1 and p[1][2] == worker
end
