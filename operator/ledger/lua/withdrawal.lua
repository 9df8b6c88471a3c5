-- withdrawal.lua: a trader's withdrawal of one token on one chain, as the Settlement vault's
-- events tell it (operator/ledger/withdrawals.ts), each event applied exactly once.
--
-- A withdrawal request holds funds: still in the vault, no longer usable for orders. Per token
-- the account keeps the request's amount (the hold's target), the hold, and a debt:
--   vault balance == available + locked + pendingOut + hold - debt
-- "request"  (WithdrawalRequested; a new request replaces the trader's previous one for the
--            token): the previous hold returns to available, the target becomes ARGV[3], and
--            min(available, target) moves into the hold. What is missing (the shortfall) is
--            topped up later by whatever returns to available (account.lua bal_credit,
--            step.lua): the caller cancels orders locking the token (listed in the reply).
-- "finalize" (Withdrawn: the vault paid ARGV[3], min(request, vault balance)): the amount is
--            taken from the hold, then from available; what both do not cover is money the
--            vault paid that the ledger still counts elsewhere (pendingOut of fills matched
--            but not settled: the chain will skip them as unfunded): it becomes the debt, which
--            any later credit to available of the token pays first. Then the request is
--            consumed: what is left of the hold returns to available, the target is cleared.
-- "status"   nothing written: the token's withdrawal state and the orders locking it.
--
-- KEYS (all {t:<chainId>:<trader>}: one trader's account on one chain):
--   1 acct  HASH  "b:<token>:a" available, "b:<token>:w" hold, "b:<token>:t" target (the amount
--                 requested; absent: no request), "b:<token>:d" debt (absent when zero); "w" the
--                 tokens with a target or a debt, sorted, comma-separated (step.lua reads it to
--                 know whether a credit must look at them); "o:<orderHash>" lock records
--                 "token|market|rlock|lots|filled|lastFill|nonce|lockId"
--   2 ord   HASH  orderHash -> marketId of each order holding a lock (the open-order index)
--   3 wdr   HASH  eventId -> "R|token|amount" (request) or "F|token|amount" (finalize) of every
--                 event applied
-- ARGV:
--   1 mode     "request" | "finalize" | "status"
--   2 token    lower-case address
--   3 amount   canonical decimal of at most 78 digits ("request": > 0); "" for "status"
--   4 eventId  1..200 characters ("<txHash>:<logIndex>"); "" for "status"
-- Returns { applied, available, hold, target, debt, shortfall, fromHold, fromAvailable,
--           toDebt, hash1, market1, locked1, hash2, ... }:
--   applied    1 when the event was applied now; 0 when it had been already (nothing
--              written; the rest describes the state now) and for "status"
--   available, hold, target ("0": no request), debt: the token's, after the call
--   shortfall  target - hold: what the hold still misses
--   fromHold, fromAvailable, toDebt: how a finalize applied now took its amount ("0" otherwise)
--   then ("request" and "status") every open order of the trader locking the token, sorted by
--   hash: its hash, market id and the atoms it still locks.
-- Errors (nothing written): "WITHDRAWAL_CONFLICT ..." an event id applied with another
-- record; "LEDGER_OVERFLOW <field> of <acct> would exceed 2^256-1"; "LEDGER_INVARIANT ..." a
-- hold above its target, or a debt beside a hold or an available balance (a credit pays the
-- debt first, a debt is only made once the hold and available are spent).

local mode, token, amount, id = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
if mode ~= "request" and mode ~= "finalize" and mode ~= "status" then return bad_input("mode") end
if not is_address(token) then return bad_input("token") end
if mode == "status" then
  if #ARGV ~= 2 and (#ARGV ~= 4 or amount ~= "" or id ~= "") then return bad_input("status takes no amount or event id") end
else
  if #ARGV ~= 4 then return bad_input("arguments") end
  if not bi_valid(amount) or (mode == "request" and amount == "0") then return bad_input("amount") end
  if type(id) ~= "string" or #id == 0 or #id > 200 then return bad_input("eventId") end
end

bal_key = KEYS[1]
local p = "b:" .. token
local fa, fw, ft, fd = p .. ":a", p .. ":w", p .. ":t", p .. ":d"
bal_prefetch({ fa, fw, ft, fd, "w" })
claims_load()

-- ---- the state as found must be one the ledger can reach
local function check_state()
  local a, h, t, d = bal_get(fa), bal_get(fw), bal_get(ft), bal_get(fd)
  if bi_cmp(h, t) > 0 then
    return redis.error_reply("LEDGER_INVARIANT withdrawal hold " .. h .. " of " .. token .. " in " .. bal_key .. " is above its target " .. t)
  end
  if d ~= "0" and (a ~= "0" or h ~= "0") then
    return redis.error_reply("LEDGER_INVARIANT withdrawal debt " .. d .. " of " .. token .. " in " .. bal_key .. " beside available " .. a .. " and hold " .. h)
  end
  if (t ~= "0" or d ~= "0") ~= (claims[token] == true) then
    return redis.error_reply("LEDGER_INVARIANT " .. token .. " in " .. bal_key .. " is " .. (claims[token] and "" or "not ") .. "listed in w with target " .. t .. " and debt " .. d)
  end
  return nil
end

local applied = 0
local from_hold, from_available, to_debt = "0", "0", "0"
local record, prev = nil, false
if mode ~= "status" then
  record = (mode == "request" and "R|" or "F|") .. token .. "|" .. amount
  prev = rcall("HGET", KEYS[3], id)
end
if prev and prev ~= record then
  return redis.error_reply("WITHDRAWAL_CONFLICT event " .. id .. " was applied as " .. prev)
end
local bad = check_state()
if bad then return bad end

local function min(x, y)
  if bi_cmp(x, y) < 0 then return x end
  return y
end

if mode == "request" and not prev then
  -- The previous request's hold returns to available (through bal_credit: a debt first, which
  -- check_state says there cannot be beside a hold), then the new target is held from it.
  local old = bal_get(fw)
  bal_set(fw, "0")
  bal_set(ft, "0")
  if not bal_credit(token, old) then return bal_overflow(fa) end
  local a = bal_get(fa)
  local hold = min(a, amount)
  bal_set(fa, bi_sub(a, hold))
  bal_set(fw, hold)
  bal_set(ft, amount)
  claims_set(token, true)
  applied = 1
elseif mode == "finalize" and not prev then
  local take = amount
  local h, a = bal_get(fw), bal_get(fa)
  from_hold = min(h, take)
  take = bi_sub(take, from_hold)
  from_available = min(a, take)
  take = bi_sub(take, from_available)
  bal_set(fa, bi_sub(a, from_available))
  if take ~= "0" then
    local d = bi_add(bal_get(fd), take)
    if not d then return bal_overflow(fd) end
    bal_set(fd, d)
    to_debt = take
  end
  -- The request is consumed: what is left of the hold returns to available.
  local rest = bi_sub(h, from_hold)
  bal_set(fw, "0")
  bal_set(ft, "0")
  -- Listed while a debt remains (later credits pay it), unlisted otherwise.
  claims_set(token, bal_get(fd) ~= "0")
  if not bal_credit(token, rest) then return bal_overflow(fa) end
  applied = 1
end

local out = { applied, bal_get(fa), bal_get(fw), bal_get(ft), bal_get(fd), bi_sub(bal_get(ft), bal_get(fw)), from_hold, from_available, to_debt }
if mode ~= "finalize" then
  -- The open orders locking the token: the index, then their lock records in one HMGET.
  local index = rcall("HGETALL", KEYS[2])
  if #index > 0 then
    local hashes = {}
    for i = 1, #index, 2 do hashes[#hashes + 1] = index[i] end
    table.sort(hashes)
    local fields = {}
    for i = 1, #hashes do fields[i] = "o:" .. hashes[i] end
    local recs = rcall_list("HMGET", KEYS[1], fields)
    for i = 1, #hashes do
      local rec = recs[i]
      if not rec then return redis.error_reply("LEDGER_INVARIANT open order " .. hashes[i] .. " has no lock record") end
      local tok, m, rlock = s_match(rec, "^(0x%x+)|(%d+)|(%d+)|")
      if not tok then return redis.error_reply("LEDGER_INVARIANT bad lock record " .. hashes[i]) end
      if tok == token then
        out[#out + 1] = hashes[i]
        out[#out + 1] = m
        out[#out + 1] = rlock
      end
    end
  end
end

if applied == 1 then
  bal_flush()
  rcall("HSET", KEYS[3], id, record)
end
return out
