-- match.lua: accepts a market's new orders in arrival order and matches each one against the
-- book, price-time priority, at the makers' prices. One call per market per batch.
--
-- KEYS (all {m:<id>}):
--   1 market meta  HASH   (markets keyspace) status "active" | "halted"
--   2 state        HASH   seq, fill, close (counters), pending (a taker cut by the fill cap)
--   3 orders       HASH   order records (binary, see the book helpers)
--   4 payloads     HASH   orderHash -> signed order payload (written by intake.lua)
--   5 bids  6 asks  7 depth  8 expiry
--   9 accepted     STREAM the journal's accepted orders  } layout: operator/journal/entries.ts
--  10 fills        STREAM the journal's fills            }
--  11 closed       STREAM the journal's closes           }
--  12 inbox        SET    orders recorded by intake.lua and not yet processed
--  13 done         LIST   the journal's finished orders (see the book helpers)
--  KEYS[2..8] and 12 are the book's (prefix .. name); 9-11 and 13 the journal's (names checked).
--  Level lists <prefix>lvl:<side>:<ticks> are built from the prefix and share the slot (the
--  #!lua shebang makes a cluster refuse anything else).
-- ARGV:
--   1 prefix       the book key prefix "hx:v3:book:{m:<id>}:" (KEYS[2..8], KEYS[12] must be prefix .. name)
--   2 now          unix ms (fill and close timestamps)
--   3 cutoff       unix seconds: an order with expiry < cutoff is expired (takers are refused,
--                  makers found expired are closed and skipped)
--   4 makerFeeBps  5 takerFeeBps   the market's fees, recorded on each fill
--   6 marketHex    the market id as 4 hex digits: fillId = "0x" .. marketHex .. counter as 12
--                  hex digits, i.e. (marketId << 48) | counter as a 0x-prefixed uint64
--   7 maxFills     cap on fills in this call
--   8 n            new orders, then ARGV[9 .. 8+n] the new orders, one packed string each:
--                  "hash|trader|side(b|s)|priceTicks|lots|flags(0|1 post-only|2 IOC)|expiry|receivedAt"
--                  (hash and trader lower-case, 66 and 42 characters)
--                  (expiry unix s clamped to 2^53-1, receivedAt unix ms)
--   then the order hashes to discard from the inbox (orders the engine settled will not be
--                  processed): removed from the inbox, and their payload dropped unless the
--                  market knows the order
-- Returns { pending, fillBefore, closeBefore, results, fills, closes, continued, epoch }:
--   pending      hash of the taker cut by the fill cap ("" if none): call again (with the
--                deferred orders) to continue it; it is matched before anything new
--   fillBefore / closeBefore   the counters when the call started (the engine detects gaps)
--   results      5 per new order: status, code, seq, remLots, state
--                status A accepted | K known (already processed: idempotent replay) |
--                       R rejected (code MARKET_HALTED | ORDER_EXPIRED | POST_ONLY_WOULD_CROSS;
--                         nothing written: the order stays in the inbox until the engine has
--                         released its lock and discards it) |
--                       D deferred (not looked at: the cap was reached)
--                state o open | f filled | c closed | t taking (cut by the cap)
--   fills        7 per fill: counter, taker (0: the continued taker, i: the i-th new order),
--                makerHash, maker, priceTicks, lots, makerRemainingLots (the fill id, the
--                taker's hash, trader, side and limit follow from the market and the taker;
--                the fills stream has every field)
--   closes       8 per close: counter, hash, trader, side, ticks, remLots, reason, fillCounter
--   continued    the taker continued from an earlier call (empty if none): hash, trader, side,
--                ticks, seq, remLots, state (where it stands after this call)
--   epoch        the commitment epoch of the orders accepted in this call (state "epoch",
--                moved on only by seal.lua, between calls): recorded as "ep" on each
--                accepted entry, and what the operator's receipt of each says
-- Self-trade prevention, "expire maker": a resting order of the taker's own trader is closed
-- (reason S, its remainder unlocked) and matching continues behind it.
-- The book is never left crossed: a taker cut by the cap is not resting ("t") and is finished
-- by the next call before any other order (also when the market was halted in between: it
-- was accepted before the halt).

local prefix = ARGV[1]
if type(prefix) ~= "string" or #prefix == 0
  or not book_keys_ok(prefix, 2, { "state", "orders", "payloads", "bids", "asks", "depth", "expiry" })
  or KEYS[12] ~= prefix .. "inbox"
  or not journal_keys_ok(9, { "accepted", "fills", "closed" }) or not journal_keys_ok(13, { "done" })
  or s_find(KEYS[1], ":meta$") == nil then
  return bad_input("prefix/keys")
end
local now = int_arg(ARGV[2], 0, MAX_SAFE)
local cutoff = int_arg(ARGV[3], 0, MAX_SAFE)
local maker_fee = int_arg(ARGV[4], 0, 10000)
local taker_fee = int_arg(ARGV[5], 0, 10000)
local market_hex = ARGV[6]
local max_fills = int_arg(ARGV[7], 1, 1000000)
local n = int_arg(ARGV[8], 0, 100000)
if not now or not cutoff or not maker_fee or not taker_fee or type(market_hex) ~= "string" or s_find(market_hex, "^%x%x%x%x$") == nil or not max_fills or not n or 8 + n > #ARGV then
  return bad_input("header")
end
-- An order: hash (1..66) | trader (68..109) | side (111) | ticks|lots|flags|expiry|receivedAt
-- (from 113): the fixed-width fields are cut out, the numbers matched.
local P_TAIL = "^(%d+)|(%d+)|([012])|(%d+)|(%d+)$"
local function small_int(s, min)
  if #s > 16 or (#s > 1 and s_byte(s, 1) == 48) then return nil end
  local v = s + 0
  if v < min or v > MAX_SAFE then return nil end
  return v
end
local orders, hashes = {}, {}
for i = 1, n do
  local s = ARGV[8 + i]
  local hash, trader, side = s_sub(s, 1, 66), s_sub(s, 68, 109), s_sub(s, 111, 111)
  local tick_s, lots, flags, expiry, recv = s_match(s, P_TAIL, 113)
  if not tick_s or s_byte(s, 67) ~= 124 or s_byte(s, 110) ~= 124 or s_byte(s, 112) ~= 124 or (side ~= "b" and side ~= "s")
    or s_find(hash, "^0x%x+$") == nil or s_find(trader, "^0x[0-9a-f]+$") == nil then
    return bad_input("order #" .. i)
  end
  local o = {
    hash = hash, trader = trader, side = side, tick_s = tick_s, ticks = small_int(tick_s, 1), lots = small_int(lots, 1),
    flags = flags + 0, expiry = small_int(expiry, 0), recv = small_int(recv, 0),
  }
  if not o.ticks or not o.lots or not o.expiry or not o.recv then return bad_input("order #" .. i) end
  orders[i] = o
  hashes[i] = hash
end
local discards = {}
for i = 9 + n, #ARGV do
  if not is_hash32(ARGV[i]) then return bad_input("discard #" .. (i - 8 - n)) end
  discards[#discards + 1] = ARGV[i]
end
local status = rcall("HGET", KEYS[1], "status")
if not status then return redis.error_reply("MARKET_UNKNOWN no market meta at " .. KEYS[1]) end

NOW_MS = now
book_init(prefix, KEYS[11], KEYS[13])
-- Fill ids keep 48 bits for the counter.
if st.fill + max_fills > 281474976710655 then return redis.error_reply("MARKET_FILL_IDS_EXHAUSTED") end

-- ---- every input is valid: from here on the script writes
local fill_before, close_before = st.fill, st.close
local K_PAYLOADS, K_ACCEPTED, K_FILLS, K_INBOX = KEYS[4], KEYS[9], KEYS[10], KEYS[12]
local fills = {}
local fills_now = 0

-- Matches taker t (a record with .hash) against the opposite side. Returns false when the
-- fill cap stopped it with lots left and the book still crossing it.
local function match_taker(t)
  local opp = "b"
  if t.side == "b" then opp = "s" end
  while t.rem > 0 do
    local lvl = best_level(t.side)
    if not lvl or not crosses(t.side, t.ticks, lvl + 0) then return true end
    if fills_now >= max_fills then return false end
    local l = lvl_get(opp, lvl)
    local removed = false
    while t.rem > 0 and not removed do
      if fills_now >= max_fills then return false end
      local mh = lvl_peek(l)
      if not mh then
        level_repair(opp, lvl)
        removed = true
      else
        local m = rec_get(mh)
        if not m or m.state ~= "o" then
          lvl_pop(l) -- tombstone of a closed order
        elseif m.expiry < cutoff then
          lvl_pop(l)
          removed = close_resting(mh, m, "E")
        elseif m.trader == t.trader then
          lvl_pop(l)
          removed = close_resting(mh, m, "S")
        else
          local q = t.rem
          if m.rem < q then q = m.rem end
          st.fill = st.fill + 1
          fills_now = fills_now + 1
          local ctr = st.fill
          local fid = "0x" .. market_hex .. s_format("%012x", ctr)
          rcall("XADD", K_FILLS, s_format("%d-0", ctr), "id", fid, "m", mh, "t", t.hash, "mt", m.trader, "tt", t.trader,
            "sd", t.side, "px", lvl, "tpx", t.tick_s, "l", q, "mf", maker_fee, "tf", taker_fee, "ts", now)
          t.rem = t.rem - q
          m.rem = m.rem - q
          rec_touch(mh)
          if m.rem == 0 then
            m.state = "f"
            lvl_pop(l)
            expiry_remove(mh)
            done_add(mh)
          end
          removed = level_add(opp, lvl, -q)
          local nf = #fills
          fills[nf + 1], fills[nf + 2], fills[nf + 3], fills[nf + 4], fills[nf + 5], fills[nf + 6], fills[nf + 7] = ctr, t.idx, mh, m.trader, lvl, q, m.rem
        end
      end
    end
  end
  return true
end

-- True when an order on `side` at `ticks` would take liquidity (post-only check). Judged on
-- the best level as it stands, tombstones, expired or own orders included: conservative.
local function would_cross(side, ticks)
  local lvl = best_level(side)
  return lvl ~= nil and crosses(side, ticks, lvl + 0)
end

-- A taker done matching: filled, IOC remainder closed, or resting.
local function finish_taker(t)
  if t.rem == 0 then
    t.state = "f"
    done_add(t.hash)
  elseif t.flags == 2 then
    t.state = "c"
    t.reason = "I"
    emit_close(t.hash, t, "I")
    done_add(t.hash)
  else
    level_rest(t.side, t.tick_s, t.ticks, t.hash, t.rem)
    expiry_add(t.hash, t.expiry)
    t.state = "o"
  end
  rec_touch(t.hash)
end

local pending = rcall("HGET", K_STATE, "pending") or ""
local pending_before, seq_before = pending, st.seq
local capped = false
local results, continued = {}, {}
-- The records of the new orders (known ones are replays) and of the cut taker, in one read.
if pending ~= "" then hashes[#hashes + 1] = pending end
rec_prefetch(hashes)
if pending ~= "" then
  local t = rec_get(pending)
  if t and t.state == "t" then
    t.hash = pending
    t.idx = 0
    rec_touch(pending)
    if match_taker(t) then
      finish_taker(t)
      pending = ""
    else
      capped = true
    end
    -- Report where the continued taker stands.
    continued = { t.hash, t.trader, t.side, t.tick_s, t.seq, t.rem, t.state }
  else
    pending = ""
  end
end

local processed = {}
for i = 1, n do
  local o = orders[i]
  local status_code, code, seq, rem, state = "D", "", 0, 0, ""
  if not capped then
    local known = rec_get(o.hash)
    if known then
      status_code, seq, rem, state = "K", known.seq, known.rem, known.state
      processed[#processed + 1] = o.hash
    elseif status ~= "active" then
      status_code, code = "R", "MARKET_HALTED"
    elseif o.expiry < cutoff then
      status_code, code = "R", "ORDER_EXPIRED"
    elseif o.flags == 1 and would_cross(o.side, o.ticks) then
      status_code, code = "R", "POST_ONLY_WOULD_CROSS"
    else
      st.seq = st.seq + 1
      rcall("XADD", K_ACCEPTED, s_format("%d-0", st.seq), "h", o.hash, "t", o.trader, "ra", o.recv, "ep", st.epoch)
      processed[#processed + 1] = o.hash
      local t = {
        hash = o.hash, side = o.side, ticks = o.ticks, tick_s = o.tick_s, lots = o.lots, rem = o.lots,
        seq = st.seq, flags = o.flags, expiry = o.expiry, state = "t", trader = o.trader, recv = o.recv, reason = " ", idx = i,
      }
      rec_new(o.hash, t)
      if o.flags == 1 or match_taker(t) then
        finish_taker(t)
      else
        pending = o.hash
        capped = true
      end
      status_code, seq, rem, state = "A", t.seq, t.rem, t.state
    end
  end
  local k = #results
  results[k + 1], results[k + 2], results[k + 3], results[k + 4], results[k + 5] = status_code, code, seq, rem, state
end

-- Discards last: a hash the market knows keeps its payload (settlement needs it).
local dropped = {}
if #discards > 0 then rec_prefetch(discards) end
for _, h in ipairs(discards) do
  processed[#processed + 1] = h
  if not recs[h] then dropped[#dropped + 1] = h end
end
book_flush()
if #processed > 0 then rcall_list("SREM", K_INBOX, processed) end
if #dropped > 0 then rcall_list("HDEL", K_PAYLOADS, dropped) end
if st.seq ~= seq_before or st.fill ~= fill_before or st.close ~= close_before or pending ~= pending_before then
  rcall("HSET", K_STATE, "seq", st.seq, "fill", st.fill, "close", st.close, "pending", pending)
end

return { pending, fill_before, close_before, results, fills, flatten_closes(), continued, st.epoch }
