// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.28;

/// @notice What the operator committed for one epoch.
struct Epoch {
    /// @dev Merkle root (sorted pairs) over the epoch's leaves in arrival order; never zero once
    /// committed. Sorted pairs hide the order of two siblings: `dataHash` pins the full order.
    bytes32 root;
    /// @dev keccak256 of the epoch data file the operator published (operator/commitment/epochData.ts):
    /// an auditor fetches the file, checks this hash, and rebuilds `root` from it.
    bytes32 dataHash;
    /// @dev Number of leaves in the tree.
    uint64 leafCount;
    /// @dev block.timestamp of the commit.
    uint64 committedAt;
}

/// @notice A proven equivocation: the operator signed a receipt for one order at
/// (epoch, sequence) and committed another order's leaf there.
/// @dev Stored forever under (epoch, sequence); all zero where none was proven.
struct Equivocation {
    /// @dev The receipt's signer: the operator, or an operator rotated out since.
    address operator;
    /// @dev block.timestamp of the proof.
    uint64 provenAt;
    /// @dev Who sent the proof.
    address reporter;
    /// @dev The order hash the operator's receipt promised.
    bytes32 receiptOrderHash;
    /// @dev The order hash the committed leaf holds instead.
    bytes32 committedOrderHash;
}

/// @title HyperIndex OrderbookCommitment
/// @notice The operator commits, epoch after epoch, a Merkle root of every order it accepted
/// (with its arrival sequence and time) and every fill it matched, so anyone can prove that
/// an order was received, when, and in which position, or that a fill happened as reported.
///
/// When it accepts an order, the operator hands the trader a receipt it signed (EIP-712,
/// libraries/OrderReceiptLib.sol): "this order's leaf will sit at (epoch, sequence)". Once the
/// epoch is committed, a receipt and a proof of a committed leaf at the same (epoch, sequence)
/// with another order hash prove that the operator lied to the trader, or reordered its book
/// after the fact. proveEquivocation records that, permanently and publicly.
/// @dev Leaves are typed and double-hashed (libraries/CommitmentLeaves.sol); proofs use sorted
/// pairs (OpenZeppelin MerkleProof). Epochs are committed strictly in order from 1, and a
/// committed epoch is never overwritten.
interface IOrderbookCommitment {
    // ------------------------------------------------------------------ errors

    /// @notice The epoch is not the next one: epochs are committed once, in order, from 1.
    error CommitmentEpochOutOfOrder(uint64 expected, uint64 got);
    /// @notice A zero root (an empty epoch is not committed; a real root is never zero).
    error CommitmentZeroRoot();
    /// @notice A zero leaf count (an epoch without leaves is not committed).
    error CommitmentZeroLeafCount();
    /// @notice A zero data hash: the epoch data file must be published for auditors.
    error CommitmentZeroDataHash();
    /// @notice A proof was checked against an epoch that has not been committed.
    error CommitmentEpochNotCommitted(uint64 epoch);
    /// @notice The receipt and the committed leaf name the same order: the operator kept its word.
    error CommitmentReceiptMatchesLeaf(bytes32 orderHash);
    /// @notice An equivocation at (epoch, sequence) was already proven; it is recorded once.
    error CommitmentEquivocationAlreadyProven(uint64 epoch, uint64 sequence);
    /// @notice The receipt signature is not 65 bytes (r ‖ s ‖ v; the compact EIP-2098 form is not taken).
    error CommitmentReceiptSignatureLength(uint256 length);
    /// @notice The receipt signature's s is above secp256k1n / 2: a malleable signature (EIP-2).
    error CommitmentReceiptSignatureHighS(bytes32 s);
    /// @notice The receipt signature recovers no address (v not 27 or 28, or r, s out of range).
    error CommitmentReceiptSignatureInvalid();
    /// @notice The receipt was signed by `signer`, which has never been the operator.
    error CommitmentReceiptSignerNotOperator(address signer);
    /// @notice The committed leaf's fields and proof do not lead to the epoch's root.
    error CommitmentLeafProofInvalid(uint64 epoch, uint64 sequence);

    // ------------------------------------------------------------------ events

    /// @notice The operator committed `root` over `leafCount` leaves for `epoch`; the epoch
    /// data file that rebuilds it hashes to `dataHash`.
    event EpochCommitted(uint64 indexed epoch, bytes32 root, uint64 leafCount, bytes32 dataHash);

    /// @notice `operator` signed a receipt placing order `receiptOrderHash` at (epoch, sequence)
    /// but committed `committedOrderHash` there; `reporter` proved it.
    event OperatorEquivocated(
        uint64 indexed epoch,
        uint64 indexed sequence,
        address indexed operator,
        bytes32 receiptOrderHash,
        bytes32 committedOrderHash,
        address reporter
    );

    // ------------------------------------------------------------------ operator actions

    /// @notice Commits epoch `epoch`, which must be `latestEpoch() + 1`.
    /// @param root Merkle root (sorted pairs) of the epoch's leaves, non-zero
    /// @param leafCount number of leaves, non-zero
    /// @param dataHash keccak256 of the published epoch data file, non-zero
    function commitEpoch(uint64 epoch, bytes32 root, uint64 leafCount, bytes32 dataHash) external;

    // ------------------------------------------------------------------ anyone

    /// @notice Proves that the operator equivocated: it signed a receipt placing order
    /// `receiptOrderHash` at (epoch, sequence), and the committed tree of `epoch` holds another
    /// order's "order accepted" leaf at that (epoch, sequence). Anyone may call it (the trader
    /// holding the receipt, an auditor, a bot); the caller is recorded as the reporter.
    ///
    /// What follows from it: the fault is recorded forever under (epoch, sequence)
    /// (equivocationOf) and counted (faultCount), and OperatorEquivocated is emitted. That is
    /// public evidence any trader, auditor, or a future slashing or governance contract can
    /// read and act on. This contract holds no funds, so it moves none: the proof is the penalty
    /// it can give, and the reason to trust the operator's receipts.
    ///
    /// Checked, in this order: the two hashes differ (CommitmentReceiptMatchesLeaf), the epoch
    /// is committed (CommitmentEpochNotCommitted), no fault is recorded at (epoch, sequence) yet
    /// (CommitmentEquivocationAlreadyProven), the signature is a well-formed low-s ECDSA
    /// signature (CommitmentReceiptSignatureLength / HighS / Invalid) whose signer has been the
    /// operator at some time (CommitmentReceiptSignerNotOperator), and the leaf is in the epoch's
    /// tree (CommitmentLeafProofInvalid).
    /// @dev A receipt signed by an operator since rotated out still counts: the promise was made
    /// with the operator's authority. The fault names the signer, so a reader can tell a
    /// current operator's lie from a retired key's (a retired key must stay guarded: whoever
    /// holds it can sign receipts under it). Only a conflicting leaf at the promised position is
    /// covered; an order left out of its epoch altogether needs the epoch data file to show.
    /// @param epoch the epoch the receipt names, committed
    /// @param sequence the arrival sequence number the receipt names
    /// @param receiptOrderHash the order hash the receipt names
    /// @param signature the receipt's signature, 65 bytes r ‖ s ‖ v, low s (hashReceipt's digest)
    /// @param committedOrderHash the order hash of the committed leaf at (epoch, sequence)
    /// @param committedTrader the committed leaf's trader
    /// @param committedReceivedAt the committed leaf's receivedAt, unix milliseconds
    /// @param proof the committed leaf's Merkle proof in `epoch`'s tree
    function proveEquivocation(
        uint64 epoch,
        uint64 sequence,
        bytes32 receiptOrderHash,
        bytes calldata signature,
        bytes32 committedOrderHash,
        address committedTrader,
        uint64 committedReceivedAt,
        bytes32[] calldata proof
    ) external;

    // ------------------------------------------------------------------ views

    /// @notice The last committed epoch, 0 before the first commit.
    function latestEpoch() external view returns (uint64);

    /// @notice What was committed for `epoch`; all zero if it has not been committed.
    function epochOf(uint64 epoch) external view returns (Epoch memory);

    /// @notice Whether the "order accepted" leaf with these fields is in `epoch`'s tree.
    /// @dev Reverts with CommitmentEpochNotCommitted for an epoch not committed yet, so that
    /// `false` always means "committed, and not included" and never "not committed yet".
    /// @param receivedAt unix milliseconds
    function verifyOrder(
        uint64 epoch,
        uint64 sequence,
        bytes32 orderHash,
        address trader,
        uint64 receivedAt,
        bytes32[] calldata proof
    ) external view returns (bool);

    /// @notice Whether the fill leaf with these fields is in `epoch`'s tree.
    /// @dev Reverts with CommitmentEpochNotCommitted for an epoch not committed yet.
    function verifyFill(
        uint64 epoch,
        uint64 fillId,
        bytes32 makerHash,
        bytes32 takerHash,
        uint256 price,
        uint256 amount,
        uint64 batchId,
        bytes32[] calldata proof
    ) external view returns (bool);

    /// @notice The "order accepted" leaf hash (CommitmentLeaves.orderAccepted), for auditors'
    /// tools and the fixed vectors that pin the TypeScript encoder.
    function hashOrderLeaf(uint64 epoch, uint64 sequence, bytes32 orderHash, address trader, uint64 receivedAt)
        external
        pure
        returns (bytes32);

    /// @notice The EIP-712 digest the operator signs for a receipt: OrderReceipt(uint64 epoch,
    /// uint64 sequence,bytes32 orderHash) in this contract's domain (name "HyperIndex
    /// OrderbookCommitment", version "1", this chain, this contract).
    /// @param epoch the epoch the order's leaf will be committed in
    /// @param sequence the order's arrival number: (marketId << 48) | the market's count of
    /// accepted orders, unique on the chain (composed like fill ids)
    /// @param orderHash the order's EIP-712 digest (Settlement.hashOrder)
    function hashReceipt(uint64 epoch, uint64 sequence, bytes32 orderHash) external view returns (bytes32);

    /// @notice The EIP-712 domain separator of receipts (see hashReceipt).
    function domainSeparator() external view returns (bytes32);

    /// @notice The equivocation proven at (epoch, sequence); all zero if none.
    function equivocationOf(uint64 epoch, uint64 sequence) external view returns (Equivocation memory);

    /// @notice How many equivocations have been proven, ever.
    function faultCount() external view returns (uint64);

    /// @notice Whether `account` is or has ever been the operator: whose receipts count.
    function hasBeenOperator(address account) external view returns (bool);

    /// @notice The fill leaf hash (CommitmentLeaves.fill).
    function hashFillLeaf(
        uint64 epoch,
        uint64 fillId,
        bytes32 makerHash,
        bytes32 takerHash,
        uint256 price,
        uint256 amount,
        uint64 batchId
    ) external pure returns (bytes32);
}
