/**
 * The end-of-test audit of the fault tests (issue 9): what the CHAIN says happened, compared
 * with what the operator matched and what its ledger and signer recorded.
 *
 *  - every fill matched is settled on chain exactly once: one Filled event per fill id, or, for
 *    a fill the test expects skipped, no Filled and one FillSkipped with that reason; no Filled
 *    or FillSkipped names a fill nobody matched;
 *  - no batch id settled twice (BatchSettled per batch id at most once);
 *  - vault == ledger for every trader and the fee account, nothing pending, no fill unresolved
 *    (stack.checkVaults);
 *  - no duplicate transaction: every transaction of the operator key on chain is one the signer
 *    recorded (its nonce's record names its hash among the attempts), each settle purpose has
 *    exactly one mined transaction and it succeeded, no two records share a purpose, nothing
 *    is left in flight.
 */
import { expect } from "chai";
import { decodeEventLog, decodeFunctionData, keccak256, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { signerKeys } from "../../../operator/chain/signerKeys";
import { decodeRecord, type TxRecord } from "../../../operator/chain/signerRecord";
import type { Address } from "../../../operator/orders";
import { settleBatchAbi, settleKeys, settlePurpose, skipReasonName } from "../../../operator/settlement";
import { SETTLEMENT_ARTIFACT } from "../../../scripts/lib/localChain";
import type { Stack } from "../../../scripts/lib/stack";

export interface OperatorTx {
  hash: Hex;
  nonce: number;
  block: bigint;
  status: "success" | "reverted";
  /** Decoded from the calldata, for settleBatch transactions. */
  batchId?: bigint;
  purpose?: string;
}

export interface ChainSettlement {
  filled: Map<bigint, number>;
  skipped: Map<bigint, string[]>;
  batches: Map<bigint, number>;
  operatorTxs: OperatorTx[];
}

/** Every Filled, FillSkipped and BatchSettled of the stack's Settlement, and every transaction of the operator key, read from the node. */
export async function readChainSettlement(stack: Stack): Promise<ChainSettlement> {
  const { publicClient: client, settlementAddress, deployBlock } = stack.chain;
  const abi = SETTLEMENT_ARTIFACT().abi;
  const head = (await client.getBlock({ blockTag: "latest" })).number!;
  const logs = await client.getLogs({ address: settlementAddress, fromBlock: deployBlock, toBlock: head });
  const filled = new Map<bigint, number>();
  const skipped = new Map<bigint, string[]>();
  const batches = new Map<bigint, number>();
  for (const log of logs) {
    let decoded: { eventName: string; args: Record<string, unknown> };
    try {
      decoded = decodeEventLog({ abi, data: log.data, topics: log.topics }) as unknown as typeof decoded;
    } catch {
      continue;
    }
    if (decoded.eventName === "Filled") {
      const id = (decoded.args.fill as bigint) >> 192n;
      filled.set(id, (filled.get(id) ?? 0) + 1);
    } else if (decoded.eventName === "FillSkipped") {
      const id = decoded.args.fillId as bigint;
      skipped.set(id, [...(skipped.get(id) ?? []), skipReasonName(Number(decoded.args.reason))]);
    } else if (decoded.eventName === "BatchSettled") {
      const id = decoded.args.batchId as bigint;
      batches.set(id, (batches.get(id) ?? 0) + 1);
    }
  }
  const operator = privateKeyToAccount(stack.chain.keys.operator).address.toLowerCase();
  const operatorTxs: OperatorTx[] = [];
  for (let n = deployBlock; n <= head; n++) {
    const block = await client.getBlock({ blockNumber: n, includeTransactions: true });
    for (const tx of block.transactions) {
      if (typeof tx === "string" || tx.from.toLowerCase() !== operator) continue;
      const receipt = await client.getTransactionReceipt({ hash: tx.hash });
      const out: OperatorTx = { hash: tx.hash, nonce: tx.nonce, block: n, status: receipt.status };
      if (tx.to?.toLowerCase() === settlementAddress.toLowerCase()) {
        try {
          const call = decodeFunctionData({ abi: settleBatchAbi, data: tx.input });
          if (call.functionName === "settleBatch") {
            out.batchId = call.args[0] as bigint;
            out.purpose = settlePurpose(out.batchId, keccak256(tx.input));
          }
        } catch {
          // another call of the operator key
        }
      }
      operatorTxs.push(out);
    }
  }
  return { filled, skipped, batches, operatorTxs };
}

/** Every record of the operator key's signer in Redis (in flight, confirmed or failed), by nonce. */
export async function signerRecords(stack: Stack): Promise<{ records: TxRecord[]; inFlight: number; purposes: Map<string, number> }> {
  const keys = signerKeys(stack.chain.chainId, privateKeyToAccount(stack.chain.keys.operator).address as Address);
  const redis = stack.redisClient();
  try {
    const records: TxRecord[] = [];
    const purposes = new Map<string, number>();
    let cursor = "0";
    do {
      const [next, found] = await redis.scan(cursor, "MATCH", `${keys.base}:*`, "COUNT", 1000);
      cursor = next;
      for (const key of found) {
        const rest = key.slice(keys.base.length + 1);
        if (rest.startsWith("tx:")) {
          const text = await redis.hget(key, "rec");
          if (text !== null) records.push(decodeRecord(text, key));
        } else if (rest.startsWith("purpose:")) {
          purposes.set(rest.slice("purpose:".length), Number(await redis.get(key)));
        }
      }
    } while (cursor !== "0");
    records.sort((a, b) => a.nonce - b.nonce);
    return { records, inFlight: await redis.zcard(keys.inflight), purposes };
  } finally {
    redis.disconnect();
  }
}

export interface ExpectOnce {
  /** Every fill the operator matched in the test. */
  fills: readonly bigint[];
  /** Fill ids expected skipped on chain, with the reasons allowed (e.g. MakerUnfunded / TakerUnfunded). */
  skipped?: ReadonlyMap<bigint, readonly string[]>;
  /** Every trader of the test (checkVaults adds the fee account). */
  traders: readonly Address[];
}

/** The audit (see the header); returns what it read, for a test's own further checks. */
export async function expectSettledExactlyOnce(stack: Stack, expectation: ExpectOnce): Promise<ChainSettlement> {
  const chain = await readChainSettlement(stack);
  const matched = new Set(expectation.fills.map(String));
  expect(matched.size, "fill ids matched are distinct").to.equal(expectation.fills.length);
  for (const id of expectation.fills) {
    const reasons = expectation.skipped?.get(id);
    if (reasons === undefined) {
      expect(chain.filled.get(id) ?? 0, `Filled events of fill ${id}`).to.equal(1);
      expect(chain.skipped.get(id) ?? [], `FillSkipped events of fill ${id}`).to.deep.equal([]);
    } else {
      expect(chain.filled.get(id) ?? 0, `Filled events of fill ${id} (expected skipped)`).to.equal(0);
      const skips = chain.skipped.get(id) ?? [];
      expect(skips.length, `FillSkipped events of fill ${id}`).to.equal(1);
      expect(reasons, `the reason fill ${id} was skipped`).to.include(skips[0]);
    }
  }
  for (const id of [...chain.filled.keys(), ...chain.skipped.keys()]) expect(matched.has(String(id)), `fill ${id} on chain was matched in this test`).to.equal(true);
  for (const [batchId, n] of chain.batches) expect(n, `BatchSettled events of batch ${batchId}`).to.equal(1);

  // Transactions: the chain's against the signer's records.
  const { records, inFlight, purposes } = await signerRecords(stack);
  const nonces = chain.operatorTxs.map((t) => t.nonce);
  expect(new Set(nonces).size, "nonces of the operator's mined transactions are distinct").to.equal(nonces.length);
  expect(nonces, "the operator key's transactions are nonces 0..n-1, each recorded by the signer").to.deep.equal(records.map((r) => r.nonce));
  const byNonce = new Map(records.map((r) => [r.nonce, r]));
  for (const tx of chain.operatorTxs) {
    const rec = byNonce.get(tx.nonce)!;
    expect(rec.attempts.map((a) => a.hash), `the signer's attempts of nonce ${tx.nonce}`).to.include(tx.hash);
    expect(rec.status, `the signer's record of nonce ${tx.nonce}`).to.equal("confirmed");
    expect(tx.status, `the transaction of nonce ${tx.nonce} (${tx.purpose ?? "?"})`).to.equal("success");
    if (tx.purpose !== undefined) {
      // The settler's purpose is "settle:<batchId>:<calldata hash, 16 hex>", possibly with a
      // suffix of its own (a batch id rebuilt after a revert): the record's names this call.
      expect(rec.purpose === tx.purpose || rec.purpose.startsWith(`${tx.purpose}:`), `the purpose of nonce ${tx.nonce}: ${rec.purpose} for ${tx.purpose}`).to.equal(true);
      tx.purpose = rec.purpose;
    }
  }
  const settleTxs = chain.operatorTxs.filter((t) => t.purpose !== undefined);
  const perPurpose = new Map<string, number>();
  for (const t of settleTxs) perPurpose.set(t.purpose!, (perPurpose.get(t.purpose!) ?? 0) + 1);
  for (const [purpose, n] of perPurpose) expect(n, `mined transactions of ${purpose}`).to.equal(1);
  const perBatch = new Map<string, number>();
  for (const t of settleTxs) perBatch.set(String(t.batchId), (perBatch.get(String(t.batchId)) ?? 0) + 1);
  for (const [batchId, n] of perBatch) expect(n, `mined settleBatch transactions of batch ${batchId}`).to.equal(1);
  expect([...chain.batches.keys()].map(String).sort(), "every settleBatch transaction settled its batch").to.deep.equal([...perBatch.keys()].sort());
  const recordPurposes = records.map((r) => r.purpose);
  expect(new Set(recordPurposes).size, "no two signer records share a purpose").to.equal(recordPurposes.length);
  for (const r of records) expect(purposes.get(r.purpose), `the purpose index of ${r.purpose}`).to.equal(r.nonce);
  expect(inFlight, "signer records still in flight").to.equal(0);

  // The ledger.
  const check = await stack.checkVaults(expectation.traders);
  expect(check.mismatches, "vault == ledger").to.deep.equal([]);
  expect(check.unresolvedFills, "fills the settler has not resolved").to.equal(0);
  expect(check.pending, "pending in the ledger").to.equal(0n);
  expect(check.ok).to.equal(true);

  // The settler's own counters agree with the chain (a fill applied twice would show here).
  const redis = stack.redisClient();
  try {
    const state = await redis.hgetall(settleKeys(stack.chain.chainId).state);
    const settledOnChain = [...chain.filled.values()].reduce((a, b) => a + b, 0);
    const skippedOnChain = [...chain.skipped.values()].reduce((a, b) => a + b.length, 0);
    expect(Number(state["fills:settled"] ?? 0), "the settler's count of settled fills").to.equal(settledOnChain);
    expect(Number(state["fills:skipped"] ?? 0), "the settler's count of skipped fills").to.equal(skippedOnChain);
    expect(Number(state["batches:settled"] ?? 0), "the settler's count of settled batches").to.equal(chain.batches.size);
  } finally {
    redis.disconnect();
  }
  return chain;
}

/**
 * Waits until checkVaults is ok (everything settled and applied) and the signer has no
 * transaction in flight, or fails with what is left.
 */
export async function waitSettled(stack: Stack, traders: readonly Address[], ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  let last: Awaited<ReturnType<Stack["checkVaults"]>> | undefined;
  for (;;) {
    last = await stack.checkVaults(traders).catch(() => undefined);
    // The ledger may apply a batch (from the watcher's logs) before the signer sees its receipt:
    // settled means both.
    if (last?.ok === true && (await signerRecords(stack).catch(() => undefined))?.inFlight === 0) return;
    if (Date.now() > deadline) {
      throw new Error(
        `not settled after ${ms} ms: ${JSON.stringify(last ?? "Redis unreachable", (_k, v) => (typeof v === "bigint" ? v.toString() : v))}`,
      );
    }
    await new Promise((r) => setTimeout(r, 150));
  }
}
