/**
 * The operator daemon: `node -r ts-node/register operator/main.ts` (npm run operator).
 * Reads its configuration from the environment once (operator/config/README.md), starts every
 * component and shuts down cleanly on SIGTERM / SIGINT: the API stops taking requests,
 * queued orders finish, workers and Redis close. A second signal forces the exit.
 */
import { loadConfig, ConfigError } from "./config";
import { BaseError } from "./errors";
import { startOperator } from "./daemon/start";
import { createLogger } from "./log";
import { createRegistry } from "./metrics";

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger({ level: config.logLevel });
  const metrics = createRegistry({ defaultMetrics: true });
  let operator;
  try {
    operator = await startOperator({ logger, metrics }, config);
  } catch (error) {
    // Start-up errors name the variable at fault (Redis, chain, contracts): say it plainly too.
    logger.fatal({ err: error, code: error instanceof BaseError ? error.code : undefined }, "operator failed to start");
    process.stderr.write(`operator failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }

  let signals = 0;
  const shutdown = (signal: NodeJS.Signals): void => {
    signals++;
    if (signals > 1) {
      logger.warn({ signal }, "second signal: exiting without draining");
      process.exit(1);
    }
    logger.info({ signal }, "shutdown requested");
    operator.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
}

main().catch((error: unknown) => {
  // The logger may not exist yet (config errors exit above); report on stderr as JSON.
  process.stderr.write(`${JSON.stringify({ level: "fatal", msg: "operator failed to start", err: String(error) })}\n`);
  process.exit(1);
});
