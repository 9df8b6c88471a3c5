export { createVerifierPool } from "./pool";
export type { VerifierPool, VerifierPoolDeps, VerifierPoolOptions, VerifierPoolParams, VerifierPoolStats, VerifyRequest, VerifyResult } from "./types";
export { createErc1271Checker, isExecutionFailure, type Erc1271Client, type Erc1271Checker, type Erc1271Verdict } from "./erc1271";
export { createKeccak256, type Keccak256Fn } from "../keccak";
export { verifyRecords, writeRecord, allocRecords, EcdsaStatus, MAX_DOMAINS, RECORD_BYTES, RESULT_BYTES } from "./records";
