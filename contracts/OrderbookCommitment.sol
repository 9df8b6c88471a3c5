// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.28;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

import {IOrderbookCommitment, Epoch, Equivocation} from "./interfaces/IOrderbookCommitment.sol";
import {CommitmentLeaves} from "./libraries/CommitmentLeaves.sol";
import {OrderReceiptLib} from "./libraries/OrderReceiptLib.sol";
import {OperatorRoles} from "./OperatorRoles.sol";

/// @title HyperIndex OrderbookCommitment
/// @notice Stores the operator's Merkle root of each epoch, verifies inclusion proofs of
/// accepted orders and fills against it, and records proven equivocations (a signed order
/// receipt contradicted by a committed leaf).
/// @dev No pause: a commit or a proof only adds evidence against the operator, never moves
/// funds, so there is nothing a guardian would need to stop. The EIP-712 domain (receipts) is
/// "HyperIndex OrderbookCommitment" / "1" / this chain / this contract.
contract OrderbookCommitment is IOrderbookCommitment, EIP712, OperatorRoles {
    mapping(uint64 epoch => Epoch) private _epochs;
    uint64 private _latestEpoch;
    /// @dev Next to _latestEpoch in one slot: every proof needs a committed epoch, so the slot
    /// is never zero when the count is written (an update, not a fresh slot).
    uint64 private _faultCount;
    /// @dev Every address ever granted OPERATOR_ROLE (set in _grantRole, never cleared): a
    /// receipt signed before a rotation keeps counting after it.
    mapping(address account => bool) private _hasBeenOperator;
    mapping(uint64 epoch => mapping(uint64 sequence => Equivocation)) private _equivocations;

    /// @param admin default admin (AccessControlDefaultAdminRules)
    /// @param adminTransferDelay delay of a default-admin transfer
    /// @param initialOperator the operator
    /// @param operatorRotationDelay_ delay of an operator rotation
    constructor(address admin, uint48 adminTransferDelay, address initialOperator, uint64 operatorRotationDelay_)
        EIP712("HyperIndex OrderbookCommitment", "1")
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

    // =================================================================== anyone

    /// @inheritdoc IOrderbookCommitment
    function proveEquivocation(
        uint64 epoch,
        uint64 sequence,
        bytes32 receiptOrderHash,
        bytes calldata signature,
        bytes32 committedOrderHash,
        address committedTrader,
        uint64 committedReceivedAt,
        bytes32[] calldata proof
    ) external {
        // Cheap checks first, so a duplicate report (two reporters racing) fails before the
        // signature recovery and the proof.
        if (receiptOrderHash == committedOrderHash) revert CommitmentReceiptMatchesLeaf(receiptOrderHash);
        bytes32 root = _rootOf(epoch);
        Equivocation storage record = _equivocations[epoch][sequence];
        if (record.operator != address(0)) revert CommitmentEquivocationAlreadyProven(epoch, sequence);

        address signer = _receiptSigner(epoch, sequence, receiptOrderHash, signature);
        if (!_hasBeenOperator[signer]) revert CommitmentReceiptSignerNotOperator(signer);

        bytes32 leaf =
            CommitmentLeaves.orderAccepted(epoch, sequence, committedOrderHash, committedTrader, committedReceivedAt);
        if (!MerkleProof.verifyCalldata(proof, root, leaf)) revert CommitmentLeafProofInvalid(epoch, sequence);

        record.operator = signer;
        record.provenAt = uint64(block.timestamp);
        record.reporter = msg.sender;
        record.receiptOrderHash = receiptOrderHash;
        record.committedOrderHash = committedOrderHash;
        // Checked: at most one fault per committed (epoch, sequence), never near 2^64.
        _faultCount += 1;

        emit OperatorEquivocated(epoch, sequence, signer, receiptOrderHash, committedOrderHash, msg.sender);
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
    function hashReceipt(uint64 epoch, uint64 sequence, bytes32 orderHash) external view returns (bytes32) {
        return _hashTypedDataV4(OrderReceiptLib.structHash(epoch, sequence, orderHash));
    }

    /// @inheritdoc IOrderbookCommitment
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @inheritdoc IOrderbookCommitment
    function equivocationOf(uint64 epoch, uint64 sequence) external view returns (Equivocation memory) {
        return _equivocations[epoch][sequence];
    }

    /// @inheritdoc IOrderbookCommitment
    function faultCount() external view returns (uint64) {
        return _faultCount;
    }

    /// @inheritdoc IOrderbookCommitment
    function hasBeenOperator(address account) external view returns (bool) {
        return _hasBeenOperator[account];
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

    /// @dev The signer of a receipt (OpenZeppelin ECDSA: 65 bytes, low s, v 27 or 28), each
    /// refusal as this contract's own error, so a reporter's tool decodes one ABI.
    function _receiptSigner(uint64 epoch, uint64 sequence, bytes32 orderHash, bytes calldata signature)
        private
        view
        returns (address signer)
    {
        bytes32 digest = _hashTypedDataV4(OrderReceiptLib.structHash(epoch, sequence, orderHash));
        (address recovered, ECDSA.RecoverError error, bytes32 errorArg) = ECDSA.tryRecover(digest, signature);
        if (error == ECDSA.RecoverError.InvalidSignatureLength) revert CommitmentReceiptSignatureLength(uint256(errorArg));
        if (error == ECDSA.RecoverError.InvalidSignatureS) revert CommitmentReceiptSignatureHighS(errorArg);
        if (error != ECDSA.RecoverError.NoError) revert CommitmentReceiptSignatureInvalid();
        return recovered;
    }

    /// @dev Records every account the operator role is granted to: only the constructor and
    /// executeOperatorRotation grant it (OperatorRoles refuses grantRole for it).
    function _grantRole(bytes32 role, address account) internal override returns (bool granted) {
        granted = super._grantRole(role, account);
        if (granted && role == OPERATOR_ROLE) _hasBeenOperator[account] = true;
    }
}
