-- ------------------------------------------------------------------ account cache
-- A write-back cache of one trader's account hash (balances "b:<token>:<a|l|o|i>", withdrawal
-- fields "b:<token>:<w|t|d>" and "w", nonces "n:<nonce>", pending fills "f:<fillId>" /
-- "g:<fillId>", fee marks "h:<market>"), so a script reads every field it needs in one HMGET,
-- checks every operation against the cached values, and writes once at the end (deposit.lua,
-- settle.lua, withdrawal.lua; step.lua, the hot path, keeps its own leaner cache).

local bal_key
local bal_cache = {}
local bal_dirty = {}

-- Balance fields read as "0" when absent; other fields as false.
local function bal_get(field)
  local v = bal_cache[field]
  if v == nil then
    v = rcall("HGET", bal_key, field) or "0"
    bal_cache[field] = v
  end
  return v
end

local function bal_set(field, v)
  bal_cache[field] = v
  bal_dirty[field] = true
end

-- Whether s (digits only, by the caller's pattern) is canonical: no leading zero, at most
-- maxlen digits.
local function canon(s, maxlen)
  return #s <= maxlen and (#s == 1 or s_byte(s, 1) ~= 48)
end

-- Adds amount to a field; false (and no change) if the balance would exceed 2^256 - 1 (the
-- caller answers LEDGER_OVERFLOW before bal_flush, so nothing is written).
local function bal_add(field, amount)
  if amount == "0" then return true end
  local v = bi_add(bal_get(field), amount)
  if v == nil then return false end
  bal_set(field, v)
  return true
end

-- The error reply of a balance field that would exceed 2^256 - 1.
local function bal_overflow(field, where)
  return redis.error_reply("LEDGER_OVERFLOW " .. field .. " of " .. bal_key .. " would exceed 2^256-1" .. (where or ""))
end

-- Subtracts amount from a field; false (and no change) if that would go negative.
local function bal_sub(field, amount)
  if amount == "0" then return true end
  local v = bi_sub(bal_get(field), amount)
  if v == nil then return false end
  bal_set(field, v)
  return true
end

-- Reads many fields in one HMGET (fields already cached are skipped). Balance fields ("b:")
-- default to "0", the others to false.
local function bal_prefetch(fields)
  local want = {}
  for _, f in ipairs(fields) do
    if bal_cache[f] == nil then want[#want + 1] = f end
  end
  if #want == 0 then return end
  local vals = rcall_list("HMGET", bal_key, want)
  for i, f in ipairs(want) do
    local v = vals[i]
    if not v and s_byte(f, 1) == 98 then v = "0" end -- "b"
    bal_cache[f] = v
  end
end

-- Writes the changed fields; a balance back to zero, or a field set to false, is deleted
-- (absent means zero), so an operation that is undone leaves the hash exactly as it was.
local function bal_flush()
  local args, zeros = {}, {}
  for f in pairs(bal_dirty) do
    local v = bal_cache[f]
    if v == "0" or v == false then
      zeros[#zeros + 1] = f
    else
      args[#args + 1] = f
      args[#args + 1] = v
    end
  end
  if #zeros > 0 then rcall_list("HDEL", bal_key, zeros) end
  if #args > 0 then rcall_list("HSET", bal_key, args, 2) end
end

-- ------------------------------------------------------------------ withdrawal claims
-- (operator/ledger/keys.ts) The account field "w" lists, sorted and comma-separated, the tokens
-- with a withdrawal request ("b:<token>:t", the amount asked: the hold's target; "b:<token>:w",
-- the hold) or a withdrawal debt ("b:<token>:d"). A credit to available of a listed token first
-- pays its debt, then tops its hold up to the target; only the rest becomes available. A token
-- not listed (nearly every one) costs nothing beyond reading "w" once.
local claims = nil -- token -> true, once loaded

local function claims_load()
  if claims then return claims end
  claims = {}
  local v = bal_cache["w"]
  if v == nil then
    v = rcall("HGET", bal_key, "w") or false
    bal_cache["w"] = v
  end
  if v and v ~= "0" then
    local fields = {}
    for t in s_gmatch(v, "0x%x+") do
      claims[t] = true
      local p = "b:" .. t
      fields[#fields + 1] = p .. ":w"
      fields[#fields + 1] = p .. ":t"
      fields[#fields + 1] = p .. ":d"
    end
    bal_prefetch(fields)
  end
  return claims
end

-- Lists (or unlists) a token in "w".
local function claims_set(token, on)
  claims_load()
  if (claims[token] or false) == on then return end
  claims[token] = on or nil
  local list = {}
  for t in pairs(claims) do list[#list + 1] = t end
  table.sort(list)
  bal_set("w", #list > 0 and t_concat(list, ",") or false)
end

-- Credits `amount` of `token`: its withdrawal debt first, then its hold up to the target, the
-- rest to available. False (and available unchanged) when available would exceed 2^256 - 1:
-- the caller answers bal_overflow("b:<token>:a") before bal_flush, so nothing is written. A
-- hold above its target answers an error "LEDGER_INVARIANT ..." (nothing written either).
local function bal_credit(token, amount)
  if amount == "0" then return true end
  local p = "b:" .. token
  if claims_load()[token] then
    local fd, ft, fw = p .. ":d", p .. ":t", p .. ":w"
    local d = bal_get(fd)
    if d ~= "0" then
      local pay = bi_cmp(d, amount) < 0 and d or amount
      d = bi_sub(d, pay)
      amount = bi_sub(amount, pay)
      bal_set(fd, d)
      if d == "0" and bal_get(ft) == "0" then claims_set(token, false) end
    end
    local t = bal_get(ft)
    if amount ~= "0" and t ~= "0" then
      local h = bal_get(fw)
      local room = bi_sub(t, h)
      if not room then error(redis.error_reply("LEDGER_INVARIANT withdrawal hold " .. h .. " of " .. token .. " in " .. bal_key .. " is above its target " .. t)) end
      if room ~= "0" then
        local add = bi_cmp(room, amount) < 0 and room or amount
        bal_set(fw, bi_add(h, add)) -- at most the target: no overflow
        amount = bi_sub(amount, add)
      end
    end
  end
  return bal_add(p .. ":a", amount)
end
