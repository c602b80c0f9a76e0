-- Take `cost` permits from every limit of one (provider, account), or none.
-- Sliding-window log with reservations; see docs/ratelimit.md for the proof sketch.
--
-- KEYS[1] cooldown hash   {ns:p}:cool   fields "*" (provider) and "a:<account>"
-- KEYS[2] sequence        {ns:p}:seq
-- KEYS[3] reservation pool (zset "<id>:<units>" -> time), per account or per provider
-- KEYS[4..] one zset per limit: unit members "<id>.<i>" scored by grant/reserved time
-- ARGV: now ("" = Redis server TIME), cost, account cooldown field, claim tolerance,
--       limit count, then per limit: units, window, slack, scope name
-- Every time is an integer number of microseconds: scores stay exact (< 2^53) and the
-- window arithmetic agrees bit for bit with the memory backend and the tests.
-- Returns {allowed 0|1, retry_at (us), scope, grant id (granted only; see settle.lua)}.

local now
if ARGV[1] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
else
  now = tonumber(ARGV[1])
end
local cost = tonumber(ARGV[2])
local account_field = ARGV[3]
local tolerance = tonumber(ARGV[4])
local count = tonumber(ARGV[5])

-- Scores and bounds go to Redis as integer strings (Lua would print 14 digits).
local function fmt(x) return string.format('%.0f', x) end

local limits = {}
local horizon = 0
for i = 1, count do
  local b = 5 + (i - 1) * 4
  local l = {
    key = KEYS[3 + i],
    units = tonumber(ARGV[b + 1]),
    window = tonumber(ARGV[b + 2]),
    slack = tonumber(ARGV[b + 3]),
    scope = ARGV[b + 4],
  }
  limits[i] = l
  if l.window + l.slack > horizon then horizon = l.window + l.slack end
  -- Entries older than window + slack constrain neither the check nor the schedule.
  redis.call('ZREMRANGEBYSCORE', l.key, '-inf', fmt(now - l.window - l.slack))
end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', fmt(now - horizon))


-- ZADD/ZREM of `units` members "<id>.<i>", in chunks to stay under Lua's unpack limit.
local function members(cmd, key, id, units, score)
  local i, changed = 1, 0
  while i <= units do
    local args = {}
    for j = i, math.min(units, i + 499) do
      if score then args[#args + 1] = fmt(score) end
      args[#args + 1] = id .. '.' .. j
    end
    changed = changed + redis.call(cmd, key, unpack(args))
    i = i + 500
  end
  return changed
end

local function expire(key, latest, keep)
  redis.call('PEXPIRE', key, fmt(math.ceil((latest - now + keep) / 1000) + 1000))
end

-- A caller whose reservation is due (or due within `tolerance`) claims it: the held
-- units are released and, in the limits that held them, it goes before newcomers.
local held = {}
local due = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', fmt(now + tolerance), 'LIMIT', 0, 1)
if #due > 0 then
  local id, units = string.match(due[1], '^(%d+):(%d+)$')
  redis.call('ZREM', KEYS[3], due[1])
  for _, l in ipairs(limits) do
    held[l.key] = members('ZREM', l.key, id, tonumber(units), nil) > 0
  end
end

local bound, scope = now, nil
local cool = redis.call('HMGET', KEYS[1], '*', account_field)
for i, value in ipairs(cool) do
  if value then
    local untl = tonumber(string.match(value, '^(%d+)|'))
    if untl > bound then
      bound = untl
      scope = (i == 1) and 'cooldown:provider' or 'cooldown:account'
    end
  end
end

if scope == nil then
  for _, l in ipairs(limits) do
    -- The window ending now must have room. A newcomer must also leave room for the
    -- reservations ahead (so a deferred job is not overtaken and deferred again):
    -- counting everything in (now - window, now + window) covers every window that
    -- contains now. A caller holding a due reservation is served first.
    local upto = held[l.key] and fmt(now) or '(' .. fmt(now + l.window)
    local used = redis.call('ZCOUNT', l.key, '(' .. fmt(now - l.window), upto)
    if used + cost > l.units then
      scope = l.scope
      break
    end
  end
end

if scope == nil then
  local id = redis.call('INCR', KEYS[2])
  for _, l in ipairs(limits) do
    members('ZADD', l.key, id, cost, now)
    local last = redis.call('ZREVRANGE', l.key, 0, 0, 'WITHSCORES')
    expire(l.key, tonumber(last[2]), l.window + l.slack)
  end
  return {1, now, '', id}
end

-- Refused: reserve the earliest time every limit can take `cost` more units after all
-- existing grants and reservations (each limit's log stays a valid schedule), at least
-- window/units after the latest entry so refused callers get distinct times.
local tails = {}
for _, l in ipairs(limits) do
  local t = now
  local last = redis.call('ZREVRANGE', l.key, 0, 0, 'WITHSCORES')
  if #last > 0 then t = math.max(t, tonumber(last[2]) + math.max(1, math.floor(l.window / l.units))) end
  local nth = redis.call('ZREVRANGE', l.key, l.units - cost, l.units - cost, 'WITHSCORES')
  if #nth > 0 then t = math.max(t, tonumber(nth[2]) + l.window + l.slack) end
  tails[l.key] = t
  if t > bound then
    bound = t
    scope = l.scope
  end
end

-- With no limit to space them (cooldown only), keep reservations 1 ms apart.
if count == 0 then
  local latest = redis.call('ZREVRANGE', KEYS[3], 0, 0, 'WITHSCORES')
  if #latest > 0 then bound = math.max(bound, tonumber(latest[2]) + 1000) end
end

-- When the wait comes from this account (its own limit or cooldown), writing the
-- reservation into the shared provider logs would leave a gap there that pushes every
-- other account's reservations back; the account competes for provider permits again
-- when it returns instead.
local account_bound = scope == 'cooldown:account' or string.sub(scope, 1, 8) == 'account:'
local id = redis.call('INCR', KEYS[2])
for _, l in ipairs(limits) do
  if tails[l.key] >= bound or string.sub(l.scope, 1, 8) == 'account:' or not account_bound then
    members('ZADD', l.key, id, cost, bound)
    expire(l.key, bound, l.window + l.slack)
  end
end
redis.call('ZADD', KEYS[3], fmt(bound), id .. ':' .. cost)
expire(KEYS[3], bound, horizon)
return {0, bound, scope}
