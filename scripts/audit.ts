/**
 * The auditor's tool (npm run audit -- <command> ...): checks what the operator committed on
 * chain against the proofs and epoch data files it publishes. Needs only an RPC and the
 * OrderbookCommitment address (or the operator API to name it); trusts neither the API nor the
 * files: every verdict comes from the contract or from the committed hashes. Prints for people,
 * or one JSON object with --json. `npm run audit -- --help` lists the commands.
 *
 *   verify-order <hash>            is the order in its committed epoch? (verifyOrder on-chain)
 *   verify-fill <id>               is the fill in its committed epoch? (verifyFill on-chain)
 *   rebuild-epoch <n>              does epoch n's data file rebuild the committed root?
 *   check-receipt <receipt.json>   did the operator commit the order where its receipt says?
 *   audit-epochs --from <n>        rebuild-epoch over a range of epochs, with a summary
 *
 * Exit codes: 0 verified, 1 verification failed, 2 bad input or unknown hash/id, 3 epoch not
 * committed yet, 4 evidence of operator misbehaviour, 5 RPC, API or data file unreachable
 * (scripts/audit/errors.ts).
 */
import { Command, CommanderError, InvalidArgumentError } from "commander";
import { createLogger } from "../operator/log";
import { decodeAddress, type Address, type Hex } from "../operator/orders";
import { auditEpochsCommand } from "./audit/commands/auditEpochs";
import { checkReceiptCommand, loadReceipt, reportInvalidSignature } from "./audit/commands/checkReceipt";
import { rebuildEpochCommand } from "./audit/commands/rebuildEpoch";
import { verifyCommand } from "./audit/commands/verify";
import { closeContext, openContext, type AuditContext, type GlobalOptions } from "./audit/context";
import { AuditError, EXIT, type ExitCode } from "./audit/errors";
import type { EpochSourceOptions } from "./audit/epochSource";
import { createOutput, type Output } from "./audit/output";

const UINT64_MAX = (1n << 64n) - 1n;

function uint64(what: string) {
  return (text: string): bigint => {
    if (!/^(0|[1-9][0-9]*)$/.test(text) || BigInt(text) > UINT64_MAX) throw new InvalidArgumentError(`${what} must be a whole number below 2^64`);
    return BigInt(text);
  };
}

function positiveInt(what: string) {
  return (text: string): number => {
    if (!/^[1-9][0-9]{0,8}$/.test(text)) throw new InvalidArgumentError(`${what} must be a positive whole number`);
    return Number(text);
  };
}

function addressArg(text: string): Address {
  try {
    return decodeAddress(text, "address");
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

function orderHashArg(text: string): Hex {
  if (!/^0x[0-9a-fA-F]{64}$/.test(text)) throw new InvalidArgumentError("an order hash is 0x followed by 64 hex digits");
  return text.toLowerCase() as Hex;
}

function fillIdArg(text: string): string {
  return uint64("a fill id")(text).toString();
}

interface RawGlobals {
  rpc?: string;
  commitment?: Address;
  chainId?: number;
  api?: string;
  json?: boolean;
  timeout: number;
  rpcPerMinute: number;
  fromBlock?: bigint;
  verbose?: boolean;
}

interface Session {
  out: Output;
  /** Connects to the chain and binds the contract (`hint`: an address the input names). */
  open(hint?: Address): Promise<AuditContext>;
}

/** Runs one command: its exit code, whatever happens; resources closed; errors printed once. */
async function execute(command: Command, name: string, work: (session: Session) => Promise<ExitCode>): Promise<void> {
  const raw = command.optsWithGlobals<RawGlobals>();
  const options: GlobalOptions = {
    rpc: raw.rpc ?? process.env.HYPERINDEX_RPC_URL,
    commitment: raw.commitment,
    chainId: raw.chainId,
    api: raw.api,
    json: raw.json === true,
    timeoutMs: raw.timeout,
    rpcPerMinute: raw.rpcPerMinute,
    fromBlock: raw.fromBlock ?? 0n,
  };
  const out = createOutput(options.json);
  // The RPC client's retries, as JSON lines on stderr, only when asked: stdout stays the verdict.
  const logger = createLogger({ level: raw.verbose === true ? "warn" : "silent", destination: process.stderr });
  let ctx: AuditContext | undefined;
  let code: ExitCode;
  try {
    code = await work({ out, open: async (hint) => (ctx = await openContext({ logger, out }, options, hint)) });
  } catch (error) {
    code = out.failure(name, error);
  } finally {
    if (ctx !== undefined) await closeContext(ctx);
  }
  process.exitCode = code;
}

function sourceOf(opts: { file?: string; url?: string; dir?: string; baseUrl?: string }): EpochSourceOptions {
  return { file: opts.file, url: opts.url, dir: opts.dir, baseUrl: opts.baseUrl };
}

/** The key for --submit, from the environment variable the caller names (never from the command line). */
function submitKey(opts: { submit?: boolean; privateKeyEnv?: string }): Hex | undefined {
  if (opts.submit !== true) {
    if (opts.privateKeyEnv !== undefined) throw new AuditError("USAGE", "--private-key-env is only used with --submit");
    return undefined;
  }
  if (opts.privateKeyEnv === undefined) throw new AuditError("USAGE", "--submit needs --private-key-env VAR: the name of the environment variable holding the sender's private key");
  const key = process.env[opts.privateKeyEnv];
  if (key === undefined || key === "") throw new AuditError("USAGE", `--private-key-env ${opts.privateKeyEnv}: that environment variable is not set`);
  return key as Hex;
}

const EXIT_HELP = `
Exit codes:
  0  verified / everything matches
  1  verification failed (proof false, root, data hash or leaf count differ, invalid receipt)
  2  bad input: usage, unknown order hash or fill id, malformed file, wrong chain, no contract
  3  the epoch is not committed yet
  4  evidence against the operator (check-receipt: omission, re-sequencing, equivocation)
  5  the RPC, the API or the epoch data file could not be reached`;

const program = new Command("audit")
  .description("HyperIndex auditor: verify proofs and epoch data files against OrderbookCommitment on chain")
  .option("--rpc <url>", "JSON-RPC URL of the chain (default: $HYPERINDEX_RPC_URL)")
  .option("--commitment <address>", "OrderbookCommitment address (default: the receipt's, or the API's GET /v1/epochs/latest)", addressArg)
  .option("--chain-id <id>", "the chain meant; the RPC must serve it", positiveInt("a chain id"))
  .option("--api <url>", "operator API base URL: proofs and epoch data files")
  .option("--json", "print one JSON object (results and errors) on stdout")
  .option("--timeout <ms>", "timeout of one RPC or HTTP request, ms", positiveInt("--timeout"), 10_000)
  .option("--rpc-per-minute <n>", "RPC request budget (the public HyperEVM RPC allows about 100)", positiveInt("--rpc-per-minute"), 100)
  .option("--from-block <n>", "first block to search for the EpochCommitted log (the commit transaction); default 0", uint64("--from-block"))
  .option("--verbose", "log RPC retries on stderr")
  .showHelpAfterError()
  .addHelpText("after", EXIT_HELP)
  .exitOverride();

const sourceOptions = (cmd: Command, many = false): Command => {
  if (!many) cmd.option("--file <path>", "the epoch data file").option("--url <url>", "the epoch data file's URL");
  return cmd
    .option("--dir <dir>", "a directory of epoch data files (epoch-000000000042.json)")
    .option("--base-url <url>", "a URL serving epoch data files by name ({base-url}/epoch-000000000042.json)");
};

for (const kind of ["order", "fill"] as const) {
  sourceOptions(
    program
      .command(`verify-${kind}`)
      .description(
        kind === "order"
          ? "verify on-chain that an order is in its committed epoch (verifyOrder), with the API's proof or one rebuilt from an epoch data file"
          : "verify on-chain that a fill is in its committed epoch (verifyFill), with the API's proof or one rebuilt from an epoch data file",
      )
      .argument(kind === "order" ? "<hash>" : "<id>", kind === "order" ? "the order hash" : "the fill id", kind === "order" ? orderHashArg : fillIdArg)
      .option("--epoch <n>", "the epoch of the data file (needed with --dir / --base-url)", uint64("--epoch")),
  ).action((key: string, opts: { epoch?: bigint; file?: string; url?: string; dir?: string; baseUrl?: string }, cmd: Command) =>
    execute(cmd, `verify-${kind}`, async ({ open }) => verifyCommand(await open(), { kind, key, source: sourceOf(opts), epoch: opts.epoch })),
  );
}

sourceOptions(
  program
    .command("rebuild-epoch")
    .description("check epoch N's data file against the commitment: data hash, leaf count, rebuilt Merkle root")
    .argument("<n>", "the epoch", uint64("the epoch")),
).action((epoch: bigint, opts: { file?: string; url?: string; dir?: string; baseUrl?: string }, cmd: Command) =>
  execute(cmd, "rebuild-epoch", async ({ open }) => rebuildEpochCommand(await open(), { epoch, source: sourceOf(opts) })),
);

sourceOptions(
  program
    .command("check-receipt")
    .description("check an operator-signed order receipt against the committed epoch: included, omission, or equivocation (with the on-chain proof)")
    .argument("<receipt>", "the receipt file (JSON, format hyperindex-receipt)")
    .option("--submit", "send the equivocation proof (proveEquivocation) when there is one")
    .option("--private-key-env <var>", "with --submit: the environment variable holding the sender's private key"),
).action((file: string, opts: { file?: string; url?: string; dir?: string; baseUrl?: string; submit?: boolean; privateKeyEnv?: string }, cmd: Command) =>
  execute(cmd, "check-receipt", async ({ open, out }) => {
    const key = submitKey(opts);
    const loaded = await loadReceipt(file);
    if (!loaded.ok) return reportInvalidSignature(out, loaded);
    const ctx = await open(loaded.signed.domain.verifyingContract);
    return checkReceiptCommand(ctx, loaded.signed, { source: sourceOf(opts), submitKey: key });
  }),
);

sourceOptions(
  program
    .command("audit-epochs")
    .description("rebuild every committed epoch in a range from its data file; summary of epochs ok, mismatched, missing")
    .requiredOption("--from <n>", "first epoch", uint64("--from"))
    .option("--to <n>", "last epoch (default: the latest committed)", uint64("--to")),
  true,
).action((opts: { from: bigint; to?: bigint; dir?: string; baseUrl?: string }, cmd: Command) =>
  execute(cmd, "audit-epochs", async ({ open, out }) =>
    auditEpochsCommand(await open(), { from: opts.from, to: opts.to, source: { dir: opts.dir, baseUrl: opts.baseUrl }, progress: !out.json && process.stderr.isTTY === true }),
  ),
);

program
  .parseAsync(process.argv)
  .then(() => process.exit(process.exitCode ?? EXIT.ok))
  .catch((error: unknown) => {
    if (error instanceof CommanderError) {
      // Help and version end well; anything else commander refused is a usage error (its message is printed already).
      if (error.code === "commander.helpDisplayed" || error.code === "commander.help" || error.code === "commander.version") process.exit(EXIT.ok);
      if (process.argv.includes("--json")) {
        process.stdout.write(`${JSON.stringify({ verdict: "error", exitCode: EXIT.notFound, error: { code: "USAGE", message: error.message, details: {} } })}\n`);
      }
      process.exit(EXIT.notFound);
    }
    process.stderr.write(`audit: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(EXIT.unavailable);
  });
