/**
 * The Redis layout's version: the start-up check that refuses data of an older layout
 * (./keyspace.ts) and the migration that moves v2 data to v3 (./migrate.ts).
 */
export { checkKeyspace, clearOldKeyspace, findOldKeys, KeyspaceError, KEYSPACE_MARKER, OLD_PATTERNS, type KeyspaceErrorCode } from "./keyspace";
export { migrateV2ToV3, type MigrateParams, type MigrationProgress, type MigrationReport } from "./migrate";
