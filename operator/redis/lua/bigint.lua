-- ------------------------------------------------------------------ bigint helpers
-- Non-negative integers as canonical decimal strings ("0", "42": digits only, no leading
-- zero), exact at any size up to 78 digits (the length of uint256). Lua numbers are doubles,
-- exact only below 2^53 (~9.007e15), so an amount of money never becomes one Lua number: it
-- is added, subtracted and compared as text, 15 digits at a time (a chunk is below 10^15 and
-- a chunk sum plus a carry below 2 * 10^15 + 1 < 2^53, so every chunk operation is exact).
-- Operands of at most 15 digits take a numeric fast path, of at most 30 digits a two-chunk
-- path without tables (most token amounts). Property-tested against JS bigint
-- (test/operator/ledger/bigintLua.test.ts).

local BI_BASE = 1000000000000000 -- 10^15

-- True if s is a canonical decimal string of 1..78 digits.
local function bi_valid(s)
  if type(s) ~= "string" then return false end
  local n = #s
  if n == 0 or n > 78 then return false end
  if s_find(s, "^%d+$") == nil then return false end
  return n == 1 or s_byte(s, 1) ~= 48
end

-- -1, 0 or 1 as a < b, a == b, a > b (canonical operands).
local function bi_cmp(a, b)
  local na, nb = #a, #b
  if na ~= nb then
    if na < nb then return -1 end
    return 1
  end
  if a == b then return 0 end
  -- Same length: compare 15-digit slices as numbers (exact), most significant first.
  for i = 1, na, 15 do
    local x = tonumber(s_sub(a, i, i + 14))
    local y = tonumber(s_sub(b, i, i + 14))
    if x ~= y then
      if x < y then return -1 end
      return 1
    end
  end
  return 0
end

-- Little-endian base-10^15 chunks to a canonical string.
local function bi_join(parts)
  local n = #parts
  while n > 1 and parts[n] == 0 do
    parts[n] = nil
    n = n - 1
  end
  local out = { s_format("%d", parts[n]) }
  for k = n - 1, 1, -1 do out[#out + 1] = s_format("%015d", parts[k]) end
  return t_concat(out)
end

-- Splits a canonical string of at most 30 digits into its high and low 15-digit halves.
local function bi_split(a, la)
  if la <= 15 then return 0, tonumber(a) end
  return tonumber(s_sub(a, 1, la - 15)), tonumber(s_sub(a, la - 14))
end

-- a + b.
local function bi_add(a, b)
  local la, lb = #a, #b
  if la <= 15 and lb <= 15 then return s_format("%d", tonumber(a) + tonumber(b)) end
  if la <= 30 and lb <= 30 then
    local ah, al = bi_split(a, la)
    local bh, bl = bi_split(b, lb)
    local lo, hi = al + bl, ah + bh
    if lo >= BI_BASE then
      lo = lo - BI_BASE
      hi = hi + 1
    end
    if hi == 0 then return s_format("%d", lo) end
    return s_format("%d%015d", hi, lo)
  end
  local parts = {}
  local i, j, carry = #a, #b, 0
  while i > 0 or j > 0 or carry > 0 do
    local x, y = 0, 0
    if i > 0 then x = tonumber(s_sub(a, math.max(1, i - 14), i)) end
    if j > 0 then y = tonumber(s_sub(b, math.max(1, j - 14), j)) end
    local s = x + y + carry
    if s >= BI_BASE then
      carry = 1
      s = s - BI_BASE
    else
      carry = 0
    end
    parts[#parts + 1] = s
    i = i - 15
    j = j - 15
  end
  return bi_join(parts)
end

-- a - b, or nil when b > a (the caller refuses the operation: nothing goes negative).
local function bi_sub(a, b)
  local la, lb = #a, #b
  if la <= 15 and lb <= 15 then
    local d = tonumber(a) - tonumber(b)
    if d < 0 then return nil end
    return s_format("%d", d)
  end
  if la <= 30 and lb <= 30 then
    local ah, al = bi_split(a, la)
    local bh, bl = bi_split(b, lb)
    local lo, hi = al - bl, ah - bh
    if lo < 0 then
      lo = lo + BI_BASE
      hi = hi - 1
    end
    if hi < 0 then return nil end
    if hi == 0 then return s_format("%d", lo) end
    return s_format("%d%015d", hi, lo)
  end
  if bi_cmp(a, b) < 0 then return nil end
  local parts = {}
  local i, j, borrow = #a, #b, 0
  while i > 0 do
    local x = tonumber(s_sub(a, math.max(1, i - 14), i))
    local y = 0
    if j > 0 then y = tonumber(s_sub(b, math.max(1, j - 14), j)) end
    local d = x - y - borrow
    if d < 0 then
      d = d + BI_BASE
      borrow = 1
    else
      borrow = 0
    end
    parts[#parts + 1] = d
    i = i - 15
    j = j - 15
  end
  return bi_join(parts)
end
