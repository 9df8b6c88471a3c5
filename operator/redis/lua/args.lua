-- ------------------------------------------------------------------ argument helpers
-- Scripts validate every KEYS / ARGV value before their first write (Redis never rolls a
-- script back). Integers that Lua handles as numbers must stay below 2^53.

local MAX_SAFE = 9007199254740991

-- The integer value of decimal string s if min <= s <= max (max <= 2^53 - 1), else nil.
local function int_arg(s, min, max)
  if type(s) ~= "string" or #s == 0 or #s > 16 or s_find(s, "^%d+$") == nil then return nil end
  local n = tonumber(s)
  if n < min or n > max then return nil end
  return n
end

local function is_hash32(s)
  return type(s) == "string" and #s == 66 and s_find(s, "^0x%x+$") ~= nil
end

-- Lower-case addresses only: one trader, one spelling, one key.
local function is_address(s)
  return type(s) == "string" and #s == 42 and s_find(s, "^0x[0-9a-f]+$") ~= nil
end

local function bad_input(what)
  return redis.error_reply("BAD_INPUT " .. what)
end
