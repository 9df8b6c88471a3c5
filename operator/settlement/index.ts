/**
 * Settlement: the fills matched off-chain, settled on chain in batches, exactly once.
 *
 *   batchEncoding  settleBatch's calldata shape (packed fills, sorted orders)
 *   builder        fills -> calldata (payloads, signatures as the contract wants them)
 *   gasModel       batch sizing, measured on the chain
 *   intents        batch intents persisted before anything is sent
 *   settler        the per-chain loop: journal -> batches -> signer
 *   outcomes       the chain's Filled / FillSkipped / BatchSettled -> ledger and records
 *   keys           the settler's keyspace, {c:<chainId>}
 */
export { packFill, unpackFill, encodeBatch, compareOrders, BatchEncodingError, type Fill, type EncodedBatch } from "./batchEncoding";
export { settleBatchAbi, SKIP_REASONS, RETRYABLE_SKIP, skipReasonName, type SkipReasonName } from "./abi";
export { settleKeys, SETTLE_KEYSPACE, type SettleKeys } from "./keys";
export { createGasModel, INITIAL_GAS_PER_FILL, BATCH_OVERHEAD_GAS, MAX_CALLDATA_BYTES, type GasModel } from "./gasModel";
export { buildBatch, loadSignedOrders, signatureFor, calldataBytes, type BuiltBatch, type SignedOrder } from "./builder";
export { loadIntent, loadOpenIntents, loadSettlerState, type BatchIntent, type IntentStatus } from "./intents";
export { applySettlementEvents, unwindDropped, RESULTS_MAXLEN, type SettlementEvent, type AppliedOutcomes } from "./outcomes";
export { createSettler, settlePurpose, batchIdOfPurpose, type Settler, type SettlerDeps, type SettlerParams, type SettlerSigner, type SettlerStatus, type SettlerChainClient } from "./settler";
export { settlementMetrics, type SettlementMetrics } from "./metrics";
export { simulateBatch, revertOf, type Simulation } from "./simulate";
export { settleFillOf, type SettleFill, type DroppedFill } from "./records";
export { SettlementError, type SettlementErrorCode } from "./errors";
