// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";

/// @notice Smart-wallet trader for EIP-1271 tests, with one behaviour per mode. Tests only.
contract MockERC1271Wallet is IERC1271 {
    enum Mode {
        Owner, // magic iff the signature is the owner's ECDSA signature of the digest
        Approve, // magic for any digest and signature
        Refuse, // 0xffffffff
        ReturnNoData, // returns successfully with empty returndata
        Revert, // reverts
        ReturnGarbage, // one word that is not the magic value
        ReturnDirtyMagic, // the magic value with non-zero low-order bytes (not a valid bytes4 word)
        ReturnShortMagic, // only the 4 magic bytes, not a full ABI word
        ReturnLongMagic, // the magic word followed by extra data
        BurnGas, // loops until out of gas
        SpendGas // spends `gasToSpend` gas, then answers the magic value (an honest but costly wallet)
    }

    bytes4 internal constant MAGIC = IERC1271.isValidSignature.selector;

    address public immutable owner;
    Mode public mode;
    uint256 public gasToSpend;

    constructor(address owner_, Mode mode_) {
        owner = owner_;
        mode = mode_;
    }

    /// @notice Switches behaviour: e.g. approve while the operator checks the order off-chain,
    /// then burn gas once its batch is on its way.
    function setMode(Mode mode_) external {
        mode = mode_;
    }

    function setGasToSpend(uint256 gasToSpend_) external {
        gasToSpend = gasToSpend_;
    }

    function isValidSignature(bytes32 digest, bytes calldata signature) external view returns (bytes4) {
        Mode m = mode;
        if (m == Mode.Owner) {
            (address recovered, ECDSA.RecoverError err,) = ECDSA.tryRecover(digest, signature);
            return err == ECDSA.RecoverError.NoError && recovered == owner ? MAGIC : bytes4(0xffffffff);
        }
        if (m == Mode.Approve) return MAGIC;
        if (m == Mode.Refuse) return 0xffffffff;
        if (m == Mode.ReturnNoData) {
            assembly ("memory-safe") {
                return(0, 0)
            }
        }
        if (m == Mode.Revert) revert("MockERC1271Wallet: refused");
        if (m == Mode.ReturnGarbage) return 0xdeadbeef;
        if (m == Mode.ReturnDirtyMagic) {
            bytes32 word = bytes32(MAGIC) | bytes32(uint256(1));
            assembly ("memory-safe") {
                mstore(0, word)
                return(0, 0x20)
            }
        }
        if (m == Mode.ReturnShortMagic) {
            bytes32 word = bytes32(MAGIC);
            assembly ("memory-safe") {
                mstore(0, word)
                return(0, 4)
            }
        }
        if (m == Mode.ReturnLongMagic) {
            bytes32 word = bytes32(MAGIC);
            assembly ("memory-safe") {
                mstore(0, word)
                mstore(0x20, not(0))
                return(0, 0x40)
            }
        }
        uint256 x;
        if (m == Mode.SpendGas) {
            uint256 start = gasleft();
            uint256 spend = gasToSpend;
            while (start - gasleft() < spend) {
                x = uint256(keccak256(abi.encode(x)));
            }
            return MAGIC;
        }
        // Mode.BurnGas
        while (true) {
            x = uint256(keccak256(abi.encode(x)));
        }
        return bytes4(uint32(x));
    }
}
