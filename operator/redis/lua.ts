/**
 * Shared Lua helpers prepended to the operator's scripts (see ./scripts defineScript libs).
 *  - LUA_BIGINT: bi_valid / bi_cmp / bi_add / bi_sub over non-negative decimal strings.
 *  - LUA_ARGS: int_arg / is_hash32 / is_address / bad_input for input validation.
 * They use the aliases of LUA_PRELUDE (local string / table / redis.call functions), which
 * defineScript puts first in every script; a script assembled by hand must start with it too.
 */
import { readLuaFile } from "./scripts";

export const LUA_PRELUDE = readLuaFile(`${__dirname}/lua`, "prelude.lua");
export const LUA_BIGINT = readLuaFile(`${__dirname}/lua`, "bigint.lua");
export const LUA_ARGS = readLuaFile(`${__dirname}/lua`, "args.lua");
