// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ZkMeterLedgerBase} from "./ZkMeterLedgerBase.sol";
import {INetBillVerifier, ZkMeterNetBills} from "./ZkMeterNetBills.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

/// @notice The Groth16 verifier snarkjs exports for the Bill circuit (circuits/build/<profile>/Groth16Verifier.sol).
/// @dev It returns false for a bad proof or an out-of-field input; it never reverts on them.
interface IGroth16Verifier {
    function verifyProof(
        uint256[2] calldata a,
        uint256[2][2] calldata b,
        uint256[2] calldata c,
        uint256[4] calldata pubSignals
    ) external view returns (bool);
}

/// @notice The hand-written batch verifier (contracts/src/Groth16BatchVerifier.sol) for the same key.
interface IGroth16BatchVerifier {
    function verifyingKeyHash() external view returns (bytes32);
    function verifyBatch(uint256[] calldata data) external view returns (bool valid, uint256 firstInvalid);
}

/// @title zkmeter ledger: meter registry, tariffs, zero-knowledge bills and their payment.
/// @notice The utility (owner) registers meters and publishes tariffs and notices; a household submits
/// each billing period's bill with its meter's EIP-712 signature and a Groth16 proof that the committed
/// interval readings cost `total` under the period's tariff; anyone pays a bill in the tariff's asset
/// (Ether, or an ERC-20 token the utility registered); the utility withdraws what was paid. Individual readings never reach the chain (docs/protocol.md, docs/contracts.md).
/// @dev Period times are never compared with block.timestamp: meters (and the simulator) run on their own
/// clock, and the meter's signature is what vouches for the period. Only a tariff's effectiveFrom is: it must
/// lie `tariffNotice` ahead of the block that publishes it, and a period it prices starts at or after it.
contract ZkMeterLedger is ZkMeterLedgerBase {
    using SafeERC20 for IERC20;

    // ----------------------------------------------------------------------------------------------
    // Constants and immutables
    // ----------------------------------------------------------------------------------------------

    /// @notice What a household signs to let a relayer submit its bill (EIP-712, nested BillingPeriod).
    bytes32 public constant BILL_AUTHORIZATION_TYPEHASH = keccak256(
        "BillAuthorization(BillingPeriod period,uint256 total,uint256 energyWh,uint256 tariffId,bytes32 cidDigest,address relayer)"
        "BillingPeriod(address meter,uint64 periodStart,uint64 periodEnd,uint64 startCounter,uint64 endCounter,uint256 commitment)"
    );
    /// @dev Words per proof the batch verifier takes: A, B, C and the 4 public inputs.
    uint256 internal constant VERIFIER_WORDS = 12;

    IGroth16Verifier public immutable verifier;
    /// @notice Verifies relayed batches under the same key as `verifier` (checked at construction).
    IGroth16BatchVerifier public immutable batchVerifier;
    /// @notice The only chain an INSECURE development setup may be deployed to (the embedded dev chain).
    uint256 public constant DEV_CHAIN_ID = 31337;
    /// @notice sha256 of the verifier's Groth16 verifying key (circuits/src/setup.ts verifyingKeyHash):
    /// fixed at deploy, so a household node can check it proves under the key the ledger verifies with.
    bytes32 public immutable verifyingKeyHash;
    /// @notice sha256 of the setup transcript (the digest of its raw CIDv1): who contributed, checkable
    /// by anyone with `zkmeter verify-setup`.
    bytes32 public immutable setupTranscript;
    /// @notice True for the development setup, whose toxic waste follows from public phrases.
    bool public immutable insecureDevSetup;

    /// @notice The net-bill extension (ZkMeterNetBills, deployed by this constructor): the ledger's
    /// fallback delegates the calls it does not know to it, so net bills, feed-in curves and credits are
    /// the ledger's own storage and events. address(0) when the ledger was deployed without a net-bill
    /// verifier (net bills disabled).
    address public immutable netBills;
    /// @notice sha256 of the net-bill circuit's verifying key (as verifyingKeyHash for the bill's), 0 without one.
    bytes32 public immutable netVerifyingKeyHash;

    // ----------------------------------------------------------------------------------------------
    // Construction and ownership
    // ----------------------------------------------------------------------------------------------

    /// @param verifier_ the circuit profile's Groth16 verifier
    /// @param batchVerifier_ the batch verifier holding the same verifying key (its hash must be verifyingKeyHash_)
    /// @param slots_ tariff slots per day (the circuit's SLOTS); must divide 86400
    /// @param maxIntervals_ readings per period (the circuit's N)
    /// @param minBillingPeriod_ shortest billing period in seconds (28 days in production); at most N intervals
    /// @param tariffNotice_ seconds between publishing a tariff and its effectiveFrom (7 days in production)
    /// @param verifyingKeyHash_ hash of the verifier's verifying key (docs/trusted-setup.md)
    /// @param setupTranscript_ sha256 of the trusted-setup transcript
    /// @param insecureDevSetup_ whether the key comes from the INSECURE development setup
    /// @param netVerifier_ the net-bill circuit's Groth16 verifier, or address(0) for no net bills
    /// @param netVerifyingKeyHash_ hash of its verifying key (0 exactly when netVerifier_ is 0)
    constructor(
        IGroth16Verifier verifier_,
        IGroth16BatchVerifier batchVerifier_,
        uint32 slots_,
        uint32 maxIntervals_,
        uint64 minBillingPeriod_,
        uint64 tariffNotice_,
        bytes32 verifyingKeyHash_,
        bytes32 setupTranscript_,
        bool insecureDevSetup_,
        INetBillVerifier netVerifier_,
        bytes32 netVerifyingKeyHash_
    ) ZkMeterLedgerBase(slots_, maxIntervals_, minBillingPeriod_, tariffNotice_, address(this)) {
        if (address(verifier_) == address(0) || address(batchVerifier_) == address(0)) revert ZeroAddress();
        if (verifyingKeyHash_ == bytes32(0) || setupTranscript_ == bytes32(0)) revert MissingSetupAnchor();
        // A forgeable key on a chain where money moves is refused here too, not only by the deploy tools.
        if (insecureDevSetup_ && block.chainid != DEV_CHAIN_ID) revert InsecureSetupOnChain(block.chainid);
        verifyingKeyHash = verifyingKeyHash_;
        setupTranscript = setupTranscript_;
        insecureDevSetup = insecureDevSetup_;
        // The batch verifier computes its key's hash itself: a batch path under another key is refused here.
        bytes32 batchKey = batchVerifier_.verifyingKeyHash();
        if (batchKey != verifyingKeyHash_) revert VerifyingKeyMismatch(verifyingKeyHash_, batchKey);
        verifier = verifier_;
        batchVerifier = batchVerifier_;
        if ((address(netVerifier_) == address(0)) != (netVerifyingKeyHash_ == bytes32(0))) revert MissingSetupAnchor();
        netVerifyingKeyHash = netVerifyingKeyHash_;
        netBills = address(netVerifier_) == address(0)
            ? address(0)
            : address(
                new ZkMeterNetBills(netVerifier_, slots_, maxIntervals_, minBillingPeriod_, tariffNotice_, address(this))
            );
        owner = msg.sender;
        emit OwnershipTransferred(address(0), msg.sender);
    }

    /// @notice Starts a two-step ownership transfer; the new owner must call acceptOwnership.
    function transferOwnership(address newOwner) external onlyOwner {
        if (newOwner == address(0)) revert ZeroAddress();
        pendingOwner = newOwner;
        emit OwnershipTransferStarted(owner, newOwner);
    }

    /// @notice Completes an ownership transfer started by transferOwnership.
    function acceptOwnership() external {
        if (msg.sender != pendingOwner) revert NotPendingOwner(msg.sender);
        emit OwnershipTransferred(owner, msg.sender);
        owner = msg.sender;
        pendingOwner = address(0);
    }

    /// @notice Net bills, feed-in curves and credits (ZkMeterNetBills): run in this contract's storage
    /// by DELEGATECALL, because the ledger alone is near the 24 KB code limit (EIP-170).
    fallback() external {
        address target = netBills;
        if (target == address(0)) revert NetBillsDisabled();
        assembly ("memory-safe") {
            calldatacopy(0, 0, calldatasize())
            let ok := delegatecall(gas(), target, 0, calldatasize(), 0, 0)
            returndatacopy(0, 0, returndatasize())
            if iszero(ok) { revert(0, returndatasize()) }
            return(0, returndatasize())
        }
    }

    // ----------------------------------------------------------------------------------------------
    // Utility: meters, tariffs, notices, withdrawals
    // ----------------------------------------------------------------------------------------------

    /// @notice Registers a meter for a household. The registration point (startTime, startCounter) is
    /// where the meter's first billing period must start. A meter address is registered once, ever, so
    /// a deactivated meter's old signatures can never be replayed into a fresh history.
    /// @param meter the meter key's address
    /// @param household the account that submits this meter's bills
    /// @param areaId the grid area (for notices and aggregation)
    /// @param startTime unix seconds on an interval boundary
    /// @param startCounter the meter's cumulative energy counter (Wh) at startTime
    function registerMeter(address meter, address household, uint32 areaId, uint64 startTime, uint64 startCounter)
        external
        onlyOwner
    {
        if (meter == address(0) || household == address(0)) revert ZeroAddress();
        if (meterInfo[meter].registered) revert MeterAlreadyRegistered(meter);
        if (startTime % interval != 0) revert NotOnIntervalBoundary(startTime, interval);
        // The area's first meter fixes its asset: from then on its bills are all in one asset.
        AreaAsset memory area = areaAssets[areaId];
        if (!area.fixed_) areaAssets[areaId] = AreaAsset({assetId: area.assetId, fixed_: true});
        meterInfo[meter] =
            MeterInfo({household: household, areaId: areaId, registered: true, active: true, assetId: area.assetId});
        meterCursor[meter] = MeterCursor({
            nextStart: startTime,
            nextCounter: startCounter,
            nextExportCounter: 0,
            exportKnown: false,
            credit: 0
        });
        emit MeterRegistered(meter, household, areaId, startTime, startCounter);
    }

    /// @notice Registers an ERC-20 token tariffs may be priced in (docs/contracts.md, "Token tariffs").
    /// The token must move exactly the amount asked: a fee-on-transfer token is refused at payment
    /// (FeeOnTransfer), one whose transfers return nothing is handled by SafeERC20.
    /// @param token the token contract
    /// @param decimals its decimals, checked against decimals() where the token has one
    /// @return assetId the new asset's id (1, 2, ...)
    function registerAsset(IERC20 token, uint8 decimals) external onlyOwner returns (uint32 assetId) {
        address t = address(token);
        if (t == address(0)) revert ZeroAddress();
        if (t.code.length == 0) revert NotAContract(t);
        uint32 existing = assetIdOf[t];
        if (existing != 0) revert AssetAlreadyRegistered(t, existing);
        // decimals() is optional in ERC-20: a token without it is taken at the utility's word.
        try IERC20Metadata(t).decimals() returns (uint8 reported) {
            if (reported != decimals) revert DecimalsMismatch(t, decimals, reported);
        } catch {}
        assetId = assetCount + 1;
        assetCount = assetId;
        assets[assetId] = Asset({token: token, decimals: decimals, latestTariff: 0});
        assetIdOf[t] = assetId;
        emit AssetRegistered(assetId, t, decimals);
    }

    /// @notice Sets the asset an area's bills are in (0: Ether, the default). It can change only until
    /// the area's first meter is registered: a household never finds its bills in another money.
    function setAreaAsset(uint32 areaId, uint32 assetId) external onlyOwner {
        if (assetId > assetCount) revert UnknownAsset(assetId);
        AreaAsset storage area = areaAssets[areaId];
        if (area.fixed_) revert AreaAssetFixed(areaId, area.assetId);
        area.assetId = assetId;
        emit AreaAssetSet(areaId, assetId);
    }

    /// @notice Deactivates a meter for good: it can submit no further bills. Submitted bills stay payable.
    function deactivateMeter(address meter) external onlyOwner {
        MeterInfo storage info = meterInfo[meter];
        if (!info.registered) revert UnknownMeter(meter);
        if (!info.active) revert MeterInactive(meter);
        info.active = false;
        emit MeterDeactivated(meter);
    }

    /// @notice Publishes the daily price curve in force from `effectiveFrom` until the next tariff. It applies
    /// to every meter of every area alike (tariffs are not keyed by meter or area), and it must obey the
    /// tariff rules (TariffRules: few levels, runs of an hour, bounded precision, levels apart) and be
    /// published at least `tariffNotice` seconds ahead: no tariff is retroactive.
    /// @dev The contract cannot afford Poseidon, so it does not check `tariffHash` against `prices`; the
    /// prices are in the event so anyone (the household node does) can. One tariff must cover a whole
    /// period: publish tariffs ahead of the periods they price.
    /// @param effectiveFrom unix seconds on an interval boundary, after the previous tariff's and at least
    /// `tariffNotice` after this block
    /// @param tariffHash Poseidon chain of the prices (docs/protocol.md §4)
    /// @param prices `slots` prices in wei per Wh, slot 0 starting at UTC midnight
    /// @return tariffId the new tariff's id (1, 2, ...)
    function publishTariff(uint64 effectiveFrom, uint256 tariffHash, uint64[] calldata prices)
        external
        onlyOwner
        returns (uint256 tariffId)
    {
        return _publishTariff(0, effectiveFrom, tariffHash, prices);
    }

    /// @notice publishTariff for a registered token: `prices` are in the token's smallest units per Wh.
    /// Each asset has its own chain of tariffs: this one ends the previous tariff of the same asset only.
    function publishTokenTariff(uint32 assetId, uint64 effectiveFrom, uint256 tariffHash, uint64[] calldata prices)
        external
        onlyOwner
        returns (uint256 tariffId)
    {
        if (assetId == 0 || assetId > assetCount) revert UnknownAsset(assetId);
        tariffId = _publishTariff(assetId, effectiveFrom, tariffHash, prices);
        emit TariffAsset(tariffId, assetId);
    }

    /// @notice Reverts with the first tariff rule `prices` breaks (as publishTariff would); returns otherwise.
    /// Lets a utility check a curve before it pays for a transaction.
    function checkTariff(uint64[] calldata prices) external view {
        _checkTariffRules(prices);
    }

    /// @notice Sends every token of asset `assetId` the ledger holds to `to` (the same pull pattern as
    /// withdraw). The ledger's token balance is what was paid: payments are checked to add exactly the
    /// bill's total, and the ledger sends tokens only here and in credit payouts to households
    /// (ZkMeterNetBills.payOutCredit, which take from the same balance). No separate counter is kept: it
    /// would cost every payment a storage write (up to 22,100 gas after each withdrawal).
    function withdrawToken(uint32 assetId, address to) external onlyOwner nonReentrant {
        if (to == address(0)) revert ZeroAddress();
        uint256 amount = tokenWithdrawable(assetId);
        if (amount == 0) revert NothingToWithdraw();
        assets[assetId].token.safeTransfer(to, amount);
        emit TokenWithdrawn(assetId, to, amount);
    }

    /// @notice Tokens of asset `assetId` paid and not yet withdrawn, in the token's smallest units (its
    /// balance held by the ledger, including any sent to it outside a payment).
    function tokenWithdrawable(uint32 assetId) public view returns (uint256) {
        if (assetId == 0 || assetId > assetCount) revert UnknownAsset(assetId);
        return assets[assetId].token.balanceOf(address(this));
    }

    /// @notice Publishes a notice (outage, maintenance, ...) for an area; `kind` is application-defined.
    function publishNotice(uint32 areaId, uint8 kind, uint64 startsAt, uint64 endsAt, string calldata message)
        external
        onlyOwner
    {
        if (endsAt < startsAt) revert InvalidNoticeWindow(startsAt, endsAt);
        emit NoticePublished(areaId, kind, startsAt, endsAt, message);
    }

    /// @notice Sends everything paid so far to `to` (pull payment: bills never push Ether anywhere).
    function withdraw(address payable to) external onlyOwner nonReentrant {
        if (to == address(0)) revert ZeroAddress();
        uint256 amount = withdrawable;
        if (amount == 0) revert NothingToWithdraw();
        withdrawable = 0;
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert WithdrawFailed(to, amount);
        emit Withdrawn(to, amount);
    }

    // ----------------------------------------------------------------------------------------------
    // Household: bills
    // ----------------------------------------------------------------------------------------------

    /// @notice Records a period's bill.
    /// @param period the meter-signed period (its `meter` field names the meter)
    /// @param meterSignature 65 bytes r ‖ s ‖ v (v ∈ {27, 28}, low s) by the meter over `period`
    /// @param proof Groth16 proof for public signals [commitment, tariffHash, total, energyWh]
    /// @param claim total (wei), energyWh (= endCounter − startCounter), the tariff in force for the whole
    /// period, and the digest of the IPFS root CID of the period's encrypted readings
    /// @return billId keccak256 of the ABI-encoded bill record (see billIdOf)
    function submitBill(
        BillingPeriod calldata period,
        bytes calldata meterSignature,
        Proof calldata proof,
        BillClaim calldata claim
    ) external returns (bytes32 billId) {
        _checkSignature(period, meterSignature);
        uint32 areaId = _checkMeter(period.meter);
        uint256 tariffHash;
        (billId, tariffHash) = _acceptBill(period, msg.sender, areaId, claim);
        // The verifier is called through a view interface (STATICCALL): it cannot re-enter or change
        // state, and a rejection reverts the bill recorded above.
        bool ok = verifier.verifyProof(proof.a, proof.b, proof.c, [period.commitment, tariffHash, claim.total, claim.energyWh]);
        if (!ok) revert ProofRejected();
    }

    /// @notice Records bills that households proved and signed, sent by a relayer (the utility, or
    /// anyone the household names). Each bill passes every check submitBill makes, with the household's
    /// EIP-712 BillAuthorization in place of the household being the sender, and the proofs are checked
    /// together by one Groth16 batch verification (docs/contracts.md). A bill breaking a rule reverts the
    /// batch with the error it would get alone; a proof that does not verify reverts it with
    /// BatchProofRejected(index). Bills of one meter may follow each other in a batch, in period order.
    /// @param batch the bills, each with its meter's and its household's signatures
    /// @return billIds the bill ids, in batch order
    function submitBills(RelayedBill[] calldata batch) external returns (bytes32[] memory billIds) {
        uint256 n = batch.length;
        if (n == 0) revert EmptyBatch();
        billIds = new bytes32[](n);
        bytes memory verifierCall = _newVerifierCall(n);
        for (uint256 i = 0; i < n; ++i) {
            RelayedBill calldata bill = batch[i];
            (bytes32 billId, uint256 tariffHash) = _acceptRelayed(bill);
            billIds[i] = billId;
            _writeVerifierInput(verifierCall, i, bill, tariffHash);
        }
        (bool valid, uint256 firstInvalid) = _callBatchVerifier(verifierCall);
        if (!valid) revert BatchProofRejected(firstInvalid);
    }

    /// @notice Pays an Ether bill in full; anyone may pay any bill.
    function payBill(bytes32 billId) external payable {
        Bill storage bill = bills[billId];
        if (!bill.submitted) revert UnknownBill(billId);
        if (bill.paid) revert AlreadyPaid(billId);
        if (bill.assetId != 0) revert WrongAsset(billId, bill.assetId);
        if (msg.value != bill.total) revert WrongAmount(bill.total, msg.value);
        bill.paid = true;
        withdrawable += msg.value;
        emit BillPaid(billId, msg.sender, msg.value);
    }

    /// @notice Pays a token bill in full from the sender's tokens, after the sender approved the ledger
    /// for at least the bill's total (approve + pay). Anyone may pay any bill, from their own tokens only.
    function payBillWithToken(bytes32 billId) external nonReentrant {
        (IERC20 token, uint256 amount) = _tokenBill(billId);
        _payToken(billId, token, amount);
    }

    /// @notice Pays a token bill with an EIP-2612 permit the sender signed for the ledger and the bill's
    /// total: one wallet confirmation, no approve transaction.
    /// @dev The permit is tried, not required: anyone can submit a permit seen in the mempool first (it
    /// only sets the sender's allowance for the ledger), so a failed permit is accepted when the
    /// allowance is already there, and refused with PermitRejected when it is not. The tokens are only
    /// ever pulled from msg.sender, so a front-run permit cannot spend them on another bill.
    function payBillWithPermit(bytes32 billId, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external
        nonReentrant
    {
        (IERC20 token, uint256 amount) = _tokenBill(billId);
        try IERC20Permit(address(token)).permit(msg.sender, address(this), amount, deadline, v, r, s) {}
        catch {
            uint256 allowance = token.allowance(msg.sender, address(this));
            if (allowance < amount) revert PermitRejected(billId, allowance, amount);
        }
        _payToken(billId, token, amount);
    }

    // ----------------------------------------------------------------------------------------------
    // Readers
    // ----------------------------------------------------------------------------------------------

    /// @notice The bill id: keccak256(abi.encode(period, household, areaId, claim)). It commits to every
    /// field of the BillSubmitted event, so the one stored slot plus the event log prove a bill's kWh,
    /// commitment and CID digest as well as storing them would.
    function billIdOf(BillingPeriod calldata period, address household, uint32 areaId, BillClaim calldata claim)
        public
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(period, household, areaId, claim));
    }

    /// @notice A meter's registration, where its next period must start, and its bills' asset.
    function meters(address meter)
        external
        view
        returns (
            address household,
            uint32 areaId,
            bool registered,
            bool active,
            uint64 nextStart,
            uint64 nextCounter,
            uint32 assetId
        )
    {
        MeterInfo memory info = meterInfo[meter];
        MeterCursor memory cursor = meterCursor[meter];
        return (
            info.household, info.areaId, info.registered, info.active, cursor.nextStart, cursor.nextCounter, info.assetId
        );
    }

    /// @notice A registered token asset (id 1 … assetCount).
    function asset(uint32 assetId) external view returns (address token, uint8 decimals) {
        if (assetId == 0 || assetId > assetCount) revert UnknownAsset(assetId);
        Asset memory a = assets[assetId];
        return (address(a.token), a.decimals);
    }

    /// @notice An area's asset (0: Ether) and whether it is fixed by a registered meter.
    function areaAsset(uint32 areaId) external view returns (uint32 assetId, bool fixed_) {
        AreaAsset memory a = areaAssets[areaId];
        return (a.assetId, a.fixed_);
    }

    /// @notice The asset a tariff's prices are in (0: Ether).
    function tariffAsset(uint256 tariffId) external view returns (uint32) {
        Tariff memory t = tariffs[tariffId];
        if (t.until == 0) revert UnknownTariff(tariffId);
        return t.assetId;
    }

    /// @notice The asset a bill must be paid in (0: Ether).
    function billAsset(bytes32 billId) external view returns (uint32) {
        Bill memory bill = bills[billId];
        if (!bill.submitted) revert UnknownBill(billId);
        return bill.assetId;
    }

    /// @notice A tariff's window [effectiveFrom, until) and hash; the prices are in its TariffPublished event.
    function tariff(uint256 tariffId) external view returns (uint64 effectiveFrom, uint64 until, uint256 tariffHash) {
        Tariff memory t = tariffs[tariffId];
        if (t.until == 0) revert UnknownTariff(tariffId);
        return (t.effectiveFrom, t.until, t.hash);
    }

    /// @notice A bill's amount and state; its other fields are in its BillSubmitted event.
    function billStatus(bytes32 billId) external view returns (bool submitted, bool paid, uint256 total) {
        Bill memory bill = bills[billId];
        return (bill.submitted, bill.paid, bill.total);
    }

    /// @notice The trusted setup bills are verified under, in one call (docs/trusted-setup.md).
    function trustedSetup()
        external
        view
        returns (address verifier_, bytes32 verifyingKeyHash_, bytes32 setupTranscript_, bool insecureDevSetup_)
    {
        return (address(verifier), verifyingKeyHash, setupTranscript, insecureDevSetup);
    }

    // ----------------------------------------------------------------------------------------------
    // Internals
    // ----------------------------------------------------------------------------------------------

    /// @dev A tariff of asset `assetId`'s chain (see publishTariff). Tariff ids stay global: 1 … tariffCount.
    function _publishTariff(uint32 assetId, uint64 effectiveFrom, uint256 tariffHash, uint64[] calldata prices)
        private
        returns (uint256 tariffId)
    {
        _checkTariffRules(prices);
        if (tariffHash >= FIELD_ORDER) revert TariffHashOutOfField(tariffHash);
        if (effectiveFrom % interval != 0) revert NotOnIntervalBoundary(effectiveFrom, interval);
        uint256 earliest = block.timestamp + tariffNotice;
        if (effectiveFrom < earliest) revert TariffNotAhead(effectiveFrom, uint64(earliest));
        uint256 previousId = assetId == 0 ? latestEtherTariff : assets[assetId].latestTariff;
        if (previousId != 0) {
            Tariff storage previous = tariffs[previousId];
            if (effectiveFrom <= previous.effectiveFrom) {
                revert TariffNotIncreasing(previous.effectiveFrom, effectiveFrom);
            }
            previous.until = effectiveFrom;
        }
        tariffId = tariffCount + 1;
        tariffCount = tariffId;
        // Ids stay below 2^64: each costs a transaction of ~150k gas.
        if (assetId == 0) latestEtherTariff = uint64(tariffId);
        else assets[assetId].latestTariff = uint64(tariffId);
        tariffs[tariffId] =
            Tariff({effectiveFrom: effectiveFrom, until: type(uint64).max, assetId: assetId, hash: tariffHash});
        emit TariffPublished(tariffId, effectiveFrom, tariffHash, prices);
    }

    /// @dev An unpaid token bill's token and total; reverts for an unknown, paid or Ether bill.
    function _tokenBill(bytes32 billId) private view returns (IERC20 token, uint256 amount) {
        Bill memory bill = bills[billId];
        if (!bill.submitted) revert UnknownBill(billId);
        if (bill.paid) revert AlreadyPaid(billId);
        if (bill.assetId == 0) revert WrongAsset(billId, 0);
        return (assets[bill.assetId].token, bill.total);
    }

    /// @dev Marks the bill paid, then pulls `amount` from the sender (effects before the call, and the
    /// callers hold the reentrancy guard: a token that calls back finds the bill paid and the guard
    /// set). The ledger's balance must grow by exactly `amount`: a fee-on-transfer token is refused
    /// rather than leaving the utility short of what the bill says was paid.
    function _payToken(bytes32 billId, IERC20 token, uint256 amount) private {
        Bill storage bill = bills[billId];
        bill.paid = true;
        uint256 before = token.balanceOf(address(this));
        token.safeTransferFrom(msg.sender, address(this), amount);
        uint256 balance = token.balanceOf(address(this));
        uint256 received = balance > before ? balance - before : 0;
        if (received != amount) revert FeeOnTransfer(address(token), amount, received);
        emit BillPaid(billId, msg.sender, amount);
    }

    /// @dev submitBill's checks for a relayed bill, the household's authorization in place of the sender.
    function _acceptRelayed(RelayedBill calldata bill) private returns (bytes32 billId, uint256 tariffHash) {
        BillingPeriod calldata period = bill.period;
        bytes32 periodHash = _periodHash(period);
        address meter = period.meter;
        Signature calldata ms = bill.meterSignature;
        (bytes32 s, uint8 v) = _splitCompact(ms.vs);
        _checkSigner(periodHash, ms.r, s, v, meter, false);
        (address household, uint32 areaId) = _activeMeter(meter);
        _checkAuthorization(bill, periodHash, household);
        return _acceptBill(period, household, areaId, bill.claim);
    }

    /// @dev The calldata of batchVerifier.verifyBatch(uint256[] data) for n proofs, built in place (an
    /// abi-encoded call would copy the 12n words once more): selector, offset, length, then the words.
    function _newVerifierCall(uint256 n) private pure returns (bytes memory verifierCall) {
        verifierCall = new bytes(68 + n * VERIFIER_WORDS * 32);
        bytes4 selector = IGroth16BatchVerifier.verifyBatch.selector;
        assembly ("memory-safe") {
            let p := add(verifierCall, 32)
            mstore(p, and(selector, shl(224, 0xffffffff)))
            mstore(add(p, 4), 0x20)
            mstore(add(p, 36), mul(n, VERIFIER_WORDS))
        }
    }

    function _callBatchVerifier(bytes memory verifierCall) private view returns (bool valid, uint256 firstInvalid) {
        address target = address(batchVerifier);
        assembly ("memory-safe") {
            let ok := staticcall(gas(), target, add(verifierCall, 32), mload(verifierCall), 0, 64)
            if iszero(ok) {
                returndatacopy(0, 0, returndatasize())
                revert(0, returndatasize())
            }
            if lt(returndatasize(), 64) { revert(0, 0) }
            valid := iszero(iszero(mload(0)))
            firstInvalid := mload(32)
        }
    }

    /// @dev Proof i's 12 words for the batch verifier: A, B, C as sent, then the public inputs.
    function _writeVerifierInput(bytes memory verifierCall, uint256 i, RelayedBill calldata bill, uint256 tariffHash)
        private
        pure
    {
        Proof calldata proof = bill.proof;
        uint256 commitment = bill.period.commitment;
        uint256 total = bill.claim.total;
        uint256 energyWh = bill.claim.energyWh;
        assembly ("memory-safe") {
            let dst := add(add(verifierCall, 100), mul(i, 384))
            calldatacopy(dst, proof, 256)
            mstore(add(dst, 256), commitment)
            mstore(add(dst, 288), tariffHash)
            mstore(add(dst, 320), total)
            mstore(add(dst, 352), energyWh)
        }
    }

    /// @dev billIdOf: keccak256(abi.encode(period, household, areaId, claim)), 12 words.
    function _billId(BillingPeriod calldata period, address household, uint32 areaId, BillClaim calldata claim)
        private
        pure
        returns (bytes32 id)
    {
        assembly ("memory-safe") {
            let m := mload(0x40)
            calldatacopy(m, period, 192)
            mstore(add(m, 192), and(household, 0xffffffffffffffffffffffffffffffffffffffff))
            mstore(add(m, 224), and(areaId, 0xffffffff))
            calldatacopy(add(m, 256), claim, 128)
            id := keccak256(m, 384)
        }
    }

    /// @dev The household's BillAuthorization over this very bill and relayer. A signature cannot be
    /// replayed: the bill it names is recorded once (BillAlreadySubmitted), on one chain and ledger (the
    /// domain), and only by the relayer it names.
    function _checkAuthorization(RelayedBill calldata bill, bytes32 periodHash, address household) private view {
        address relayer = bill.relayer;
        if (relayer != address(0) && relayer != msg.sender) revert RelayerNotAuthorized(relayer, msg.sender);
        BillClaim calldata claim = bill.claim;
        bytes32 typeHash = BILL_AUTHORIZATION_TYPEHASH;
        bytes32 structHash;
        assembly ("memory-safe") {
            // keccak256(abi.encode(typeHash, periodHash, total, energyWh, tariffId, cidDigest, relayer))
            let m := mload(0x40)
            mstore(m, typeHash)
            mstore(add(m, 32), periodHash)
            calldatacopy(add(m, 64), claim, 128)
            mstore(add(m, 192), relayer)
            structHash := keccak256(m, 224)
        }
        Signature calldata hs = bill.householdSignature;
        (bytes32 s, uint8 v) = _splitCompact(hs.vs);
        _checkSigner(structHash, hs.r, s, v, household, true);
    }

    /// @dev Rules 3–8 but the proof, then the record: replay, continuity, shape, energy, tariff, total.
    /// Returns the bill id and the tariff hash the proof must be verified with.
    function _acceptBill(BillingPeriod calldata period, address household, uint32 areaId, BillClaim calldata claim)
        private
        returns (bytes32 billId, uint256 tariffHash)
    {
        billId = _billId(period, household, areaId, claim);
        Bill storage bill = bills[billId];
        if (bill.submitted) revert BillAlreadySubmitted(billId);
        _checkPeriod(period);
        _checkEnergy(period, claim.energyWh);
        // The meter's slot was read (cold) by _activeMeter: this read is warm.
        uint32 assetId = meterInfo[period.meter].assetId;
        tariffHash = _tariffFor(claim.tariffId, period.periodStart, period.periodEnd, assetId);
        // Bills store total in 128 bits; the circuit bounds it far lower (2^15 Wh × 2^64 wei × N).
        uint256 due = claim.total;
        if (due > type(uint128).max) revert TotalTooLarge(due);
        uint256 owed = due;
        due = _advanceCursor(period, billId, owed);
        if (due != owed) bill.paid = due == 0;
        bill.total = uint128(due);
        bill.submitted = true;
        bill.assetId = assetId;
        // emit BillSubmitted(billId, period.meter, household, areaId, period, claim), data copied as is.
        bytes32 topic = BillSubmitted.selector;
        address meter = period.meter;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, and(areaId, 0xffffffff))
            calldatacopy(add(m, 32), period, 192)
            calldatacopy(add(m, 224), claim, 128)
            log4(m, 352, topic, billId, meter, and(household, 0xffffffffffffffffffffffffffffffffffffffff))
        }
    }

    /// @dev Moves the meter's cursor past `period` and pays `owed` from its credit first, if it has one
    /// (docs/contracts.md, "Net bills"); returns what is still due. The cursor slot (read warm by
    /// _checkPeriod) by hand, in MeterCursor's packing: nextStart in bits 0–63, nextCounter 64–127,
    /// nextExportCounter 128–167, exportKnown 168–175, credit 176–255.
    function _advanceCursor(BillingPeriod calldata period, bytes32 billId, uint256 owed)
        private
        returns (uint256 due)
    {
        address meter = period.meter;
        bytes32 cursorSlot;
        uint256 credit;
        assembly ("memory-safe") {
            mstore(0, meter)
            mstore(32, meterCursor.slot)
            cursorSlot := keccak256(0, 64)
            credit := shr(176, sload(cursorSlot))
        }
        due = owed;
        if (credit != 0 && owed != 0) {
            uint256 used = credit < owed ? credit : owed;
            credit -= used;
            due = owed - used;
            emit CreditApplied(meter, billId, used, credit);
        }
        // An import-only bill does not see the export counter, so exportKnown is cleared: the next net
        // bill starts the export continuity afresh (this bill forgoes nothing but the credit of its
        // own period's export, which it did not claim).
        uint64 end = period.periodEnd;
        uint64 endCounter = period.endCounter;
        assembly ("memory-safe") {
            sstore(cursorSlot, or(or(end, shl(64, endCounter)), shl(176, credit)))
        }
    }
}
