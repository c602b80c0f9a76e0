-- Put the provider (field "*") or one account (field "a:<account>") in cooldown.
-- A later `until` wins; expired fields are pruned so the hash stays small.
--
-- KEYS[1] cooldown hash {ns:p}:cool
-- ARGV: now ("" = Redis server TIME), field, until (us), reason

local now
if ARGV[1] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
else
  now = tonumber(ARGV[1])
end
local untl = tonumber(ARGV[3])

local latest = untl
local flat = redis.call('HGETALL', KEYS[1])
for i = 1, #flat, 2 do
  local at = tonumber(string.match(flat[i + 1], '^(%d+)|'))
  if at <= now then
    redis.call('HDEL', KEYS[1], flat[i])
  else
    if flat[i] == ARGV[2] and at >= untl then return 0 end
    if at > latest then latest = at end
  end
end
if untl <= now then return 0 end
redis.call('HSET', KEYS[1], ARGV[2], string.format('%.0f', untl) .. '|' .. ARGV[4])
redis.call('PEXPIRE', KEYS[1], string.format('%.0f', math.ceil((latest - now) / 1000) + 1000))
return 1
