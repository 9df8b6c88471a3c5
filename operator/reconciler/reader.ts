/**
 * One chain's consistent snapshot for the reconciler: the ledger and the on-chain vault read
 * against the SAME chain state, so that a comparison never raises a false alarm.
 *
 * The ledger moves with the chain only through the chain watcher, which applies confirmed
 * events up to a cursor block it keeps in Redis (operator/chain/watcherKeys.ts, field
 * `block`). So:
 *   1. read the cursor: B (and require block == target: no multi-range read half applied);
 *   2. list the chain's ledger accounts (SCAN of `hx:v3:ldg:{t:<chainId>:*}:acct`: after 1,
 *      so every account whose first event is at or below B is there) and read their balances
 *      of the chain's tokens (one HMGET per account, pipelined);
 *   3. read the cursor again: if it moved, the ledger read may straddle two blocks: again
 *      from 1 (up to `stableAttempts` times);
 *   4. read the chain AT block B (eth_call with blockNumber): Settlement.balancesOf for every
 *      (account, token) pair, `pairsPerCall` pairs per call, and in one deployless Multicall3
 *      call (no contract needed on the chain) each token's balanceOf(Settlement) and
 *      Settlement.totalBalance(token).
 * Whatever the chain did after B (a batch mined, not applied yet) is invisible at B: it is in
 * flight, not drift. One race remains: a watcher handler applies a range's events BEFORE it
 * moves the cursor, so a ledger read during a handler can be ahead of B for a few accounts;
 * ./index.ts confirms any drift with a second snapshot before it reports it.
 *
 * Requests: ceil(accounts x tokens / pairsPerCall) + 1 per round (40,000 pairs at 5,000 per
 * call: 9). Every call goes through the chain's budgeted, retried, circuit-broken client
 * (operator/chain/rpc.ts): a chain that does not answer fails this read with
 * RECONCILER_CHAIN_READ, and the caller reports it "unknown".
 */
import type { PublicClient } from "viem";
import { describeRpcError } from "../chain/rpcErrors";
import { watcherKeys } from "../chain/watcherKeys";
import { getBalances, LEDGER_KEYSPACE } from "../ledger";
import type { Balance } from "../ledger/types";
import type { Address } from "../orders/types";
import { masterNodes, type RedisClient } from "../redis";
import { settleKeys } from "../settlement/keys";
import { erc20BalanceAbi, reconcilerSettlementAbi } from "./abi";
import type { AccountInput, ChainSnapshot, SettlementInFlight } from "./compare";
import { ReconcilerError } from "./errors";

export interface ReadChainDeps {
  redis: RedisClient;
  /** The chain's client: in the daemon its budgeted RPC client (operator/chain createChainClients). */
  client: PublicClient;
}

export interface ReadChainParams {
  chainId: number;
  settlement: Address;
  tokens: readonly Address[];
  /** The chain's fee account: always reconciled, even before it holds anything. */
  feeAccount?: Address;
  /** (trader, token) pairs per balancesOf call. */
  pairsPerCall: number;
  /** Gas of each eth_call (a large balancesOf needs more than a node's default). */
  callGas?: bigint;
  /** Attempts at a ledger read the cursor did not move during. Default 5. */
  stableAttempts?: number;
  /** Accounts read from Redis at once. Default 1,000. */
  ledgerBatch?: number;
  signal?: AbortSignal;
}

export interface ChainRead {
  snapshot: ChainSnapshot;
  /** JSON-RPC requests this read sent (eth_call; retries inside the RPC client not counted). */
  rpcRequests: number;
  /** Ledger reads until the cursor held still. */
  attempts: number;
  readMs: number;
}

const SETTLE_ATTEMPT_DELAY_MS = 100;

/** The watcher's applied block and whether its last read is complete; undefined before it starts. */
export async function readAppliedBlock(redis: RedisClient, chainId: number): Promise<{ block: bigint; complete: boolean } | undefined> {
  const [block, target] = await redis.hmget(watcherKeys(chainId).cursor, "block", "target");
  if (block === null || block === undefined || BigInt(block) < 0n) return undefined;
  return { block: BigInt(block), complete: target === null || target === undefined || target === block };
}

/** Every trader with a ledger account on the chain (SCAN on every master: cluster-safe). */
export async function listLedgerTraders(redis: RedisClient, chainId: number): Promise<Address[]> {
  const pattern = `${LEDGER_KEYSPACE}:{t:${chainId}:*}:acct`;
  const re = /\{t:\d+:(0x[0-9a-f]{40})\}:acct$/;
  const out = new Set<Address>();
  for (const node of masterNodes(redis)) {
    let cursor = "0";
    do {
      const [next, keys] = await node.scan(cursor, "MATCH", pattern, "COUNT", 5_000);
      for (const k of keys) {
        const m = re.exec(k);
        if (m !== null) out.add(m[1] as Address);
      }
      cursor = next;
    } while (cursor !== "0");
  }
  return [...out].sort();
}

async function readSettlementInFlight(redis: RedisClient, chainId: number): Promise<SettlementInFlight> {
  const k = settleKeys(chainId);
  const [openBatches, unsettledFills, retryFills, dropFills] = await Promise.all([redis.zcard(k.open), redis.hlen(k.fills), redis.hlen(k.retry), redis.hlen(k.drop)]);
  return { openBatches, unsettledFills, retryFills, dropFills };
}

export async function readChainSnapshot(deps: ReadChainDeps, params: ReadChainParams): Promise<ChainRead> {
  const started = Date.now();
  const tokens = [...new Set(params.tokens.map((t) => t.toLowerCase() as Address))];
  const attemptsAllowed = params.stableAttempts ?? 5;
  const batch = params.ledgerBatch ?? 1_000;
  let attempts = 0;
  let block: bigint | undefined;
  let traders: Address[] = [];
  let ledger: Balance[][] = [];
  let settlement: SettlementInFlight | undefined;
  for (;;) {
    attempts++;
    const before = await readAppliedBlock(deps.redis, params.chainId);
    if (before === undefined) {
      throw new ReconcilerError("RECONCILER_NO_CURSOR", `chain ${params.chainId}: the chain watcher has no cursor in Redis yet; the ledger reflects no known block`, {
        details: { chainId: params.chainId },
      });
    }
    const listed = await listLedgerTraders(deps.redis, params.chainId);
    if (params.feeAccount !== undefined && !listed.includes(params.feeAccount.toLowerCase() as Address)) listed.push(params.feeAccount.toLowerCase() as Address);
    const balances: Balance[][] = [];
    for (let i = 0; i < listed.length; i += batch) {
      const part = await Promise.all(listed.slice(i, i + batch).map((trader) => getBalances(deps, { chainId: params.chainId, trader, tokens })));
      for (const b of part) balances.push(tokens.map((t) => b[t]));
    }
    const inFlight = await readSettlementInFlight(deps.redis, params.chainId);
    const after = await readAppliedBlock(deps.redis, params.chainId);
    const stable = after !== undefined && after.block === before.block && before.complete && after.complete;
    if (stable || attempts >= attemptsAllowed) {
      if (!stable) {
        throw new ReconcilerError("RECONCILER_UNSTABLE", `chain ${params.chainId}: the chain watcher's cursor moved during ${attempts} ledger reads in a row`, {
          details: { chainId: params.chainId, attempts },
        });
      }
      block = before.block;
      traders = listed;
      ledger = balances;
      settlement = inFlight;
      break;
    }
    if (params.signal?.aborted === true) throw new ReconcilerError("RECONCILER_UNSTABLE", `chain ${params.chainId}: read aborted`, { details: { chainId: params.chainId } });
    await new Promise((r) => setTimeout(r, SETTLE_ATTEMPT_DELAY_MS));
  }

  // The chain at block B.
  let rpcRequests = 0;
  const call = <T>(run: () => Promise<T>): Promise<T> => {
    rpcRequests++;
    return run();
  };
  const owners = traders.flatMap((t) => tokens.map(() => t));
  const assets = traders.flatMap(() => tokens);
  const gas = params.callGas;
  const settlementAddress = params.settlement;
  try {
    const chunks: Promise<readonly bigint[]>[] = [];
    for (let i = 0; i < owners.length; i += params.pairsPerCall) {
      const o = owners.slice(i, i + params.pairsPerCall);
      const a = assets.slice(i, i + params.pairsPerCall);
      chunks.push(
        call(() =>
          deps.client.readContract({
            address: settlementAddress,
            abi: reconcilerSettlementAbi,
            functionName: "balancesOf",
            args: [o, a],
            blockNumber: block,
            ...(gas === undefined ? {} : { gas }),
          }),
        ),
      );
    }
    const tokenReads = call(() =>
      deps.client.multicall({
        contracts: tokens.flatMap((t) => [
          { address: t, abi: erc20BalanceAbi, functionName: "balanceOf", args: [settlementAddress] } as const,
          { address: settlementAddress, abi: reconcilerSettlementAbi, functionName: "totalBalance", args: [t] } as const,
        ]),
        allowFailure: false,
        deployless: true,
        batchSize: 0,
        blockNumber: block,
        ...(gas === undefined ? {} : { gas }),
      }),
    );
    const [parts, sums] = await Promise.all([Promise.all(chunks), tokenReads]);
    const onChain = parts.flat();
    const accounts: AccountInput[] = [];
    traders.forEach((trader, i) => {
      tokens.forEach((token, j) => {
        accounts.push({ trader, token, ledger: ledger[i][j], onChain: onChain[i * tokens.length + j] });
      });
    });
    const holdings: Record<Address, bigint> = {};
    const totals: Record<Address, bigint> = {};
    tokens.forEach((t, j) => {
      holdings[t] = sums[2 * j] as bigint;
      totals[t] = sums[2 * j + 1] as bigint;
    });
    return { snapshot: { block, accounts, holdings, totals, settlement: settlement! }, rpcRequests, attempts, readMs: Date.now() - started };
  } catch (error) {
    throw new ReconcilerError("RECONCILER_CHAIN_READ", `chain ${params.chainId}: reading the vault at block ${block} failed: ${describeRpcError(error)}`, {
      cause: error,
      details: { chainId: params.chainId, block, rpcRequests },
    });
  }
}
