-- deposit.lua: credits a deposit, exactly once per deposit id: to the token's withdrawal debt
-- first, then to its withdrawal hold up to the request's amount, the rest to available
-- (account.lua bal_credit; a token without a withdrawal request or debt: all to available).
--
-- KEYS (all {t:<chainId>:<trader>}: one trader's account on one chain):
--   1 acct  HASH  "b:<token>:a|l|o|i" balances, "b:<token>:w|t|d" withdrawal hold, target and
--                 debt, "w" the tokens having any (and the trader's other ledger fields)
--   2 dep   HASH  depositId -> "token|amount" of every deposit credited
-- ARGV: 1 token, 2 amount (decimal > 0), 3 depositId (e.g. "<txHash>:<logIndex>")
-- Returns 1 when credited now, 0 when this deposit id was already credited with the same
-- token and amount; an error "DEPOSIT_CONFLICT ..." when the id was credited with another; an
-- error "LEDGER_OVERFLOW b:<token>:a of <acct> would exceed 2^256-1" when available would
-- exceed 2^256 - 1 (nothing written: the id stays uncredited).

local token, amount, id = ARGV[1], ARGV[2], ARGV[3]
if not is_address(token) then return bad_input("token") end
if not bi_valid(amount) or amount == "0" then return bad_input("amount") end
if type(id) ~= "string" or #id == 0 or #id > 200 then return bad_input("depositId") end

local record = token .. "|" .. amount
local prev = rcall("HGET", KEYS[2], id)
if prev then
  if prev == record then return 0 end
  return redis.error_reply("DEPOSIT_CONFLICT deposit " .. id .. " was credited as " .. prev)
end
bal_key = KEYS[1]
if not bal_credit(token, amount) then return bal_overflow("b:" .. token .. ":a") end
bal_flush()
rcall("HSET", KEYS[2], id, record)
return 1
