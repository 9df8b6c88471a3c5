/**
 * The parts of the contracts' ABIs the operator calls or follows, as viem-typed constants. They
 * are hand-kept rather than read from artifacts/ (generated, not shipped with the daemon); a
 * test (test/operator/chain/abi.test.ts) checks each entry against the compiled artifact, so
 * they cannot drift from the contracts.
 */

/** The Settlement events the chain watcher follows (./events.ts). SkipReason travels as uint8. */
export const settlementEventsAbi = [
  {
    type: "event",
    name: "Deposited",
    anonymous: false,
    inputs: [
      { name: "trader", type: "address", indexed: true },
      { name: "token", type: "address", indexed: true },
      { name: "from", type: "address", indexed: true },
      { name: "amount", type: "uint256", indexed: false },
    ],
  },
  {
    type: "event",
    name: "WithdrawalRequested",
    anonymous: false,
    inputs: [
      { name: "trader", type: "address", indexed: true },
      { name: "token", type: "address", indexed: true },
      { name: "amount", type: "uint256", indexed: false },
      { name: "readyAt", type: "uint64", indexed: false },
    ],
  },
  {
    type: "event",
    name: "Withdrawn",
    anonymous: false,
    inputs: [
      { name: "trader", type: "address", indexed: true },
      { name: "token", type: "address", indexed: true },
      { name: "amount", type: "uint256", indexed: false },
      { name: "early", type: "bool", indexed: false },
    ],
  },
  {
    type: "event",
    name: "NonceCancelled",
    anonymous: false,
    inputs: [
      { name: "trader", type: "address", indexed: true },
      { name: "nonce", type: "uint256", indexed: false },
      { name: "filled", type: "uint256", indexed: false },
    ],
  },
  {
    type: "event",
    name: "MinNonceRaised",
    anonymous: false,
    inputs: [
      { name: "trader", type: "address", indexed: true },
      { name: "minNonce", type: "uint256", indexed: false },
    ],
  },
  {
    type: "event",
    name: "Filled",
    anonymous: false,
    inputs: [
      { name: "makerHash", type: "bytes32", indexed: true },
      { name: "takerHash", type: "bytes32", indexed: true },
      { name: "fill", type: "uint256", indexed: false },
      { name: "quoteAmount", type: "uint256", indexed: false },
    ],
  },
  {
    type: "event",
    name: "FillSkipped",
    anonymous: false,
    inputs: [
      { name: "batchId", type: "uint64", indexed: true },
      { name: "fillId", type: "uint64", indexed: true },
      { name: "reason", type: "uint8", indexed: false },
    ],
  },
  {
    type: "event",
    name: "BatchSettled",
    anonymous: false,
    inputs: [
      { name: "batchId", type: "uint64", indexed: true },
      { name: "fills", type: "uint256", indexed: false },
      { name: "settled", type: "uint256", indexed: false },
    ],
  },
] as const;

/** The OrderbookCommitment events the chain watcher follows (./events.ts). */
export const commitmentEventsAbi = [
  {
    type: "event",
    name: "EpochCommitted",
    anonymous: false,
    inputs: [
      { name: "epoch", type: "uint64", indexed: true },
      { name: "root", type: "bytes32", indexed: false },
      { name: "leafCount", type: "uint64", indexed: false },
      { name: "dataHash", type: "bytes32", indexed: false },
    ],
  },
] as const;

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
  ...settlementEventsAbi,
] as const;

export const commitmentAbi = [
  { type: "function", name: "latestEpoch", stateMutability: "view", inputs: [], outputs: [{ name: "", type: "uint64" }] },
  {
    type: "function",
    name: "commitEpoch",
    stateMutability: "nonpayable",
    inputs: [
      { name: "epoch", type: "uint64" },
      { name: "root", type: "bytes32" },
      { name: "leafCount", type: "uint64" },
      { name: "dataHash", type: "bytes32" },
    ],
    outputs: [],
  },
  {
    type: "function",
    name: "epochOf",
    stateMutability: "view",
    inputs: [{ name: "epoch", type: "uint64" }],
    outputs: [
      {
        name: "",
        type: "tuple",
        components: [
          { name: "root", type: "bytes32" },
          { name: "dataHash", type: "bytes32" },
          { name: "leafCount", type: "uint64" },
          { name: "committedAt", type: "uint64" },
        ],
      },
    ],
  },
  ...commitmentEventsAbi,
] as const;
