/**
 * The contract events the operator follows, decoded from raw logs into one typed union.
 *
 * Every event carries { chainId, id, address, txHash, blockNumber, blockHash, logIndex, kind }.
 * `id` = `${txHash}:${position}`, where position is the log's rank (from 0) among the logs of
 * OUR contracts (Settlement and OrderbookCommitment, every event of theirs, followed or not)
 * in that transaction. Unlike the block's logIndex, which moves when the same transaction is
 * re-included in another block after a reorg (other transactions before it, other contracts'
 * logs), the rank is fixed by the transaction's own execution: handlers dedupe on `id`.
 *
 * Addresses are lower-case; amounts, nonces and ids are bigints.
 */
import { decodeEventLog, type Abi, type Log } from "viem";
import type { Address, Hex } from "../orders/types";
import { commitmentEventsAbi, settlementEventsAbi } from "./abi";

interface ChainEventBase {
  chainId: number;
  /** `${txHash}:${position}`: stable across a re-inclusion of the transaction (see the header). */
  id: string;
  /** The contract that emitted it (lower-case). */
  address: Address;
  txHash: Hex;
  blockNumber: bigint;
  blockHash: Hex;
  /** Position in the block: for ordering only, not identity. */
  logIndex: number;
}

export type DepositedEvent = ChainEventBase & { kind: "Deposited"; trader: Address; token: Address; from: Address; amount: bigint };
export type WithdrawalRequestedEvent = ChainEventBase & { kind: "WithdrawalRequested"; trader: Address; token: Address; amount: bigint; readyAt: bigint };
export type WithdrawnEvent = ChainEventBase & { kind: "Withdrawn"; trader: Address; token: Address; amount: bigint; early: boolean };
export type NonceCancelledEvent = ChainEventBase & { kind: "NonceCancelled"; trader: Address; nonce: bigint; filled: bigint };
export type MinNonceRaisedEvent = ChainEventBase & { kind: "MinNonceRaised"; trader: Address; minNonce: bigint };
export type FilledEvent = ChainEventBase & {
  kind: "Filled";
  makerHash: Hex;
  takerHash: Hex;
  /** The packed fill word as the operator sent it (layout in ISettlement.sol). */
  fill: bigint;
  /** Bits 192..255 of `fill`: the operator's fill id. */
  fillId: bigint;
  /** Bits 32..159 of `fill`. */
  baseAmount: bigint;
  quoteAmount: bigint;
};
/** `reason`: a SkipReason code of ISettlement.sol (operator/settlement skipReasonName names it). */
export type FillSkippedEvent = ChainEventBase & { kind: "FillSkipped"; batchId: bigint; fillId: bigint; reason: number };
export type BatchSettledEvent = ChainEventBase & { kind: "BatchSettled"; batchId: bigint; fills: bigint; settled: bigint };
export type EpochCommittedEvent = ChainEventBase & { kind: "EpochCommitted"; epoch: bigint; root: Hex; leafCount: bigint; dataHash: Hex };

export type ChainEvent =
  | DepositedEvent
  | WithdrawalRequestedEvent
  | WithdrawnEvent
  | NonceCancelledEvent
  | MinNonceRaisedEvent
  | FilledEvent
  | FillSkippedEvent
  | BatchSettledEvent
  | EpochCommittedEvent;

export type ChainEventKind = ChainEvent["kind"];

export const CHAIN_EVENT_KINDS: readonly ChainEventKind[] = [
  "Deposited",
  "WithdrawalRequested",
  "Withdrawn",
  "NonceCancelled",
  "MinNonceRaised",
  "Filled",
  "FillSkipped",
  "BatchSettled",
  "EpochCommitted",
];

export interface EventSources {
  chainId: number;
  settlementAddress: Address;
  commitmentAddress: Address;
}

/** A log as eth_getLogs returns it (mined: no null fields). */
export type RawLog = Pick<Log<bigint, number, false>, "address" | "topics" | "data" | "blockNumber" | "blockHash" | "transactionHash" | "logIndex">;

const UINT128_MASK = (1n << 128n) - 1n;

/**
 * Decodes the logs of one or more whole blocks (every log of our contracts in them: the rank
 * of a log in its transaction is counted over them), in (block, logIndex) order. Logs of
 * other contracts are ignored, and so are our contracts' events that the operator does not
 * follow (they still count in the rank).
 */
export function decodeChainLogs(sources: EventSources, logs: readonly RawLog[]): ChainEvent[] {
  const settlement = sources.settlementAddress.toLowerCase();
  const commitment = sources.commitmentAddress.toLowerCase();
  const ours = logs
    .filter((log) => {
      const address = log.address.toLowerCase();
      return address === settlement || address === commitment;
    })
    .sort((a, b) => (a.blockNumber === b.blockNumber ? a.logIndex - b.logIndex : a.blockNumber < b.blockNumber ? -1 : 1));
  const rankInTx = new Map<string, number>();
  const out: ChainEvent[] = [];
  for (const log of ours) {
    const txHash = log.transactionHash.toLowerCase() as Hex;
    const position = rankInTx.get(txHash) ?? 0;
    rankInTx.set(txHash, position + 1);
    const address = log.address.toLowerCase() as Address;
    const base: ChainEventBase = {
      chainId: sources.chainId,
      id: `${txHash}:${position}`,
      address,
      txHash,
      blockNumber: log.blockNumber,
      blockHash: log.blockHash.toLowerCase() as Hex,
      logIndex: log.logIndex,
    };
    const event = address === settlement ? decodeSettlementLog(base, log) : decodeCommitmentLog(base, log);
    if (event !== undefined) out.push(event);
  }
  return out;
}

function lower(address: string): Address {
  return address.toLowerCase() as Address;
}

/** The event of a known signature, or undefined for another event of the contract. */
function decode(abi: Abi, log: RawLog): { eventName: string; args: Record<string, unknown> } | undefined {
  if (log.topics.length === 0) return undefined;
  try {
    return decodeEventLog({ abi, data: log.data, topics: log.topics as [Hex, ...Hex[]], strict: true }) as unknown as { eventName: string; args: Record<string, unknown> };
  } catch (error) {
    // An event the operator does not follow (TokenListed, role changes...): skipped. Anything
    // else (a followed event whose data does not decode) is a real error.
    if ((error as { name?: string }).name === "AbiEventSignatureNotFoundError") return undefined;
    throw error;
  }
}

function decodeSettlementLog(base: ChainEventBase, log: RawLog): ChainEvent | undefined {
  const decoded = decode(settlementEventsAbi, log);
  if (decoded === undefined) return undefined;
  const a = decoded.args;
  switch (decoded.eventName) {
    case "Deposited":
      return { ...base, kind: "Deposited", trader: lower(a.trader as string), token: lower(a.token as string), from: lower(a.from as string), amount: a.amount as bigint };
    case "WithdrawalRequested":
      return { ...base, kind: "WithdrawalRequested", trader: lower(a.trader as string), token: lower(a.token as string), amount: a.amount as bigint, readyAt: a.readyAt as bigint };
    case "Withdrawn":
      return { ...base, kind: "Withdrawn", trader: lower(a.trader as string), token: lower(a.token as string), amount: a.amount as bigint, early: a.early as boolean };
    case "NonceCancelled":
      return { ...base, kind: "NonceCancelled", trader: lower(a.trader as string), nonce: a.nonce as bigint, filled: a.filled as bigint };
    case "MinNonceRaised":
      return { ...base, kind: "MinNonceRaised", trader: lower(a.trader as string), minNonce: a.minNonce as bigint };
    case "Filled": {
      const fill = a.fill as bigint;
      // The fill word's layout (ISettlement.sol; operator/settlement unpackFill, not imported:
      // the settler depends on this module, not the other way round).
      return {
        ...base,
        kind: "Filled",
        makerHash: (a.makerHash as string).toLowerCase() as Hex,
        takerHash: (a.takerHash as string).toLowerCase() as Hex,
        fill,
        fillId: fill >> 192n,
        baseAmount: (fill >> 32n) & UINT128_MASK,
        quoteAmount: a.quoteAmount as bigint,
      };
    }
    case "FillSkipped":
      return { ...base, kind: "FillSkipped", batchId: a.batchId as bigint, fillId: a.fillId as bigint, reason: Number(a.reason) };
    case "BatchSettled":
      return { ...base, kind: "BatchSettled", batchId: a.batchId as bigint, fills: a.fills as bigint, settled: a.settled as bigint };
    default:
      return undefined;
  }
}

function decodeCommitmentLog(base: ChainEventBase, log: RawLog): ChainEvent | undefined {
  const decoded = decode(commitmentEventsAbi, log);
  if (decoded === undefined || decoded.eventName !== "EpochCommitted") return undefined;
  const a = decoded.args;
  return {
    ...base,
    kind: "EpochCommitted",
    epoch: a.epoch as bigint,
    root: (a.root as string).toLowerCase() as Hex,
    leafCount: a.leafCount as bigint,
    dataHash: (a.dataHash as string).toLowerCase() as Hex,
  };
}
