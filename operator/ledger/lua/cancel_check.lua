-- cancel_check.lua: charges the trader's "cancel" rate bucket and finds the trader's orders to
-- cancel among its own locks, in one round trip and one slot.
--
-- KEYS (all {t:<chainId>:<trader>}: one trader's account on one chain):
--   1 bucket  STRING cancel rate bucket "millitokens|ms"
--   2 ord     HASH   orderHash -> marketId of each order holding a lock (the open-order index)
-- ARGV:
--   1 now       caller's clock, unix ms
--   2 capacity  bucket capacity in cancel requests ("0": no limit)
--   3 refill    requests per second returned to the bucket
--   4 cost      tokens this request takes
--   5 mode      "hashes": ARGV[6..] are order hashes; "market": ARGV[6] is a market id
--   6.. order hashes, or the market id
-- Returns { allowed (1|0), msUntilAllowed, list }:
--   mode hashes: list = the market id of the trader's lock for each hash, "" when the trader
--                holds none (not its order, or no longer open)
--   mode market: list = the hashes of the trader's locked orders in that market
-- When not allowed the bucket is unchanged and the list is empty.

local now = int_arg(ARGV[1], 0, MAX_SAFE)
local capacity = int_arg(ARGV[2], 0, 1000000000)
local refill = int_arg(ARGV[3], 0, 1000000000)
local cost = int_arg(ARGV[4], 0, 1000000)
local mode = ARGV[5]
if not now or not capacity or not refill or not cost then return bad_input("now/capacity/refill/cost") end
if mode == "hashes" then
  for i = 6, #ARGV do
    if not is_hash32(ARGV[i]) then return bad_input("hash #" .. (i - 5)) end
  end
elseif mode == "market" then
  if #ARGV ~= 6 or not int_arg(ARGV[6], 0, 65535) then return bad_input("market") end
else
  return bad_input("mode")
end

if capacity > 0 and cost > 0 then
  local tokens = bucket_load(KEYS[1], now, capacity, refill)
  if tokens < cost * 1000 then
    local wait = -1
    if refill > 0 then wait = math.ceil((cost * 1000 - tokens) / refill) end
    return { 0, wait, {} }
  end
  bucket_store(KEYS[1], tokens - cost * 1000, now, capacity, refill)
end

local list = {}
if mode == "hashes" then
  if #ARGV >= 6 then
    local hashes = {}
    for i = 6, #ARGV do hashes[#hashes + 1] = ARGV[i] end
    local vals = rcall_list("HMGET", KEYS[2], hashes)
    for i = 6, #ARGV do
      local v = vals[i - 5]
      list[#list + 1] = v or ""
    end
  end
else
  local all = rcall("HGETALL", KEYS[2])
  for i = 1, #all, 2 do
    if all[i + 1] == ARGV[6] then list[#list + 1] = all[i] end
  end
  table.sort(list)
end
return { 1, 0, list }
