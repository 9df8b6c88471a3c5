-- ------------------------------------------------------------------ order book helpers
-- Shared by match.lua and cancel.lua. One market's book (operator/matching/keys.ts) and its
-- journal (operator/journal), all keys under its {m:<id>} tag:
--   <prefix>state            HASH    seq, fill, close (counters), pending (hash of a taker whose
--                                    matching was cut by the fill cap)
--   <prefix>orders           HASH    orderHash -> order record, binary (struct.pack REC_FMT):
--                                    side, ticks, lots, rem, seq, flags, expiry, state, trader,
--                                    receivedAt, reason (see operator/matching/record.ts)
--                                    state: o open (resting) | f filled | c closed | t taking
--                                    reason (closed): C cancelled, I IOC remainder, E expired,
--                                    S self-trade, W withdrawal (cancelled to fund the trader's
--                                    withdrawal hold), " " none
--   <prefix>bids / asks      ZSET    price levels, member = score = price in ticks
--   <prefix>depth            HASH    "<side>:<ticks>" -> open lots at that level
--   <prefix>lvl:<side>:<ticks> LIST  order hashes at the level in arrival order (FIFO)
--   <prefix>expiry           ZSET    resting orders by expiry (sweep)
--   journal closed           STREAM  orders closed with a remainder, id "<close counter>-0"
--                                    (layout: operator/journal/entries.ts)
--   journal done             LIST    "<seq>|<fill>|<close>|<ts>|<hash>" of each order that finished
--                                    (filled or closed), appended once per call: the journal's
--                                    retention drops its record and payload later
-- Cancellation is lazy: a closed order stays in its level list as a tombstone until matching
-- reaches it or the level empties (its depth reaches 0 and the list is deleted), so a cancel is
-- O(1) plus O(log N) for the expiry set and, when the level empties, the level set. A level
-- entry whose record is gone (dropped by the retention) is a tombstone too.
--
-- Writes are deferred: a script works on Lua copies of what it touches (order records, level
-- depths, the heads of level lists, expiry entries) and book_flush() writes each key once at
-- the end (one HSET of records, one HSET / HDEL of depths, one LTRIM / RPUSH per level touched,
-- one ZADD / ZREM of expiries, one RPUSH of finished orders). A redis.call costs far more than
-- Lua work (10-50k instructions against hundreds), so a call of many orders costs a few
-- commands per order: its streams. Level sets (bids / asks) are written at once (levels appear
-- and vanish rarely) so that best_level can read them; the best level of each side is cached
-- until the side changes.

local PREFIX, K_STATE, K_ORDERS, K_BIDS, K_ASKS, K_DEPTH, K_EXPIRY, K_CLOSED, K_DONE
local NOW_MS
local st = { seq = 0, fill = 0, close = 0, epoch = 1 }
local closes = {}
local REC_FMT = "<c1ddddBdc1c42dc1"

-- `closed` and `done`: the journal's keys (same slot).
local function book_init(prefix, closed, done)
  PREFIX = prefix
  K_STATE = prefix .. "state"
  K_ORDERS = prefix .. "orders"
  K_BIDS = prefix .. "bids"
  K_ASKS = prefix .. "asks"
  K_DEPTH = prefix .. "depth"
  K_EXPIRY = prefix .. "expiry"
  K_CLOSED = closed
  K_DONE = done
  local s = rcall("HMGET", K_STATE, "seq", "fill", "close", "epoch")
  st.seq = (s[1] or "0") + 0
  st.fill = (s[2] or "0") + 0
  st.close = (s[3] or "0") + 0
  -- The commitment epoch an order accepted now is committed in (seal.lua moves it on).
  st.epoch = (s[4] or "1") + 0
end

-- True when KEYS[first..] are exactly prefix .. names[i]: the declared keys are the ones used.
local function book_keys_ok(prefix, first, names)
  for i, name in ipairs(names) do
    if KEYS[first + i - 1] ~= prefix .. name then return false end
  end
  return true
end

-- True when KEYS[first..] end with ":" .. names[i] (the journal's keys, given by the caller).
local function journal_keys_ok(first, names)
  for i, name in ipairs(names) do
    local k = KEYS[first + i - 1]
    if type(k) ~= "string" or s_sub(k, -#name - 1) ~= ":" .. name then return false end
  end
  return true
end

-- ---- finished orders, appended to the journal's done list by book_flush
local done = {}
local function done_add(hash) done[#done + 1] = hash end

-- ---- order records: { side, ticks, tick_s, lots, rem, seq, flags, expiry, state, trader, recv, reason }
-- read once (rec_get / rec_prefetch), written back once by book_flush.
local recs, rec_dirty = {}, {}

local function rec_parse(hash, v)
  local side, ticks, lots, rem, seq, flags, expiry, state, trader, recv, reason = struct.unpack(REC_FMT, v)
  if #v ~= 94 then error("corrupt order record " .. hash) end
  local r = {
    side = side, ticks = ticks, tick_s = s_format("%d", ticks), lots = lots, rem = rem, seq = seq, flags = flags,
    expiry = expiry, state = state, trader = trader, recv = recv, reason = reason,
  }
  recs[hash] = r
  return r
end

local function rec_get(hash)
  local r = recs[hash]
  if r == nil then
    local v = rcall("HGET", K_ORDERS, hash)
    if not v then
      recs[hash] = false
      return false
    end
    r = rec_parse(hash, v)
  end
  return r
end

-- Reads the records of many hashes in one HMGET (those not cached yet).
local function rec_prefetch(hashes)
  local want = {}
  for i = 1, #hashes do
    local h = hashes[i]
    if recs[h] == nil then want[#want + 1] = h end
  end
  if #want == 0 then return end
  local vals = rcall_list("HMGET", K_ORDERS, want)
  for i = 1, #want do
    local v = vals[i]
    if v then rec_parse(want[i], v) else recs[want[i]] = false end
  end
end

local function rec_new(hash, r)
  recs[hash] = r
  rec_dirty[hash] = true
end

local function rec_touch(hash) rec_dirty[hash] = true end

-- ---- level depths (open lots per level), read once per level, written by book_flush
local depth, depth_dirty = {}, {}

local function depth_add(field, delta)
  local d = depth[field]
  if d == nil then d = (rcall("HGET", K_DEPTH, field) or "0") + 0 end
  d = d + delta
  depth[field] = d
  depth_dirty[field] = true
  return d
end

-- ---- level sets, with the best level of each side cached until that side changes
local best = {} -- set key -> best member (string), or false when the side is empty

local function side_set(side)
  if side == "b" then return K_BIDS end
  return K_ASKS
end

-- Best opposite price level (ticks as a string) for a taker on `side`, or nil.
local function best_level(taker_side)
  local key, r
  if taker_side == "b" then
    key = K_ASKS
    r = best[key]
    if r == nil then
      r = rcall("ZRANGE", key, 0, 0)[1] or false
      best[key] = r
    end
  else
    key = K_BIDS
    r = best[key]
    if r == nil then
      r = rcall("ZRANGE", key, -1, -1)[1] or false
      best[key] = r
    end
  end
  return r or nil
end

local function crosses(taker_side, limit, level_ticks)
  if taker_side == "b" then return level_ticks <= limit end
  return level_ticks >= limit
end

-- ---- level lists: a Lua view of each list touched. `items` are the list's first elements,
-- fetched a window at a time; `popped` of them are consumed from the head; `tail` holds the
-- hashes appended in this call (matched only once every older element is consumed).
local LVL_WINDOW = 16
local lvls = {}

local function lvl_get(side, tick_s)
  local field = side .. ":" .. tick_s
  local l = lvls[field]
  if not l then
    l = { key = PREFIX .. "lvl:" .. field, items = {}, n = 0, head = 1, all = false, dropped = false, tail = {}, thead = 1 }
    lvls[field] = l
  end
  return l
end

-- The hash at the head of the level (not consumed), or nil when the level list is empty.
local function lvl_peek(l)
  if l.head > l.n and not l.all then
    local w = rcall("LRANGE", l.key, l.n, l.n + LVL_WINDOW - 1)
    for i = 1, #w do l.items[l.n + i] = w[i] end
    l.n = l.n + #w
    if #w < LVL_WINDOW then l.all = true end
    rec_prefetch(w)
  end
  if l.head <= l.n then return l.items[l.head] end
  return l.tail[l.thead]
end

local function lvl_pop(l)
  if l.head <= l.n then
    l.head = l.head + 1
  else
    l.thead = l.thead + 1
  end
end

local function lvl_push(side, tick_s, hash)
  local l = lvl_get(side, tick_s)
  l.tail[#l.tail + 1] = hash
end

-- Changes a level's open lots; removes the level (set member, depth, list with its tombstones)
-- when nothing is left. Returns true when the level was removed.
local function level_add(side, tick_s, delta)
  local field = side .. ":" .. tick_s
  if depth_add(field, delta) <= 0 then
    local key = side_set(side)
    rcall("ZREM", key, tick_s)
    best[key] = nil
    local l = lvl_get(side, tick_s)
    l.items, l.n, l.head, l.all, l.dropped, l.tail, l.thead = {}, 0, 1, true, true, {}, 1
    return true
  end
  return false
end

-- A taker coming to rest: appended to its level (created if new).
local function level_rest(side, tick_s, ticks, hash, lots)
  local l = lvl_get(side, tick_s)
  l.tail[#l.tail + 1] = hash
  if depth_add(side .. ":" .. tick_s, lots) == lots then
    local key = side_set(side)
    rcall("ZADD", key, ticks, tick_s)
    best[key] = nil
  end
end

-- A level whose list is empty while its depth says otherwise (cannot happen while depth and
-- lists agree): removed rather than looped on forever.
local function level_repair(side, tick_s)
  local field = side .. ":" .. tick_s
  depth_add(field, -depth_add(field, 0))
  local key = side_set(side)
  rcall("ZREM", key, tick_s)
  best[key] = nil
  local l = lvl_get(side, tick_s)
  l.items, l.n, l.head, l.all, l.dropped, l.tail, l.thead = {}, 0, 1, true, true, {}, 1
end

-- ---- expiry index, written by book_flush
local exp_add, exp_rem = {}, {}

local function expiry_add(hash, expiry) exp_add[hash] = expiry end

local function expiry_remove(hash)
  if exp_add[hash] then
    exp_add[hash] = nil
  else
    exp_rem[#exp_rem + 1] = hash
  end
end

-- ---- closes
-- Journals an order leaving with `r.rem` lots unfilled; the ledger unlocks them (once, after the
-- order's fills: "fc" is the fill counter at the close).
local function emit_close(hash, r, reason)
  st.close = st.close + 1
  rcall("XADD", K_CLOSED, s_format("%d-0", st.close),
    "h", hash, "t", r.trader, "sd", r.side, "px", r.tick_s, "rem", r.rem, "why", reason, "fc", st.fill, "ts", NOW_MS)
  closes[#closes + 1] = { st.close, hash, r.trader, r.side, r.tick_s, r.rem, reason, st.fill }
end

-- Takes a resting order off the book (its list entry stays as a tombstone unless the level
-- empties) and journals the close. Returns true when its level was removed.
local function close_resting(hash, r, reason)
  local removed = level_add(r.side, r.tick_s, -r.rem)
  expiry_remove(hash)
  r.state = "c"
  r.reason = reason
  rec_touch(hash)
  emit_close(hash, r, reason)
  done_add(hash)
  return removed
end

local function flatten_closes()
  local out = {}
  for _, c in ipairs(closes) do
    for k = 1, 8 do out[#out + 1] = c[k] end
  end
  return out
end

-- ---- the deferred writes, once per key
local function book_flush()
  local args = {}
  for hash in pairs(rec_dirty) do
    local r = recs[hash]
    args[#args + 1] = hash
    args[#args + 1] = struct.pack(REC_FMT, r.side, r.ticks, r.lots, r.rem, r.seq, r.flags, r.expiry, r.state, r.trader, r.recv, r.reason)
  end
  if #args > 0 then rcall_list("HSET", K_ORDERS, args, 2) end
  local set, del = {}, {}
  for field in pairs(depth_dirty) do
    local d = depth[field]
    if d > 0 then
      set[#set + 1] = field
      set[#set + 1] = d
    else
      del[#del + 1] = field
    end
  end
  if #del > 0 then rcall_list("HDEL", K_DEPTH, del) end
  if #set > 0 then rcall_list("HSET", K_DEPTH, set, 2) end
  for _, l in pairs(lvls) do
    if l.dropped then
      rcall("DEL", l.key)
    elseif l.head > 1 then
      rcall("LTRIM", l.key, l.head - 1, -1)
    end
    if l.thead <= #l.tail then
      local rest = l.tail
      if l.thead > 1 then
        rest = {}
        for i = l.thead, #l.tail do rest[#rest + 1] = l.tail[i] end
      end
      rcall_list("RPUSH", l.key, rest)
    end
  end
  local adds = {}
  for hash, expiry in pairs(exp_add) do
    adds[#adds + 1] = expiry
    adds[#adds + 1] = hash
  end
  if #adds > 0 then rcall_list("ZADD", K_EXPIRY, adds, 2) end
  if #exp_rem > 0 then rcall_list("ZREM", K_EXPIRY, exp_rem) end
  if #done > 0 then
    -- The counters as the call leaves them: every journal entry of these orders is at or below.
    local mark = s_format("%d|%d|%d|%d|", st.seq, st.fill, st.close, NOW_MS)
    for i = 1, #done do done[i] = mark .. done[i] end
    rcall_list("RPUSH", K_DONE, done)
  end
end
