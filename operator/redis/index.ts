export { closeRedis, createRedisClient, describeRedis, isCluster, masterNodes, waitReady, type RedisClient, type RedisConnectionOptions, type CreateRedisOptions } from "./client";
export { RedisError, type RedisErrorCode } from "./errors";
export { ScriptRunner, defineScript, readLuaFile, isReplyError, type LuaScript, type ScriptCall, type ScriptResult, type ScriptRunnerOptions } from "./scripts";
export { KEY_ROOT, KEYSPACE_VERSION, keyspacePrefix, marketTag, traderTag, accountTag, chainTag } from "./keys";
export { keySlot, sameSlot } from "./slot";
export { encodeEvalsha, encodeEvalshaBatch, evalshaCommand, evalshaCommands, joinArg, type EvalshaCall, type ScriptArg } from "./resp";
export { LUA_BIGINT, LUA_ARGS, LUA_PRELUDE } from "./lua";
