/**
 * One pass of the signer's tracking loop over its transactions in flight (./signer.ts runs it
 * every pollIntervalMs, and once in start()):
 *
 *   read   the key's "latest" transaction count, and the head block (number, base fee) only
 *          when something needs it (a transaction mined and waiting for confirmations, a
 *          replacement): one or two requests a pass while transactions are in flight, whatever
 *          their number, none when idle; receipts are asked only for what the count says was
 *          mined (the public HyperEVM RPC allows ~100 requests a minute)
 *   sent   nonce below the count: look for a receipt of ANY of its attempts (the original and
 *          every replacement) -> "mined". None: the nonce was taken by a transaction we do not
 *          know; once that still holds `max(confirmations, 1)` blocks later -> "failed", logged
 *          as an error (never re-signed at another nonce by itself).
 *          nonce at or above the count: not yet sent by this instance (restart, crash between
 *          record and send) or the last send failed -> send its stored raw transaction again;
 *          in the pool and not mined stuckAfterMs after it got there (or refused as
 *          underpriced, stuckAfterMs after it was signed) -> replace it: same nonce, to, data
 *          and gas, both fees raised (./fees.ts), signed, recorded, then broadcast. A bump the
 *          fee ceiling forbids is not made: the transaction waits and is offered again when the
 *          base fee lets it in.
 *   mined  count no longer above its nonce and its receipt gone (a reorg) -> back to "sent", sent
 *          again; `confirmations` blocks on top of its block -> its receipt read once more (same
 *          block?) -> "confirmed" with the receipt's status and gasUsed.
 *
 * Every change is recorded in Redis before it is acted on (a replacement is recorded before it
 * is broadcast), so a crash at any point leaves a record start() can resume from.
 */
import type { Block, PublicClient, TransactionReceipt } from "viem";
import type { Logger } from "../log";
import type { Address } from "../orders/types";
import type { Clock } from "../tasks";
import { classifySendError, isDelivered, type BroadcastOutcome } from "./broadcast";
import { readFees, replacementFees, type FeePolicy, type FeeQuote, type Fees } from "./fees";
import { currentAttempt, type TxAttempt, type TxRecord } from "./signerRecord";
import type { SignerStore } from "./signerStore";

/** A transaction in flight, with what only this instance knows about it. */
export interface Flight {
  rec: TxRecord;
  /** The last broadcast by this instance; undefined: not yet (so it is sent at the next pass). */
  broadcast?: { outcome: BroadcastOutcome; at: number };
  /** When the node first took the current attempt (stuck timing). */
  since?: number;
  sinceHash?: string;
  /** A broadcast of it is under way (submit() and the loop never send it twice at once). */
  sending?: boolean;
  /** Waiting at the fee ceiling. */
  capped: boolean;
  /** The head when its nonce was first seen used without a receipt of ours. */
  consumedSeenAt?: bigint;
}

export interface TrackContext {
  client: PublicClient;
  address: Address;
  log: Logger;
  clock: Clock;
  store: SignerStore;
  policy: FeePolicy;
  confirmations: number;
  stuckAfterMs: number;
  flights: ReadonlyMap<number, Flight>;
  sign(tx: Pick<TxRecord, "nonce" | "to" | "data" | "gas">, fees: Fees): Promise<TxAttempt>;
  nextNonce(): number;
  /** Moves the next nonce up to at least `nonce` (others used ours). */
  raiseNext(nonce: number): Promise<void>;
  /** A flight's status changed between "sent" and "mined" (slots, gauge). */
  changed(): void;
  /** A flight reached "confirmed" or "failed" (recorded): it leaves the flights. */
  finished(flight: Flight): void;
  replaced(flight: Flight): void;
  error(message: string): void;
}

interface Pass {
  /** The head block (number, base fee), read at most once per pass. */
  head(): Promise<bigint>;
  base(): Promise<bigint>;
  latestCount: number;
  /** The node's fees, read at most once per pass, and only when a replacement needs them. */
  quote(): Promise<FeeQuote>;
}

export async function trackOnce(ctx: TrackContext): Promise<void> {
  if (ctx.flights.size === 0) return;
  const latestCount = await ctx.client.getTransactionCount({ address: ctx.address, blockTag: "latest" });
  if (latestCount > ctx.nextNonce()) {
    const message = `the chain used nonces of ${ctx.address} up to ${latestCount - 1} but the signer assigned only up to ${ctx.nextNonce() - 1}: another sender uses the operator key`;
    ctx.log.error({ latestCount, nextNonce: ctx.nextNonce() }, message);
    ctx.error(message);
    await ctx.raiseNext(latestCount);
  }
  // eth_getBlockByNumber "latest", not eth_blockNumber: one request gives the head and its base
  // fee (and anvil leaves eth_blockNumber behind after a reorg).
  let block: Promise<Block> | undefined;
  const head = () => (block ??= ctx.client.getBlock({ blockTag: "latest" }));
  let quote: Promise<FeeQuote> | undefined;
  const pass: Pass = {
    head: async () => (await head()).number as bigint,
    base: async () => (await head()).baseFeePerGas ?? 0n,
    latestCount,
    quote: () => (quote ??= head().then((b) => readFees(ctx.client, ctx.policy, b))),
  };
  for (const f of [...ctx.flights.values()].sort((a, b) => a.rec.nonce - b.rec.nonce)) {
    let fresh: TransactionReceipt | undefined;
    if (f.rec.status === "sent") {
      if (f.rec.nonce < latestCount) fresh = await findMined(ctx, f, pass);
      else await keepSending(ctx, f, pass);
    } else if (f.rec.status === "mined" && f.rec.nonce >= latestCount) {
      // The count says the nonce is free again; a lagging RPC backend can say so too: ask the receipt.
      fresh = await receiptOf(ctx.client, f.rec.mined!.hash);
      if (fresh === undefined || fresh.blockHash !== f.rec.mined!.blockHash) {
        await reorged(ctx, f, "its block left the chain");
        continue;
      }
    }
    if (f.rec.status === "mined" && (await pass.head()) >= f.rec.mined!.blockNumber + BigInt(ctx.confirmations)) await confirm(ctx, f, pass, fresh);
  }
}

/** The receipt of `hash`, or undefined while there is none. */
export async function receiptOf(client: PublicClient, hash: `0x${string}`): Promise<TransactionReceipt | undefined> {
  try {
    return await client.getTransactionReceipt({ hash });
  } catch (error) {
    if ((error as Error)?.name === "TransactionReceiptNotFoundError") return undefined;
    throw error;
  }
}

async function findMined(ctx: TrackContext, f: Flight, pass: Pass): Promise<TransactionReceipt | undefined> {
  // Newest first: a replacement is the likelier one to have been mined.
  for (const attempt of [...f.rec.attempts].reverse()) {
    const receipt = await receiptOf(ctx.client, attempt.hash);
    if (receipt !== undefined) {
      const rec: TxRecord = { ...f.rec, status: "mined", mined: { hash: attempt.hash, blockNumber: receipt.blockNumber, blockHash: receipt.blockHash } };
      await ctx.store.update(rec);
      f.rec = rec;
      f.consumedSeenAt = undefined;
      f.capped = false;
      ctx.log.info({ nonce: rec.nonce, hash: attempt.hash, purpose: rec.purpose, block: receipt.blockNumber.toString() }, "transaction mined");
      ctx.changed();
      return receipt;
    }
  }
  const { nonce, purpose } = f.rec;
  const hashes = f.rec.attempts.map((a) => a.hash);
  const head = await pass.head();
  if (f.consumedSeenAt === undefined) {
    f.consumedSeenAt = head;
    ctx.log.warn({ nonce, purpose, hashes, head: head.toString() }, "nonce used on chain but no receipt of any of its attempts yet");
    return undefined;
  }
  if (head < f.consumedSeenAt + BigInt(Math.max(ctx.confirmations, 1))) return undefined;
  const message = `nonce ${nonce} (${purpose}) was used by a transaction the signer does not know: none of its ${hashes.length} attempt(s) was mined`;
  const rec: TxRecord = { ...f.rec, status: "failed", failure: { code: "SIGNER_NONCE_CONSUMED", message, at: ctx.clock.now() } };
  await ctx.store.finish(rec);
  f.rec = rec;
  ctx.log.error({ nonce, purpose, hashes, hash: hashes[hashes.length - 1] }, message);
  ctx.error(message);
  ctx.finished(f);
  return undefined;
}

async function confirm(ctx: TrackContext, f: Flight, pass: Pass, fresh: TransactionReceipt | undefined): Promise<void> {
  const mined = f.rec.mined!;
  const receipt = fresh ?? (await receiptOf(ctx.client, mined.hash));
  if (receipt === undefined) return reorged(ctx, f, "its receipt disappeared");
  if (receipt.blockHash !== mined.blockHash) {
    const rec: TxRecord = { ...f.rec, mined: { hash: mined.hash, blockNumber: receipt.blockNumber, blockHash: receipt.blockHash }, reorgs: f.rec.reorgs + 1 };
    await ctx.store.update(rec);
    f.rec = rec;
    ctx.log.warn({ nonce: rec.nonce, hash: mined.hash, purpose: rec.purpose, block: receipt.blockNumber.toString() }, "transaction re-mined in another block after a reorg");
    if ((await pass.head()) < receipt.blockNumber + BigInt(ctx.confirmations)) return;
  }
  const rec: TxRecord = {
    ...f.rec,
    status: "confirmed",
    outcome: { result: receipt.status, gasUsed: receipt.gasUsed, effectiveGasPrice: receipt.effectiveGasPrice ?? 0n, confirmedAt: ctx.clock.now() },
  };
  await ctx.store.finish(rec);
  f.rec = rec;
  ctx.log.info(
    { nonce: rec.nonce, hash: mined.hash, purpose: rec.purpose, block: receipt.blockNumber.toString(), result: receipt.status, gasUsed: receipt.gasUsed.toString() },
    "transaction confirmed",
  );
  ctx.finished(f);
}

async function reorged(ctx: TrackContext, f: Flight, why: string): Promise<void> {
  const was = f.rec.mined!;
  const rec: TxRecord = { ...f.rec, status: "sent", mined: undefined, reorgs: f.rec.reorgs + 1 };
  await ctx.store.update(rec);
  f.rec = rec;
  f.since = undefined;
  f.sinceHash = undefined;
  ctx.log.warn({ nonce: rec.nonce, hash: was.hash, purpose: rec.purpose, block: was.blockNumber.toString() }, `mined transaction back to sent: ${why}; sending it again`);
  ctx.changed();
  await sendAttempt(ctx, f, currentAttempt(rec));
}

async function keepSending(ctx: TrackContext, f: Flight, pass: Pass): Promise<void> {
  if (f.sending === true) return;
  const current = currentAttempt(f.rec);
  const last = f.broadcast;
  if (last === undefined || (!isDelivered(last.outcome) && last.outcome !== "underpriced")) {
    await sendAttempt(ctx, f, current);
    return;
  }
  const now = ctx.clock.now();
  // Refused as underpriced: waited since it was signed (so fees rise at most once per stuckAfterMs).
  const waiting = last.outcome === "underpriced" ? current.signedAt : (f.since ?? current.signedAt);
  if (now - waiting < ctx.stuckAfterMs) return;
  const next = replacementFees(current, await pass.quote(), ctx.policy);
  if (next.capped) {
    if (!f.capped) {
      ctx.log.warn(
        { nonce: f.rec.nonce, hash: current.hash, purpose: f.rec.purpose, maxFeePerGas: current.maxFeePerGas.toString(), needed: next.needed.maxFeePerGas.toString(), ceiling: ctx.policy.maxFeePerGasWei?.toString() },
        "stuck transaction waits: the fee ceiling forbids the bump a replacement needs",
      );
    }
    f.capped = true;
    // The node may have dropped it, or refused it while the base fee was above its max fee:
    // offer it again once it fits, at most once per stuckAfterMs.
    if (current.maxFeePerGas >= (await pass.base()) && (last.outcome === "underpriced" || now - last.at >= ctx.stuckAfterMs)) await sendAttempt(ctx, f, current);
    return;
  }
  f.capped = false;
  const attempt = await ctx.sign(f.rec, next.fees);
  const rec: TxRecord = { ...f.rec, attempts: [...f.rec.attempts, attempt] };
  await ctx.store.update(rec);
  f.rec = rec;
  ctx.replaced(f);
  ctx.log.warn(
    {
      nonce: rec.nonce,
      hash: attempt.hash,
      replaces: current.hash,
      purpose: rec.purpose,
      maxFeePerGas: attempt.maxFeePerGas.toString(),
      maxPriorityFeePerGas: attempt.maxPriorityFeePerGas.toString(),
      previousMaxFeePerGas: current.maxFeePerGas.toString(),
      previousMaxPriorityFeePerGas: current.maxPriorityFeePerGas.toString(),
      attempt: rec.attempts.length,
    },
    "replacing a stuck transaction: same nonce and call, higher fees",
  );
  await sendAttempt(ctx, f, attempt);
}

/** eth_sendRawTransaction of a recorded attempt; never throws (the outcome is kept on the flight). */
export async function sendAttempt(ctx: Pick<TrackContext, "client" | "log" | "clock" | "error">, f: Flight, attempt: TxAttempt): Promise<BroadcastOutcome> {
  let outcome: BroadcastOutcome = "accepted";
  let message = "";
  f.sending = true;
  try {
    await ctx.client.sendRawTransaction({ serializedTransaction: attempt.raw });
  } catch (error) {
    ({ outcome, message } = classifySendError(error));
  } finally {
    f.sending = false;
  }
  const now = ctx.clock.now();
  f.broadcast = { outcome, at: now };
  if (isDelivered(outcome) && f.sinceHash !== attempt.hash) {
    f.since = now;
    f.sinceHash = attempt.hash;
  }
  const line = { nonce: f.rec.nonce, hash: attempt.hash, purpose: f.rec.purpose, outcome };
  if (outcome === "accepted" || outcome === "known") ctx.log.debug(line, "transaction broadcast");
  else if (outcome === "funds" || outcome === "other") {
    ctx.log.error({ ...line, reason: message }, "broadcast refused; sending again at the next pass");
    ctx.error(`broadcast of nonce ${f.rec.nonce} refused: ${message}`);
  } else ctx.log.warn({ ...line, reason: message }, outcome === "network" ? "broadcast failed (RPC unreachable); sending again at the next pass" : "broadcast not taken as is");
  return outcome;
}
