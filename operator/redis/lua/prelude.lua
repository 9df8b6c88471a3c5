-- ------------------------------------------------------------------ prelude
-- Local aliases of the library functions the scripts use in hot loops: a local is one VM
-- register read, a global `string.sub` two table lookups.
local s_sub, s_format, s_byte, s_find, s_match, s_gmatch = string.sub, string.format, string.byte, string.find, string.match, string.gmatch
local t_concat = table.concat
local rcall = redis.call

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
