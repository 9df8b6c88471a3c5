/**
 * Smart-wallet signatures (EIP-1271), checked the way the contract's SignatureLib checks them:
 * only when ECDSA did not prove the trader signed, only if the trader has code, by calling
 * `isValidSignature(digest, signature)` from the Settlement address with the contract's gas
 * cap, and accepting only a return of at least one word equal to the magic value
 * 0x1626ba7e left-aligned (exactly what `eq(mload(0), magic)` compares).
 *
 * One difference cannot be removed: eth_call does not run in a static context, so a wallet
 * that writes state passes here and fails on-chain. Settlement then skips the fill with
 * BadSignature; nothing unsafe happens, the order just never settles.
 *
 * This is the slow path (an RPC round trip per order), so it is rate-conscious: code lookups
 * are cached per trader for a while (the public HyperEVM RPC allows ~100 requests a minute),
 * and every call is bounded by a timeout.
 *
 * A checker serves one chain: its client reads that chain and its verifyingContract is that
 * chain's Settlement. A multi-chain verifier pool makes one per chain (so caches and request
 * limits are per chain too; an address may have code on one chain and none on another).
 */
import {
  HttpRequestError,
  TimeoutError,
  WebSocketRequestError,
  encodeFunctionData,
  type PublicClient,
} from "viem";
import type { Logger } from "../../log";
import type { OrderErrorCode } from "../errors";
import type { Address, Hex } from "../types";

/** The two chain reads the check needs; a viem PublicClient has both. */
export type Erc1271Client = Pick<PublicClient, "getCode" | "call">;

export type Erc1271Failure = { ok: false; code: OrderErrorCode; message: string };
export type Erc1271Verdict = { ok: true } | Erc1271Failure;

export interface Erc1271Checker {
  /** Whether `trader` has code (cached). Rejects if the RPC fails or times out: see codeLookupFailure. */
  hasCode(trader: Address): Promise<boolean>;
  /** Calls the wallet; assumes it has code. */
  isValidSignature(params: { wallet: Address; digest: Hex; signature: Hex }): Promise<Erc1271Verdict>;
}

export interface Erc1271Params {
  /** Settlement: the msg.sender the wallet sees on-chain (some wallets bind signatures to it). */
  verifyingContract: Address;
  /** Upper bound on each RPC request of the check. */
  timeoutMs: number;
  /** How long "has code / has none" is remembered per address. Default 60 s. */
  codeCacheTtlMs?: number;
  /** Most addresses remembered. Default 10,000. */
  codeCacheSize?: number;
  /** Most RPC requests of this checker in flight at once; more wait their turn. Default 8. */
  maxConcurrentRequests?: number;
  /** Milliseconds clock, for the cache. Default Date.now. */
  now?: () => number;
}

/** bytes4(keccak256("isValidSignature(bytes32,bytes)")), left-aligned in a word. */
const MAGIC_WORD = `0x1626ba7e${"0".repeat(56)}`;
/** SignatureLib.ERC1271_GAS_LIMIT: the gas the contract hands the wallet. */
const ERC1271_GAS_LIMIT = 250_000n;
const TX_BASE_GAS = 21_000n;

const IS_VALID_SIGNATURE_ABI = [
  {
    type: "function",
    name: "isValidSignature",
    stateMutability: "view",
    inputs: [
      { name: "hash", type: "bytes32" },
      { name: "signature", type: "bytes" },
    ],
    outputs: [{ name: "magicValue", type: "bytes4" }],
  },
] as const;

/** Internal sentinel of withTimeout; mapped to ERC1271_TIMEOUT, never escapes this module. */
class Erc1271Timeout extends Error {}

export function createErc1271Checker(
  deps: { client: Erc1271Client; logger: Logger },
  params: Erc1271Params,
): Erc1271Checker {
  const ttl = params.codeCacheTtlMs ?? 60_000;
  const maxEntries = params.codeCacheSize ?? 10_000;
  const now = params.now ?? Date.now;
  // A batch of many wallet orders must not fire as many simultaneous RPC requests.
  const limit = createLimiter(params.maxConcurrentRequests ?? 8);
  // address -> (has code?, when learned). In-flight lookups share one promise.
  const codeCache = new Map<string, { at: number; hasCode: Promise<boolean> }>();

  async function hasCode(trader: Address): Promise<boolean> {
    const key = trader.toLowerCase();
    const hit = codeCache.get(key);
    if (hit !== undefined && now() - hit.at < ttl) return hit.hasCode;
    const lookup = limit(() => withTimeout(deps.client.getCode({ address: trader }), params.timeoutMs)).then(
      (code) => code !== undefined && code !== "0x",
    );
    if (codeCache.size >= maxEntries) codeCache.delete(codeCache.keys().next().value as string); // oldest first
    codeCache.set(key, { at: now(), hasCode: lookup });
    lookup.catch(() => codeCache.delete(key)); // never remember a failure
    return lookup;
  }

  async function isValidSignature(p: { wallet: Address; digest: Hex; signature: Hex }): Promise<Erc1271Verdict> {
    const data = encodeFunctionData({
      abi: IS_VALID_SIGNATURE_ABI,
      functionName: "isValidSignature",
      args: [p.digest, p.signature],
    });
    let returned: Hex;
    try {
      const result = await limit(() =>
        withTimeout(
          deps.client.call({ account: params.verifyingContract, to: p.wallet, data, gas: callGas(data) }),
          params.timeoutMs,
        ),
      );
      returned = result.data ?? "0x";
    } catch (error) {
      return callFailure(deps.logger, p.wallet, params.timeoutMs, error);
    }
    if (returned.length < 2 + 64) {
      return { ok: false, code: "ERC1271_NO_DATA", message: `wallet ${p.wallet} returned ${(returned.length - 2) / 2} bytes from isValidSignature, not a word` };
    }
    if (returned.slice(0, 66).toLowerCase() !== MAGIC_WORD) {
      return { ok: false, code: "ERC1271_BAD_MAGIC", message: `wallet ${p.wallet} did not return the EIP-1271 magic value` };
    }
    return { ok: true };
  }

  return { hasCode, isValidSignature };
}

/** Maps a failed hasCode() lookup to a verdict (the RPC, not the wallet, failed). */
export function codeLookupFailure(trader: Address, timeoutMs: number, error: unknown): Erc1271Failure {
  if (error instanceof Erc1271Timeout) {
    return { ok: false, code: "ERC1271_TIMEOUT", message: `looking up the code of ${trader} took more than ${timeoutMs} ms` };
  }
  return { ok: false, code: "ERC1271_UNAVAILABLE", message: `could not look up the code of ${trader}: the RPC failed` };
}

function callFailure(logger: Logger, wallet: Address, timeoutMs: number, error: unknown): Erc1271Failure {
  if (error instanceof Erc1271Timeout) {
    return { ok: false, code: "ERC1271_TIMEOUT", message: `wallet ${wallet} did not answer isValidSignature within ${timeoutMs} ms` };
  }
  if (isExecutionFailure(error)) {
    return { ok: false, code: "ERC1271_REVERTED", message: `wallet ${wallet} reverted in isValidSignature` };
  }
  logger.warn({ wallet, error: describeRpcError(error) }, "EIP-1271 call failed at the RPC");
  return { ok: false, code: "ERC1271_UNAVAILABLE", message: `could not call wallet ${wallet}: the RPC failed` };
}

/**
 * What may be logged of an RPC error: its name and viem's short message. Not the full
 * message nor the error object: those carry the request URL, and RPC providers put API keys
 * in URL paths (viem strips only user:password).
 */
export function describeRpcError(error: unknown): { name: string; reason: string } {
  if (typeof error !== "object" || error === null) return { name: typeof error, reason: "non-error thrown" };
  const e = error as { name?: unknown; shortMessage?: unknown };
  return {
    name: typeof e.name === "string" ? e.name : "Error",
    reason: typeof e.shortMessage === "string" ? e.shortMessage : "(not shown: may contain the RPC URL)",
  };
}

/**
 * Whether an eth_call error is the EVM failing (revert, out of gas, invalid opcode) rather
 * than the transport. Nodes word this differently (geth: "execution reverted", code 3;
 * Hardhat: "VM Exception while processing transaction" / "Transaction reverted..."; some
 * "out of gas"), so transport errors are excluded first, then messages matched.
 */
export function isExecutionFailure(error: unknown): boolean {
  const chain: unknown[] = [];
  for (let e: unknown = error, depth = 0; e !== undefined && e !== null && depth < 10; depth++) {
    chain.push(e);
    e = (e as { cause?: unknown }).cause;
  }
  if (chain.some((e) => e instanceof HttpRequestError || e instanceof TimeoutError || e instanceof WebSocketRequestError)) {
    return false;
  }
  return chain.some((e) => {
    if (typeof e !== "object" || e === null) return false;
    const { code, message, details } = e as { code?: unknown; message?: unknown; details?: unknown };
    if (code === 3 || code === -32015) return true; // EIP-1474 execution reverted / VM execution error
    const text = `${typeof message === "string" ? message : ""} ${typeof details === "string" ? details : ""}`;
    return /revert|out of gas|invalid opcode|VM Exception|stack (?:over|under)flow/i.test(text);
  });
}

/**
 * Gas for the eth_call such that the wallet gets exactly the contract's ERC1271_GAS_LIMIT:
 * intrinsic cost + calldata cost + the limit.
 */
function callGas(data: Hex): bigint {
  let calldata = 0n;
  for (let i = 2; i < data.length; i += 2) calldata += data[i] === "0" && data[i + 1] === "0" ? 4n : 16n;
  return TX_BASE_GAS + calldata + ERC1271_GAS_LIMIT;
}

/** Runs at most `max` tasks at once, the rest in arrival order. */
function createLimiter(max: number): <T>(task: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    // A finishing task hands its slot straight to the next waiter, so `running` never
    // overshoots between the wake-up and the waiter resuming.
    if (running >= max) await new Promise<void>((resolve) => waiting.push(resolve));
    else running++;
    try {
      return await task();
    } finally {
      const next = waiting.shift();
      if (next !== undefined) next();
      else running--;
    }
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Erc1271Timeout(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
