-- cancel.lua: closes resting orders of a market: a trader's listed orders, all of a trader's
-- orders, or the orders whose expiry has passed (sweep).
--
-- KEYS (all {m:<id>}):
--   1 state  HASH (fill / close counters)   2 orders  HASH   3 bids  4 asks  5 depth
--   6 expiry ZSET   (the book's: prefix .. name)
--   7 closed STREAM  8 done LIST  (the journal's, operator/journal)
--   Level lists are built from the prefix (same slot).
-- ARGV:
--   1 prefix  "hx:v3:book:{m:<id>}:" (KEYS[1..6] must be prefix .. name)
--   2 now     unix ms
--   3 mode    "orders": cancel the hashes in ARGV[6..] if they are the trader's and open
--             "expired": close up to ARGV[5] resting orders with expiry < cutoff (ARGV[4])
--   4 trader (orders) or cutoff in unix seconds (expired)
--   5 limit (expired), or the close reason (orders): "C" cancelled (by the trader, or on chain),
--     "W" withdrawal (cancelled to fund the trader's withdrawal hold)
--   6.. order hashes (mode "orders")
-- Returns { closeBefore, results, closes }:
--   results  2 per order looked at: hash, code: OK | NOT_FOUND | NOT_OWNER | NOT_OPEN:<state><reason>
--   closes   8 per close, as match.lua (counter, hash, trader, side, ticks, remLots, reason, fillCounter)
-- Idempotent: cancelling again answers NOT_OPEN and changes nothing. Complexity per order:
-- O(1) record and depth updates, O(log N) for the expiry set (and the level set if the level
-- empties); its entry in the level list is left as a tombstone (see the book helpers).

local prefix = ARGV[1]
if type(prefix) ~= "string" or #prefix == 0
  or not book_keys_ok(prefix, 1, { "state", "orders", "bids", "asks", "depth", "expiry" })
  or not journal_keys_ok(7, { "closed", "done" }) then
  return bad_input("prefix/keys")
end
local now = int_arg(ARGV[2], 0, MAX_SAFE)
local mode = ARGV[3]
if not now then return bad_input("now") end
local trader, cutoff, limit
if mode == "orders" then
  trader = ARGV[4]
  if not is_address(trader) then return bad_input("trader") end
  if ARGV[5] ~= "C" and ARGV[5] ~= "W" then return bad_input("reason") end
  for i = 6, #ARGV do
    if not is_hash32(ARGV[i]) then return bad_input("hash #" .. (i - 5)) end
  end
elseif mode == "expired" then
  cutoff = int_arg(ARGV[4], 0, MAX_SAFE)
  limit = int_arg(ARGV[5], 1, 100000)
  if not cutoff or not limit then return bad_input("cutoff/limit") end
else
  return bad_input("mode")
end

NOW_MS = now
book_init(prefix, KEYS[7], KEYS[8])
local close_before = st.close
local results = {}

local function cancel_one(hash, reason, owner)
  local r = rec_get(hash)
  local code
  if not r then
    code = "NOT_FOUND"
  elseif owner and r.trader ~= owner then
    code = "NOT_OWNER"
  elseif r.state ~= "o" then
    code = "NOT_OPEN:" .. r.state .. (r.reason == " " and "" or r.reason)
  else
    close_resting(hash, r, reason)
    code = "OK"
  end
  results[#results + 1] = hash
  results[#results + 1] = code
end

if mode == "orders" then
  for i = 6, #ARGV do cancel_one(ARGV[i], ARGV[5], trader) end
else
  local hashes = rcall("ZRANGEBYSCORE", K_EXPIRY, "-inf", "(" .. s_format("%d", cutoff), "LIMIT", 0, limit)
  for _, hash in ipairs(hashes) do
    local r = rec_get(hash)
    if r and r.state == "o" then
      cancel_one(hash, "E", nil)
    else
      expiry_remove(hash) -- stale entry
    end
  end
end

book_flush()
if #closes > 0 then rcall("HSET", K_STATE, "close", st.close) end
return { close_before, results, flatten_closes() }
