-- ------------------------------------------------------------------ rate buckets
-- Token bucket, counted in millitokens: `refill` tokens per second is `refill` millitokens
-- per millisecond, so everything stays an integer. An absent key is a full bucket.
local function bucket_load(key, now, capacity, refill)
  local full = capacity * 1000
  local v = rcall("GET", key)
  if not v then return full end
  local t, ts = s_match(v, "^(%d+)|(%d+)$")
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
    rcall("DEL", key)
    return
  end
  local value = s_format("%.0f|%.0f", tokens, now)
  if refill > 0 then
    -- Expires when it would be full again: an idle trader's bucket costs no memory.
    rcall("SET", key, value, "PX", math.ceil((full - tokens) / refill) + 1)
  else
    rcall("SET", key, value)
  end
end
