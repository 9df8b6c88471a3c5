// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.28;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";

/// @notice Signature checks for orders: EOA (ECDSA, 65-byte r‖s‖v or 64-byte EIP-2098 r‖vs,
/// low-s only) and smart wallets (EIP-1271).
library SignatureLib {
    /// @dev Gas handed to a wallet's isValidSignature. Bounds what one hostile wallet can burn
    /// in a batch; generous for multisigs with many owners.
    uint256 internal constant ERC1271_GAS_LIMIT = 250_000;

    /// @notice True if `signature` over `digest` is valid for `signer`.
    /// @dev ECDSA first (cheap, and an account with code may still sign as an EOA under
    /// EIP-7702); then, only if `signer` has code, EIP-1271. ECDSA.tryRecover rejects high-s
    /// and a zero recovered address, so a zero signer with garbage never passes.
    function isValid(address signer, bytes32 digest, bytes calldata signature) internal view returns (bool) {
        if (signer == address(0)) return false;
        if (signature.length == 65 || signature.length == 64) {
            address recovered;
            ECDSA.RecoverError err;
            if (signature.length == 65) {
                (recovered, err,) = ECDSA.tryRecover(
                    digest, uint8(signature[64]), bytes32(signature[0:32]), bytes32(signature[32:64])
                );
            } else {
                (recovered, err,) = ECDSA.tryRecover(digest, bytes32(signature[0:32]), bytes32(signature[32:64]));
            }
            if (err == ECDSA.RecoverError.NoError && recovered == signer) return true;
        }
        if (signer.code.length == 0) return false;
        return _isValidERC1271(signer, digest, signature);
    }

    /// @dev staticcall with a gas cap; reads at most one word back, so a wallet that reverts,
    /// returns nothing, returns a short answer or a huge one is simply "not valid".
    function _isValidERC1271(address wallet, bytes32 digest, bytes calldata signature) private view returns (bool ok) {
        bytes memory callData = abi.encodeCall(IERC1271.isValidSignature, (digest, signature));
        bytes4 magic = IERC1271.isValidSignature.selector;
        assembly ("memory-safe") {
            mstore(0x00, 0)
            let success := staticcall(ERC1271_GAS_LIMIT, wallet, add(callData, 0x20), mload(callData), 0x00, 0x20)
            ok := and(success, and(gt(returndatasize(), 0x1f), eq(mload(0x00), magic)))
        }
    }
}
