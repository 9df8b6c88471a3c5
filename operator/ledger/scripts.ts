/** The ledger's Lua scripts (see each file's header for KEYS / ARGV / returns). */
import { LUA_ARGS, LUA_BIGINT } from "../redis/lua";
import { defineScript, readLuaFile } from "../redis/scripts";

const dir = `${__dirname}/lua`;
const LUA_LEDGER = readLuaFile(dir, "lib.lua");
const libs = [LUA_BIGINT, LUA_ARGS, LUA_LEDGER];

export const STEP_SCRIPT = defineScript({ name: "ledger.step", body: readLuaFile(dir, "step.lua"), libs });
export const SETTLE_SCRIPT = defineScript({ name: "ledger.settle", body: readLuaFile(dir, "settle.lua"), libs });
export const DEPOSIT_SCRIPT = defineScript({ name: "ledger.deposit", body: readLuaFile(dir, "deposit.lua"), libs });
export const CANCEL_CHECK_SCRIPT = defineScript({ name: "ledger.cancelCheck", body: readLuaFile(dir, "cancel_check.lua"), libs });

export const LEDGER_SCRIPTS = [STEP_SCRIPT, SETTLE_SCRIPT, DEPOSIT_SCRIPT, CANCEL_CHECK_SCRIPT];
