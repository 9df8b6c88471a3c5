/**
 * check-receipt receipt.json: did the operator keep the promise it signed? A receipt says "the
 * leaf at (epoch, sequence) holds orderHash" (operator/commitment/receipt.ts). The verdicts:
 *
 *   included       the committed epoch holds that order at that sequence (verifyOrder: true)   exit 0
 *   invalid        the receipt is not signed by its operator, or that address has never been
 *                  the contract's operator: it proves nothing                                  exit 1
 *   file mismatch  the epoch data file does not rebuild the commitment: no judgement from it   exit 1
 *   not committed  the epoch is not committed yet: check again later                           exit 3
 *   OMISSION       neither that sequence nor that order is in the committed epoch               exit 4
 *   RESEQUENCED    the order is in the epoch, at another sequence than receipted                exit 4
 *   EQUIVOCATION   another order holds the receipted sequence: the proveEquivocation call is
 *                  printed (checked with eth_call), and sent with --submit                      exit 4
 *
 * An omission or a re-sequencing is shown by the epoch data file, which hashes to the committed
 * dataHash and rebuilds the committed root: the evidence printed is what anyone can re-check.
 */
import { readFile } from "node:fs/promises";
import { CommitmentError, parseReceipt, type OrderAcceptedLeaf, type SignedOrderReceipt } from "../../../operator/commitment";
import type { Address, Hex } from "../../../operator/orders";
import { hasFunction } from "../artifact";
import { epochOf, findCommitTx, isCommitted, latestEpoch, type CommitmentContract } from "../chain";
import type { AuditContext } from "../context";
import { checkEpoch } from "../epochCheck";
import { buildEquivocationProof, simulateEquivocationProof, submitEquivocationProof, type EquivocationProof, type Simulation, type Submission } from "../equivocation";
import { AuditError, EXIT, type ExitCode } from "../errors";
import { epochSourceOf, fetchEpochBytes, type EpochSourceOptions } from "../epochSource";
import { fields, when } from "../output";
import { verifyLeafOnChain } from "../verifyLeaf";
import { checkTable } from "./rebuildEpoch";

export interface CheckReceiptParams {
  source: EpochSourceOptions;
  /** --submit: send the equivocation proof, signed with this key. */
  submitKey?: Hex;
}

/** A receipt file read and its signature recovered; `invalid` when the signature does not hold. */
export type LoadedReceipt = { ok: true; signed: SignedOrderReceipt; file: string } | { ok: false; file: string; reason: string; code: string; raw: unknown };

const SIGNATURE_CODES = new Set(["RECEIPT_SIGNATURE_LENGTH", "RECEIPT_SIGNATURE_HIGH_S", "RECEIPT_SIGNATURE_INVALID", "RECEIPT_SIGNER_MISMATCH"]);

export async function loadReceipt(file: string): Promise<LoadedReceipt> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new AuditError("INVALID_INPUT", `cannot read the receipt ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  try {
    return { ok: true, signed: parseReceipt(text), file };
  } catch (error) {
    if (error instanceof CommitmentError && SIGNATURE_CODES.has(error.code)) {
      let raw: unknown;
      try {
        raw = JSON.parse(text);
      } catch {
        raw = undefined;
      }
      return { ok: false, file, reason: error.message, code: error.code, raw };
    }
    if (error instanceof CommitmentError) throw new AuditError("INVALID_INPUT", `${file} is not a valid receipt: ${error.message}`, { details: error.details, cause: error });
    throw error;
  }
}

/** The verdict on a receipt whose signature does not hold: nothing to look up on-chain. */
export function reportInvalidSignature(out: AuditContext["out"], loaded: Extract<LoadedReceipt, { ok: false }>): ExitCode {
  out.result({ command: "check-receipt", verdict: "invalid-receipt", reason: loaded.reason, code: loaded.code, receipt: loaded.raw ?? null }, () => [
    `INVALID RECEIPT: ${loaded.reason} (${loaded.code}); it proves nothing against the operator`,
    ...fields([["receipt", loaded.file]]),
  ]);
  return EXIT.failed;
}

export async function checkReceiptCommand(ctx: AuditContext, signed: SignedOrderReceipt, params: CheckReceiptParams): Promise<ExitCode> {
  const { receipt, operator } = signed;
  const c = ctx.commitment;
  if (signed.domain.chainId !== BigInt(ctx.chain.chainId)) {
    throw new AuditError("CHAIN_MISMATCH", `the receipt is for chain ${signed.domain.chainId}, but the RPC at ${ctx.chain.safeUrl} serves chain ${ctx.chain.chainId}`, {
      details: { receipt: signed.domain.chainId, served: ctx.chain.chainId },
    });
  }
  const base = {
    command: "check-receipt",
    chainId: ctx.chain.chainId,
    commitment: c.address,
    blockNumber: ctx.chain.blockNumber,
    receipt: { epoch: receipt.epoch, sequence: receipt.sequence, orderHash: receipt.orderHash, operator, signature: signed.signature },
  };
  const receiptLine = `epoch ${receipt.epoch}, sequence ${receipt.sequence}, order ${receipt.orderHash}`;
  const where = `OrderbookCommitment ${c.address} on chain ${ctx.chain.chainId} (RPC ${ctx.chain.safeUrl})`;

  const role = await operatorRole(c, operator);
  if (!role.ever) {
    ctx.out.result({ ...base, verdict: "invalid-receipt", reason: "signer-not-operator", operatorNow: role.current }, () => [
      `INVALID RECEIPT: it is signed by ${operator}, which is not and has never been the operator of ${where}; it proves nothing against the operator`,
      ...fields([["receipt", receiptLine]]),
    ]);
    return EXIT.failed;
  }
  const signerLine = `${operator} (${role.current ? "the operator" : "a former operator"}; the signature holds)`;

  const onChain = await epochOf(c, receipt.epoch);
  if (!isCommitted(onChain)) {
    const latest = await latestEpoch(c);
    ctx.out.result({ ...base, verdict: "not-committed", latestEpoch: latest }, () => [
      `NOT COMMITTED YET: epoch ${receipt.epoch} is not committed on chain ${ctx.chain.chainId} (latest committed: ${latest === 0n ? "none" : latest}); the receipt is validly signed: check again once the epoch is committed`,
      ...fields([
        ["receipt", receiptLine],
        ["signed by", signerLine],
        ["read at block", ctx.chain.blockNumber.toString()],
        ["contract", where],
      ]),
    ]);
    return EXIT.notCommitted;
  }

  const source = epochSourceOf(params.source, ctx.api);
  const { bytes, from } = await fetchEpochBytes(source, receipt.epoch, ctx.options.timeoutMs);
  const check = await checkEpoch(receipt.epoch, onChain, bytes, { keepLeaves: true });
  const commit = await findCommitTx(c, receipt.epoch, ctx.options.fromBlock);
  const evidence = {
    epochRoot: onChain.root,
    dataHash: onChain.dataHash,
    leafCount: onChain.leafCount,
    committedAt: onChain.committedAt,
    commitTx: commit?.hash ?? null,
    epochFile: from,
  };
  const evidencePairs = (): [string, string | undefined][] => [
      ["receipt", receiptLine],
      ["signed by", signerLine],
      ["epoch root", onChain.root],
      ["data hash", `${onChain.dataHash} (the file ${from} hashes to it)`],
      ["leaf count", onChain.leafCount.toString()],
      ["committed at", when(onChain.committedAt, "s")],
      ["commit tx", commit === undefined ? "unknown (the RPC did not return the EpochCommitted log: try --from-block)" : `${commit.hash} (block ${commit.blockNumber})`],
      ["read at block", ctx.chain.blockNumber.toString()],
      ["contract", where],
    ];

  if (!check.ok || check.decoded?.leaves === undefined) {
    ctx.out.result({ ...base, verdict: "file-mismatch", epochFile: from, checks: check.rows }, () => [
      `FILE MISMATCH: the data file of epoch ${receipt.epoch} (${from}) does not rebuild the commitment: the receipt cannot be judged with it`,
      ...checkTable(check.rows),
    ]);
    return EXIT.failed;
  }

  const { leaves, tree } = check.decoded;
  const orderAt = (i: number) => leaves[i] as OrderAcceptedLeaf;
  const atSequence = leaves.flatMap((leaf, i) => (leaf.type === "orderAccepted" && leaf.sequence === receipt.sequence ? [i] : []));
  const hash = receipt.orderHash.toLowerCase();
  const keeping = atSequence.find((i) => orderAt(i).orderHash.toLowerCase() === hash);

  if (keeping !== undefined) {
    const leaf = orderAt(keeping);
    const proof = tree.proof(keeping);
    const verified = await verifyLeafOnChain(c, leaf, proof);
    ctx.out.result({ ...base, ...evidence, verdict: verified ? "included" : "not-verified", leafIndex: keeping, leaf, proof }, () => [
      verified
        ? `INCLUDED: the operator kept its receipt: order ${receipt.orderHash} is in epoch ${receipt.epoch} at sequence ${receipt.sequence} (verifyOrder returned true)`
        : `NOT VERIFIED: the file holds the order at the receipted sequence, but verifyOrder returned false for its proof`,
      ...fields([
        ["leaf index", `${keeping} of ${onChain.leafCount}`],
        ["trader", leaf.trader],
        ["received at", when(leaf.receivedAt, "ms")],
        ...evidencePairs(),
      ]),
    ]);
    return verified ? EXIT.ok : EXIT.failed;
  }

  if (atSequence.length > 0) {
    const index = atSequence[0]!;
    const committed = orderAt(index);
    const proof = tree.proof(index);
    const call = buildEquivocationProof(c, signed, committed, proof);
    const previously = await provenBefore(c, receipt.epoch, receipt.sequence);
    const simulation = call === undefined ? undefined : await simulateEquivocationProof(c, call);
    let submission: Submission | undefined;
    let submitError: string | undefined;
    if (params.submitKey !== undefined && call !== undefined && simulation?.accepted !== true) {
      // A transaction the contract refuses would only burn gas (already proven, most likely).
      submitError = `not sent: the contract refuses it (${simulation?.accepted === false ? simulation.error : "not simulated"})`;
    } else if (params.submitKey !== undefined && call !== undefined) {
      try {
        submission = await submitEquivocationProof(c, call, params.submitKey, Math.max(ctx.options.timeoutMs * 6, 60_000));
      } catch (error) {
        if (!(error instanceof AuditError) || error.code !== "SUBMIT_FAILED") throw error;
        submitError = error.message;
      }
    }
    ctx.out.result(
      {
        ...base,
        ...evidence,
        verdict: "equivocation",
        committedLeafIndex: index,
        committedLeaf: committed,
        proof,
        alreadyProven: previously ?? null,
        proveEquivocation: call === undefined ? null : { to: call.to, args: call.args, data: call.data },
        simulation: simulation ?? null,
        submission: submission ?? (submitError === undefined ? null : { error: submitError }),
      },
      () => [
        `EQUIVOCATION: the operator receipted order ${receipt.orderHash} as (epoch ${receipt.epoch}, sequence ${receipt.sequence}) and committed order ${committed.orderHash} there instead`,
        ...fields([
          ["committed leaf", `index ${index}: order ${committed.orderHash} of trader ${committed.trader}, received at ${when(committed.receivedAt, "ms")}`],
          ["its proof", `${proof.length} node${proof.length === 1 ? "" : "s"}`],
          ...evidencePairs(),
          ...equivocationFields(call, simulation, previously),
        ]),
        ...equivocationLines(call, submission, submitError, params.submitKey !== undefined),
      ],
    );
    return EXIT.misbehaviour;
  }

  const elsewhere = leaves.findIndex((leaf) => leaf.type === "orderAccepted" && leaf.orderHash.toLowerCase() === hash);
  if (elsewhere >= 0) {
    const leaf = orderAt(elsewhere);
    ctx.out.result({ ...base, ...evidence, verdict: "resequenced", committedLeafIndex: elsewhere, committedLeaf: leaf, proof: tree.proof(elsewhere) }, () => [
      `RESEQUENCED: the operator receipted order ${receipt.orderHash} as (epoch ${receipt.epoch}, sequence ${receipt.sequence}) and committed it at sequence ${leaf.sequence} instead; no order holds the receipted sequence`,
      ...fields([["committed leaf", `index ${elsewhere}: sequence ${leaf.sequence}, received at ${when(leaf.receivedAt, "ms")}`], ...evidencePairs()]),
    ]);
    return EXIT.misbehaviour;
  }

  ctx.out.result({ ...base, ...evidence, verdict: "omission" }, () => [
    `OMISSION: the operator receipted order ${receipt.orderHash} as (epoch ${receipt.epoch}, sequence ${receipt.sequence}) and committed epoch ${receipt.epoch} without it: neither that order nor that sequence is among its ${onChain.leafCount} leaves`,
    "Evidence (re-check it: the file hashes to the committed data hash and rebuilds the committed root):",
    ...fields(evidencePairs()),
  ]);
  return EXIT.misbehaviour;
}

/** Whether `account` is the operator now, and whether it ever was (hasBeenOperator; older contracts: now). */
async function operatorRole(c: CommitmentContract, account: Address): Promise<{ current: boolean; ever: boolean }> {
  const role = await c.read<Hex>("OPERATOR_ROLE");
  const current = await c.read<boolean>("hasRole", [role, account]);
  const ever = hasFunction(c.abi, "hasBeenOperator") ? await c.read<boolean>("hasBeenOperator", [account]) : current;
  return { current, ever: ever || current };
}

interface ProvenBefore {
  reporter: Address;
  provenAt: bigint;
}

async function provenBefore(c: CommitmentContract, epoch: bigint, sequence: bigint): Promise<ProvenBefore | undefined> {
  if (!hasFunction(c.abi, "equivocationOf")) return undefined;
  const record = await c.read<{ operator: Address; provenAt: bigint; reporter: Address }>("equivocationOf", [epoch, sequence]);
  if (/^0x0{40}$/i.test(record.operator)) return undefined;
  return { reporter: record.reporter.toLowerCase() as Address, provenAt: BigInt(record.provenAt) };
}

function equivocationFields(call: EquivocationProof | undefined, simulation: Simulation | undefined, previously: ProvenBefore | undefined): [string, string | undefined][] {
  if (call === undefined) return [];
  return [
    ["already proven", previously === undefined ? undefined : `yes, by ${previously.reporter} at ${when(previously.provenAt, "s")}`],
    ["simulated", simulation?.accepted === true ? "the contract accepts this proof (eth_call at the block read)" : `the contract refuses it: ${simulation?.accepted === false ? simulation.error : "?"}`],
  ];
}

function equivocationLines(call: EquivocationProof | undefined, submission: Submission | undefined, submitError: string | undefined, submitAsked: boolean): string[] {
  if (call === undefined) return ["This OrderbookCommitment has no proveEquivocation (deployed before it existed): the evidence above is the proof."];
  const lines = [
    `To prove it on-chain, anyone may send this to ${call.to}:`,
    `  proveEquivocation(${call.args.map(formatArg).join(", ")})`,
    `  calldata ${call.data}`,
  ];
  if (submission !== undefined) {
    lines.push(
      submission.status === "success"
        ? `SUBMITTED: proof accepted in transaction ${submission.txHash} (block ${submission.blockNumber}, from ${submission.from})`
        : `SUBMITTED but REVERTED: transaction ${submission.txHash} (block ${submission.blockNumber})`,
    );
  } else if (submitError !== undefined) {
    lines.push(`SUBMISSION FAILED: ${submitError}`);
  } else if (!submitAsked) {
    lines.push("  (or run again with --submit --private-key-env VAR to send it)");
  }
  return lines;
}

function formatArg(arg: unknown): string {
  if (Array.isArray(arg)) return `[${arg.map(formatArg).join(", ")}]`;
  return String(arg);
}
