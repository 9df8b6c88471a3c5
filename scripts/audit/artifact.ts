/**
 * The OrderbookCommitment ABI, read from the Hardhat artifact (`npx hardhat compile`) rather
 * than kept by hand: the auditor calls whatever the compiled contract offers, including
 * functions added later (proveEquivocation), and decodes its custom errors by name.
 */
import fs from "node:fs";
import path from "node:path";
import type { Abi } from "viem";
import { AuditError } from "./errors";

export const COMMITMENT_ARTIFACT_PATH = path.join(__dirname, "../../artifacts/contracts/OrderbookCommitment.sol/OrderbookCommitment.json");

export function loadCommitmentAbi(file = COMMITMENT_ARTIFACT_PATH): Abi {
  if (!fs.existsSync(file)) {
    throw new AuditError("ARTIFACT_MISSING", `the OrderbookCommitment artifact is missing (${file}): run npx hardhat compile`);
  }
  const json = JSON.parse(fs.readFileSync(file, "utf8")) as { abi?: Abi };
  if (!Array.isArray(json.abi)) throw new AuditError("ARTIFACT_MISSING", `${file} has no ABI: run npx hardhat compile`);
  return json.abi;
}

/** Whether the ABI has a function of that name (a contract older than a feature lacks it). */
export function hasFunction(abi: Abi, name: string): boolean {
  return abi.some((item) => item.type === "function" && item.name === name);
}
