-- nonce_cancel.lua: a nonce the trader cancelled on chain (Settlement.cancelNonces, event
-- NonceCancelled): finds the order that used it, or records it so that no later order may.
-- An order using a nonce the account knows is refused by step.lua anyway: DUPLICATE_ORDER when
-- a known order used it, NONCE_CANCELLED when this script recorded it, NONCE_BELOW_MINIMUM
-- below the minimum nonce (then nothing needs recording). Idempotent.
--
-- KEYS (all {t:<chainId>:<trader>}: one trader's account on one chain):
--   1 acct  HASH  "n:<nonce>" -> the hash of the order that used the nonce, or "cancelled";
--                 "minNonce" -> the trader's minimum nonce (absent: none)
-- ARGV: 1 nonce, canonical decimal of at most 78 digits (a uint256)
-- Returns { orderHash, recorded }:
--   orderHash  the hash of the known order that used the nonce (the engine cancels it if it is
--              still open), "" when none did
--   recorded   1 when this call recorded the nonce as cancelled, 0 when it was already (or a
--              known order used it, or it is below the minimum nonce)

local nonce = ARGV[1]
if #ARGV ~= 1 or not bi_valid(nonce) then return bad_input("nonce") end

local field = "n:" .. nonce
local vals = rcall("HMGET", KEYS[1], field, "minNonce")
local used, min = vals[1], vals[2]
if used == "cancelled" then return { "", 0 } end
if used then return { used, 0 } end
if min and bi_cmp(nonce, min) < 0 then return { "", 0 } end
rcall("HSET", KEYS[1], field, "cancelled")
return { "", 1 }
