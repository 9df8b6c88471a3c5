-- ------------------------------------------------------------------ bigint helpers
-- Non-negative integers as canonical decimal strings ("0", "42": digits only, no leading
-- zero), exact at any size up to 78 digits (the length of uint256). Lua numbers are doubles,
-- exact only below 2^53 (~9.007e15), so an amount of money never becomes one Lua number: it
-- is added, subtracted and compared as text, 15 digits at a time (a chunk is below 10^15 and
-- a chunk sum plus a carry below 2 * 10^15 + 1 < 2^53, so every chunk operation is exact).
-- Operands of at most 15 digits take a numeric fast path, of at most 45 digits a three-limb
-- path without tables (every realistic token amount; 10^45 > 2^128), longer ones a loop over
-- chunks. Chunks become numbers by arithmetic coercion ("000123" + 0): the operands are
-- canonical digit strings, and coercion costs half of a call to tonumber. Four functions only
-- (each is a closure created on every script call). Property-tested against JS bigint
-- (test/operator/ledger/bigintLua.test.ts).
-- No amount ever exceeds 2^256 - 1 (the vault holds uint256 balances): bi_add answers nil for
-- a sum beyond it, and every caller refuses the operation before its first write. The check
-- costs nothing on the paths of at most 45 digits (a sum of two of them has at most 46 digits)
-- and, on the long path, one length comparison unless the sum has exactly 78 digits.

local BI_BASE = 1000000000000000 -- 10^15
local UINT256_MAX = "115792089237316195423570985008687907853269984665640564039457584007913129639935" -- 2^256 - 1

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
    local x = s_sub(a, i, i + 14) + 0
    local y = s_sub(b, i, i + 14) + 0
    if x ~= y then
      if x < y then return -1 end
      return 1
    end
  end
  return 0
end

-- a + b (sign = 1; nil when beyond 2^256 - 1) or a - b (sign = -1; nil when b > a) over chunks
-- of 15 digits, for operands beyond 45 digits.
local function bi_long(a, b, sign)
  if sign < 0 and bi_cmp(a, b) < 0 then return nil end
  local parts = {}
  local i, j, carry = #a, #b, 0
  while i > 0 or j > 0 or carry ~= 0 do
    local x, y = 0, 0
    if i > 0 then x = s_sub(a, i > 15 and i - 14 or 1, i) + 0 end
    if j > 0 then y = s_sub(b, j > 15 and j - 14 or 1, j) + 0 end
    local s = x + sign * y + carry
    if s >= BI_BASE then
      carry = 1
      s = s - BI_BASE
    elseif s < 0 then
      carry = -1
      s = s + BI_BASE
    else
      carry = 0
    end
    parts[#parts + 1] = s
    i = i - 15
    j = j - 15
  end
  local n = #parts
  while n > 1 and parts[n] == 0 do
    parts[n] = nil
    n = n - 1
  end
  local out = { s_format("%d", parts[n]) }
  for k = n - 1, 1, -1 do out[#out + 1] = s_format("%015d", parts[k]) end
  local r = t_concat(out)
  -- Fewer than 78 digits always fits (10^77 - 1 < 2^256 - 1); 78 digits are compared.
  if sign > 0 and #r >= 78 and (#r > 78 or bi_cmp(r, UINT256_MAX) > 0) then return nil end
  return r
end

-- a + b, or nil when the sum exceeds 2^256 - 1 (the caller refuses the operation: no balance
-- ever leaves uint256). Only an operand of more than 45 digits can get there (the long path).
local function bi_add(a, b)
  local la, lb = #a, #b
  if la <= 15 and lb <= 15 then return s_format("%d", a + b) end
  if la > 45 or lb > 45 then return bi_long(a, b, 1) end
  -- Three limbs each, most significant first.
  local ah, am, al, bh, bm, bl
  if la <= 15 then
    ah, am, al = 0, 0, a + 0
  elseif la <= 30 then
    ah, am, al = 0, s_sub(a, 1, la - 15) + 0, s_sub(a, la - 14) + 0
  else
    ah, am, al = s_sub(a, 1, la - 30) + 0, s_sub(a, la - 29, la - 15) + 0, s_sub(a, la - 14) + 0
  end
  if lb <= 15 then
    bh, bm, bl = 0, 0, b + 0
  elseif lb <= 30 then
    bh, bm, bl = 0, s_sub(b, 1, lb - 15) + 0, s_sub(b, lb - 14) + 0
  else
    bh, bm, bl = s_sub(b, 1, lb - 30) + 0, s_sub(b, lb - 29, lb - 15) + 0, s_sub(b, lb - 14) + 0
  end
  local l, m, h = al + bl, am + bm, ah + bh
  if l >= BI_BASE then
    l = l - BI_BASE
    m = m + 1
  end
  if m >= BI_BASE then
    m = m - BI_BASE
    h = h + 1
  end
  if h > 0 then return s_format("%d%015d%015d", h, m, l) end
  if m > 0 then return s_format("%d%015d", m, l) end
  return s_format("%d", l)
end

-- a - b, or nil when b > a (the caller refuses the operation: nothing goes negative).
local function bi_sub(a, b)
  local la, lb = #a, #b
  if la <= 15 and lb <= 15 then
    local d = a - b
    if d < 0 then return nil end
    return s_format("%d", d)
  end
  if la < lb then return nil end
  if la > 45 then return bi_long(a, b, -1) end
  local ah, am, al, bh, bm, bl
  if la <= 15 then
    ah, am, al = 0, 0, a + 0
  elseif la <= 30 then
    ah, am, al = 0, s_sub(a, 1, la - 15) + 0, s_sub(a, la - 14) + 0
  else
    ah, am, al = s_sub(a, 1, la - 30) + 0, s_sub(a, la - 29, la - 15) + 0, s_sub(a, la - 14) + 0
  end
  if lb <= 15 then
    bh, bm, bl = 0, 0, b + 0
  elseif lb <= 30 then
    bh, bm, bl = 0, s_sub(b, 1, lb - 15) + 0, s_sub(b, lb - 14) + 0
  else
    bh, bm, bl = s_sub(b, 1, lb - 30) + 0, s_sub(b, lb - 29, lb - 15) + 0, s_sub(b, lb - 14) + 0
  end
  local l, m, h = al - bl, am - bm, ah - bh
  if l < 0 then
    l = l + BI_BASE
    m = m - 1
  end
  if m < 0 then
    m = m + BI_BASE
    h = h - 1
  end
  if h < 0 then return nil end
  if h > 0 then return s_format("%d%015d%015d", h, m, l) end
  if m > 0 then return s_format("%d%015d", m, l) end
  return s_format("%d", l)
end
