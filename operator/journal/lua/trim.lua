-- trim.lua: the journal's retention for one market. Trims each stream up to the slowest
-- consumer that holds it back, and drops the order records and payloads of finished orders
-- once every consumer is past the entries that finished them and they are older than the
-- retention time.
--
-- KEYS (all {m:<id>}):
--   1 consumers  HASH   name -> "<mode d|b>|<fill>|<close>|<accepted>" ("-": not followed)
--   2 fills  3 closed  4 accepted   STREAM (ids "<counter>-0")
--   5 done       LIST   "<seq>|<fill>|<close>|<ts>|<orderHash>" of finished orders, oldest first
--   6 orders     HASH   the book's order records (orderHash -> record)
--   7 payloads   HASH   the book's signed order payloads (orderHash -> payload)
-- ARGV:
--   1 now        unix ms
--   2 maxLag     entries: a best-effort consumer further behind a stream's newest entry
--                than this no longer holds that stream back
--   3 retention  ms: a finished order's record and payload are kept at least this long
--   4 maxDone    finished orders examined per call (bounds the call's work)
-- Returns { fillPos, closePos, acceptedPos, removed, lags }:
--   <stream>Pos  the counter up to which the stream is trimmed now (entries <= it are gone;
--                -1 when no consumer follows the stream: then it is trimmed to its newest entry)
--   removed      finished orders whose record and payload were dropped
--   lags         5 per (consumer, followed stream): name, stream, lag in entries,
--                mode, held (1: it holds the stream back; 0: best-effort, beyond maxLag, skipped)
-- Validates every cursor before its first write; a malformed one answers an error
-- "JOURNAL_CORRUPT ..." and trims nothing.

local now = int_arg(ARGV[1], 0, MAX_SAFE)
local max_lag = int_arg(ARGV[2], 0, MAX_SAFE)
local retention = int_arg(ARGV[3], 0, MAX_SAFE)
local max_done = int_arg(ARGV[4], 1, 1000000)
if not now or not max_lag or not retention or not max_done then return bad_input("now/maxLag/retention/maxDone") end

local STREAMS = { "fills", "closed", "accepted" }
local SKEY = { fills = KEYS[2], closed = KEYS[3], accepted = KEYS[4] }

-- The newest counter of each stream (nil when it never had an entry). A stream trimmed empty
-- still knows it (its last generated id): a consumer's lag is counted from it, else a
-- best-effort consumer beyond the bound would read as caught up and hold the retention back.
local head = {}
for _, s in ipairs(STREAMS) do
  local last = rcall("XREVRANGE", SKEY[s], "+", "-", "COUNT", 1)[1]
  if last then
    head[s] = s_match(last[1], "^(%d+)") + 0
  elseif rcall("EXISTS", SKEY[s]) == 1 then
    local info = rcall("XINFO", "STREAM", SKEY[s])
    for i = 1, #info - 1, 2 do
      if info[i] == "last-generated-id" then head[s] = s_match(info[i + 1], "^(%d+)") + 0 end
    end
  end
end

local flat = rcall("HGETALL", KEYS[1])
local pos = {}
local lags = {}
for i = 1, #flat, 2 do
  local name, v = flat[i], flat[i + 1]
  local mode, f, c, a = s_match(v, "^([db])|([%d-]+)|([%d-]+)|([%d-]+)$")
  if not mode then return redis.error_reply("JOURNAL_CORRUPT consumer " .. name .. " cursor " .. v) end
  local cur = { fills = f, closed = c, accepted = a }
  for _, s in ipairs(STREAMS) do
    local cs = cur[s]
    if cs ~= "-" then
      if #cs > 16 or s_find(cs, "^%d+$") == nil then return redis.error_reply("JOURNAL_CORRUPT consumer " .. name .. " cursor " .. v) end
      local n = cs + 0
      local lag = 0
      if head[s] and head[s] > n then lag = head[s] - n end
      local held = 1
      if mode == "d" or lag <= max_lag then
        if pos[s] == nil or n < pos[s] then pos[s] = n end
      else
        held = 0
      end
      lags[#lags + 1] = name
      lags[#lags + 1] = s
      lags[#lags + 1] = lag
      lags[#lags + 1] = mode
      lags[#lags + 1] = held
    end
  end
end

-- ---- every cursor is valid: from here on the script writes
local out = {}
local limit = {} -- per stream: finished orders may go once their counter is <= this
for k, s in ipairs(STREAMS) do
  local p = pos[s]
  if p == nil then
    -- Nobody follows the stream (or every follower is skipped): keep nothing.
    if head[s] then rcall("XTRIM", SKEY[s], "MINID", s_format("%d-1", head[s])) end
    limit[s] = MAX_SAFE
    out[k] = -1
  else
    if p > 0 then rcall("XTRIM", SKEY[s], "MINID", s_format("%d-0", p + 1)) end
    limit[s] = p
    out[k] = p
  end
end

local entries = rcall("LRANGE", KEYS[5], 0, max_done - 1)
local gone = {}
local cutoff = now - retention
for _, e in ipairs(entries) do
  local seq, f, c, ts, h = s_match(e, "^(%d+)|(%d+)|(%d+)|(%d+)|(0x%x+)$")
  if not seq then
    gone[#gone + 1] = false -- unreadable: dropped (it can never be trimmed otherwise)
  elseif f + 0 <= limit.fills and c + 0 <= limit.closed and seq + 0 <= limit.accepted and ts + 0 <= cutoff then
    gone[#gone + 1] = h
  else
    break
  end
end
local hashes = {}
for _, h in ipairs(gone) do
  if h then hashes[#hashes + 1] = h end
end
if #gone > 0 then rcall("LTRIM", KEYS[5], #gone, -1) end
if #hashes > 0 then
  rcall_list("HDEL", KEYS[6], hashes)
  rcall_list("HDEL", KEYS[7], hashes)
end
out[4] = #hashes
out[5] = lags
return out
