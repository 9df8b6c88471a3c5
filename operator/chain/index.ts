/**
 * Chains: the client and contract bindings of every configured chain (./clients.ts), the
 * budgeted, retried, circuit-broken RPC client each one uses (./rpc.ts), the contracts' events
 * as one typed union (./events.ts), the chain watcher (./watcher.ts), the per-chain signer and
 * nonce manager (./signer.ts), and the contracts' ABI fragments the operator calls (./abi.ts).
 */
export { createChainClients, checkChain, type ChainClient, type ChainInfo } from "./clients";
export { settlementAbi, commitmentAbi, settlementEventsAbi, commitmentEventsAbi } from "./abi";
export { ChainError, type ChainErrorCode } from "./errors";
export { createChainRpc, type ChainRpc, type ChainRpcDeps, type ChainRpcParams, type ChainRpcStatus, type RetryPolicy, type BreakerPolicy, type BreakerState } from "./rpc";
export { chainErrorOf, isBreakerOpen, isNodeFailure, describeRpcError } from "./rpcErrors";
export {
  decodeChainLogs,
  CHAIN_EVENT_KINDS,
  type ChainEvent,
  type ChainEventKind,
  type DepositedEvent,
  type WithdrawalRequestedEvent,
  type WithdrawnEvent,
  type NonceCancelledEvent,
  type MinNonceRaisedEvent,
  type FilledEvent,
  type FillSkippedEvent,
  type BatchSettledEvent,
  type EpochCommittedEvent,
} from "./events";
export { createChainWatcher, type ChainWatcher, type ChainWatcherParams, type ChainWatcherStatus, type ChainEventHandler, type HandleContext, type PollResult } from "./watcher";
export { watcherKeys, WATCH_KEYSPACE } from "./watcherKeys";
export { createSigner, signerParams } from "./signer";
export type { Signer, SignerDeps, SignerParams, SignerStatus, SubmitRequest, SubmittedTx, ConfirmedTx } from "./signerTypes";
export { SignerError } from "./signerErrors";
