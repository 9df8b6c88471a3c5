// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice Test token that burns `feeBps` of every transfer between two accounts (mints and
/// burns are exact), so the recipient gets less than the amount sent. Tests only.
contract FeeOnTransferToken is ERC20 {
    uint256 private constant BPS = 10_000;

    uint8 private immutable _decimals;
    uint256 public immutable feeBps;

    constructor(uint8 decimals_, uint256 feeBps_) ERC20("Fee on transfer", "FOT") {
        require(feeBps_ <= BPS);
        _decimals = decimals_;
        feeBps = feeBps_;
    }

    function decimals() public view override returns (uint8) {
        return _decimals;
    }

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function _update(address from, address to, uint256 value) internal override {
        if (from == address(0) || to == address(0)) {
            super._update(from, to, value);
            return;
        }
        uint256 fee = value * feeBps / BPS;
        super._update(from, to, value - fee);
        if (fee != 0) super._update(from, address(0), fee);
    }
}
