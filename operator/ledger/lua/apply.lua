-- apply.lua: applies the ledger effects of the market's journal (fills and order closes) to
-- one trader, each exactly once, plus the engine's confirmations and rejections.
--
-- KEYS (all {t:<trader>}):
--   1 bal     HASH  balances "<token>:a|l|o|i"
--   2 ord     HASH  orderHash -> lock record "market|token|rlock|lots|filled|lastFill|nonce"
--   3 nonce   HASH  nonce -> orderHash
--   4 pend    HASH  orderHash -> payload (crash-recovery record)
--   5 pf      HASH  fillId -> pending amounts "o|token|atoms;i|token|atoms;..."
--   6 feehwm  HASH  marketId -> last fill counter whose fees were credited
-- ARGV: 1 n (number of operations), then the operations, each a tag and its fields:
--   "A", hash
--       the market has processed the order: drop its recovery payload.
--   "F", hash, fillCtr, fillId, lots, spendToken, spend, improvement, recvToken, recv
--       this trader's side of a fill of its order `hash`: the lock gives up spend + improvement
--       (improvement: a taker buy filled below its limit gets the difference back to
--       available), spend goes to pendingOut, recv (net of fee) to pendingIn. Applied once:
--       skipped when fillCtr <= the record's lastFill, or when the record is gone (the order
--       was fully applied and closed). The record is dropped when its last lot is filled.
--   "X", marketId, fillCtr, fillId, baseToken, baseFee, quoteToken, quoteFee
--       the fees of a fill, credited to pendingIn of the fee account; once per fill counter.
--   "C", hash, remLots
--       the order closed (cancel, IOC remainder, expiry, self-trade) with remLots unfilled:
--       what the record still locks goes back to available; the record is dropped. Its fills
--       are always applied before its close, so filled + remLots must equal the order's lots.
--   "R", hash
--       the market refused the order after its lock (post-only would cross, halted, expired):
--       the lock is undone entirely and the nonce freed, as if the order never came.
-- Returns { applied, skipped }. Every operation is checked against the state the previous
-- ones leave (kept in Lua tables) before anything is written: on any inconsistency (a balance
-- or a lock that would go negative, a close that does not match the fills) the script answers
-- an error "LEDGER_INVARIANT ..." and writes nothing.

local n = int_arg(ARGV[1], 0, 100000)
if not n then return bad_input("n") end
local ARITY = { A = 1, F = 9, X = 7, C = 2, R = 1 }
local ops = {}
local p = 2
for i = 1, n do
  local tag = ARGV[p]
  local arity = ARITY[tag]
  if not arity or p + arity > #ARGV then return bad_input("op #" .. i) end
  local op = { tag = tag }
  for k = 1, arity do op[k] = ARGV[p + k] end
  p = p + arity + 1
  if not is_hash32(op[1]) and tag ~= "X" then return bad_input("hash of op #" .. i) end
  if tag == "F" then
    if not int_arg(op[2], 1, MAX_SAFE) or not bi_valid(op[3]) or not int_arg(op[4], 1, MAX_SAFE)
      or not is_address(op[5]) or not bi_valid(op[6]) or not bi_valid(op[7])
      or not is_address(op[8]) or not bi_valid(op[9]) then
      return bad_input("fill op #" .. i)
    end
  elseif tag == "X" then
    if not int_arg(op[1], 0, 65535) or not int_arg(op[2], 1, MAX_SAFE) or not bi_valid(op[3])
      or not is_address(op[4]) or not bi_valid(op[5]) or not is_address(op[6]) or not bi_valid(op[7]) then
      return bad_input("fee op #" .. i)
    end
  elseif tag == "C" then
    if not int_arg(op[2], 0, MAX_SAFE) then return bad_input("close op #" .. i) end
  end
  ops[i] = op
end
if p ~= #ARGV + 1 then return bad_input("ARGV length") end

-- ---- simulate every operation on cached state
bal_key = KEYS[1]
local recs = {}       -- hash -> parsed record, or false once dropped
local rec_dirty = {}
local function rec_get(hash)
  local r = recs[hash]
  if r == nil then
    local v = redis.call("HGET", KEYS[2], hash)
    if v then
      local m, tok, rl, lots, filled, last, nonce = string.match(v, "^(%d+)|(0x%x+)|(%d+)|(%d+)|(%d+)|(%d+)|(%d+)$")
      if not m then return nil, "bad lock record " .. hash end
      r = { market = m, token = tok, rlock = rl, lots = tonumber(lots), filled = tonumber(filled), last = tonumber(last), nonce = nonce }
    else
      r = false
    end
    recs[hash] = r
  end
  return r
end

local pf_cache, pf_dirty = {}, {}
local function pf_append(fill_id, entry)
  local v = pf_cache[fill_id]
  if v == nil then v = redis.call("HGET", KEYS[5], fill_id) or "" end
  if v == "" then v = entry else v = v .. ";" .. entry end
  pf_cache[fill_id] = v
  pf_dirty[fill_id] = true
end

local hwm_cache, hwm_dirty = {}, {}
local nonce_del, pend_del = {}, {}
local applied, skipped = 0, 0
local function fail(i, what) return redis.error_reply("LEDGER_INVARIANT op #" .. i .. ": " .. what) end

for i = 1, n do
  local op = ops[i]
  local tag = op.tag
  if tag == "A" then
    pend_del[#pend_del + 1] = op[1]
    applied = applied + 1
  elseif tag == "F" then
    local r, err = rec_get(op[1])
    if err then return fail(i, err) end
    local ctr, lots = tonumber(op[2]), tonumber(op[4])
    if not r or ctr <= r.last then
      skipped = skipped + 1
    else
      local spend_token, spend, improvement, recv_token, recv = op[5], op[6], op[7], op[8], op[9]
      if spend_token ~= r.token then return fail(i, "fill spends " .. spend_token .. " but the order locked " .. r.token) end
      if r.filled + lots > r.lots then return fail(i, "fill exceeds the order's lots") end
      local consumed = bi_add(spend, improvement)
      local rlock = bi_sub(r.rlock, consumed)
      if not rlock then return fail(i, "fill consumes more than the order's lock") end
      if not bal_sub(spend_token .. ":l", consumed) then return fail(i, "locked balance would go negative") end
      bal_add(spend_token .. ":o", spend)
      bal_add(spend_token .. ":a", improvement)
      bal_add(recv_token .. ":i", recv)
      r.rlock = rlock
      r.filled = r.filled + lots
      r.last = ctr
      if r.filled == r.lots then
        if rlock ~= "0" then return fail(i, "order filled with " .. rlock .. " still locked") end
        recs[op[1]] = false
      end
      rec_dirty[op[1]] = true
      pf_append(op[3], "o|" .. spend_token .. "|" .. spend .. ";i|" .. recv_token .. "|" .. recv)
      applied = applied + 1
    end
  elseif tag == "X" then
    local market, ctr = op[1], tonumber(op[2])
    local hwm = hwm_cache[market]
    if hwm == nil then hwm = tonumber(redis.call("HGET", KEYS[6], market) or "0") end
    if ctr <= hwm then
      skipped = skipped + 1
    else
      bal_add(op[4] .. ":i", op[5])
      bal_add(op[6] .. ":i", op[7])
      hwm_cache[market] = ctr
      hwm_dirty[market] = true
      if op[5] ~= "0" then pf_append(op[3], "i|" .. op[4] .. "|" .. op[5]) end
      if op[7] ~= "0" then pf_append(op[3], "i|" .. op[6] .. "|" .. op[7]) end
      applied = applied + 1
    end
  elseif tag == "C" or tag == "R" then
    local r, err = rec_get(op[1])
    if err then return fail(i, err) end
    if not r then
      skipped = skipped + 1
    else
      if tag == "C" and r.filled + tonumber(op[2]) ~= r.lots then
        return fail(i, "close of " .. op[1] .. " with " .. op[2] .. " lots left, but " .. r.filled .. " of " .. r.lots .. " filled")
      end
      if tag == "R" and r.filled ~= 0 then return fail(i, "release of an order with fills") end
      if not bal_sub(r.token .. ":l", r.rlock) then return fail(i, "locked balance would go negative") end
      bal_add(r.token .. ":a", r.rlock)
      recs[op[1]] = false
      rec_dirty[op[1]] = true
      if tag == "R" then
        nonce_del[#nonce_del + 1] = r.nonce
        pend_del[#pend_del + 1] = op[1]
      end
      applied = applied + 1
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
    set_args[#set_args + 1] = table.concat({ r.market, r.token, r.rlock, string.format("%d", r.lots), string.format("%d", r.filled), string.format("%d", r.last), r.nonce }, "|")
  else
    del_args[#del_args + 1] = hash
  end
end
if #set_args > 0 then redis.call("HSET", KEYS[2], unpack(set_args)) end
if #del_args > 0 then redis.call("HDEL", KEYS[2], unpack(del_args)) end
if #nonce_del > 0 then redis.call("HDEL", KEYS[3], unpack(nonce_del)) end
if #pend_del > 0 then redis.call("HDEL", KEYS[4], unpack(pend_del)) end
local pf_args = {}
for id in pairs(pf_dirty) do
  pf_args[#pf_args + 1] = id
  pf_args[#pf_args + 1] = pf_cache[id]
end
if #pf_args > 0 then redis.call("HSET", KEYS[5], unpack(pf_args)) end
local hwm_args = {}
for m in pairs(hwm_dirty) do
  hwm_args[#hwm_args + 1] = m
  hwm_args[#hwm_args + 1] = string.format("%d", hwm_cache[m])
end
if #hwm_args > 0 then redis.call("HSET", KEYS[6], unpack(hwm_args)) end
return { applied, skipped }
