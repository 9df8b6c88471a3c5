-- step.lua: one ledger step of one trader, in one round trip and one slot: first the journal
-- effects owed to the trader (fills, order closes, releases), each exactly once, then the
-- locks of the trader's new orders (charging its "place" rate bucket), against the balances
-- those effects left.
--
-- KEYS (all {t:<trader>}):
--   1 acct    HASH   "b:<token>:a|l|o|i" balances (available, locked, pendingOut, pendingIn);
--                    "n:<nonce>" -> orderHash; "f:<fillId>" -> pending amounts
--                    "o|token|atoms;i|token|atoms;..."; "h:<marketId>" -> last fill counter whose
--                    fees were credited (fee account)
--   2 ord     HASH   orderHash -> lock record "market|token|rlock|lots|filled|lastFill|nonce|lockId"
--   3 bucket  STRING place rate bucket "millitokens|ms"
-- ARGV:
--   1 now        caller's clock, unix ms
--   2 capacity   bucket capacity in orders ("0": no limit)
--   3 refill     orders per second returned to the bucket
--   4 lockId     unique id of this call ([A-Za-z0-9:-]; a call resent after a dropped
--                connection carries the same id)
--   5 nOps       number of operations; ARGV[6 .. 5+nOps] are operations, the rest new orders.
--   Operations, one packed string each ("|"-separated; amounts canonical decimals):
--   "F|hash|fillCtr|fillId|lots|spendToken|spend|improvement|recvToken|recv"
--       this trader's side of a fill of its order `hash`: the lock gives up spend + improvement
--       (improvement: a taker buy filled below its limit gets the difference back to
--       available), spend goes to pendingOut, recv (net of fee) to pendingIn, and the fill's
--       pending amounts are recorded under f:<fillId>. Applied once: skipped when fillCtr <=
--       the record's lastFill, or when the record is gone (the order was fully applied). The
--       record is dropped when its last lot is filled (nothing may be left locked then).
--   "X|marketId|fillCtr|fillId|baseToken|baseFee|quoteToken|quoteFee"
--       the fees of a fill, credited to pendingIn of the fee account; once per fill counter.
--   "C|hash|remLots"
--       the order closed (cancel, IOC remainder, expiry, self-trade) with remLots unfilled:
--       what its record still locks goes back to available; the record is dropped. Its fills
--       are always applied before its close, so filled + remLots must equal the order's lots.
--   "R|hash"
--       the market refused the order after its lock (post-only would cross, halted, expired):
--       the lock is undone entirely and the nonce freed, as if the order never came.
--   New orders, one packed string each, in arrival order:
--   "hash|nonce|marketId|lockToken|lockAtoms|lots" (lockAtoms > 0)
-- Returns { applied, skipped, locks } where locks has two entries per order, `code, detail`:
--   "OK", ""                             locked (its record and nonce written)
--   "RATE_LIMITED", "<ms until a token>"
--   "DUPLICATE_ORDER", "<hash that used the nonce>"
--   "INSUFFICIENT_FUNDS", "<available atoms>"
-- Every operation and lock is checked against the state the previous ones leave (kept in Lua
-- tables) before anything is written. An inconsistent operation (a balance or a lock that
-- would go negative, a close that does not match the fills) answers an error
-- "LEDGER_INVARIANT ..." and nothing is written. A refused order changes nothing but the
-- bucket. Idempotent under replay: operations by construction; an order whose lock record
-- carries this lockId answers OK again without locking twice or taking a token.

local now = int_arg(ARGV[1], 0, MAX_SAFE)
local capacity = int_arg(ARGV[2], 0, 1000000000)
local refill = int_arg(ARGV[3], 0, 1000000000)
local lock_id = ARGV[4]
local n_ops = int_arg(ARGV[5], 0, 1000000)
if not now or not capacity or not refill or not n_ops or 5 + n_ops > #ARGV then return bad_input("header") end
if type(lock_id) ~= "string" or #lock_id == 0 or #lock_id > 64 or s_find(lock_id, "^[%w:%-]+$") == nil then return bad_input("lockId") end
local n = #ARGV - 5 - n_ops

-- ---- parse and validate everything (one pattern per operation)
local ops = {}
local hashes, seen_hash = {}, {}
local fields, seen_field = {}, {}
local function want(f)
  if not seen_field[f] then
    seen_field[f] = true
    fields[#fields + 1] = f
  end
end
local function want_hash(h)
  if not seen_hash[h] then
    seen_hash[h] = true
    hashes[#hashes + 1] = h
  end
end
-- Hashes and addresses are (0x[0-9a-f]+) with their length checked below; numbers (%d+).
local P_F = "^F|(0x[0-9a-f]+)|(%d+)|(%d+)|(%d+)|(0x[0-9a-f]+)|(%d+)|(%d+)|(0x[0-9a-f]+)|(%d+)$"
local P_X = "^X|(%d+)|(%d+)|(%d+)|(0x[0-9a-f]+)|(%d+)|(0x[0-9a-f]+)|(%d+)$"
local P_C = "^C|(0x[0-9a-f]+)|(%d+)$"
local P_R = "^R|(0x[0-9a-f]+)$"
local P_O = "^(0x[0-9a-f]+)|(%d+)|(%d+)|(0x[0-9a-f]+)|(%d+)|(%d+)$"
for i = 1, n_ops do
  local s = ARGV[5 + i]
  local tag = s_sub(s, 1, 1)
  local op
  if tag == "F" then
    local h, ctr, fid, lots, st, spend, impr, rt, recv = s_match(s, P_F)
    if not h or #h ~= 66 or #st ~= 42 or #rt ~= 42 or not canon(ctr, 15) or not canon(fid, 20) or not canon(lots, 15)
      or not canon(spend, 78) or not canon(impr, 78) or not canon(recv, 78) then
      return bad_input("fill op #" .. i)
    end
    -- Fields 10..14: the account fields the fill touches (locked, pendingOut, available of the
    -- spent token; pendingIn of the received one; the fill's pending record).
    local sb = "b:" .. st
    op = { tag = tag, h, tonumber(ctr), fid, tonumber(lots), st, spend, impr, rt, recv, sb .. ":l", sb .. ":o", sb .. ":a", "b:" .. rt .. ":i", "f:" .. fid }
    want_hash(h)
    want(op[10]); want(op[11]); want(op[12]); want(op[13]); want(op[14])
  elseif tag == "X" then
    local m, ctr, fid, bt, bf, qt, qf = s_match(s, P_X)
    if not m or not canon(m, 5) or tonumber(m) > 65535 or not canon(ctr, 15) or not canon(fid, 20) or #bt ~= 42 or #qt ~= 42
      or not canon(bf, 78) or not canon(qf, 78) then
      return bad_input("fee op #" .. i)
    end
    -- Fields 8..11: pendingIn of both tokens, the fill's pending record, the fee mark.
    op = { tag = tag, m, tonumber(ctr), fid, bt, bf, qt, qf, "b:" .. bt .. ":i", "b:" .. qt .. ":i", "f:" .. fid, "h:" .. m }
    want(op[8]); want(op[9]); want(op[10]); want(op[11])
  elseif tag == "C" then
    local h, rem = s_match(s, P_C)
    if not h or #h ~= 66 or not canon(rem, 15) then return bad_input("close op #" .. i) end
    op = { tag = tag, h, tonumber(rem) }
    want_hash(h)
  elseif tag == "R" then
    local h = s_match(s, P_R)
    if not h or #h ~= 66 then return bad_input("release op #" .. i) end
    op = { tag = tag, h }
    want_hash(h)
  else
    return bad_input("op #" .. i)
  end
  ops[i] = op
end
local orders = {}
for i = 1, n do
  local h, nonce, m, tok, atoms, lots = s_match(ARGV[5 + n_ops + i], P_O)
  if not h or #h ~= 66 or not canon(nonce, 78) or not canon(m, 5) or tonumber(m) > 65535 or #tok ~= 42
    or not canon(atoms, 78) or atoms == "0" or not canon(lots, 15) or lots == "0" then
    return bad_input("order #" .. i)
  end
  orders[i] = { hash = h, nonce = nonce, market = m, token = tok, atoms = atoms, lots = lots }
  want("n:" .. nonce)
  want("b:" .. tok .. ":a")
  want("b:" .. tok .. ":l")
end

-- ---- read what the step touches: two HMGETs
bal_key = KEYS[1]
local recs = {} -- hash -> parsed lock record, or false (none / dropped)
if #hashes > 0 then
  local vals = rcall_list("HMGET", KEYS[2], hashes)
  for i, hash in ipairs(hashes) do
    local v = vals[i]
    if v then
      local m, tok, rl, lots, filled, last, nonce, lid = s_match(v, "^(%d+)|(0x%x+)|(%d+)|(%d+)|(%d+)|(%d+)|(%d+)|([^|]*)$")
      if not m then return redis.error_reply("LEDGER_INVARIANT bad lock record " .. hash) end
      recs[hash] = { market = m, token = tok, rlock = rl, lots = tonumber(lots), filled = tonumber(filled), last = tonumber(last), nonce = nonce, lid = lid }
      want("b:" .. tok .. ":l")
      want("b:" .. tok .. ":a")
    else
      recs[hash] = false
    end
  end
end
if #fields > 0 then bal_prefetch(fields) end

-- ---- 1. journal operations, simulated on the cached state
local rec_dirty = {}
local applied, skipped = 0, 0
local function fail(i, what) return redis.error_reply("LEDGER_INVARIANT op #" .. i .. ": " .. what) end
local function pf_append(f, entry)
  local v = bal_cache[f]
  if v then v = v .. ";" .. entry else v = entry end
  bal_set(f, v)
end

for i = 1, n_ops do
  local op = ops[i]
  local tag = op.tag
  if tag == "F" then
    local r = recs[op[1]]
    local ctr, lots = op[2], op[4]
    if not r or ctr <= r.last then
      skipped = skipped + 1
    else
      local spend_token, spend, improvement, recv_token, recv = op[5], op[6], op[7], op[8], op[9]
      if spend_token ~= r.token then return fail(i, "fill spends " .. spend_token .. " but the order locked " .. r.token) end
      if r.filled + lots > r.lots then return fail(i, "fill exceeds the order's lots") end
      local consumed = bi_add(spend, improvement)
      local rlock = bi_sub(r.rlock, consumed)
      if not rlock then return fail(i, "fill consumes more than the order's lock") end
      if not bal_sub(op[10], consumed) then return fail(i, "locked balance would go negative") end
      bal_add(op[11], spend)
      bal_add(op[12], improvement)
      bal_add(op[13], recv)
      r.rlock = rlock
      r.filled = r.filled + lots
      r.last = ctr
      if r.filled == r.lots then
        if rlock ~= "0" then return fail(i, "order filled with " .. rlock .. " still locked") end
        recs[op[1]] = false
      end
      rec_dirty[op[1]] = true
      pf_append(op[14], "o|" .. spend_token .. "|" .. spend .. ";i|" .. recv_token .. "|" .. recv)
      applied = applied + 1
    end
  elseif tag == "X" then
    local hf, ctr = op[11], op[2]
    if ctr <= tonumber(bal_cache[hf] or "0") then
      skipped = skipped + 1
    else
      bal_add(op[8], op[5])
      bal_add(op[9], op[7])
      bal_set(hf, s_format("%d", ctr))
      if op[5] ~= "0" then pf_append(op[10], "i|" .. op[4] .. "|" .. op[5]) end
      if op[7] ~= "0" then pf_append(op[10], "i|" .. op[6] .. "|" .. op[7]) end
      applied = applied + 1
    end
  else -- "C" or "R"
    local r = recs[op[1]]
    if not r then
      skipped = skipped + 1
    else
      if tag == "C" and r.filled + op[2] ~= r.lots then
        return fail(i, "close of " .. op[1] .. " with " .. op[2] .. " lots left, but " .. r.filled .. " of " .. r.lots .. " filled")
      end
      if tag == "R" and r.filled ~= 0 then return fail(i, "release of an order with fills") end
      if not bal_sub("b:" .. r.token .. ":l", r.rlock) then return fail(i, "locked balance would go negative") end
      bal_add("b:" .. r.token .. ":a", r.rlock)
      recs[op[1]] = false
      rec_dirty[op[1]] = true
      if tag == "R" then bal_set("n:" .. r.nonce, false) end
      applied = applied + 1
    end
  end
end

-- ---- 2. locks of the new orders
local locks = {}
local new_recs = {}
local bucket_changed = false
local limited = capacity > 0 and n > 0
local tokens = 0
if limited then tokens = bucket_load(KEYS[3], now, capacity, refill) end
for i = 1, n do
  local o = orders[i]
  local nf = "n:" .. o.nonce
  local used = bal_cache[nf]
  local replay = false
  if used and used == o.hash then
    -- A live lock of this very order written by this lockId: a resent copy of this step.
    local r, lid = recs[o.hash], nil
    if r then
      lid = r.lid
    elseif r == nil then
      local rec = rcall("HGET", KEYS[2], o.hash)
      lid = rec and s_match(rec, "|([^|]*)$")
    end
    replay = lid == lock_id
  end
  if replay then
    locks[#locks + 1] = "OK"
    locks[#locks + 1] = ""
  elseif limited and tokens < 1000 then
    locks[#locks + 1] = "RATE_LIMITED"
    locks[#locks + 1] = tostring(bucket_wait(tokens, refill))
  else
    if limited then
      tokens = tokens - 1000
      bucket_changed = true
    end
    if used then
      locks[#locks + 1] = "DUPLICATE_ORDER"
      locks[#locks + 1] = used
    else
      local field = "b:" .. o.token .. ":a"
      local available = bal_get(field)
      if bi_cmp(available, o.atoms) < 0 then
        locks[#locks + 1] = "INSUFFICIENT_FUNDS"
        locks[#locks + 1] = available
      else
        bal_set(field, bi_sub(available, o.atoms))
        bal_add("b:" .. o.token .. ":l", o.atoms)
        bal_set(nf, o.hash)
        new_recs[#new_recs + 1] = o.hash
        new_recs[#new_recs + 1] = t_concat({ o.market, o.token, o.atoms, o.lots, "0", "0", o.nonce, lock_id }, "|")
        locks[#locks + 1] = "OK"
        locks[#locks + 1] = ""
      end
    end
  end
end

-- ---- writes
bal_flush()
local set_args, del_args = {}, {}
for hash in pairs(rec_dirty) do
  local r = recs[hash]
  if r then
    set_args[#set_args + 1] = hash
    set_args[#set_args + 1] = t_concat({ r.market, r.token, r.rlock, s_format("%d", r.lots), s_format("%d", r.filled), s_format("%d", r.last), r.nonce, r.lid }, "|")
  else
    del_args[#del_args + 1] = hash
  end
end
for i = 1, #new_recs do set_args[#set_args + 1] = new_recs[i] end
if #del_args > 0 then rcall_list("HDEL", KEYS[2], del_args) end
if #set_args > 0 then rcall_list("HSET", KEYS[2], set_args, 2) end
if bucket_changed then bucket_store(KEYS[3], tokens, now, capacity, refill) end
return { applied, skipped, locks }
