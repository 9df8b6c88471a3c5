/**
 * Where settleBatch's gas goes (npm run bench:gas:profile): settles the standard mix in steady
 * state (N = GAS_PROFILE_FILLS, default 100), traces the transaction (debug_traceTransaction)
 * and prints gas per fill by opcode class, with SSTORE/SLOAD counts. A tool for working on
 * the contract; the benchmark of record is bench:gas.
 */
import hre from "hardhat";
import { buildStandardBatch, settleStandardBatch, standardSetup } from "./standardMix";

interface StructLog {
  op: string;
  stack?: string[];
  gas: number;
  gasCost: number;
  depth: number;
}

async function main(): Promise<void> {
  const n = Number(process.env.GAS_PROFILE_FILLS ?? 100);
  const { fx, pop, nonces, batchId } = await standardSetup(n, `profile:${n}`, true);
  const gasUsed = await settleStandardBatch(fx, batchId, buildStandardBatch(fx, pop, nonces, n, 1_000_000n));
  // Automining: the batch is the only transaction of the latest block.
  const block = (await hre.network.provider.send("eth_getBlockByNumber", ["latest", false])) as { transactions: string[] };
  const txHash = block.transactions[0];
  const trace = (await hre.network.provider.send("debug_traceTransaction", [txHash, { disableMemory: true, disableStack: false, disableStorage: true }])) as {
    gas: number;
    structLogs: StructLog[];
  };
  const logs = trace.structLogs;
  const byOp = new Map<string, { gas: number; count: number }>();
  let execution = 0;
  const slots = new Map<string, { loads: number; stores: number; gas: number }>();
  for (let i = 0; i < logs.length; i++) {
    const s = logs[i];
    // Gas of a step: the drop to the next step at the same depth (calls into precompiles
    // included); the last step: its own cost.
    let cost = s.gasCost;
    const next = logs[i + 1];
    if (next && next.depth === s.depth) cost = s.gas - next.gas;
    if (s.depth !== 1) continue;
    if (s.op === "SLOAD" || s.op === "SSTORE") {
      const slot = s.stack![s.stack!.length - 1];
      const e = slots.get(slot) ?? { loads: 0, stores: 0, gas: 0 };
      if (s.op === "SLOAD") e.loads++;
      else e.stores++;
      e.gas += cost;
      slots.set(slot, e);
    }
    execution += cost;
    const key = s.op.startsWith("PUSH") ? "PUSH*" : s.op.startsWith("DUP") ? "DUP*" : s.op.startsWith("SWAP") ? "SWAP*" : s.op.startsWith("LOG") ? "LOG*" : s.op;
    const e = byOp.get(key) ?? { gas: 0, count: 0 };
    e.gas += cost;
    e.count += 1;
    byOp.set(key, e);
  }
  const total = Number(gasUsed);
  const patterns = new Map<string, { slots: number; gas: number }>();
  for (const e of slots.values()) {
    const key = `${e.loads} loads, ${e.stores} stores`;
    const p = patterns.get(key) ?? { slots: 0, gas: 0 };
    p.slots++;
    p.gas += e.gas;
    patterns.set(key, p);
  }
  const intrinsic = total - execution;
  console.log(`settleBatch, standard mix, steady state, ${n} fills: ${total} gas, ${Math.round(total / n)} per fill`);
  console.log(`  intrinsic (21,000 + calldata): ${intrinsic} (${Math.round(intrinsic / n)} per fill)`);
  console.log(`  execution: ${execution} (${Math.round(execution / n)} per fill)\n`);
  console.log("  storage slots by access pattern (SLOAD + SSTORE gas)");
  for (const [key, p] of [...patterns.entries()].sort((a, b) => b[1].gas - a[1].gas)) {
    console.log(`  ${String(p.slots).padStart(5)} slots with ${key.padEnd(22)} ${String(Math.round(p.gas / n)).padStart(6)} per fill`);
  }
  console.log("");
  console.log("  opcode          per fill      count   share");
  const rows = [...byOp.entries()].sort((a, b) => b[1].gas - a[1].gas);
  for (const [op, e] of rows.slice(0, 30)) {
    console.log(`  ${op.padEnd(14)} ${String(Math.round(e.gas / n)).padStart(9)} ${String(e.count).padStart(10)} ${((100 * e.gas) / total).toFixed(1).padStart(6)}%`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
