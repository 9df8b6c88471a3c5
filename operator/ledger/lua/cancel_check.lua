-- cancel_check.lua: charges the trader's "cancel" rate bucket and finds, for each order hash,
-- the market of the trader's open lock, in one round trip and one slot.
--
-- KEYS (all {t:<trader>}):
--   1 bucket  STRING cancel rate bucket "millitokens|ms"
--   2 ord     HASH   orderHash -> lock record "market|token|rlock|lots|filled|lastFill|nonce"
-- ARGV:
--   1 now       caller's clock, unix ms
--   2 capacity  bucket capacity in cancel requests ("0": no limit)
--   3 refill    requests per second returned to the bucket
--   4 cost      tokens this request takes (1 per order hash; 1 for cancel-all)
--   5.. order hashes
-- Returns { allowed (1|0), msUntilAllowed, market id or "" per hash }. When not allowed the
-- bucket is unchanged; "" means the trader holds no lock for that hash (not its order, or no
-- longer open).

local now = int_arg(ARGV[1], 0, MAX_SAFE)
local capacity = int_arg(ARGV[2], 0, 1000000000)
local refill = int_arg(ARGV[3], 0, 1000000000)
local cost = int_arg(ARGV[4], 0, 1000000)
if not now or not capacity or not refill or not cost then return bad_input("now/capacity/refill/cost") end
for i = 5, #ARGV do
  if not is_hash32(ARGV[i]) then return bad_input("hash #" .. (i - 4)) end
end

local markets = {}
for i = 5, #ARGV do
  local v = redis.call("HGET", KEYS[2], ARGV[i])
  markets[#markets + 1] = v and string.match(v, "^(%d+)|") or ""
end

if capacity > 0 and cost > 0 then
  local tokens = bucket_load(KEYS[1], now, capacity, refill)
  if tokens < cost * 1000 then
    local wait = -1
    if refill > 0 then wait = math.ceil((cost * 1000 - tokens) / refill) end
    return { 0, wait, markets }
  end
  bucket_store(KEYS[1], tokens - cost * 1000, now, capacity, refill)
end
return { 1, 0, markets }
