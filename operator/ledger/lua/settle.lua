-- settle.lua: resolves a trader's pending amounts of matched fills once the chain decided them.
--
-- KEYS (all {t:<trader>}):
--   1 bal  HASH  balances "<token>:a|l|o|i"
--   2 pf   HASH  fillId -> pending amounts "o|token|atoms;i|token|atoms;..." (written by apply.lua)
-- ARGV:
--   1 mode   "settle": the fill settled on chain: pendingOut amounts are gone (they left the
--                      vault balance), pendingIn amounts become available;
--            "unwind": the chain skipped the fill: pendingOut amounts return to available,
--                      pendingIn amounts are dropped (they never arrive).
--   2.. fillIds (decimal uint64)
-- Returns an array with, per fill id, 1 if its pending amounts were resolved now, 0 if the
-- trader has none (already resolved, or not a party): each fill resolves exactly once.
-- All fills are checked before anything is written; an amount that would drive a balance
-- negative answers an error "LEDGER_INVARIANT ..." and writes nothing.

local mode = ARGV[1]
if mode ~= "settle" and mode ~= "unwind" then return bad_input("mode") end
if #ARGV < 2 then return bad_input("no fill ids") end
for i = 2, #ARGV do
  if not bi_valid(ARGV[i]) or #ARGV[i] > 20 then return bad_input("fill id #" .. (i - 1)) end
end

bal_key = KEYS[1]
local out, done, seen = {}, {}, {}
for i = 2, #ARGV do
  local id = ARGV[i]
  local v = nil
  if not seen[id] then v = redis.call("HGET", KEYS[2], id) end
  seen[id] = true
  if not v then
    out[#out + 1] = 0
  else
    for kind, token, atoms in string.gmatch(v, "([oi])|(0x%x+)|(%d+)") do
      if kind == "o" then
        if not bal_sub(token .. ":o", atoms) then
          return redis.error_reply("LEDGER_INVARIANT pendingOut of " .. token .. " would go negative (fill " .. id .. ")")
        end
        if mode == "unwind" then bal_add(token .. ":a", atoms) end
      else
        if not bal_sub(token .. ":i", atoms) then
          return redis.error_reply("LEDGER_INVARIANT pendingIn of " .. token .. " would go negative (fill " .. id .. ")")
        end
        if mode == "settle" then bal_add(token .. ":a", atoms) end
      end
    end
    done[#done + 1] = id
    out[#out + 1] = 1
  end
end

bal_flush()
if #done > 0 then redis.call("HDEL", KEYS[2], unpack(done)) end
return out
