// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.28;

/// @notice EIP-712 hashing of the operator's signed order receipt, in OrderbookCommitment's
/// domain (name "HyperIndex OrderbookCommitment", version "1", chain id, the contract's
/// address). The TypeScript mirror is operator/commitment/receipt.ts; fixed vectors pin both
/// (test/operator/commitment/vectors.json, "receipts").
/// @dev The type, in field order (never reorder, insert or retype a field without changing
/// RECEIPT_TYPEHASH and the TypeScript mirror):
///     OrderReceipt(uint64 epoch,uint64 sequence,bytes32 orderHash)
/// - `epoch`: the epoch whose tree the order's "order accepted" leaf will be committed in.
/// - `sequence`: the order's arrival number, unique on the chain: (marketId << 48) | the
///   market's count of accepted orders, composed like fill ids (16 bits of market id, 48 of
///   counter). It is the `sequence` field of the order's leaf (CommitmentLeaves.orderAccepted).
/// - `orderHash`: the order's EIP-712 digest (Settlement.hashOrder).
/// A signed receipt is the operator's promise "the leaf at (epoch, sequence) holds orderHash";
/// a committed leaf at the same (epoch, sequence) holding another hash breaks it, provably
/// (OrderbookCommitment.proveEquivocation).
library OrderReceiptLib {
    /// @dev keccak256("OrderReceipt(uint64 epoch,uint64 sequence,bytes32 orderHash)")
    bytes32 internal constant RECEIPT_TYPEHASH = 0x7ab9be14edb2983446ce091a024f2c03b5b5cccd6aa83e794a22418181398f46;

    /// @notice EIP-712 struct hash: keccak256(abi.encode(RECEIPT_TYPEHASH, epoch, sequence, orderHash)).
    function structHash(uint64 epoch, uint64 sequence, bytes32 orderHash) internal pure returns (bytes32) {
        return keccak256(abi.encode(RECEIPT_TYPEHASH, epoch, sequence, orderHash));
    }
}
