-- signer_put.lua: every write of the signer (operator/chain/signer.ts), fenced by the owner
-- token of the signer instance that runs: start() takes ownership ("own"), and a write by any
-- other instance (a stale process after a failover) is refused, so it can neither sign a nonce
-- nor record a transaction (it records before it broadcasts). Layout: ../signerKeys.ts.
--
-- KEYS (all {c:<chainId>}: one chain's signer):
--   1 state     HASH   "next" -> next nonce, "owner" -> owner token
--   2 inflight  ZSET   nonces sent and not yet confirmed or failed     (modes new, update, final)
--   3 tx        HASH   the record of ARGV[3]: purpose, status, rec      (modes new, update, final)
--   4 purpose   STRING the nonce carrying ARGV[4]                        (modes new, final)
--   5 failedTx  HASH   the record the purpose pointed to (mode new, only when ARGV[7] is set)
-- ARGV:
--   1 mode      own | next | new | update | final
--   2 owner     the caller's owner token
--   3 nonce     decimal (next: the nonce "next" must be at least)
--   4 purpose   (new, update, final)
--   5 status    sent | mined | confirmed | failed (new, update, final)
--   6 rec       the record's JSON (new, update, final)
--   7 keepSec   final: seconds the record and its purpose key are kept (> 0)
--               new:   "" or the nonce of a FAILED record of the same purpose to take the purpose
--                      over from (its nonce was consumed by another transaction: not a duplicate)
-- Returns:
--   own, next   { "ok", next }            the next nonce recorded after the call
--   new         { "ok", next }            recorded; "next" is now nonce + 1 (or was higher)
--               { "exists", nonce }       the purpose is carried by that nonce: nothing written
--   update, final { "ok" }
-- Errors (nothing written): "SIGNER_FENCED ...", "SIGNER_NONCE_TAKEN ...", "SIGNER_NO_RECORD ...",
-- "SIGNER_BAD_ARGS ...".

local mode, owner = ARGV[1], ARGV[2]
if mode ~= "own" and mode ~= "next" and mode ~= "new" and mode ~= "update" and mode ~= "final" then
  return redis.error_reply("SIGNER_BAD_ARGS mode " .. tostring(mode))
end
if not owner or #owner == 0 then return redis.error_reply("SIGNER_BAD_ARGS owner") end

local function int_arg(v)
  if not v or not s_match(v, "^%d+$") or #v > 14 then return nil end
  return tonumber(v)
end

local next_nonce = tonumber(rcall("HGET", KEYS[1], "next") or "0")

if mode == "own" then
  rcall("HSET", KEYS[1], "owner", owner)
  return { "ok", tostring(next_nonce) }
end

local current = rcall("HGET", KEYS[1], "owner")
if current ~= owner then
  return redis.error_reply("SIGNER_FENCED another signer instance owns this chain and key (" .. tostring(current) .. ")")
end

local nonce = int_arg(ARGV[3])
if not nonce then return redis.error_reply("SIGNER_BAD_ARGS nonce") end

if mode == "next" then
  if nonce > next_nonce then
    next_nonce = nonce
    rcall("HSET", KEYS[1], "next", tostring(next_nonce))
  end
  return { "ok", tostring(next_nonce) }
end

local purpose, status, rec = ARGV[4], ARGV[5], ARGV[6]
if not purpose or #purpose == 0 then return redis.error_reply("SIGNER_BAD_ARGS purpose") end
if status ~= "sent" and status ~= "mined" and status ~= "confirmed" and status ~= "failed" then
  return redis.error_reply("SIGNER_BAD_ARGS status")
end
if not rec or s_sub(rec, 1, 1) ~= "{" then return redis.error_reply("SIGNER_BAD_ARGS rec") end

if mode == "new" then
  local holder = rcall("GET", KEYS[4])
  if holder then
    local takeover = ARGV[7]
    if not takeover or takeover ~= holder or not KEYS[5] or rcall("HGET", KEYS[5], "status") ~= "failed" or rcall("HGET", KEYS[5], "purpose") ~= purpose then
      return { "exists", holder }
    end
  end
  if rcall("EXISTS", KEYS[3]) == 1 or nonce < next_nonce then
    return redis.error_reply("SIGNER_NONCE_TAKEN nonce " .. nonce .. " (next " .. next_nonce .. ")")
  end
  rcall("HSET", KEYS[3], "purpose", purpose, "status", status, "rec", rec)
  rcall("ZADD", KEYS[2], nonce, tostring(nonce))
  rcall("SET", KEYS[4], tostring(nonce))
  rcall("HSET", KEYS[1], "next", tostring(nonce + 1))
  return { "ok", tostring(nonce + 1) }
end

-- update, final: the record must be there, with this purpose.
if rcall("HGET", KEYS[3], "purpose") ~= purpose then
  return redis.error_reply("SIGNER_NO_RECORD nonce " .. nonce .. " has no record of this purpose")
end
if mode == "update" then
  rcall("HSET", KEYS[3], "status", status, "rec", rec)
  return { "ok" }
end

local keep = int_arg(ARGV[7])
if not keep or keep < 1 then return redis.error_reply("SIGNER_BAD_ARGS keepSec") end
rcall("HSET", KEYS[3], "status", status, "rec", rec)
rcall("ZREM", KEYS[2], tostring(nonce))
rcall("EXPIRE", KEYS[3], keep)
if rcall("GET", KEYS[4]) == tostring(nonce) then rcall("EXPIRE", KEYS[4], keep) end
return { "ok" }
