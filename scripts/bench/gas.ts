/**
 * Gas benchmark of Settlement.settleBatch (npm run bench:gas).
 *
 * Standard mix for a batch of N fills: min(10, N) resting maker orders (from as many maker
 * traders), N taker orders from ceil(N/2) distinct traders, each taker fully filled by one
 * fill against a maker (makers taken in turn), every order new to the contract. Makers
 * alternate buy and sell and are sized so that they stay resting (partially filled).
 *
 * Measured twice per N:
 *  - cold: traders that deposited but never traded;
 *  - steady: the same traders already settled an earlier batch of the same shape (new orders).
 * Gas per fill is the whole transaction's gas (21,000 base and calldata included) / N.
 * The batch is encoded as the operator sends it: orders sorted by (trader, nonce), fills
 * packed into one word each, EIP-2098 64-byte signatures; each trader numbers its own
 * orders 1, 2, 3, ... as a wallet would.
 *
 * Writes bench/results/gas.json and prints a table.
 */
import fs from "node:fs";
import path from "node:path";
import hre from "hardhat";
import { buildStandardBatch, settleStandardBatch, standardSetup } from "./standardMix";

const SIZES = [1, 10, 50, 100, 200] as const;
const SMALL_BLOCK_GAS = 3_000_000n;
/** Best batch settlers pay about this per trade (DESIGN.md); printed for comparison. */
const REFERENCE_GAS_PER_TRADE = 60_000;
/** Gas of one standard batch of `n` fills; `steady` settles a warm-up batch first. */
async function measure(n: number, steady: boolean): Promise<bigint> {
  const { fx, pop, nonces, batchId } = await standardSetup(n, `bench:${n}:${steady ? "steady" : "cold"}`, steady);
  return settleStandardBatch(fx, batchId, buildStandardBatch(fx, pop, nonces, n, 1_000_000n));
}

async function main(): Promise<void> {
  if (hre.network.name !== "hardhat") throw new Error("run on the in-process hardhat network");
  const steady: Record<string, number> = {};
  const cold: Record<string, number> = {};
  const rows: string[][] = [];
  const gasAt = new Map<number, bigint>();
  for (const n of SIZES) {
    const steadyGas = await measure(n, true);
    const coldGas = await measure(n, false);
    gasAt.set(n, steadyGas);
    steady[n] = Number(steadyGas / BigInt(n));
    cold[n] = Number(coldGas / BigInt(n));
    rows.push([String(n), steadyGas.toString(), String(steady[n]), String(cold[n]), (REFERENCE_GAS_PER_TRADE / steady[n]).toFixed(2) + "x"]);
    process.stdout.write(`  measured N=${n}\n`);
  }

  // Largest N whose steady batch fits a 3,000,000-gas small block: estimate from the
  // linear fit between N=100 and N=200, then confirm by settling real batches around it.
  const slope = Number(gasAt.get(200)! - gasAt.get(100)!) / 100;
  const intercept = Number(gasAt.get(100)!) - slope * 100;
  let fit = Math.floor((Number(SMALL_BLOCK_GAS) - intercept) / slope);
  while ((await measure(fit, true)) > SMALL_BLOCK_GAS) fit--;
  while ((await measure(fit + 1, true)) <= SMALL_BLOCK_GAS) fit++;

  const header = ["fills", "batch gas (steady)", "gas/fill steady", "gas/fill cold", "vs 60k/trade"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i])).join("  ");
  console.log("\nSettlement.settleBatch gas, standard mix (in-process Hardhat, cancun)\n");
  console.log(line(header));
  for (const r of rows) console.log(line(r));
  console.log(`\nmax fills of this mix in one 3,000,000-gas small block: ${fit}`);
  console.log(`goal: steady gas/fill at 100 <= 25,000 -> ${steady[100] <= 25_000 ? "met" : "NOT met"} (${steady[100]})`);

  const out = { gasPerFill: steady, gasPerFillColdTraders: cold, maxFillsPerSmallBlock: fit };
  const file = path.join(__dirname, "..", "..", "bench", "results", "gas.json");
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(out, null, 2) + "\n");
  console.log(`wrote ${path.relative(process.cwd(), file)}`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
