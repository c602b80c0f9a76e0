-- Move one grant's unit entries "<id>.<i>" to now in every limit log (never earlier).
-- The request was answered (or failed) by now, so the provider saw it at some moment in
-- [grant, now]; counted at now, no window the provider measures can hold more than the
-- limit, whatever happened between the grant and the send. See docs/ratelimit.md.
--
-- KEYS[1..] one zset per limit (the same keys acquire.lua writes for this grant)
-- ARGV: now ("" = Redis server TIME), grant id, cost, then per key: window + slack (us)

local now
if ARGV[1] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
else
  now = tonumber(ARGV[1])
end
local id = ARGV[2]
local cost = tonumber(ARGV[3])
local function fmt(x) return string.format('%.0f', x) end

for k, key in ipairs(KEYS) do
  local keep = tonumber(ARGV[3 + k])
  local i = 1
  while i <= cost do
    local args = {'GT'}
    for j = i, math.min(cost, i + 499) do
      args[#args + 1] = fmt(now)
      args[#args + 1] = id .. '.' .. j
    end
    redis.call('ZADD', key, unpack(args))
    i = i + 500
  end
  local last = redis.call('ZREVRANGE', key, 0, 0, 'WITHSCORES')
  redis.call('PEXPIRE', key, fmt(math.ceil((tonumber(last[2]) - now + keep) / 1000) + 1000))
end
return 1
