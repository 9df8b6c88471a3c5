/** The order book's Lua scripts (see each file's header for KEYS / ARGV / returns). */
import { LUA_ARGS } from "../redis/lua";
import { defineScript, readLuaFile } from "../redis/scripts";
import { LEDGER_SCRIPTS } from "../ledger/scripts";

const dir = `${__dirname}/lua`;
const LUA_BOOK = readLuaFile(dir, "book.lua");

export const MATCH_SCRIPT = defineScript({ name: "book.match", body: readLuaFile(dir, "match.lua"), libs: [LUA_ARGS, LUA_BOOK] });
export const CANCEL_SCRIPT = defineScript({ name: "book.cancel", body: readLuaFile(dir, "cancel.lua"), libs: [LUA_ARGS, LUA_BOOK] });
export const INTAKE_SCRIPT = defineScript({ name: "book.intake", body: readLuaFile(dir, "intake.lua"), libs: [LUA_ARGS] });
export const SNAPSHOT_SCRIPT = defineScript({ name: "book.snapshot", body: readLuaFile(dir, "snapshot.lua"), libs: [LUA_ARGS], readOnly: true });
export const SEAL_SCRIPT = defineScript({ name: "book.seal", body: readLuaFile(dir, "seal.lua"), libs: [LUA_ARGS] });

export const BOOK_SCRIPTS = [INTAKE_SCRIPT, MATCH_SCRIPT, CANCEL_SCRIPT, SNAPSHOT_SCRIPT, SEAL_SCRIPT];
/** Every script the engine runs (loaded at start). */
export const ENGINE_SCRIPTS = [...BOOK_SCRIPTS, ...LEDGER_SCRIPTS];
