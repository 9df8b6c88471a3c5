/**
 * Operator admin commands (npm run admin -- <command> ...), reading the daemon's own
 * HYPERINDEX_* environment. Prints for people; exits non-zero on failure.
 *
 *   credit-deposit <trader> <token> <amount-atoms> <deposit-id>
 *        credits an on-chain deposit to the off-chain ledger (idempotent by deposit id; use
 *        "<txHash>:<logIndex>" of the Deposited event). Until the chain watcher exists this is
 *        how deposits reach the ledger.
 *   balances <trader>                      the trader's ledger, per token
 *   halt-market <market-id> <reason...>    stop matching in a market (orders are refused)
 *   resume-market <market-id>
 *   raise-min-nonce <trader> <min-nonce>
 *        records the trader's on-chain minimum nonce (Settlement.raiseMinNonce: orders with a
 *        lower nonce are cancelled on chain): such orders are refused from now on and the open
 *        ones cancelled. Only raises (idempotent). Until the chain watcher exists this is how
 *        MinNonceRaised events reach the engine. It runs beside the daemon, whose batch in
 *        flight may still hold an order below the minimum: such an order is reported not
 *        cancelled, and the command tries again (each try cancels what is left).
 */
import { setTimeout as sleep } from "node:timers/promises";
import { loadConfig, marketsFromConfig } from "../operator/config";
import { createLogger } from "../operator/log";
import { createEngine, creditDeposit, getBalances, haltMarket, resumeMarket, setMinNonce, stopEngine, type MatchingEngine, type SetMinNonceResult } from "../operator/matching";
import { createRegistry } from "../operator/metrics";
import { decodeAddress, type Address } from "../operator/orders";
import { createRedisClient, waitReady } from "../operator/redis";

const USAGE = `usage: npm run admin -- <command>
  credit-deposit <trader> <token> <amount-atoms> <deposit-id>
  balances <trader>
  halt-market <market-id> <reason...>
  resume-market <market-id>
  raise-min-nonce <trader> <min-nonce>`;

function fail(message: string): never {
  console.error(message);
  process.exit(2);
}

function wholeNumber(text: string | undefined, what: string): bigint {
  if (text === undefined || !/^(0|[1-9][0-9]*)$/.test(text)) fail(`${what} must be a whole number, got ${text}`);
  return BigInt(text);
}

function atoms(text: string | undefined): bigint {
  return wholeNumber(text, "amount (token atoms)");
}

/** Tries a few times: an order of the daemon's batch in flight is on no book yet (ORDER_NOT_FOUND). */
async function raiseMinNonce(engine: MatchingEngine, trader: Address, minNonce: bigint): Promise<void> {
  const cancelled: SetMinNonceResult["cancelled"] = [];
  let result: SetMinNonceResult | undefined;
  for (let attempt = 1; attempt <= 5; attempt++) {
    if (attempt > 1) await sleep(200);
    result = await setMinNonce(engine, { trader, minNonce });
    cancelled.push(...result.cancelled);
    if (result.notCancelled.every((o) => o.code === "MARKET_NOT_SERVED")) break;
  }
  console.log(`minimum nonce of ${trader}: ${result!.minNonce}${result!.raised || cancelled.length > 0 ? "" : " (already; nothing changed)"}`);
  for (const o of cancelled) console.log(`cancelled ${o.orderHash}  market ${o.market}  nonce ${o.nonce}  remaining ${o.remainingAmount}`);
  for (const o of result!.notCancelled) console.log(`NOT cancelled ${o.orderHash}  market ${o.market}  nonce ${o.nonce}: ${o.code}`);
  if (result!.notCancelled.some((o) => o.code !== "MARKET_NOT_SERVED")) process.exitCode = 1;
}

async function main(): Promise<void> {
  const [command, ...args] = process.argv.slice(2);
  if (!command) fail(USAGE);
  const config = loadConfig(process.env);
  const logger = createLogger({ level: "warn" });
  const redis = createRedisClient(
    { logger },
    config.redis.mode === "single" ? { url: config.redis.url } : { cluster: [...config.redis.nodes] },
  );
  await waitReady(redis);
  // No recovery here: that is the daemon's job when it starts.
  const engine = await createEngine(
    { redis, logger, metrics: createRegistry() },
    { markets: marketsFromConfig(config.markets), feeAccount: "0x0000000000000000000000000000000000000000", recoverOnStart: false },
  );
  try {
    switch (command) {
      case "credit-deposit": {
        const [trader, token, amount, depositId] = args;
        if (!depositId) fail(USAGE);
        const credited = await creditDeposit(engine, { trader: decodeAddress(trader, "trader"), token: decodeAddress(token, "token"), amount: atoms(amount), depositId });
        console.log(credited ? `credited ${amount} of ${token} to ${trader} (deposit ${depositId})` : `deposit ${depositId} was already credited; nothing changed`);
        break;
      }
      case "balances": {
        const trader = decodeAddress(args[0], "trader");
        const balances = await getBalances(engine, { trader });
        for (const [token, b] of Object.entries(balances)) {
          console.log(`${token}  available ${b.available}  locked ${b.locked}  pendingOut ${b.pendingOut}  pendingIn ${b.pendingIn}`);
        }
        break;
      }
      case "halt-market":
        if (!args[0] || args.length < 2) fail(USAGE);
        await haltMarket(engine, { market: Number(args[0]), reason: args.slice(1).join(" ") });
        console.log(`market ${args[0]} halted`);
        break;
      case "resume-market":
        if (!args[0]) fail(USAGE);
        await resumeMarket(engine, { market: Number(args[0]) });
        console.log(`market ${args[0]} resumed`);
        break;
      case "raise-min-nonce":
        if (args.length !== 2) fail(USAGE);
        await raiseMinNonce(engine, decodeAddress(args[0], "trader"), wholeNumber(args[1], "min-nonce"));
        break;
      default:
        fail(`unknown command ${command}\n${USAGE}`);
    }
  } finally {
    await stopEngine(engine);
    redis.disconnect();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
