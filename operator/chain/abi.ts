/**
 * The parts of the contracts' ABIs the operator calls, as viem-typed constants. They are
 * hand-kept rather than read from artifacts/ (generated, not shipped with the daemon); a test
 * (test/operator/chain/abi.test.ts) checks each entry against the compiled artifact, so they
 * cannot drift from the contracts.
 */
export const settlementAbi = [
  { type: "function", name: "feeRecipient", stateMutability: "view", inputs: [], outputs: [{ name: "", type: "address" }] },
  { type: "function", name: "nextBatchId", stateMutability: "view", inputs: [], outputs: [{ name: "", type: "uint64" }] },
  { type: "function", name: "domainSeparator", stateMutability: "view", inputs: [], outputs: [{ name: "", type: "bytes32" }] },
  {
    type: "function",
    name: "balancesOf",
    stateMutability: "view",
    inputs: [
      { name: "traders", type: "address[]" },
      { name: "tokens", type: "address[]" },
    ],
    outputs: [{ name: "balances", type: "uint256[]" }],
  },
  { type: "function", name: "tokenScale", stateMutability: "view", inputs: [{ name: "token", type: "address" }], outputs: [{ name: "", type: "uint256" }] },
] as const;

export const commitmentAbi = [
  { type: "function", name: "latestEpoch", stateMutability: "view", inputs: [], outputs: [{ name: "", type: "uint64" }] },
] as const;
