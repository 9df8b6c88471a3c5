/**
 * The contract views the reconciler reads, apart from operator/chain's bindings (which carry
 * only what the settler and the watcher call): Settlement.balancesOf (many (trader, token)
 * pairs in one call), Settlement.totalBalance (the sum of a token's internal balances) and the
 * ERC-20 balanceOf of the vault (solvency).
 */
export const reconcilerSettlementAbi = [
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
  { type: "function", name: "totalBalance", stateMutability: "view", inputs: [{ name: "token", type: "address" }], outputs: [{ name: "", type: "uint256" }] },
  { type: "function", name: "feeRecipient", stateMutability: "view", inputs: [], outputs: [{ name: "", type: "address" }] },
] as const;

export const erc20BalanceAbi = [
  { type: "function", name: "balanceOf", stateMutability: "view", inputs: [{ name: "account", type: "address" }], outputs: [{ name: "", type: "uint256" }] },
] as const;
