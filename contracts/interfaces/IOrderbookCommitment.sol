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

/// @title HyperIndex OrderbookCommitment
/// @notice The operator commits, epoch after epoch, a Merkle root of every order it accepted
/// (with its arrival sequence and time) and every fill it matched, so anyone can prove that
/// an order was received, when, and in which position, or that a fill happened as reported.
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

    // ------------------------------------------------------------------ events

    /// @notice The operator committed `root` over `leafCount` leaves for `epoch`; the epoch
    /// data file that rebuilds it hashes to `dataHash`.
    event EpochCommitted(uint64 indexed epoch, bytes32 root, uint64 leafCount, bytes32 dataHash);

    // ------------------------------------------------------------------ operator actions

    /// @notice Commits epoch `epoch`, which must be `latestEpoch() + 1`.
    /// @param root Merkle root (sorted pairs) of the epoch's leaves, non-zero
    /// @param leafCount number of leaves, non-zero
    /// @param dataHash keccak256 of the published epoch data file, non-zero
    function commitEpoch(uint64 epoch, bytes32 root, uint64 leafCount, bytes32 dataHash) external;

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
