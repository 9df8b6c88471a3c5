-- snapshot.lua (read-only): the best price levels of a market's book, both sides at once.
--
-- KEYS (all {m:<id>}): 1 bids ZSET, 2 asks ZSET, 3 depth HASH
-- ARGV: 1 levels per side (1..1000)
-- Returns { bids, asks }, each a flat list "ticks, lots" best first (lots as decimal strings).

local levels = int_arg(ARGV[1], 1, 1000)
if not levels then return bad_input("levels") end
local function side(key, letter, reverse)
  local ticks
  if reverse then
    ticks = rcall("ZREVRANGE", key, 0, levels - 1)
  else
    ticks = rcall("ZRANGE", key, 0, levels - 1)
  end
  local out = {}
  if #ticks == 0 then return out end
  local fields = {}
  for i, t in ipairs(ticks) do fields[i] = letter .. ":" .. t end
  local depth = rcall_list("HMGET", KEYS[3], fields)
  for i, t in ipairs(ticks) do
    out[#out + 1] = t
    out[#out + 1] = depth[i] or "0"
  end
  return out
end
return { side(KEYS[1], "b", true), side(KEYS[2], "s", false) }
