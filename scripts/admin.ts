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
 */
import { loadConfig, marketsFromConfig } from "../operator/config";
import { createLogger } from "../operator/log";
import { createEngine, creditDeposit, getBalances, haltMarket, resumeMarket, stopEngine } from "../operator/matching";
import { createRegistry } from "../operator/metrics";
import { decodeAddress } from "../operator/orders";
import { createRedisClient, waitReady } from "../operator/redis";

const USAGE = `usage: npm run admin -- <command>
  credit-deposit <trader> <token> <amount-atoms> <deposit-id>
  balances <trader>
  halt-market <market-id> <reason...>
  resume-market <market-id>`;

function fail(message: string): never {
  console.error(message);
  process.exit(2);
}

function atoms(text: string | undefined): bigint {
  if (text === undefined || !/^(0|[1-9][0-9]*)$/.test(text)) fail(`amount must be a whole number of token atoms, got ${text}`);
  return BigInt(text);
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
