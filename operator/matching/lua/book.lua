-- ------------------------------------------------------------------ order book helpers
-- Shared by match.lua and cancel.lua. One market's book, all keys under its {m:<id>} tag:
--   <prefix>state            HASH    seq, fill, close (counters), pending (hash of a taker whose
--                                    matching was cut by the fill cap), appliedFill, appliedClose
--   <prefix>orders           HASH    orderHash -> "side|ticks|lots|rem|seq|flags|expiry|state|trader|receivedAt|reason"
--                                    state: o open (resting) | f filled | c closed | t taking
--                                    reason (closed): C cancelled, I IOC remainder, E expired, S self-trade
--   <prefix>bids / asks      ZSET    price levels, member = score = price in ticks
--   <prefix>depth            HASH    "<side>:<ticks>" -> open lots at that level (exact, HINCRBY)
--   <prefix>lvl:<side>:<ticks> LIST  order hashes at the level in arrival order (FIFO)
--   <prefix>expiry           ZSET    resting orders by expiry (sweep)
--   <prefix>closed           STREAM  orders closed with a remainder, id "<close counter>-0"
-- Cancellation is lazy: a closed order stays in its level list as a tombstone until matching
-- reaches it (LPOP) or the level empties (its depth reaches 0 and the list is deleted), so a
-- cancel is O(1) plus O(log L) for the expiry set and, when the level empties, the level set.

local PREFIX, K_STATE, K_ORDERS, K_BIDS, K_ASKS, K_DEPTH, K_EXPIRY, K_CLOSED
local NOW_MS
local st = { seq = 0, fill = 0, close = 0 }
local closes = {}

local function book_init(prefix)
  PREFIX = prefix
  K_STATE = prefix .. "state"
  K_ORDERS = prefix .. "orders"
  K_BIDS = prefix .. "bids"
  K_ASKS = prefix .. "asks"
  K_DEPTH = prefix .. "depth"
  K_EXPIRY = prefix .. "expiry"
  K_CLOSED = prefix .. "closed"
  local s = rcall("HMGET", K_STATE, "seq", "fill", "close")
  st.seq = tonumber(s[1] or "0")
  st.fill = tonumber(s[2] or "0")
  st.close = tonumber(s[3] or "0")
end

-- True when KEYS[first..] are exactly prefix .. names[i]: the declared keys are the ones used.
local function book_keys_ok(prefix, first, names)
  for i, name in ipairs(names) do
    if KEYS[first + i - 1] ~= prefix .. name then return false end
  end
  return true
end

local function fmt_int(x) return s_format("%d", x) end

-- ---- order records (read once, written back once by rec_flush)
local recs, rec_dirty = {}, {}

local function rec_get(hash)
  local r = recs[hash]
  if r == nil then
    local v = rcall("HGET", K_ORDERS, hash)
    if not v then
      recs[hash] = false
      return false
    end
    local side, ticks, lots, rem, seq, flags, expiry, state, trader, recv, reason =
      s_match(v, "^([bs])|(%d+)|(%d+)|(%d+)|(%d+)|(%d+)|(%d+)|([ofct])|(0x%x+)|(%d+)|(%u?)$")
    if not side then error("corrupt order record " .. hash) end
    r = {
      side = side, ticks = tonumber(ticks), tick_s = ticks, lots = tonumber(lots), rem = tonumber(rem),
      seq = tonumber(seq), flags = tonumber(flags), expiry = tonumber(expiry), state = state,
      trader = trader, recv = recv, reason = reason,
    }
    recs[hash] = r
  end
  return r
end

local function rec_new(hash, r)
  recs[hash] = r
  rec_dirty[hash] = true
end

local function rec_touch(hash) rec_dirty[hash] = true end

local function rec_flush()
  local args = {}
  for hash in pairs(rec_dirty) do
    local r = recs[hash]
    args[#args + 1] = hash
    args[#args + 1] = s_format("%s|%s|%d|%d|%d|%d|%d|%s|%s|%s|%s",
      r.side, r.tick_s, r.lots, r.rem, r.seq, r.flags, r.expiry, r.state, r.trader, r.recv, r.reason)
  end
  if #args > 0 then rcall_list("HSET", K_ORDERS, args, 2) end
end

-- ---- price levels
local function side_set(side)
  if side == "b" then return K_BIDS end
  return K_ASKS
end

local function level_key(side, tick_s) return PREFIX .. "lvl:" .. side .. ":" .. tick_s end

-- Changes a level's open lots; removes the level (set member, depth field, list with its
-- tombstones) when nothing is left. Returns true when the level was removed.
local function level_add(side, tick_s, delta)
  local field = side .. ":" .. tick_s
  local d = rcall("HINCRBY", K_DEPTH, field, delta)
  if d <= 0 then
    rcall("HDEL", K_DEPTH, field)
    rcall("ZREM", side_set(side), tick_s)
    rcall("DEL", level_key(side, tick_s))
    return true
  end
  return false
end

-- Best opposite price level for a taker on `side`, or nil.
local function best_level(taker_side)
  local best
  if taker_side == "b" then
    best = rcall("ZRANGE", K_ASKS, 0, 0)
  else
    best = rcall("ZRANGE", K_BIDS, -1, -1)
  end
  return best[1]
end

local function crosses(taker_side, limit, level_ticks)
  if taker_side == "b" then return level_ticks <= limit end
  return level_ticks >= limit
end

-- ---- closes
-- Journals an order leaving with `r.rem` lots unfilled; the ledger unlocks them (once, after the
-- order's fills: "fc" is the fill counter at the close).
local function emit_close(hash, r, reason)
  st.close = st.close + 1
  rcall("XADD", K_CLOSED, fmt_int(st.close) .. "-0",
    "h", hash, "t", r.trader, "sd", r.side, "px", r.tick_s, "rem", r.rem, "why", reason, "fc", st.fill, "ts", NOW_MS)
  closes[#closes + 1] = { st.close, hash, r.trader, r.side, r.tick_s, r.rem, reason, st.fill }
end

-- Takes a resting order off the book (its list entry stays as a tombstone unless the level
-- empties) and journals the close. Returns true when its level was removed.
local function close_resting(hash, r, reason)
  local removed = level_add(r.side, r.tick_s, -r.rem)
  rcall("ZREM", K_EXPIRY, hash)
  r.state = "c"
  r.reason = reason
  rec_touch(hash)
  emit_close(hash, r, reason)
  return removed
end

local function flatten_closes()
  local out = {}
  for _, c in ipairs(closes) do
    for k = 1, 8 do out[#out + 1] = c[k] end
  end
  return out
end
