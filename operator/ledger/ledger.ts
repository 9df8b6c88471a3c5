/**
 * The ledger for callers outside the matching engine (the admin tool, the chain watcher, tests):
 * the ledger's scripts loaded on a Redis client, and the ledger functions bound to them. The
 * engine runs the same scripts through its own runner; neither needs the other.
 *
 *   const ledger = await createLedger({ redis, logger });
 *   await creditDeposit(ledger, { chainId, trader, token, amount, depositId });
 *   await getBalances(ledger, { chainId, trader, tokens });
 */
import type { Logger } from "../log";
import type { RedisClient } from "../redis/client";
import { ScriptRunner } from "../redis/scripts";
import { LEDGER_SCRIPTS } from "./scripts";

export interface Ledger {
  redis: RedisClient;
  scripts: ScriptRunner;
  logger: Logger;
}

/** Loads the ledger's scripts (on every master of a cluster). */
export async function createLedger(deps: { redis: RedisClient; logger: Logger }): Promise<Ledger> {
  const logger = deps.logger.child({ at: "ledger" });
  const scripts = new ScriptRunner({ redis: deps.redis, logger }, LEDGER_SCRIPTS);
  await scripts.load();
  return { redis: deps.redis, scripts, logger };
}
