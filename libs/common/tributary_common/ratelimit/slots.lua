-- Concurrency slots of one provider as leases: a zset holder -> expiry (microseconds).
--
-- KEYS[1] slots zset {ns:p}:slots
-- KEYS[2] sequence   {ns:p}:seq (spreads the retry times of refused holders)
-- ARGV: op (acquire | renew | release), now ("" = Redis server TIME), holder, ttl,
--       capacity ("" = no cap), retry base, retry spread step
-- Returns {allowed 0|1, retry_at or expiry (us)}.

local now
if ARGV[2] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
else
  now = tonumber(ARGV[2])
end
local op, holder, ttl = ARGV[1], ARGV[3], tonumber(ARGV[4])
local function fmt(x) return string.format('%.0f', x) end
-- The key lives as long as its longest lease.
local function keep()
  local last = redis.call('ZREVRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  if #last > 0 then
    redis.call('PEXPIRE', KEYS[1], fmt(math.ceil((tonumber(last[2]) - now) / 1000) + 1000))
  end
end

-- A holder whose lease ran out (killed worker) loses its slot here.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', fmt(now))

if op == 'release' then
  redis.call('ZREM', KEYS[1], holder)
  return {1, now}
end

local expires = now + ttl
local held = redis.call('ZSCORE', KEYS[1], holder)
if op == 'renew' then
  if not held then return {0, now} end
  redis.call('ZADD', KEYS[1], fmt(expires), holder)
  keep()
  return {1, expires}
end

if held or ARGV[5] == '' or redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[5]) then
  redis.call('ZADD', KEYS[1], fmt(expires), holder)
  keep()
  return {1, expires}
end
-- How long the current holders keep their slots is unknown (they renew), so refused
-- holders come back after the base wait, each one step later than the previous one
-- (cycling over 40 steps) rather than all together.
local n = redis.call('INCR', KEYS[2])
return {0, now + tonumber(ARGV[6]) + (n % 40) * tonumber(ARGV[7])}
