-- step.lua: one ledger step of one trader, in one round trip and one slot: first the journal
-- effects owed to the trader (fills, fees, order closes, releases), each exactly once, then
-- the locks of the trader's new orders (charging its "place" rate bucket), against the
-- balances those effects left, the trader's minimum nonce and its open-order limit.
--
-- KEYS (all {t:<chainId>:<trader>}: one trader's account on one chain):
--   1 acct    HASH   "b:<token>:a|l|o|i" balances (available, locked, pendingOut, pendingIn);
--                    "b:<token>:w|t|d" withdrawal hold, its target, withdrawal debt, and "w" the
--                    tokens having any (withdrawal.lua; read only as said below);
--                    "o:<orderHash>" -> lock record "token|market|rlock|lots|filled|lastFill|nonce|lockId"
--                    of each order holding a lock; "n:<nonce>" -> orderHash, or "cancelled" for a
--                    nonce cancelled on chain that no known order used (nonce_cancel.lua); "f:<fillId>" -> the
--                    trader's pending amounts of a fill as a party "o|token|atoms;i|token|atoms";
--                    "g:<fillId>" -> the fee account's pending fees of a fill "i|token|atoms;...";
--                    "h:<marketId>" -> last fill counter whose fees were credited (fee account);
--                    "minNonce" -> the trader's minimum nonce (absent: none; min_nonce.lua)
--   2 ord     HASH   orderHash -> marketId of each order holding a lock (the index of open orders,
--                    written when the lock is taken and deleted when it is released)
--   3 bucket  STRING place rate bucket "millitokens|ms" (declared only with a rate limit)
-- ARGV:
--   1 nOps       number of ARGV entries holding operations: ARGV[5 .. 4+nOps]; the rest are
--                new orders
--   2 lockId     unique id of this call ([A-Za-z0-9:-]; a call resent after a dropped
--                connection carries the same id)
--   3 limit      "" (no rate limit) or "now|capacity|refill": the caller's clock (unix ms), the
--                bucket capacity in orders and the orders per second returned to it
--   4 maxOpen    "" (no limit) or the most orders the trader may have in the open-order index
--                for a new order that may rest to be locked
--   Operations, one packed string each ("|"-separated; addresses and hashes lower-case hex,
--   fixed width and first, so they are cut out rather than matched; amounts canonical
--   decimals):
--   "F|hash|spendToken|recvToken|fillCtr|fillId|lots|spend|improvement|recv"
--       this trader's side of a fill of its order `hash`: the lock gives up spend + improvement
--       (improvement: a taker buy filled below its limit gets the difference back to
--       available), spend goes to pendingOut, recv (net of fee) to pendingIn, and the fill's
--       pending amounts are recorded under f:<fillId>. Applied once: skipped when fillCtr <=
--       the record's lastFill, or when the record is gone (the order was fully applied). The
--       record is dropped when its last lot is filled (nothing may be left locked then).
--   "X|baseToken|quoteToken|marketId|count", then `count` entries "fillCtr|fillId|baseFee|quoteFee"
--       the fees of `count` fills of one market (in fill order), credited to pendingIn of the
--       fee account and recorded under g:<fillId>; each fill once (skipped when fillCtr <= the
--       market's fee mark h:<marketId>, which then advances). One operation per market per
--       batch: the balances are added up once, not once per fill.
--   "C|hash|remLots" or "C|hash|remLots|lockToken"
--       the order closed (cancel, IOC remainder, expiry, self-trade) with remLots unfilled:
--       what its record still locks goes back to available; the record is dropped. Its fills
--       are always applied before its close, so filled + remLots must equal the order's lots.
--   "R|hash" or "R|hash|lockToken"
--       the market refused the order after its lock (post-only would cross, halted, expired):
--       the lock is undone entirely and the nonce freed, as if the order never came.
--   (With the lock token the step reads everything in one HMGET; without, it reads the record
--   first.)
--   New orders, one packed string each, in arrival order:
--   "hash|lockToken|nonce|marketId|lockAtoms|lots|rests" (lockAtoms > 0; rests "1": the order
--   may rest on the book and counts against maxOpen, "0": an IOC order, which never rests)
-- Returns { applied, skipped, code1, detail1, code2, detail2, ... }, two entries per order:
--   "OK", ""                             locked (its record and nonce written)
--   "RATE_LIMITED", "<ms until a token>"
--   "NONCE_BELOW_MINIMUM", "<the trader's minimum nonce>"
--   "DUPLICATE_ORDER", "<hash that used the nonce>"
--   "NONCE_CANCELLED", "<the nonce>"         (cancelled on chain, never used by a known order)
--   "TOO_MANY_OPEN_ORDERS", "<orders in the open-order index>"
--   "INSUFFICIENT_FUNDS", "<available atoms>"
--   (applied / skipped count fills, per-fill fees, closes and releases.)
-- Every operation and lock is checked against the state the previous ones leave (kept in Lua
-- tables) before anything is written. An inconsistent operation (a balance or a lock that
-- would go negative, a close that does not match the fills) answers an error
-- "LEDGER_INVARIANT ..." and nothing is written. An operation or lock that would take a
-- balance beyond 2^256 - 1 (pendingOut, pendingIn or available of a fill, pendingIn of a fee,
-- available of a close or release, locked of a lock) answers an error
-- "LEDGER_OVERFLOW b:<token>:<a|l|o|i> of <acct> would exceed 2^256-1 (op #k | order #k)" and
-- nothing is written either. A refused order changes nothing but the bucket. Idempotent under
-- replay: operations by construction; an order whose lock record carries this lockId answers
-- OK again without locking twice or taking a token.
-- Checks of a new order, in this order: replay, rate bucket (a token is taken from here on),
-- minimum nonce, duplicate (or cancelled) nonce, open orders, funds.
-- Withdrawal claims: what a fill's improvement, a close or a release gives back to available
-- of a token with a withdrawal debt or request (listed in the account field "w") first pays
-- the debt, then tops the withdrawal hold up to its target (b:<token>:d, b:<token>:w up to
-- b:<token>:t); only the rest becomes available, so new orders never lock held funds. "w" is
-- one more field of the HMGET, asked only by a step that credits available; the claim fields
-- are read (a second HMGET) only when "w" lists something, which is rare (a trader between
-- its withdrawal request and its finalization).
-- Open orders: the index's size (HLEN, read once, only when a limit is given and an order
-- may rest) less the locks this call's operations dropped, plus the locks of this call's
-- orders that may rest. The index holds every lock, so it also counts orders still in flight
-- (locked, not yet matched: an IOC order of the previous batch, a taker about to fill): the
-- count may run ahead of the resting orders by one batch, never behind.
--
-- Cost (this script runs about once per order): one HMGET of the account (lock records
-- included), one HSET (plus an HDEL) of it at the end, whatever the number of operations; the
-- open-order index is written only when a lock is taken or released, not on every fill (and
-- read, one HLEN, only under an open-order limit); withdrawal claims cost one HMGET field
-- ("w") to a step that credits available, and nothing more unless the trader has one. Few
-- Lua functions (each is a closure created per call); numbers read by coercion (a validated
-- "%d+" + 0) rather than tonumber; the fees of a batch summed in Lua numbers. Measured with
-- scripts/bench/engineProfile.ts (PROFILE_CALLGRIND=1).

local n_ops, lock_id, limit, max_open = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
if type(n_ops) ~= "string" or s_find(n_ops, "^%d+$") == nil or #n_ops > 7 then return bad_input("nOps") end
n_ops = n_ops + 0
if 4 + n_ops > #ARGV then return bad_input("nOps") end
if type(lock_id) ~= "string" or #lock_id == 0 or #lock_id > 64 or s_find(lock_id, "^[%w:%-]+$") == nil then return bad_input("lockId") end
local now, capacity, refill = 0, 0, 0
if limit ~= "" then
  local a, b, c = s_match(limit, "^(%d+)|(%d+)|(%d+)$")
  if not a or #a > 16 or #b > 10 or #c > 10 then return bad_input("limit") end
  now, capacity, refill = a + 0, b + 0, c + 0
  if capacity > 0 and not KEYS[3] then return bad_input("limit without a bucket key") end
end
if max_open == "" then
  max_open = false
elseif s_find(max_open, "^%d+$") == nil or #max_open > 9 then
  return bad_input("maxOpen")
else
  max_open = max_open + 0
end
local n = #ARGV - 4 - n_ops

-- ---- parse and validate everything
local fields, nf = {}, 0 -- account fields to read (only those the step touches)
local tokens_ok = {} -- tokens validated in this call (a lower-case address each)
local function token_ok(t)
  if tokens_ok[t] then return true end
  if #t ~= 42 or s_find(t, "^0x[0-9a-f]+$") == nil then return false end
  tokens_ok[t] = true
  return true
end
-- A canonical decimal (digits, no leading zero) of at most maxlen digits.
local function canon(s, maxlen)
  local l = #s
  return l <= maxlen and (l == 1 or s_byte(s, 1) ~= 48)
end
local HASH = "^0x%x+$"
local P_F = "^(%d+)|(%d+)|(%d+)|(%d+)|(%d+)|(%d+)$"
local P_X = "^(%d+)|(%d+)$"
local P_XE = "^(%d+)|(%d+)|(%d+)|(%d+)$"
local P_O = "^(%d+)|(%d+)|(%d+)|(%d+)|([01])$"

local ops, nops = {}, 0
local untokened = false -- a close or release without its lock token (read its record first)
local credits = false -- an operation credits available: read "w" (withdrawal claims)
local i = 1
while i <= n_ops do
  local s = ARGV[4 + i]
  local tag = s_byte(s, 1)
  if tag == 70 then -- F|hash(3..68)|spendToken(70..111)|recvToken(113..154)|...
    local h, st, rt = s_sub(s, 3, 68), s_sub(s, 70, 111), s_sub(s, 113, 154)
    local ctr, fid, lots, spend, impr, recv = s_match(s, P_F, 156)
    if not ctr or s_byte(s, 2) ~= 124 or s_byte(s, 69) ~= 124 or s_byte(s, 112) ~= 124 or s_byte(s, 155) ~= 124
      or s_find(h, HASH) == nil or not canon(ctr, 15) or not canon(fid, 20) or not canon(lots, 15)
      or not canon(spend, 78) or not canon(impr, 78) or not canon(recv, 78) then
      return bad_input("fill op #" .. i)
    end
    if not token_ok(st) or not token_ok(rt) then return bad_input("fill op #" .. i) end
    -- Fields: the lock record; locked, pendingOut (and available, for an improvement) of the
    -- spent token; pendingIn of the received one; the fill's pending record.
    local sp = "b:" .. st
    local of, sl, so, ri, pf = "o:" .. h, sp .. ":l", sp .. ":o", "b:" .. rt .. ":i", "f:" .. fid
    local sa = false
    if impr ~= "0" then
      sa = sp .. ":a"
      nf = nf + 1
      fields[nf] = sa
      credits = true
    end
    fields[nf + 1], fields[nf + 2], fields[nf + 3], fields[nf + 4], fields[nf + 5] = of, sl, so, ri, pf
    nf = nf + 5
    nops = nops + 1
    ops[nops] = { 70, h, ctr + 0, pf, lots + 0, st, spend, impr, rt, recv, sl, so, sa, ri, of }
    i = i + 1
  elseif tag == 88 then -- X|baseToken(3..44)|quoteToken(46..87)|market|count
    local bt, qt = s_sub(s, 3, 44), s_sub(s, 46, 87)
    local m, count = s_match(s, P_X, 89)
    if not m or s_byte(s, 2) ~= 124 or s_byte(s, 45) ~= 124 or s_byte(s, 88) ~= 124 or not canon(m, 5) or m + 0 > 65535
      or not canon(count, 7) or i + count > n_ops then
      return bad_input("fee op #" .. i)
    end
    if not token_ok(bt) or not token_ok(qt) then return bad_input("fee op #" .. i) end
    count = count + 0
    local entries = {}
    for k = 1, count do
      local ctr, fid, bf, qf = s_match(ARGV[4 + i + k], P_XE)
      if not ctr or not canon(ctr, 15) or not canon(fid, 20) or not canon(bf, 78) or not canon(qf, 78) then
        return bad_input("fee entry #" .. (i + k))
      end
      entries[k] = { ctr + 0, fid, bf, qf }
    end
    local hf, bi, qi = "h:" .. m, "b:" .. bt .. ":i", "b:" .. qt .. ":i"
    nops = nops + 1
    ops[nops] = { 88, hf, bt, qt, entries, bi, qi }
    fields[nf + 1], fields[nf + 2], fields[nf + 3] = hf, bi, qi
    nf = nf + 3
    i = i + 1 + count
  elseif tag == 67 or tag == 82 then -- C|hash|remLots[|token], R|hash[|token]
    local h = s_sub(s, 3, 68)
    local rem, tok = 0, nil
    if tag == 67 then
      rem, tok = s_match(s, "^(%d+)|?(.*)$", 70)
      if not rem or not canon(rem, 15) or s_byte(s, 69) ~= 124 then return bad_input("close op #" .. i) end
      rem = rem + 0
    else
      if #s ~= 68 and (#s ~= 111 or s_byte(s, 69) ~= 124) then return bad_input("release op #" .. i) end
      tok = s_sub(s, 70)
    end
    if s_byte(s, 2) ~= 124 or s_find(h, HASH) == nil or (tok ~= "" and not token_ok(tok)) then return bad_input("op #" .. i) end
    local of = "o:" .. h
    nf = nf + 1
    fields[nf] = of
    credits = true
    if tok == "" then
      untokened = true
    else
      fields[nf + 1], fields[nf + 2] = "b:" .. tok .. ":a", "b:" .. tok .. ":l"
      nf = nf + 2
    end
    nops = nops + 1
    ops[nops] = { tag, h, rem, of }
    i = i + 1
  else
    return bad_input("op #" .. i)
  end
end
local orders = {}
for k = 1, n do
  local s = ARGV[4 + n_ops + k] -- hash(1..66)|token(68..109)|nonce|market|atoms|lots|rests
  local h, tok = s_sub(s, 1, 66), s_sub(s, 68, 109)
  local nonce, m, atoms, lots, rests = s_match(s, P_O, 111)
  if not nonce or s_byte(s, 67) ~= 124 or s_byte(s, 110) ~= 124 or s_find(h, HASH) == nil or not canon(nonce, 78)
    or not canon(m, 5) or m + 0 > 65535 or not canon(atoms, 78) or atoms == "0" or not canon(lots, 15) or lots == "0" then
    return bad_input("order #" .. k)
  end
  if not token_ok(tok) then return bad_input("order #" .. k) end
  local nfield, fa, fl, of = "n:" .. nonce, "b:" .. tok .. ":a", "b:" .. tok .. ":l", "o:" .. h
  orders[k] = { h, tok, nonce, m, atoms, lots, nfield, fa, fl, of, rests == "1" }
  fields[nf + 1], fields[nf + 2], fields[nf + 3], fields[nf + 4] = nfield, fa, fl, of
  nf = nf + 4
end
if n > 0 then
  nf = nf + 1
  fields[nf] = "minNonce"
end
if credits then
  nf = nf + 1
  fields[nf] = "w"
end

-- ---- read what the step touches: one HMGET of the account (lock records included)
-- val: field -> current value (balances "0" when absent, other fields false); dirty: changed.
local val, dirty = {}, {}
local function read(list, count)
  local vals = rcall_list("HMGET", KEYS[1], list)
  for k = 1, count do
    local f, v = list[k], vals[k]
    if not v and s_byte(f, 1) == 98 then v = "0" end -- "b": a balance
    val[f] = v
  end
end
if nf > 0 then read(fields, nf) end
-- Lock records, parsed when first needed: { token, market, rlock, lots, filled, lastFill,
-- nonce, lockId, availableField, lockedField } or false (none / dropped).
local recs = {}
local function rec_of(h, of)
  local r = recs[h]
  if r == nil then
    local v = val[of]
    if v then
      local m, rl, lots, filled, last, nonce, lid = s_match(v, "^(%d+)|(%d+)|(%d+)|(%d+)|(%d+)|(%d+)|([^|]*)$", 44)
      local tok = s_sub(v, 1, 42)
      if not m or s_byte(v, 43) ~= 124 or not token_ok(tok) then error("LEDGER_INVARIANT bad lock record " .. h) end
      r = { tok, m, rl, lots + 0, filled + 0, last + 0, nonce, lid, "b:" .. tok .. ":a", "b:" .. tok .. ":l" }
    else
      r = false
    end
    recs[h] = r
  end
  return r
end
if untokened then
  -- Closes and releases given without their token: the balances of their records' tokens.
  local more, nm = {}, 0
  for k = 1, nops do
    local op = ops[k]
    if op[1] == 67 or op[1] == 82 then
      local r = rec_of(op[2], op[4])
      if r and val[r[9]] == nil then
        more[nm + 1], more[nm + 2] = r[9], r[10]
        nm = nm + 2
      end
    end
  end
  if nm > 0 then read(more, nm) end
end

-- ---- withdrawal claims: only for an account whose "w" lists tokens (rare), their fields are
-- read and `credit` built (a closure costs every call that creates it: here only those).
local claim, credit, claim_changed = false, nil, false
if credits and val["w"] then
  claim = {}
  local more, nm = {}, 0
  for t in s_gmatch(val["w"], "0x%x+") do
    claim[t] = true
    local p = "b:" .. t
    more[nm + 1], more[nm + 2], more[nm + 3] = p .. ":w", p .. ":t", p .. ":d"
    nm = nm + 3
  end
  if nm > 0 then read(more, nm) end
  -- x atoms of token t given back to available: the debt first, then the hold up to its target
  -- (neither can overflow: each stays at most what it was or the target). Returns the rest.
  credit = function(t, x)
    local p = "b:" .. t
    local fd, ft, fw = p .. ":d", p .. ":t", p .. ":w"
    local d = val[fd]
    if d ~= "0" then
      local pay = bi_cmp(d, x) < 0 and d or x
      d = bi_sub(d, pay)
      x = bi_sub(x, pay)
      val[fd] = d
      dirty[fd] = true
      if d == "0" and val[ft] == "0" then
        claim[t] = false
        claim_changed = true
      end
    end
    local target = val[ft]
    if x ~= "0" and target ~= "0" then
      local h = val[fw]
      local room = bi_sub(target, h)
      if not room then error(redis.error_reply("LEDGER_INVARIANT withdrawal hold " .. h .. " of " .. t .. " in " .. KEYS[1] .. " is above its target " .. target)) end
      if room ~= "0" then
        local add = bi_cmp(room, x) < 0 and room or x
        val[fw] = bi_add(h, add)
        dirty[fw] = true
        x = bi_sub(x, add)
      end
    end
    return x
  end
end

-- ---- 1. journal operations, simulated on the cached state
local rec_dirty = {} -- hash -> true: the record (or its absence) is written back
local unindexed = {} -- hashes whose lock is gone: removed from the open-order index
local dropped = 0 -- locks the operations dropped (each was in the index)
local applied, skipped = 0, 0
local fee_records, nfr = {}, 0 -- g:<fillId>, record pairs
local function fail(k, what) return redis.error_reply("LEDGER_INVARIANT op #" .. k .. ": " .. what) end
-- bi_add answers nil beyond 2^256 - 1: the sites below test for it (one test each, no function).
local OVERFLOW = "LEDGER_OVERFLOW %s of %s would exceed 2^256-1 (%s #%d)"

for k = 1, nops do
  local op = ops[k]
  local tag = op[1]
  if tag == 70 then -- F
    local h, ctr, pf, lots, st, spend, impr, rt, recv, sl, so, sa, ri = op[2], op[3], op[4], op[5], op[6], op[7], op[8], op[9], op[10], op[11], op[12], op[13], op[14]
    local r = rec_of(h, op[15])
    if not r or ctr <= r[6] then
      skipped = skipped + 1
    else
      if st ~= r[1] then return fail(k, "fill spends " .. st .. " but the order locked " .. r[1]) end
      if r[5] + lots > r[4] then return fail(k, "fill exceeds the order's lots") end
      local consumed = spend
      if impr ~= "0" then consumed = bi_add(spend, impr) end -- nil beyond uint256: beyond any lock
      local rlock = consumed and bi_sub(r[3], consumed)
      if not rlock then return fail(k, "fill consumes more than the order's lock") end
      local locked = bi_sub(val[sl], consumed)
      if not locked then return fail(k, "locked balance would go negative") end
      val[sl] = locked
      dirty[sl] = true
      if spend ~= "0" then
        local v = bi_add(val[so], spend)
        if not v then return redis.error_reply(s_format(OVERFLOW, so, KEYS[1], "op", k)) end
        val[so] = v
        dirty[so] = true
      end
      if sa then
        local x = impr
        if claim and claim[st] then x = credit(st, x) end
        local v = bi_add(val[sa], x)
        if not v then return redis.error_reply(s_format(OVERFLOW, sa, KEYS[1], "op", k)) end
        val[sa] = v
        dirty[sa] = true
      end
      if recv ~= "0" then
        local v = bi_add(val[ri], recv)
        if not v then return redis.error_reply(s_format(OVERFLOW, ri, KEYS[1], "op", k)) end
        val[ri] = v
        dirty[ri] = true
      end
      r[3] = rlock
      r[5] = r[5] + lots
      r[6] = ctr
      if r[5] == r[4] then
        if rlock ~= "0" then return fail(k, "order filled with " .. rlock .. " still locked") end
        recs[h] = false
        unindexed[h] = true
        dropped = dropped + 1
      end
      rec_dirty[h] = true
      local entry = "o|" .. st .. "|" .. spend .. ";i|" .. rt .. "|" .. recv
      local prev = val[pf]
      if prev then entry = prev .. ";" .. entry end
      val[pf] = entry
      dirty[pf] = true
      applied = applied + 1
    end
  elseif tag == 88 then -- X
    local hf, bt, qt, entries, bi, qi = op[2], op[3], op[4], op[5], op[6], op[7]
    local mark = (val[hf] or "0") + 0
    local first = mark
    -- The fees of the fresh entries, summed exactly: Lua numbers while every term has at most
    -- 15 digits (each low limb stays below 2 * 10^15 < 2^53), decimal strings beyond.
    local blo, bhi, qlo, qhi, bbig, qbig = 0, 0, 0, 0, nil, nil
    for j = 1, #entries do
      local e = entries[j]
      local ctr = e[1]
      if ctr <= mark then
        skipped = skipped + 1
      else
        mark = ctr
        local bf, qf = e[3], e[4]
        local rec
        if bf ~= "0" then
          rec = "i|" .. bt .. "|" .. bf
          if #bf <= 15 then
            blo = blo + bf
            if blo >= 1000000000000000 then
              blo = blo - 1000000000000000
              bhi = bhi + 1
            end
          else
            bbig = bi_add(bbig or "0", bf)
            if not bbig then return redis.error_reply(s_format(OVERFLOW, bi, KEYS[1], "op", k)) end
          end
        end
        if qf ~= "0" then
          if rec then rec = rec .. ";i|" .. qt .. "|" .. qf else rec = "i|" .. qt .. "|" .. qf end
          if #qf <= 15 then
            qlo = qlo + qf
            if qlo >= 1000000000000000 then
              qlo = qlo - 1000000000000000
              qhi = qhi + 1
            end
          else
            qbig = bi_add(qbig or "0", qf)
            if not qbig then return redis.error_reply(s_format(OVERFLOW, qi, KEYS[1], "op", k)) end
          end
        end
        if rec then
          fee_records[nfr + 1] = "g:" .. e[2]
          fee_records[nfr + 2] = rec
          nfr = nfr + 2
        end
        applied = applied + 1
      end
    end
    if mark > first then
      local bsum = bhi > 0 and s_format("%d%015d", bhi, blo) or s_format("%d", blo)
      local qsum = qhi > 0 and s_format("%d%015d", qhi, qlo) or s_format("%d", qlo)
      -- A sum beyond 2^256 - 1 (nil) takes pendingIn beyond it too.
      if bbig then bsum = bi_add(bsum, bbig) end
      if qbig then qsum = bi_add(qsum, qbig) end
      if bsum ~= "0" then
        local v = bsum and bi_add(val[bi], bsum)
        if not v then return redis.error_reply(s_format(OVERFLOW, bi, KEYS[1], "op", k)) end
        val[bi] = v
        dirty[bi] = true
      end
      if qsum ~= "0" then
        local v = qsum and bi_add(val[qi], qsum)
        if not v then return redis.error_reply(s_format(OVERFLOW, qi, KEYS[1], "op", k)) end
        val[qi] = v
        dirty[qi] = true
      end
      val[hf] = s_format("%d", mark)
      dirty[hf] = true
    end
  else -- C or R
    local h = op[2]
    local r = rec_of(h, op[4])
    if not r then
      skipped = skipped + 1
    else
      if tag == 67 and r[5] + op[3] ~= r[4] then
        return fail(k, "close of " .. h .. " with " .. op[3] .. " lots left, but " .. r[5] .. " of " .. r[4] .. " filled")
      end
      if tag == 82 and r[5] ~= 0 then return fail(k, "release of an order with fills") end
      local fa, fl = r[9], r[10]
      if val[fa] == nil then return fail(k, "close or release given the wrong lock token") end
      local locked = bi_sub(val[fl], r[3])
      if not locked then return fail(k, "locked balance would go negative") end
      local x = r[3]
      if claim and claim[r[1]] then x = credit(r[1], x) end
      local available = bi_add(val[fa], x)
      if not available then return redis.error_reply(s_format(OVERFLOW, fa, KEYS[1], "op", k)) end
      val[fl] = locked
      val[fa] = available
      dirty[fa], dirty[fl] = true, true
      recs[h] = false
      rec_dirty[h] = true
      unindexed[h] = true
      dropped = dropped + 1
      if tag == 82 then
        val["n:" .. r[7]] = false
        dirty["n:" .. r[7]] = true
      end
      applied = applied + 1
    end
  end
end

-- ---- 2. locks of the new orders
local out = { applied, skipped }
local indexed, nix = {}, 0 -- hash, market pairs of the new locks
local limited = capacity > 0 and n > 0
local tokens, tokens0 = 0, 0
if limited then
  -- Token bucket, counted in millitokens: `refill` tokens per second is `refill` millitokens
  -- per millisecond, so everything stays an integer. An absent key is a full bucket.
  tokens = bucket_load(KEYS[3], now, capacity, refill)
  tokens0 = tokens
end
local min_nonce = n > 0 and val["minNonce"] -- a canonical decimal, or false
local open = false -- orders in the open-order index as this call leaves it, once read
for k = 1, n do
  local o = orders[k]
  local hash, nfield = o[1], o[7]
  local used = val[nfield]
  local replay = false
  if used and used == hash then
    -- A live lock of this very order written by this lockId: a resent copy of this step.
    local r = rec_of(hash, o[10])
    replay = r and r[8] == lock_id
  end
  if replay then
    out[2 * k + 1], out[2 * k + 2] = "OK", ""
  elseif limited and tokens < 1000 then
    out[2 * k + 1], out[2 * k + 2] = "RATE_LIMITED", s_format("%d", refill > 0 and math.ceil((1000 - tokens) / refill) or -1)
  else
    if limited then tokens = tokens - 1000 end
    local counted = max_open and o[11]
    if counted and not open then open = rcall("HLEN", KEYS[2]) - dropped end
    if min_nonce and bi_cmp(o[3], min_nonce) < 0 then
      out[2 * k + 1], out[2 * k + 2] = "NONCE_BELOW_MINIMUM", min_nonce
    elseif used then
      if used == "cancelled" then
        out[2 * k + 1], out[2 * k + 2] = "NONCE_CANCELLED", o[3]
      else
        out[2 * k + 1], out[2 * k + 2] = "DUPLICATE_ORDER", used
      end
    elseif counted and open >= max_open then
      out[2 * k + 1], out[2 * k + 2] = "TOO_MANY_OPEN_ORDERS", s_format("%d", open)
    else
      local fa, fl = o[8], o[9]
      local atoms = o[5]
      local available = val[fa]
      local rest = bi_sub(available, atoms)
      if not rest then
        out[2 * k + 1], out[2 * k + 2] = "INSUFFICIENT_FUNDS", available
      else
        local locked = bi_add(val[fl], atoms)
        if not locked then return redis.error_reply(s_format(OVERFLOW, fl, KEYS[1], "order", k)) end
        if counted then open = open + 1 end
        val[fa] = rest
        val[fl] = locked
        val[nfield] = hash
        val[o[10]] = o[2] .. "|" .. o[4] .. "|" .. atoms .. "|" .. o[6] .. "|0|0|" .. o[3] .. "|" .. lock_id
        dirty[fa], dirty[fl], dirty[nfield], dirty[o[10]] = true, true, true, true
        recs[hash] = nil -- a lock of an order released earlier in this call: the new record holds
        rec_dirty[hash] = nil
        unindexed[hash] = nil
        indexed[nix + 1], indexed[nix + 2] = hash, o[4]
        nix = nix + 2
        out[2 * k + 1], out[2 * k + 2] = "OK", ""
      end
    end
  end
end

-- ---- writes: a balance back to zero, or a field set to false, is deleted (absent means zero),
-- so an operation that is undone leaves the hash exactly as it was.
if claim_changed then
  -- Tokens whose debt is paid and that have no request leave the list.
  local list = {}
  for t, on in pairs(claim) do
    if on then list[#list + 1] = t end
  end
  table.sort(list)
  val["w"] = #list > 0 and t_concat(list, ",") or false
  dirty["w"] = true
end
for hash in pairs(rec_dirty) do
  local r = recs[hash]
  local of = "o:" .. hash
  if r then
    val[of] = r[1] .. "|" .. r[2] .. "|" .. r[3] .. "|" .. s_format("%d|%d|%d|", r[4], r[5], r[6]) .. r[7] .. "|" .. r[8]
  else
    val[of] = false
  end
  dirty[of] = true
end
local set_args, ns, zeros, nz = {}, 0, {}, 0
for f in pairs(dirty) do
  local v = val[f]
  if v == "0" or v == false then
    nz = nz + 1
    zeros[nz] = f
  else
    set_args[ns + 1] = f
    set_args[ns + 2] = v
    ns = ns + 2
  end
end
for k = 1, nfr do set_args[ns + k] = fee_records[k] end
ns = ns + nfr
if nz > 0 then rcall_list("HDEL", KEYS[1], zeros) end
if ns > 0 then rcall_list("HSET", KEYS[1], set_args, 2) end
local gone, ng = {}, 0
for hash in pairs(unindexed) do
  ng = ng + 1
  gone[ng] = hash
end
if ng > 0 then rcall_list("HDEL", KEYS[2], gone) end
if nix > 0 then rcall_list("HSET", KEYS[2], indexed, 2) end
if limited and tokens ~= tokens0 then bucket_store(KEYS[3], tokens, now, capacity, refill) end
return out
