-- lock.lua: charges the trader's "place" rate bucket and locks the funds of each of the
-- trader's new orders, in one round trip and one slot.
--
-- KEYS (all {t:<trader>}):
--   1 bal     HASH   balances, "<token>:a|l|o|i"
--   2 ord     HASH   orderHash -> lock record "market|token|rlock|lots|filled|lastFill|nonce"
--   3 nonce   HASH   nonce -> orderHash
--   4 pend    HASH   orderHash -> signed order payload (crash-recovery record)
--   5 bucket  STRING place rate bucket "millitokens|ms"
-- ARGV:
--   1 now        caller's clock, unix ms
--   2 capacity   bucket capacity in orders ("0": no limit)
--   3 refill     orders per second returned to the bucket
--   4 n          number of orders, followed by 7 fields per order, in arrival order:
--                hash, nonce (decimal), marketId, lockToken, lockAtoms (decimal > 0), lots, payload
-- Returns a flat array with two entries per order, `code, detail`:
--   "OK", ""                             the lock is in place (with its record, nonce and payload)
--   "RATE_LIMITED", "<ms until a token>"
--   "DUPLICATE_ORDER", "<hash that used the nonce>"
--   "INSUFFICIENT_FUNDS", "<available atoms>"
-- Idempotent under replay: an order already locked whose match is not yet confirmed (its
-- payload is still in `pend`) answers OK again without locking twice or taking a token, so a
-- call resent after a dropped connection is harmless.
-- An order is checked against the balances as left by the orders before it in the call; a
-- rejected order changes nothing but the bucket.

local now = int_arg(ARGV[1], 0, MAX_SAFE)
local capacity = int_arg(ARGV[2], 0, 1000000000)
local refill = int_arg(ARGV[3], 0, 1000000000)
local n = int_arg(ARGV[4], 0, 10000)
if not now or not capacity or not refill or not n then return bad_input("now/capacity/refill/n") end
if #ARGV ~= 4 + 7 * n then return bad_input("ARGV length") end

local orders = {}
for i = 1, n do
  local b = 4 + 7 * (i - 1)
  local o = {
    hash = ARGV[b + 1], nonce = ARGV[b + 2], market = ARGV[b + 3], token = ARGV[b + 4],
    atoms = ARGV[b + 5], lots = ARGV[b + 6], payload = ARGV[b + 7],
  }
  if not is_hash32(o.hash) then return bad_input("hash #" .. i) end
  if not bi_valid(o.nonce) then return bad_input("nonce #" .. i) end
  if not int_arg(o.market, 0, 65535) then return bad_input("market #" .. i) end
  if not is_address(o.token) then return bad_input("token #" .. i) end
  if not bi_valid(o.atoms) or o.atoms == "0" then return bad_input("lockAtoms #" .. i) end
  if not int_arg(o.lots, 1, MAX_SAFE) then return bad_input("lots #" .. i) end
  if #o.payload == 0 then return bad_input("payload #" .. i) end
  orders[i] = o
end

-- ---- checks, against cached state; nothing is written until every order is decided
bal_key = KEYS[1]
local limited = capacity > 0
local tokens = 0
if limited then tokens = bucket_load(KEYS[5], now, capacity, refill) end
local out = {}
local ord_args, nonce_args, pend_args = {}, {}, {}
local seen_nonce = {}
local bucket_changed = false

for i = 1, n do
  local o = orders[i]
  local used = seen_nonce[o.nonce] or redis.call("HGET", KEYS[3], o.nonce)
  if used and used == o.hash and not seen_nonce[o.nonce] and redis.call("HEXISTS", KEYS[4], o.hash) == 1 then
    out[#out + 1] = "OK" -- replay of a lock whose match is not confirmed yet
    out[#out + 1] = ""
  elseif limited and tokens < 1000 then
    out[#out + 1] = "RATE_LIMITED"
    out[#out + 1] = tostring(bucket_wait(tokens, refill))
  else
    if limited then
      tokens = tokens - 1000
      bucket_changed = true
    end
    if used then
      out[#out + 1] = "DUPLICATE_ORDER"
      out[#out + 1] = used
    else
      local field = o.token .. ":a"
      local available = bal_get(field)
      if bi_cmp(available, o.atoms) < 0 then
        out[#out + 1] = "INSUFFICIENT_FUNDS"
        out[#out + 1] = available
      else
        bal_set(field, bi_sub(available, o.atoms))
        bal_add(o.token .. ":l", o.atoms)
        seen_nonce[o.nonce] = o.hash
        ord_args[#ord_args + 1] = o.hash
        ord_args[#ord_args + 1] = table.concat({ o.market, o.token, o.atoms, o.lots, "0", "0", o.nonce }, "|")
        nonce_args[#nonce_args + 1] = o.nonce
        nonce_args[#nonce_args + 1] = o.hash
        pend_args[#pend_args + 1] = o.hash
        pend_args[#pend_args + 1] = o.payload
        out[#out + 1] = "OK"
        out[#out + 1] = ""
      end
    end
  end
end

-- ---- writes
bal_flush()
if #ord_args > 0 then
  redis.call("HSET", KEYS[2], unpack(ord_args))
  redis.call("HSET", KEYS[3], unpack(nonce_args))
  redis.call("HSET", KEYS[4], unpack(pend_args))
end
if bucket_changed then bucket_store(KEYS[5], tokens, now, capacity, refill) end
return out
