// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {TariffRules} from "./TariffRules.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @title What ZkMeterLedger and its net-bill extension (ZkMeterNetBills) share.
/// @notice The types, errors, events, storage layout and checks of the ledger. The extension runs by
/// DELEGATECALL in the ledger's storage, so both contracts must declare the same state in the same
/// order: both inherit it from here, and neither declares state of its own (immutables are code).
/// @dev Split out of ZkMeterLedger when net bills (issue 17) took it past EIP-170's 24,576 bytes.
abstract contract ZkMeterLedgerBase {
    // ----------------------------------------------------------------------------------------------
    // Types
    // ----------------------------------------------------------------------------------------------

    /// @notice The message a meter signs at the end of a period (EIP-712 type `BillingPeriod`).
    struct BillingPeriod {
        address meter;
        uint64 periodStart;
        uint64 periodEnd;
        uint64 startCounter;
        uint64 endCounter;
        uint256 commitment;
    }

    /// @notice A Groth16 proof in the verifier's calldata layout (pi_b coordinates already swapped).
    struct Proof {
        uint256[2] a;
        uint256[2][2] b;
        uint256[2] c;
    }

    /// @notice What the household claims for a period, besides the meter-signed part.
    struct BillClaim {
        uint256 total;
        uint256 energyWh;
        uint256 tariffId;
        bytes32 cidDigest;
    }

    /// @notice An ECDSA signature in EIP-2098 compact form: r, and s (low half) with v − 27 in its top bit.
    /// @dev Two words instead of three: calldata is a tenth of a relayed bill's gas.
    struct Signature {
        bytes32 r;
        bytes32 vs;
    }

    /// @notice A bill its household proved and signed, submitted by a relayer (submitBills). The
    /// household's EIP-712 `BillAuthorization` over the period, the claim and the relayer stands in for
    /// the household sending the transaction itself.
    struct RelayedBill {
        BillingPeriod period;
        Signature meterSignature;
        Proof proof;
        BillClaim claim;
        /// @dev The one account allowed to submit it, or address(0) for anyone.
        address relayer;
        Signature householdSignature;
    }

    /// @dev Read-mostly half of a meter: one slot (20 + 4 + 1 + 1 + 4 bytes). `assetId` is its area's
    /// asset, copied at registration so a bill reads it from the slot it reads anyway.
    struct MeterInfo {
        address household;
        uint32 areaId;
        bool registered;
        bool active;
        uint32 assetId;
    }

    /// @dev Where the meter's next period must start, and its credit: the one slot a bill rewrites.
    /// `nextExportCounter` is the export counter (OBIS 1-0:2.8.0) the next net bill's ExportPeriod must
    /// start at, when `exportKnown` (the previous bill was a net bill). `credit` is what net bills
    /// credited above their cost and no bill has used yet, in the meter's asset: in this slot, so a
    /// bill reads it with the cursor it reads anyway and a credit never costs a storage slot of its
    /// own. Its widths bound a meter's export counter to 2^40 Wh (1.1 TWh) and its credit to 2^80
    /// units (1.2 million Ether in wei): past them a net bill reverts (ExportCounterTooLarge,
    /// CreditTooLarge) and an import-only bill still works.
    struct MeterCursor {
        uint64 nextStart;
        uint64 nextCounter;
        uint40 nextExportCounter;
        bool exportKnown;
        uint80 credit;
    }

    /// @dev One slot of window + one slot of hash. `until` is the next tariff's effectiveFrom, or
    /// type(uint64).max while this tariff is the latest; it is never 0 for a published tariff.
    /// `assetId` is what its prices are in: 0 for Ether (wei per Wh), else a registered token (its
    /// smallest units per Wh). Each asset has its own chain of tariffs.
    struct Tariff {
        uint64 effectiveFrom;
        uint64 until;
        uint32 assetId;
        uint256 hash;
    }

    /// @dev The only per-bill storage: one slot. Everything else about a bill is in its BillSubmitted
    /// event and committed to by the bill id (see billIdOf).
    /// `assetId` is the asset of the bill's tariff: what it must be paid in.
    struct Bill {
        uint128 total;
        bool submitted;
        bool paid;
        uint32 assetId;
    }

    /// @dev A registered ERC-20 token and the latest tariff of its chain: one slot (20 + 1 + 8 bytes).
    /// Asset id 0 is Ether and is never stored.
    struct Asset {
        IERC20 token;
        uint8 decimals;
        uint64 latestTariff;
    }

    /// @dev An area's asset, and whether it is fixed (a meter was registered in it): one slot.
    struct AreaAsset {
        uint32 assetId;
        bool fixed_;
    }

    // ----------------------------------------------------------------------------------------------
    // Errors
    // ----------------------------------------------------------------------------------------------

    error NotOwner(address sender);
    error NotPendingOwner(address sender);
    error ZeroAddress();
    error Reentrancy();
    error InvalidLimits(uint32 slots, uint32 maxIntervals);
    error InvalidPolicy(uint64 minBillingPeriod, uint64 tariffNotice);
    error MissingSetupAnchor();
    error InsecureSetupOnChain(uint256 chainId);

    error MeterAlreadyRegistered(address meter);
    error UnknownMeter(address meter);
    error MeterInactive(address meter);
    error NotHousehold(address meter, address sender);

    error MalformedSignature(uint256 length, uint8 v);
    error HighS(bytes32 s);
    error SignatureMismatch(address meter, address recovered);

    error NotOnIntervalBoundary(uint64 time, uint64 interval);
    error PeriodGap(uint64 expected, uint64 got);
    error PeriodOverlap(uint64 expected, uint64 got);
    error EmptyPeriod(uint64 periodStart, uint64 periodEnd);
    error PeriodTooLong(uint64 periodEnd, uint64 maxEnd);
    error PeriodTooShort(uint64 length, uint64 minimum);
    error CounterMismatch(uint64 expected, uint64 got);
    error CounterWentBackwards(uint64 startCounter, uint64 endCounter);
    error EnergyMismatch(uint256 counterDelta, uint256 energyWh);
    error BillAlreadySubmitted(bytes32 billId);
    error TotalTooLarge(uint256 total);

    error UnknownTariff(uint256 tariffId);
    error TariffNotCovering(uint256 tariffId, uint64 effectiveFrom, uint64 until, uint64 periodStart, uint64 periodEnd);
    error TariffNotIncreasing(uint64 previous, uint64 effectiveFrom);
    error TariffHashOutOfField(uint256 tariffHash);
    error WrongPriceCount(uint256 expected, uint256 got);
    error TariffNotAhead(uint64 effectiveFrom, uint64 earliest);

    error ProofRejected();
    error VerifyingKeyMismatch(bytes32 expected, bytes32 batchVerifierKey);
    error EmptyBatch();
    error BatchProofRejected(uint256 index);
    error AuthorizationMismatch(address household, address recovered);
    error RelayerNotAuthorized(address relayer, address sender);

    error UnknownBill(bytes32 billId);
    error AlreadyPaid(bytes32 billId);
    error WrongAmount(uint256 expected, uint256 sent);

    error NothingToWithdraw();
    error WithdrawFailed(address to, uint256 amount);

    error InvalidNoticeWindow(uint64 startsAt, uint64 endsAt);

    error NotAContract(address token);
    error AssetAlreadyRegistered(address token, uint32 assetId);
    error DecimalsMismatch(address token, uint8 declared, uint8 reported);
    error UnknownAsset(uint32 assetId);
    error AreaAssetFixed(uint32 areaId, uint32 assetId);
    error AssetMismatch(uint256 tariffId, uint32 tariffAsset, uint32 meterAsset);
    error WrongAsset(bytes32 billId, uint32 assetId);
    error FeeOnTransfer(address token, uint256 expected, uint256 received);
    error PermitRejected(bytes32 billId, uint256 allowance, uint256 needed);

    // ----------------------------------------------------------------------------------------------
    // Events
    // ----------------------------------------------------------------------------------------------

    event OwnershipTransferStarted(address indexed previousOwner, address indexed newOwner);
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);

    event MeterRegistered(
        address indexed meter, address indexed household, uint32 indexed areaId, uint64 startTime, uint64 startCounter
    );
    event MeterDeactivated(address indexed meter);

    /// @notice The full price curve is published here (SLOTS prices, wei per Wh); it hashes to `tariffHash`
    /// under the Poseidon chain of docs/protocol.md §4, which anyone can check off-chain.
    event TariffPublished(uint256 indexed tariffId, uint64 effectiveFrom, uint256 tariffHash, uint64[] prices);

    event NoticePublished(uint32 indexed areaId, uint8 indexed kind, uint64 startsAt, uint64 endsAt, string message);

    /// @notice Everything about an accepted bill. `billId` = keccak256 of the ABI-encoded record (billIdOf).
    event BillSubmitted(
        bytes32 indexed billId,
        address indexed meter,
        address indexed household,
        uint32 areaId,
        BillingPeriod period,
        BillClaim claim
    );
    /// @notice A bill was paid; `amount` is in the bill's asset (billAsset), wei for Ether.
    event BillPaid(bytes32 indexed billId, address indexed payer, uint256 amount);
    event Withdrawn(address indexed to, uint256 amount);

    event AssetRegistered(uint32 indexed assetId, address indexed token, uint8 decimals);
    event AreaAssetSet(uint32 indexed areaId, uint32 indexed assetId);
    /// @notice A token tariff's asset (an Ether tariff emits none: its asset is 0, as before tokens).
    event TariffAsset(uint256 indexed tariffId, uint32 indexed assetId);
    event TokenWithdrawn(uint32 indexed assetId, address indexed to, uint256 amount);

    error NetBillsDisabled();
    error ExportCounterMismatch(uint64 expected, uint64 got);
    error ExportCounterWentBackwards(uint64 startCounter, uint64 endCounter);
    error NoFeedInCurve(uint256 tariffId);
    error FeedInAlreadyPublished(uint256 tariffId);
    error EnergyTooLarge(uint256 energyWh);
    error ExportCounterTooLarge(uint64 endCounter);
    error CreditTooLarge(uint256 credit);

    /// @notice A credit (credit above cost of a net bill) was added to the meter's balance, in its asset.
    event CreditRecorded(address indexed meter, bytes32 indexed billId, uint256 amount, uint256 balance);
    /// @notice `amount` of the meter's credit paid part of bill `billId`; `balance` is what is left.
    event CreditApplied(address indexed meter, bytes32 indexed billId, uint256 amount, uint256 balance);

    error NoCredit(address meter);
    error ZeroPayout();
    error PayoutExceedsCredit(address meter, uint256 credit, uint256 amount);
    error PayoutExceedsCollected(uint32 assetId, uint256 collected, uint256 amount);
    error PayoutFailed(address household, uint256 amount);

    /// @notice The utility paid `amount` of the meter's credit to its household, in the meter's asset
    /// (wei, or the token's smallest units); `balance` is the credit left.
    event CreditPaidOut(address indexed meter, address indexed household, uint256 amount, uint256 balance);

    // ----------------------------------------------------------------------------------------------
    // Constants and immutables
    // ----------------------------------------------------------------------------------------------

    /// @dev BN254 scalar field order: a public signal must be below it.
    uint256 internal constant FIELD_ORDER =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;
    /// @dev secp256k1 n / 2: signatures with a larger s are malleable twins and rejected.
    uint256 internal constant HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;
    bytes32 internal constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 public constant BILLING_PERIOD_TYPEHASH = keccak256(
        "BillingPeriod(address meter,uint64 periodStart,uint64 periodEnd,uint64 startCounter,uint64 endCounter,uint256 commitment)"
    );
    uint64 internal constant DAY = 86400;

    /// @notice Tariff slots per UTC day (the circuit's SLOTS).
    uint32 public immutable slots;
    /// @notice Readings in one committed period (the circuit's N): a period ends within N intervals of
    /// the UTC midnight before its start.
    uint32 public immutable maxIntervals;
    /// @notice Seconds per interval = 86400 / slots.
    uint64 public immutable interval;
    /// @notice The shortest billing period a bill may cover, in seconds (docs/privacy.md): with one-day
    /// periods every bill would be a daily consumption figure.
    uint64 public immutable minBillingPeriod;
    /// @notice How far ahead of its effectiveFrom a tariff must be published, in seconds: no tariff can
    /// price a period that had already started (or was about to) when it was published.
    uint64 public immutable tariffNotice;
    /// @notice Slots a run of equal prices must last: ceil(3600 / interval), an hour.
    uint32 public immutable minPriceRun;

    /// @dev The ledger's address: the EIP-712 domain's verifyingContract, also in the extension (where
    /// address(this) is the ledger's too when it runs by DELEGATECALL, but not in its constructor).
    address internal immutable ledgerAddress;
    uint256 internal immutable cachedChainId;
    bytes32 internal immutable cachedDomainSeparator;

    // ----------------------------------------------------------------------------------------------
    // State
    // ----------------------------------------------------------------------------------------------

    address public owner;
    /// @dev The latest Ether tariff (0: none yet). Packed beside `owner`, a slot that is never zero and
    /// that publishTariff reads anyway (onlyOwner): advancing the chain costs a warm write, not a new slot.
    uint64 internal latestEtherTariff;
    address public pendingOwner;
    /// @notice Paid and not yet withdrawn, in wei.
    uint256 public withdrawable;
    /// @notice Number of published tariffs; ids run from 1 to tariffCount.
    uint256 public tariffCount;

    mapping(address meter => MeterInfo) internal meterInfo;
    mapping(address meter => MeterCursor) internal meterCursor;
    mapping(uint256 tariffId => Tariff) internal tariffs;
    mapping(bytes32 billId => Bill) internal bills;

    /// @notice Registered tokens are assets 1 … assetCount; 0 is Ether.
    uint32 public assetCount;
    mapping(uint32 assetId => Asset) internal assets;
    mapping(address token => uint32 assetId) internal assetIdOf;
    mapping(uint32 areaId => AreaAsset) internal areaAssets;

    bool internal transient locked;

    /// @dev Per tariff: Poseidon(T, T_f) of its import and feed-in curves (publishFeedIn), 0 for none.
    mapping(uint256 tariffId => uint256) internal feedInHashes;

    /// @param self the ledger's address (EIP-712 verifyingContract)
    constructor(uint32 slots_, uint32 maxIntervals_, uint64 minBillingPeriod_, uint64 tariffNotice_, address self) {
        if (slots_ == 0 || DAY % slots_ != 0 || maxIntervals_ == 0) revert InvalidLimits(slots_, maxIntervals_);
        // A minimum no period can reach (N intervals from the start's midnight) would make every bill
        // impossible; a notice beyond ten years is a typo.
        if (minBillingPeriod_ > uint64(maxIntervals_) * (DAY / slots_) || tariffNotice_ > 3650 * DAY) {
            revert InvalidPolicy(minBillingPeriod_, tariffNotice_);
        }
        slots = slots_;
        maxIntervals = maxIntervals_;
        interval = DAY / slots_;
        minBillingPeriod = minBillingPeriod_;
        tariffNotice = tariffNotice_;
        minPriceRun = uint32((3600 + DAY / slots_ - 1) / (DAY / slots_));
        ledgerAddress = self;
        cachedChainId = block.chainid;
        cachedDomainSeparator = _buildDomainSeparator();
    }

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _;
    }


    /// @dev Transient-storage guard (EIP-1153): no storage refund games, ~200 gas.
    modifier nonReentrant() {
        if (locked) revert Reentrancy();
        locked = true;
        _;
        locked = false;
    }


    /// @notice The EIP-712 domain separator of {name: "zkmeter", version: "1", chainId, this}.
    function domainSeparator() public view returns (bytes32) {
        return block.chainid == cachedChainId ? cachedDomainSeparator : _buildDomainSeparator();
    }


    function _buildDomainSeparator() internal view returns (bytes32) {
        return keccak256(
            abi.encode(DOMAIN_TYPEHASH, keccak256("zkmeter"), keccak256("1"), block.chainid, ledgerAddress)
        );
    }


    function _checkSignature(BillingPeriod calldata period, bytes calldata signature) internal view {
        uint8 v = signature.length == 65 ? uint8(signature[64]) : 0;
        if (signature.length != 65) revert MalformedSignature(signature.length, v);
        _checkSigner(_periodHash(period), bytes32(signature[0:32]), bytes32(signature[32:64]), v, period.meter, false);
    }


    /// @dev EIP-712 struct hash of a BillingPeriod (what the meter signs, nested in BillAuthorization).
    /// The hot-path hashes below are keccak256(abi.encode(...)) written out over calldata: every bill
    /// hashes four times, and Solidity's encoder copies and re-validates each field. Copying raw words
    /// is safe because every period field is read (and validated) by the checks too, so a dirty word
    /// reverts there; the claim's fields are full words.
    function _periodHash(BillingPeriod calldata period) internal pure returns (bytes32 h) {
        bytes32 typeHash = BILLING_PERIOD_TYPEHASH;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, typeHash)
            calldatacopy(add(m, 32), period, 192)
            h := keccak256(m, 224)
        }
    }


    /// @dev ecrecover of the EIP-712 digest of `structHash` must be `expected`: v 27 or 28, low s.
    function _checkSigner(bytes32 structHash, bytes32 r, bytes32 s, uint8 v, address expected, bool household)
        internal
        view
    {
        if (v != 27 && v != 28) revert MalformedSignature(65, v);
        if (uint256(s) > HALF_N) revert HighS(s);
        bytes32 separator = domainSeparator();
        bytes32 digest;
        assembly ("memory-safe") {
            // keccak256("\x19\x01" ‖ domainSeparator ‖ structHash)
            let m := mload(0x40)
            mstore(m, shl(240, 0x1901))
            mstore(add(m, 2), separator)
            mstore(add(m, 34), structHash)
            digest := keccak256(m, 66)
        }
        address recovered = ecrecover(digest, v, r, s);
        if (recovered != expected || recovered == address(0)) {
            if (household) revert AuthorizationMismatch(expected, recovered);
            revert SignatureMismatch(expected, recovered);
        }
    }


    /// @dev EIP-2098: v = 27 + the top bit of vs, s = vs without it.
    function _splitCompact(bytes32 vs) internal pure returns (bytes32 s, uint8 v) {
        s = vs & bytes32(type(uint256).max >> 1);
        v = uint8(uint256(vs) >> 255) + 27;
    }


    /// @dev The meter must be registered and active; returns its household and area.
    function _activeMeter(address meter) internal view returns (address household, uint32 areaId) {
        MeterInfo memory info = meterInfo[meter];
        if (!info.registered) revert UnknownMeter(meter);
        if (!info.active) revert MeterInactive(meter);
        return (info.household, info.areaId);
    }


    /// @dev The meter must be registered, active and belong to the sender's household.
    function _checkMeter(address meter) internal view returns (uint32 areaId) {
        address household;
        (household, areaId) = _activeMeter(meter);
        if (household != msg.sender) revert NotHousehold(meter, msg.sender);
    }


    /// @dev Continuity (no gap, overlap or replay), alignment and the circuit's N-interval window.
    function _checkPeriod(BillingPeriod calldata period) internal view {
        MeterCursor memory cursor = meterCursor[period.meter];
        uint64 start = period.periodStart;
        uint64 end = period.periodEnd;
        if (start > cursor.nextStart) revert PeriodGap(cursor.nextStart, start);
        if (start < cursor.nextStart) revert PeriodOverlap(cursor.nextStart, start);
        if (period.startCounter != cursor.nextCounter) revert CounterMismatch(cursor.nextCounter, period.startCounter);
        if (end <= start) revert EmptyPeriod(start, end);
        if (end - start < minBillingPeriod) revert PeriodTooShort(end - start, minBillingPeriod);
        if (end % interval != 0) revert NotOnIntervalBoundary(end, interval);
        uint64 maxEnd = start - (start % DAY) + uint64(maxIntervals) * interval;
        if (end > maxEnd) revert PeriodTooLong(end, maxEnd);
        if (period.endCounter < period.startCounter) {
            revert CounterWentBackwards(period.startCounter, period.endCounter);
        }
    }


    /// @dev Exactly `slots` prices obeying the tariff rules (docs/privacy.md).
    function _checkTariffRules(uint64[] calldata prices) internal view {
        if (prices.length != slots) revert WrongPriceCount(slots, prices.length);
        TariffRules.check(prices, minPriceRun);
    }


    /// @dev The committed readings must add up to the meter's own counter difference (protocol §5).
    function _checkEnergy(BillingPeriod calldata period, uint256 energyWh) internal pure {
        uint256 delta = period.endCounter - period.startCounter;
        if (energyWh != delta) revert EnergyMismatch(delta, energyWh);
    }


    /// @dev One tariff per period: the tariff's window must contain [periodStart, periodEnd), and it
    /// must be priced in the meter's area's asset (a token tariff cannot bill an Ether area, or the
    /// reverse, whatever the window).
    function _tariffFor(uint256 tariffId, uint64 periodStart, uint64 periodEnd, uint32 meterAsset)
        internal
        view
        returns (uint256)
    {
        _checkTariffWindow(tariffId, periodStart, periodEnd, meterAsset);
        return tariffs[tariffId].hash;
    }

    /// @dev _tariffFor's checks without reading the hash slot (a net bill proves against another hash).
    function _checkTariffWindow(uint256 tariffId, uint64 periodStart, uint64 periodEnd, uint32 meterAsset)
        internal
        view
    {
        Tariff storage t = tariffs[tariffId];
        uint64 effectiveFrom = t.effectiveFrom;
        uint64 until = t.until;
        if (until == 0) revert UnknownTariff(tariffId);
        if (t.assetId != meterAsset) revert AssetMismatch(tariffId, t.assetId, meterAsset);
        if (effectiveFrom > periodStart || until < periodEnd) {
            revert TariffNotCovering(tariffId, effectiveFrom, until, periodStart, periodEnd);
        }
    }
}
