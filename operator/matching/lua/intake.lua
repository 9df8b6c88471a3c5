-- intake.lua: records a market's incoming orders before their funds are locked: the payload
-- (the signed order, kept for settlement) and the order's hash in the market's inbox. An inbox
-- entry is the crash-recovery record of an order: it leaves the inbox only once the market has
-- processed the order (match.lua) or the engine has settled that it will not be (lock refused,
-- or lock released after the market refused it). See operator/matching/recovery.ts.
--
-- KEYS (all {m:<id>}): 1 payloads HASH orderHash -> payload, 2 inbox SET of order hashes
-- ARGV: pairs orderHash, payload
-- Returns the number of orders recorded. A payload already stored is kept (a duplicate
-- submission never replaces the signed order of a live one). Idempotent.

if #ARGV == 0 or #ARGV % 2 ~= 0 then return bad_input("ARGV pairs") end
local hashes = {}
for i = 1, #ARGV, 2 do
  if not is_hash32(ARGV[i]) or #ARGV[i + 1] == 0 then return bad_input("pair #" .. ((i + 1) / 2)) end
  hashes[#hashes + 1] = ARGV[i]
end
local existing = rcall_list("HMGET", KEYS[1], hashes)
local args = {}
for i, hash in ipairs(hashes) do
  if not existing[i] then
    args[#args + 1] = hash
    args[#args + 1] = ARGV[2 * i]
  end
end
if #args > 0 then rcall_list("HSET", KEYS[1], args, 2) end
rcall_list("SADD", KEYS[2], hashes)
return #hashes
