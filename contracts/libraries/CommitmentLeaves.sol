// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.28;

/// @notice Leaf hashing of the epoch Merkle trees OrderbookCommitment stores the roots of.
/// The TypeScript mirror is operator/commitment/leaves.ts; fixed vectors pin both
/// (test/operator/commitment/vectors.json).
/// @dev Every leaf is typed and hashed twice:
///     leaf = keccak256(bytes.concat(keccak256(abi.encode(LEAF_TYPE, ...fields))))
/// - The type tag is the first word, so an order leaf can never be read as a fill leaf
///   (or any future type) even where the remaining words happen to line up.
/// - The outer hash has a 32-byte preimage while every inner node of a sorted-pair tree has a
///   64-byte one, so no inner node can pass as a leaf (second-preimage attack), whatever the
///   field layout. (OpenZeppelin's StandardMerkleTree does the same.)
/// Tags are stable forever: a new leaf type gets a new tag, an existing tag never changes.
library CommitmentLeaves {
    /// @dev The operator accepted an order into its book: its arrival sequence number and time.
    uint8 internal constant LEAF_ORDER_ACCEPTED = 1;
    /// @dev The operator matched a fill (and put it in settlement batch `batchId`).
    uint8 internal constant LEAF_FILL = 2;

    /// @notice Leaf of an accepted order.
    /// @param epoch the epoch the leaf belongs to (binds the leaf to one root)
    /// @param sequence the operator's arrival sequence number of the order
    /// @param orderHash EIP-712 digest of the order (Settlement.hashOrder)
    /// @param trader the order's trader
    /// @param receivedAt when the operator received the order, unix milliseconds
    function orderAccepted(uint64 epoch, uint64 sequence, bytes32 orderHash, address trader, uint64 receivedAt)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(
            bytes.concat(keccak256(abi.encode(LEAF_ORDER_ACCEPTED, epoch, sequence, orderHash, trader, receivedAt)))
        );
    }

    /// @notice Leaf of a fill.
    /// @param epoch the epoch the leaf belongs to
    /// @param fillId the operator's fill id (Fill.fillId in Settlement)
    /// @param makerHash order hash of the maker
    /// @param takerHash order hash of the taker
    /// @param price execution price (the maker's), quote atoms per 10^baseDecimals base atoms
    /// @param amount base atoms traded
    /// @param batchId the settlement batch the fill was sent in
    function fill(
        uint64 epoch,
        uint64 fillId,
        bytes32 makerHash,
        bytes32 takerHash,
        uint256 price,
        uint256 amount,
        uint64 batchId
    ) internal pure returns (bytes32) {
        return keccak256(
            bytes.concat(keccak256(abi.encode(LEAF_FILL, epoch, fillId, makerHash, takerHash, price, amount, batchId)))
        );
    }
}
