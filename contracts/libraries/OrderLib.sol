// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.28;

/// @notice A limit order as the trader signs it (EIP-712). The field order IS the EIP-712
/// type: never reorder, insert or retype a field without changing `ORDER_TYPEHASH` and the
/// TypeScript mirror in operator/orders (a fixed-vector test pins both).
/// @dev All fields are static, so an `Order[] calldata` is laid out as consecutive
/// 11-word records, which `OrderLib.structHash` hashes in place.
struct Order {
    /// @dev The account whose vault balances move: an EOA (ECDSA) or a smart wallet (EIP-1271).
    address trader;
    address baseToken;
    address quoteToken;
    /// @dev true: buys base with quote; false: sells base for quote.
    bool isBuy;
    /// @dev Limit price in quote atoms per 10^baseDecimals base atoms.
    uint256 price;
    /// @dev Size in base atoms.
    uint256 amount;
    /// @dev Unique per trader and order, and the order's on-chain identity: the first order
    /// filled under a nonce owns it (another order with the same nonce is skipped, NonceInUse);
    /// a fully filled or cancelled order spends its nonce.
    uint256 nonce;
    /// @dev Last second (unix time) at which the order may settle.
    uint64 expiry;
    /// @dev Highest fee the trader accepts when its order rests (maker), in basis points.
    uint16 maxMakerFeeBps;
    /// @dev Highest fee the trader accepts when its order takes (taker), in basis points.
    uint16 maxTakerFeeBps;
    /// @dev Bit field: see OrderLib.FLAG_POST_ONLY and OrderLib.FLAG_IOC.
    uint8 flags;
}

/// @notice EIP-712 hashing of `Order`, done over the calldata record without copying fields.
library OrderLib {
    /// @dev keccak256("Order(address trader,address baseToken,address quoteToken,bool isBuy,uint256 price,uint256 amount,uint256 nonce,uint64 expiry,uint16 maxMakerFeeBps,uint16 maxTakerFeeBps,uint8 flags)")
    bytes32 internal constant ORDER_TYPEHASH = 0xc62ea48b8691309db6e0ab1e2e14a777d8817deb582308a1814e7c0c415fd4bc;

    /// @dev The order may only rest on the book: it can be a maker, never a taker.
    uint8 internal constant FLAG_POST_ONLY = 1;
    /// @dev Immediate-or-cancel: the order never rests, so it can be a taker, never a maker.
    /// Not time-bound on chain: "immediate" is the matching engine's promise; on chain an IOC
    /// order stays fillable (as a taker) until its expiry, unless its nonce is cancelled.
    uint8 internal constant FLAG_IOC = 2;
    /// @dev Every flag bit this version understands; an order with other bits set is invalid.
    uint8 internal constant KNOWN_FLAGS = FLAG_POST_ONLY | FLAG_IOC;

    /// @dev Size of one encoded `Order` in bytes (11 static words).
    uint256 internal constant ENCODED_SIZE = 11 * 32;

    /// @dev Byte offsets of the fields inside an encoded `Order`, for `field` / `addressField`.
    uint256 internal constant TRADER = 0x00;
    uint256 internal constant BASE_TOKEN = 0x20;
    uint256 internal constant QUOTE_TOKEN = 0x40;
    uint256 internal constant IS_BUY = 0x60;
    uint256 internal constant PRICE = 0x80;
    uint256 internal constant AMOUNT = 0xa0;
    uint256 internal constant NONCE = 0xc0;
    uint256 internal constant EXPIRY = 0xe0;
    uint256 internal constant MAX_MAKER_FEE_BPS = 0x100;
    uint256 internal constant MAX_TAKER_FEE_BPS = 0x120;
    uint256 internal constant FLAGS = 0x140;

    /// @notice The raw word of a field, without the ABI decoder's per-access validation.
    /// @dev Settlement reads fields this way on its hot path. It is safe because the same raw
    /// words are what `structHash` hashes: a record with dirty high bits (which the ABI
    /// encoder never produces) hashes to a digest nobody signed, so the order is rejected as
    /// BadSignature before any of its fields is used. Range checks on the raw words (flags,
    /// fee caps, price, amount) also reject dirty values directly.
    function field(Order calldata order, uint256 offset) internal pure returns (uint256 value) {
        assembly ("memory-safe") {
            value := calldataload(add(order, offset))
        }
    }

    /// @notice An address field's low 160 bits (see `field` for why raw reads are safe).
    function addressField(Order calldata order, uint256 offset) internal pure returns (address value) {
        assembly ("memory-safe") {
            value := and(calldataload(add(order, offset)), 0xffffffffffffffffffffffffffffffffffffffff)
        }
    }

    /// @notice EIP-712 struct hash: keccak256(abi.encode(ORDER_TYPEHASH, order)).
    /// @dev Hashes the calldata words as they are. A record with dirty high bits hashes to
    /// something no trader signed, so it fails signature verification instead of aliasing a
    /// signed order; the ABI decoder never produces one from a well-formed call.
    function structHash(Order calldata order) internal pure returns (bytes32 result) {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, ORDER_TYPEHASH)
            calldatacopy(add(ptr, 0x20), order, ENCODED_SIZE)
            result := keccak256(ptr, add(ENCODED_SIZE, 0x20))
        }
    }

    /// @notice The digest a trader signs: keccak256("\x19\x01" ‖ domainSeparator ‖ structHash).
    function digest(bytes32 domainSeparator, bytes32 orderStructHash) internal pure returns (bytes32 result) {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, hex"1901")
            mstore(add(ptr, 0x02), domainSeparator)
            mstore(add(ptr, 0x22), orderStructHash)
            result := keccak256(ptr, 0x42)
        }
    }
}
