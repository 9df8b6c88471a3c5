/**
 * What a node's answer to eth_sendRawTransaction means for the signer. Nodes word these
 * differently (geth, reth, anvil, HyperEVM); the patterns cover the common wordings and
 * anything else counts as "other" (sent again later, logged).
 *
 *   accepted     in the pool now
 *   known        the node has it already ("already known", "already imported"): fine
 *   nonce        the nonce is used on chain ("nonce too low"): by one of our attempts (the
 *                tracking loop finds its receipt) or by a transaction we do not know (flagged)
 *   replacement  another transaction of this nonce is in the pool with fees this one does not
 *                beat ("replacement transaction underpriced"): normally our own earlier attempt
 *   underpriced  below what the node accepts now (fee cap under the base fee, pool minimum):
 *                the transaction needs higher fees, or waits at the ceiling
 *   early        a nonce the node does not take yet ("nonce too high": a gap, or past the
 *                sender's window of the pool): sent again at the next pass
 *   funds        the signer's balance does not cover gas x maxFee: an operator must top it up
 *   network      the RPC did not answer (timeout, connection refused, HTTP error, the ChainRpc
 *                circuit breaker open: CHAIN_UNAVAILABLE)
 *   other        anything else
 */
import { firstLine } from "./fees";

export type BroadcastOutcome = "accepted" | "known" | "nonce" | "replacement" | "underpriced" | "early" | "funds" | "network" | "other";

/** The node has (or had) this nonce covered: sending it again is pointless. */
export function isDelivered(outcome: BroadcastOutcome): boolean {
  return outcome === "accepted" || outcome === "known" || outcome === "nonce" || outcome === "replacement";
}

export function classifySendError(error: unknown): { outcome: BroadcastOutcome; message: string } {
  const message = firstLine(error);
  const text = chainText(error).toLowerCase();
  if (/already known|already imported|known transaction|already exists|already in (the )?(mem)?pool/.test(text)) return { outcome: "known", message };
  if (/nonce too low|nonce has already been used|invalid nonce.*(lower|low)|old nonce/.test(text)) return { outcome: "nonce", message };
  if (/replacement (transaction )?underpriced|replacement fee too low/.test(text)) return { outcome: "replacement", message };
  if (/less than (the )?block base fee|underpriced|fee cap .*(too low|less than)|max fee per gas less|fee too low|gas price too low/.test(text)) return { outcome: "underpriced", message };
  if (/nonce too high|nonce gap|future nonce/.test(text)) return { outcome: "early", message };
  if (/insufficient funds/.test(text)) return { outcome: "funds", message };
  const names = chainNames(error);
  if (names.some((n) => /HttpRequestError|TimeoutError|SocketClosedError|WebSocketRequestError|AbortError|FetchError/.test(n)) || /chain_unavailable|econnrefused|econnreset|fetch failed|socket hang up|timed? ?out|network/.test(text)) {
    return { outcome: "network", message };
  }
  return { outcome: "other", message };
}

/** Messages and details along the cause chain (viem nests the node's words in `details`). */
function chainText(error: unknown): string {
  const parts: string[] = [];
  let e: unknown = error;
  for (let i = 0; i < 8 && e !== undefined && e !== null; i++) {
    const x = e as { message?: unknown; details?: unknown; shortMessage?: unknown; cause?: unknown; code?: unknown };
    for (const part of [x.details, x.shortMessage, x.message, x.code]) if (typeof part === "string") parts.push(part);
    e = x.cause;
  }
  return parts.join(" | ");
}

function chainNames(error: unknown): string[] {
  const names: string[] = [];
  let e: unknown = error;
  for (let i = 0; i < 8 && e !== undefined && e !== null; i++) {
    const x = e as { name?: unknown; cause?: unknown };
    if (typeof x.name === "string") names.push(x.name);
    e = x.cause;
  }
  return names;
}
