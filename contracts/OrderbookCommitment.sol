// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.28;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

import {IOrderbookCommitment, Epoch} from "./interfaces/IOrderbookCommitment.sol";
import {CommitmentLeaves} from "./libraries/CommitmentLeaves.sol";
import {OperatorRoles} from "./OperatorRoles.sol";

/// @title HyperIndex OrderbookCommitment
/// @notice Stores the operator's Merkle root of each epoch and verifies inclusion proofs of
/// accepted orders and fills against it.
/// @dev No pause: a commit only adds evidence against the operator, never moves funds, so
/// there is nothing a guardian would need to stop.
contract OrderbookCommitment is IOrderbookCommitment, OperatorRoles {
    mapping(uint64 epoch => Epoch) private _epochs;
    uint64 private _latestEpoch;

    /// @param admin default admin (AccessControlDefaultAdminRules)
    /// @param adminTransferDelay delay of a default-admin transfer
    /// @param initialOperator the operator
    /// @param operatorRotationDelay_ delay of an operator rotation
    constructor(address admin, uint48 adminTransferDelay, address initialOperator, uint64 operatorRotationDelay_)
        OperatorRoles(admin, adminTransferDelay, initialOperator, operatorRotationDelay_)
    {}

    // =================================================================== operator actions

    /// @inheritdoc IOrderbookCommitment
    function commitEpoch(uint64 epoch, bytes32 root, uint64 leafCount, bytes32 dataHash)
        external
        onlyRole(OPERATOR_ROLE)
    {
        // The sequence check alone also guarantees "never overwritten": only the epoch after
        // the latest can be written, and it has never been written before.
        uint64 expected = _latestEpoch + 1;
        if (epoch != expected) revert CommitmentEpochOutOfOrder(expected, epoch);
        if (root == bytes32(0)) revert CommitmentZeroRoot();
        if (leafCount == 0) revert CommitmentZeroLeafCount();
        if (dataHash == bytes32(0)) revert CommitmentZeroDataHash();

        _epochs[epoch] =
            Epoch({root: root, dataHash: dataHash, leafCount: leafCount, committedAt: uint64(block.timestamp)});
        _latestEpoch = epoch;

        emit EpochCommitted(epoch, root, leafCount, dataHash);
    }

    // =================================================================== views

    /// @inheritdoc IOrderbookCommitment
    function latestEpoch() external view returns (uint64) {
        return _latestEpoch;
    }

    /// @inheritdoc IOrderbookCommitment
    function epochOf(uint64 epoch) external view returns (Epoch memory) {
        return _epochs[epoch];
    }

    /// @inheritdoc IOrderbookCommitment
    function verifyOrder(
        uint64 epoch,
        uint64 sequence,
        bytes32 orderHash,
        address trader,
        uint64 receivedAt,
        bytes32[] calldata proof
    ) external view returns (bool) {
        bytes32 leaf = CommitmentLeaves.orderAccepted(epoch, sequence, orderHash, trader, receivedAt);
        return MerkleProof.verifyCalldata(proof, _rootOf(epoch), leaf);
    }

    /// @inheritdoc IOrderbookCommitment
    function verifyFill(
        uint64 epoch,
        uint64 fillId,
        bytes32 makerHash,
        bytes32 takerHash,
        uint256 price,
        uint256 amount,
        uint64 batchId,
        bytes32[] calldata proof
    ) external view returns (bool) {
        bytes32 leaf = CommitmentLeaves.fill(epoch, fillId, makerHash, takerHash, price, amount, batchId);
        return MerkleProof.verifyCalldata(proof, _rootOf(epoch), leaf);
    }

    /// @inheritdoc IOrderbookCommitment
    function hashOrderLeaf(uint64 epoch, uint64 sequence, bytes32 orderHash, address trader, uint64 receivedAt)
        external
        pure
        returns (bytes32)
    {
        return CommitmentLeaves.orderAccepted(epoch, sequence, orderHash, trader, receivedAt);
    }

    /// @inheritdoc IOrderbookCommitment
    function hashFillLeaf(
        uint64 epoch,
        uint64 fillId,
        bytes32 makerHash,
        bytes32 takerHash,
        uint256 price,
        uint256 amount,
        uint64 batchId
    ) external pure returns (bytes32) {
        return CommitmentLeaves.fill(epoch, fillId, makerHash, takerHash, price, amount, batchId);
    }

    // =================================================================== internals

    /// @dev The committed root of `epoch`. Reverts for an uncommitted epoch rather than return
    /// zero: no proof can reach a zero root, but a silent `false` would read as "not included".
    function _rootOf(uint64 epoch) private view returns (bytes32 root) {
        root = _epochs[epoch].root;
        if (root == bytes32(0)) revert CommitmentEpochNotCommitted(epoch);
    }
}
