// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice Test token with a transfer hook: while armed, every transfer between two accounts
/// first calls `hookTarget` with `hookPayload` (e.g. back into Settlement) and bubbles up its revert.
/// Models a hostile or callback-bearing token (ERC-777 style). Tests only.
contract ReentrantToken is ERC20 {
    address public hookTarget;
    bytes public hookPayload;
    bool public armed;
    /// @notice How many hooked calls succeeded (a successful re-entry would show here).
    uint256 public reentries;

    constructor() ERC20("Reentrant", "REENTER") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Arms the hook: the next transfers call `target_` with `payload_`.
    function arm(address target_, bytes calldata payload_) external {
        hookTarget = target_;
        hookPayload = payload_;
        armed = true;
    }

    function disarm() external {
        armed = false;
    }

    function _update(address from, address to, uint256 value) internal override {
        if (armed && from != address(0) && to != address(0)) {
            (bool ok, bytes memory returned) = hookTarget.call(hookPayload);
            if (!ok) {
                assembly ("memory-safe") {
                    revert(add(returned, 0x20), mload(returned))
                }
            }
            ++reentries;
        }
        super._update(from, to, value);
    }
}
