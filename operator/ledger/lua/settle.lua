-- settle.lua: resolves a trader's pending amounts of matched fills once the chain decided them.
--
-- KEYS (all {t:<chainId>:<trader>}: one trader's account on one chain):
--   1 acct  HASH  "b:<token>:a|l|o|i" balances; "b:<token>:w|t|d" withdrawal hold, target and
--                 debt, "w" the tokens having any; "f:<fillId>" -> pending amounts of a party
--                 "o|token|atoms;i|token|atoms;..." and "g:<fillId>" -> pending fees of the fee
--                 account "i|token|atoms;..." (both written by step.lua)
-- ARGV:
--   1 mode   "settle": the fill settled on chain: pendingOut amounts are gone (they left the
--                      vault balance), pendingIn amounts become available;
--            "unwind": the chain skipped the fill: pendingOut amounts return to available,
--                      pendingIn amounts are dropped (they never arrive).
--            What becomes available is credited through account.lua bal_credit: a token's
--            withdrawal debt is paid first, then its hold topped up to its target.
--   2.. fillIds (decimal uint64)
-- Returns an array with, per fill id, 1 if its pending amounts were resolved now, 0 if the
-- trader has none (already resolved, or not a party): each fill resolves exactly once.
-- All fills are checked before anything is written; an amount that would drive a balance
-- negative answers an error "LEDGER_INVARIANT ..." and one that would take available beyond
-- 2^256 - 1 an error "LEDGER_OVERFLOW b:<token>:a of <acct> would exceed 2^256-1 (fill <id>)";
-- either writes nothing.

local mode = ARGV[1]
if mode ~= "settle" and mode ~= "unwind" then return bad_input("mode") end
if #ARGV < 2 then return bad_input("no fill ids") end
local fields = {}
for i = 2, #ARGV do
  if not bi_valid(ARGV[i]) or #ARGV[i] > 20 then return bad_input("fill id #" .. (i - 1)) end
  fields[#fields + 1] = "f:" .. ARGV[i]
  fields[#fields + 1] = "g:" .. ARGV[i]
end

bal_key = KEYS[1]
bal_prefetch(fields)
local parsed = {}
local bal_fields = {}
for i = 2, #ARGV do
  local entries
  for _, prefix in ipairs({ "f:", "g:" }) do
    local v = bal_cache[prefix .. ARGV[i]]
    if v then
      entries = entries or {}
      for kind, token, atoms in s_gmatch(v, "([oi])|(0x%x+)|(%d+)") do
        entries[#entries + 1] = { kind, token, atoms }
        bal_fields[#bal_fields + 1] = "b:" .. token .. ":" .. kind
        bal_fields[#bal_fields + 1] = "b:" .. token .. ":a"
      end
    end
  end
  parsed[i] = entries
end
if #bal_fields > 0 then
  bal_fields[#bal_fields + 1] = "w"
  bal_prefetch(bal_fields)
end

local out = {}
for i = 2, #ARGV do
  local f, g = "f:" .. ARGV[i], "g:" .. ARGV[i]
  local entries = parsed[i]
  if not entries or not (bal_cache[f] or bal_cache[g]) then
    out[#out + 1] = 0 -- none, or already resolved by an earlier id in this call
  else
    for _, e in ipairs(entries) do
      local kind, token, atoms = e[1], e[2], e[3]
      if not bal_sub("b:" .. token .. ":" .. kind, atoms) then
        return redis.error_reply("LEDGER_INVARIANT pending amount of " .. token .. " would go negative (fill " .. ARGV[i] .. ")")
      end
      if (kind == "o" and mode == "unwind") or (kind == "i" and mode == "settle") then
        if not bal_credit(token, atoms) then return bal_overflow("b:" .. token .. ":a", " (fill " .. ARGV[i] .. ")") end
      end
    end
    if bal_cache[f] then bal_set(f, false) end
    if bal_cache[g] then bal_set(g, false) end
    out[#out + 1] = 1
  end
end
bal_flush()
return out
