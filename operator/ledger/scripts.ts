/** The ledger's Lua scripts (see each file's header for KEYS / ARGV / returns). */
import { LUA_ARGS, LUA_BIGINT } from "../redis/lua";
import { defineScript, readLuaFile } from "../redis/scripts";

const dir = `${__dirname}/lua`;
/** Write-back cache of a trader's account hash (deposit, settle). */
const LUA_ACCOUNT = readLuaFile(dir, "account.lua");
/** Token buckets of the rate limits. */
const LUA_BUCKET = readLuaFile(dir, "bucket.lua");

// Each script carries only the helpers it uses: every helper is a closure created on every call.
export const STEP_SCRIPT = defineScript({ name: "ledger.step", body: readLuaFile(dir, "step.lua"), libs: [LUA_BIGINT, LUA_ARGS, LUA_BUCKET] });
export const SETTLE_SCRIPT = defineScript({ name: "ledger.settle", body: readLuaFile(dir, "settle.lua"), libs: [LUA_BIGINT, LUA_ARGS, LUA_ACCOUNT] });
export const DEPOSIT_SCRIPT = defineScript({ name: "ledger.deposit", body: readLuaFile(dir, "deposit.lua"), libs: [LUA_BIGINT, LUA_ARGS, LUA_ACCOUNT] });
export const CANCEL_CHECK_SCRIPT = defineScript({ name: "ledger.cancelCheck", body: readLuaFile(dir, "cancel_check.lua"), libs: [LUA_ARGS, LUA_BUCKET] });
export const MIN_NONCE_SCRIPT = defineScript({ name: "ledger.minNonce", body: readLuaFile(dir, "min_nonce.lua"), libs: [LUA_BIGINT, LUA_ARGS] });
export const WITHDRAWAL_SCRIPT = defineScript({ name: "ledger.withdrawal", body: readLuaFile(dir, "withdrawal.lua"), libs: [LUA_BIGINT, LUA_ARGS, LUA_ACCOUNT] });
export const NONCE_CANCEL_SCRIPT = defineScript({ name: "ledger.nonceCancel", body: readLuaFile(dir, "nonce_cancel.lua"), libs: [LUA_BIGINT, LUA_ARGS] });

export const LEDGER_SCRIPTS = [STEP_SCRIPT, SETTLE_SCRIPT, DEPOSIT_SCRIPT, CANCEL_CHECK_SCRIPT, MIN_NONCE_SCRIPT, WITHDRAWAL_SCRIPT, NONCE_CANCEL_SCRIPT];
