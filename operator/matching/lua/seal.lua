-- seal.lua: closes commitment epoch N in one market: orders the market accepts from now on
-- belong to epoch N + 1, and the last arrival sequence number and the last fill counter of
-- epoch N are recorded. Atomic with matching (same slot, one script): every accepted entry up
-- to the recorded sequence number says "ep" N, every later one N + 1; fills matched up to the
-- recorded counter are epoch N's. Idempotent: sealing N again returns what was recorded.
--
-- KEYS (all {m:<id>}):
--   1 state    HASH  the book's state: "seq" (last arrival number), "fill" (last fill counter),
--                    "epoch" (the open epoch, 1 when absent)
--   2 epochs   ZSET  member epoch, score its last arrival number (epochs sealed in this market)
--   3 efills   ZSET  member epoch, score its last fill counter
-- ARGV: 1 N, the epoch (>= 1)
--       2 "seal" | "align". align (at start, before intake opens): make N the market's open
--         epoch if it is behind (a market new to the chain's epoch log): the epochs it skips
--         end where the market stands, and are committed without its orders and fills
-- Returns seal: { lastSeq, firstSeq, lastFill, firstFill } (the epoch's orders are arrival
-- numbers firstSeq..lastSeq, none when firstSeq > lastSeq; its fills likewise);
-- align: { the open epoch before, arrival count, fill count }.
-- Error EPOCH_NOT_OPEN when N is ahead of the open epoch.

local n = int_arg(ARGV[1], 1, MAX_SAFE)
if not n then return bad_input("epoch") end
if ARGV[2] ~= "seal" and ARGV[2] ~= "align" then return bad_input("mode") end
local s = rcall("HMGET", KEYS[1], "seq", "fill", "epoch")
local seq = (s[1] or "0") + 0
local fill = (s[2] or "0") + 0
local open = (s[3] or "1") + 0
if ARGV[2] == "align" then
  if open < n then
    for e = open, n - 1 do
      rcall("ZADD", KEYS[2], seq, e)
      rcall("ZADD", KEYS[3], fill, e)
    end
    rcall("HSET", KEYS[1], "epoch", n)
  end
  return { open, seq, fill }
end
-- Where epoch e starts: after the previous epoch's end (1 for a market's first epoch).
local function first_of(key, epoch)
  if epoch <= 1 then return 1 end
  local prev = rcall("ZSCORE", key, epoch - 1)
  if not prev then return 1 end
  return prev + 1
end
if n < open then
  local last_seq = rcall("ZSCORE", KEYS[2], n)
  local last_fill = rcall("ZSCORE", KEYS[3], n)
  if not last_seq or not last_fill then return redis.error_reply("EPOCH_UNKNOWN epoch " .. n .. " was sealed before this market kept its epochs") end
  return { last_seq + 0, first_of(KEYS[2], n), last_fill + 0, first_of(KEYS[3], n) }
end
if n > open then return redis.error_reply("EPOCH_NOT_OPEN epoch " .. n .. " is not open (open: " .. open .. ")") end
local first_seq, first_fill = first_of(KEYS[2], n), first_of(KEYS[3], n)
rcall("ZADD", KEYS[2], seq, n)
rcall("ZADD", KEYS[3], fill, n)
rcall("HSET", KEYS[1], "epoch", n + 1)
return { seq, first_seq, fill, first_fill }
