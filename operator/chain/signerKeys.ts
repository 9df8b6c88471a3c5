/**
 * The Redis keyspace of the signer (./signer.ts): one signer per chain, and its records are
 * also scoped by the signing address, so a rotated operator key never inherits the nonces of
 * the old one. Every key carries the chain's hash tag, so the one script (./lua/signer_put.lua)
 * touches one slot and runs on Redis Cluster as on a single Redis.
 *
 *   <base> = hx:v3:signer:{c:<chainId>}:<address, lower-case>
 *
 *   <base>:state              HASH    next  -> the next nonce the signer assigns (decimal)
 *                                     owner -> fencing token of the signer instance that runs
 *                                              (written by start(); every write checks it, so a
 *                                              stale instance can neither sign nor record)
 *   <base>:inflight           ZSET    member and score: the nonce of every transaction sent and
 *                                     not yet confirmed or failed (what start() reloads)
 *   <base>:tx:<nonce>         HASH    purpose -> its purpose ("settle:42")
 *                                     status  -> sent | mined | confirmed | failed
 *                                     rec     -> the whole record as JSON (./signerRecord.ts):
 *                                                to, data, gas, every signed attempt (raw tx, hash,
 *                                                fees, signedAt), sentAt, the block it was mined
 *                                                in, the outcome (result, gasUsed)
 *   <base>:purpose:<purpose>  STRING  the nonce carrying this purpose: one transaction per purpose
 *
 * Lifetime: a record and its purpose key have no TTL while in flight; once confirmed (or
 * failed) they expire after `keepConfirmedMs` (7 days by default), so wait(nonce) still answers
 * after a restart and the keyspace does not grow without bound.
 */
import { chainTag, keyspacePrefix } from "../redis";
import type { Address } from "../orders/types";

export const SIGNER_KEYSPACE_VERSION = 3;

export interface SignerKeys {
  base: string;
  state: string;
  inflight: string;
  tx(nonce: number): string;
  purpose(purpose: string): string;
}

export function signerKeys(chainId: number, address: Address): SignerKeys {
  if (!/^0x[0-9a-fA-F]{40}$/.test(address)) throw new RangeError(`not an address: ${address}`);
  const base = `${keyspacePrefix("signer", SIGNER_KEYSPACE_VERSION)}:${chainTag(chainId)}:${address.toLowerCase()}`;
  return {
    base,
    state: `${base}:state`,
    inflight: `${base}:inflight`,
    tx: (nonce) => `${base}:tx:${nonce}`,
    purpose: (purpose) => `${base}:purpose:${purpose}`,
  };
}
