/**
 * The market journal: the per-market streams of accepted orders, fills and closes that the
 * matching engine appends to, atomically with each book change, and that every consumer reads
 * (the engine's ledger, the WebSocket feed; soon the settler and the epoch log). Producers and
 * consumers meet only here.
 *
 *   entries     the field layout, documented once, and the one decoder (./entries.ts)
 *   reader      ranges by counter (readFills / readCloses / readAccepted) and a follower's
 *               read from its cursor (readJournal), tailCursor
 *   consumers   named consumers with persisted cursors: registerConsumer, saveCursor,
 *               loadCursor, listConsumers, unregisterConsumer
 *   retention   trimJournals: streams trimmed up to the slowest consumer holding them back,
 *               finished orders' records and payloads dropped after the retention time
 */
export { journalKeys, JOURNAL_KEYSPACE, type JournalKeys } from "./keys";
export {
  CLOSE_REASONS,
  counterOf,
  decodeAccepted,
  decodeClose,
  decodeFill,
  type AcceptedEntry,
  type CloseEntry,
  type CloseReason,
  type FillEntry,
  type JournalStream,
  type StreamEntry,
} from "./entries";
export { readAccepted, readCloses, readFills, readJournal, tailCursor, type JournalCursor, type JournalRead } from "./reader";
export {
  decodeConsumer,
  listConsumers,
  loadCursor,
  registerConsumer,
  saveCursor,
  unregisterConsumer,
  type ConsumerMode,
  type ConsumerSpec,
  type ConsumerState,
} from "./consumers";
export {
  DEFAULT_RETENTION,
  JOURNAL_SCRIPTS,
  TRIM_SCRIPT,
  retentionMetrics,
  trimJournals,
  type ConsumerLag,
  type RetentionMetrics,
  type RetentionParams,
  type TrimDeps,
  type TrimResult,
} from "./retention";
export { fillView, type Fill } from "./views";
export { JournalError, type JournalErrorCode } from "./errors";
