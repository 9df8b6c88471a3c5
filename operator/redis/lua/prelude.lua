-- ------------------------------------------------------------------ prelude
-- Local aliases of the library functions the scripts use in hot loops: a local is one VM
-- register read, a global `string.sub` two table lookups.
--
-- What a script costs, measured in instructions with callgrind (scripts/bench/engineProfile.ts,
-- PROFILE_CALLGRIND=1), so that hot scripts are written accordingly: an EVALSHA ~10k plus
-- ~3k per key and ~1.2k per argument (+ ~14 per byte); a redis.call 3k (HGET) to 47k (an
-- XADD of 12 fields), writes more than reads (they are also propagated to the AOF); a table
-- ~1.7k; a new string ~1.3k; a closure 0.5-1.3k, created on every call for every `local
-- function` of the script and its helpers; tonumber(s) 1.4k where a validated "%d+" + 0
-- costs 0.7k; a pattern over a 66-character hash ~5k (tonumber(h, 16) 2k).
local s_sub, s_format, s_byte, s_find, s_match, s_gmatch = string.sub, string.format, string.byte, string.find, string.match, string.gmatch
local t_concat = table.concat
local rcall = redis.call
local tonumber, type, pairs, ipairs, unpack = tonumber, type, pairs, ipairs, unpack

-- Lua's C stack bounds unpack() to a few thousand values: long argument lists go to Redis in
-- slices. `stride` keeps field/value pairs together. Returns the concatenated replies of a
-- command that answers a list (HMGET), else the last reply.
local UNPACK_MAX = 4000
local function rcall_list(cmd, key, list, stride)
  local n = #list
  if n <= UNPACK_MAX then return rcall(cmd, key, unpack(list)) end
  local step = UNPACK_MAX - (UNPACK_MAX % (stride or 1))
  local out, last = {}, nil
  for i = 1, n, step do
    last = rcall(cmd, key, unpack(list, i, math.min(n, i + step - 1)))
    if type(last) == "table" then
      for _, v in ipairs(last) do out[#out + 1] = v end
    end
  end
  if type(last) == "table" then return out end
  return last
end
