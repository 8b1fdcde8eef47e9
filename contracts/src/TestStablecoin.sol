// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

/// @title A test stablecoin for the embedded dev chain and the tests: NOT money.
/// @notice "Test USD (zkmeter dev)", 6 decimals like the common USD stablecoins, with EIP-2612 permit so
/// token bills can be paid with one signature. Only its deployer can mint; the dev chain mints a balance
/// to the dev wallet. It is never deployed by the production deploy tools.
contract TestStablecoin is ERC20, ERC20Permit {
    error NotMinter(address sender);

    address public immutable minter;

    constructor() ERC20("Test USD (zkmeter dev)", "tUSD") ERC20Permit("Test USD (zkmeter dev)") {
        minter = msg.sender;
    }

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    function mint(address to, uint256 amount) external {
        if (msg.sender != minter) revert NotMinter(msg.sender);
        _mint(to, amount);
    }
}
