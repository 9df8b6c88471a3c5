// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.28;

import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";

/// @notice Signature checks for orders: EOA (ECDSA, 65-byte r‖s‖v or 64-byte EIP-2098 r‖vs,
/// low-s only) and smart wallets (EIP-1271).
library SignatureLib {
    /// @dev Most gas handed to one isValidSignature call: generous for multisigs with many
    /// owners. Settlement also bounds all the calls of a batch together (its EIP-1271 budget).
    uint256 internal constant ERC1271_GAS_LIMIT = 250_000;

    /// @dev secp256k1n / 2: the largest `s` accepted (EIP-2: no malleable high-s signatures).
    uint256 internal constant HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;

    /// @notice True if `signature` over `digest` is valid for `signer`.
    /// @dev ECDSA first (cheap, and an account with code may still sign as an EOA under
    /// EIP-7702); then, only if `signer` has code, EIP-1271 with ERC1271_GAS_LIMIT gas. A zero
    /// signer never passes. Settlement runs the same two steps itself, to meter the second.
    function isValid(address signer, bytes32 digest, bytes calldata signature) internal view returns (bool) {
        if (signer == address(0)) return false;
        if (recover(digest, signature) == signer) return true;
        if (signer.code.length == 0) return false;
        (bool ok,) = isValidERC1271(signer, digest, signature, ERC1271_GAS_LIMIT);
        return ok;
    }

    /// @notice The ECDSA signer of `digest`, or address(0) if `signature` is not a well-formed
    /// low-s signature: 65 bytes r‖s‖v with v 27 or 28, or 64 bytes r‖vs (EIP-2098).
    /// @dev Same rules as OpenZeppelin ECDSA.tryRecover, read straight from calldata.
    function recover(bytes32 digest, bytes calldata signature) internal view returns (address signer) {
        uint256 r;
        uint256 s;
        uint256 v;
        assembly ("memory-safe") {
            r := calldataload(signature.offset)
            switch signature.length
            case 65 {
                s := calldataload(add(signature.offset, 0x20))
                v := byte(0, calldataload(add(signature.offset, 0x40)))
            }
            case 64 {
                let vs := calldataload(add(signature.offset, 0x20))
                s := and(vs, 0x7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff)
                v := add(shr(255, vs), 27)
            }
            default { v := 0 }
        }
        if (s > HALF_N || (v != 27 && v != 28)) return address(0);
        assembly ("memory-safe") {
            // ecrecover precompile (0x01) on scratch memory; the free memory pointer and the
            // zero slot it overwrites are restored afterwards.
            let freePointer := mload(0x40)
            mstore(0x00, digest)
            mstore(0x20, v)
            mstore(0x40, r)
            mstore(0x60, s)
            let ok := staticcall(gas(), 0x01, 0x00, 0x80, 0x00, 0x20)
            // The precompile returns nothing for an invalid signature: returndatasize is 0.
            signer := mul(mload(0x00), and(ok, eq(returndatasize(), 0x20)))
            mstore(0x40, freePointer)
            mstore(0x60, 0)
        }
    }

    /// @notice Asks `wallet` (EIP-1271) whether `signature` over `digest` is its own, handing
    /// it at most `gasLimit` gas. Returns the answer and the gas the call cost (the wallet's
    /// gas plus the call's own, a little more than `gasLimit` for a wallet that burns it all).
    /// @dev staticcall with a gas cap; reads at most one word back, so a wallet that reverts,
    /// returns nothing, returns a short answer or a huge one is simply "not valid". The call's
    /// memory is released afterwards (the free memory pointer is restored): Settlement lays out
    /// its batch memory contiguously around these calls.
    function isValidERC1271(address wallet, bytes32 digest, bytes calldata signature, uint256 gasLimit)
        internal
        view
        returns (bool ok, uint256 gasUsed)
    {
        uint256 freePointer;
        assembly ("memory-safe") {
            freePointer := mload(0x40)
        }
        bytes memory callData = abi.encodeCall(IERC1271.isValidSignature, (digest, signature));
        bytes4 magic = IERC1271.isValidSignature.selector;
        assembly ("memory-safe") {
            mstore(0x00, 0)
            let gasBefore := gas()
            let success := staticcall(gasLimit, wallet, add(callData, 0x20), mload(callData), 0x00, 0x20)
            gasUsed := sub(gasBefore, gas())
            ok := and(success, and(gt(returndatasize(), 0x1f), eq(mload(0x00), magic)))
            mstore(0x40, freePointer)
        }
    }
}
