-- ------------------------------------------------------------------ ledger helpers
-- A write-back cache of one trader's balance hash, so a script reads each field once, checks
-- every operation against the cached values, and writes once at the end; and the token
-- bucket used by the rate limits.

local bal_key
local bal_cache = {}
local bal_dirty = {}

local function bal_get(field)
  local v = bal_cache[field]
  if v == nil then
    v = redis.call("HGET", bal_key, field) or "0"
    bal_cache[field] = v
  end
  return v
end

local function bal_set(field, v)
  bal_cache[field] = v
  bal_dirty[field] = true
end

-- Adds amount to a field.
local function bal_add(field, amount)
  if amount ~= "0" then bal_set(field, bi_add(bal_get(field), amount)) end
end

-- Subtracts amount from a field; false (and no change) if that would go negative.
local function bal_sub(field, amount)
  if amount == "0" then return true end
  local v = bi_sub(bal_get(field), amount)
  if v == nil then return false end
  bal_set(field, v)
  return true
end

local function bal_flush()
  local args = {}
  for f in pairs(bal_dirty) do
    args[#args + 1] = f
    args[#args + 1] = bal_cache[f]
  end
  if #args > 0 then redis.call("HSET", bal_key, unpack(args)) end
end

-- Token bucket, counted in millitokens: `refill` tokens per second is `refill` millitokens
-- per millisecond, so everything stays an integer. An absent key is a full bucket.
local function bucket_load(key, now, capacity, refill)
  local full = capacity * 1000
  local v = redis.call("GET", key)
  if not v then return full end
  local t, ts = string.match(v, "^(%d+)|(%d+)$")
  if not t then return full end
  local elapsed = now - tonumber(ts)
  if elapsed < 0 then elapsed = 0 end -- a clock that stepped back refills nothing
  local tokens = tonumber(t) + elapsed * refill
  if tokens > full then tokens = full end
  return tokens
end

local function bucket_store(key, tokens, now, capacity, refill)
  local full = capacity * 1000
  if tokens >= full then
    redis.call("DEL", key)
    return
  end
  local value = string.format("%.0f|%.0f", tokens, now)
  if refill > 0 then
    -- Expires when it would be full again: an idle trader's bucket costs no memory.
    redis.call("SET", key, value, "PX", math.ceil((full - tokens) / refill) + 1)
  else
    redis.call("SET", key, value)
  end
end

-- Milliseconds until the bucket holds one token (-1: never, no refill).
local function bucket_wait(tokens, refill)
  if refill <= 0 then return -1 end
  return math.ceil((1000 - tokens) / refill)
end
