/**
 * Key conventions shared by every Redis keyspace of the operator.
 *
 * A key is `hx:v<version>:<keyspace>:{<tag>}:<name>`. The part between braces is the Redis
 * Cluster hash tag: every key of one market carries `{m:<id>}`, every key of one trader's
 * account on one chain `{t:<chainId>:<lower-case address>}` (the ledger is scoped by chain:
 * a balance is (chain, trader, token)), so one Lua script only ever touches one hash slot and
 * the same code runs on a single Redis and on Redis Cluster. Nothing before the tag may
 * contain `{`.
 *
 * Bump a keyspace's version when its layout changes incompatibly: old and new keys then
 * never collide, and a migration can read one and write the other (operator/migration).
 * Version 3 (chains everywhere) is the current layout of the book, market, journal, ledger and
 * rate-limit keyspaces.
 */
export const KEY_ROOT = "hx";

/** The keyspace version of the current layout (see operator/migration for older ones). */
export const KEYSPACE_VERSION = 3;

/** `hx:v<version>:<name>`: the versioned prefix of one keyspace. */
export function keyspacePrefix(name: string, version: number): string {
  if (!/^[a-z][a-z0-9-]*$/.test(name)) throw new RangeError(`bad keyspace name: ${name}`);
  if (!Number.isInteger(version) || version < 1) throw new RangeError(`bad keyspace version: ${version}`);
  return `${KEY_ROOT}:v${version}:${name}`;
}

/** Hash tag of a market's keys. */
export function marketTag(marketId: number): string {
  if (!Number.isInteger(marketId) || marketId < 0) throw new RangeError(`bad market id: ${marketId}`);
  return `{m:${marketId}}`;
}

const ADDRESS_RE = /^0x[0-9a-fA-F]{40}$/;

/** Hash tag of the keys of one chain's chain watcher, signer and settler. */
export function chainTag(chainId: number): string {
  if (!Number.isSafeInteger(chainId) || chainId < 1) throw new RangeError(`bad chain id: ${chainId}`);
  return `{c:${chainId}}`;
}

/** Hash tag of a trader's keys across chains; the address is lower-cased so one trader has one slot. */
export function traderTag(address: string): string {
  if (!ADDRESS_RE.test(address)) throw new RangeError(`not an address: ${address}`);
  return `{t:${address.toLowerCase()}}`;
}

/** Hash tag of one trader's account on one chain: its ledger and rate buckets. */
export function accountTag(chainId: number, address: string): string {
  if (!Number.isSafeInteger(chainId) || chainId < 1) throw new RangeError(`bad chain id: ${chainId}`);
  if (!ADDRESS_RE.test(address)) throw new RangeError(`not an address: ${address}`);
  return `{t:${chainId}:${address.toLowerCase()}}`;
}
