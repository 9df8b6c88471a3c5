-- min_nonce.lua: raises the trader's minimum nonce (Settlement.raiseMinNonce: every order of the
-- trader with a nonce below it is cancelled on chain) and lists the trader's open orders below
-- the minimum, for the engine to cancel. From then on step.lua refuses any new order below it
-- (NONCE_BELOW_MINIMUM), atomically with its lock. Idempotent: a minimum at or below the
-- recorded one changes nothing, and the list is always that of the recorded (highest) minimum,
-- so a call repeated after a crash finds what the first call left uncancelled.
--
-- KEYS (all {t:<chainId>:<trader>}: one trader's account on one chain):
--   1 acct  HASH  the trader's account: "minNonce" -> the minimum nonce (absent: none);
--                 "o:<orderHash>" -> lock record "token|market|rlock|lots|filled|lastFill|nonce|lockId"
--   2 ord   HASH  orderHash -> marketId of each order holding a lock (the open-order index)
-- ARGV:
--   1 minNonce  canonical decimal of at most 78 digits (a uint256)
-- Returns { minNonce, raised, hash1, market1, nonce1, hash2, ... }:
--   minNonce  the recorded minimum after the call (the higher of the old one and ARGV[1])
--   raised    1 if this call raised it, 0 if it was already at least ARGV[1]
--   then, for each order in the open-order index whose nonce is below minNonce (sorted by
--   hash): its hash, market id and nonce.
-- An index entry without its lock record answers an error "LEDGER_INVARIANT ..." (nothing
-- written).

local wanted = ARGV[1]
if #ARGV ~= 1 or not bi_valid(wanted) then return bad_input("minNonce") end

local current = rcall("HGET", KEYS[1], "minNonce")
local raised = not current or bi_cmp(wanted, current) > 0
local min = raised and wanted or current

-- The open orders below the minimum: their nonces are in their lock records.
local below = {}
local index = rcall("HGETALL", KEYS[2])
if #index > 0 then
  local hashes, markets = {}, {}
  for i = 1, #index, 2 do
    hashes[#hashes + 1] = index[i]
    markets[index[i]] = index[i + 1]
  end
  table.sort(hashes)
  local fields = {}
  for i = 1, #hashes do fields[i] = "o:" .. hashes[i] end
  local recs = rcall_list("HMGET", KEYS[1], fields)
  for i = 1, #hashes do
    local rec = recs[i]
    if not rec then return redis.error_reply("LEDGER_INVARIANT open order " .. hashes[i] .. " has no lock record") end
    local nonce = s_match(rec, "|(%d+)|[^|]*$")
    if not nonce then return redis.error_reply("LEDGER_INVARIANT bad lock record " .. hashes[i]) end
    if bi_cmp(nonce, min) < 0 then
      below[#below + 1] = hashes[i]
      below[#below + 1] = markets[hashes[i]]
      below[#below + 1] = nonce
    end
  end
end

if raised then rcall("HSET", KEYS[1], "minNonce", min) end
local out = { min, raised and 1 or 0 }
for i = 1, #below do out[#out + 1] = below[i] end
return out
