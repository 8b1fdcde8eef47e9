pragma circom 2.1.0;

// The net bill of a period with import and export (docs/circuits.md, "Net bills"; issue 17). Keep
// in lock-step with circuits/src/net.ts and protocol/commitment.ts.
include "circomlib/circuits/poseidon.circom";
include "circomlib/circuits/bitify.circom";
include "circuits/bill.circom";

// Opens a version-3 commitment C = PoseidonChain(R, [H, packed sums]) (protocol §3) whose layout
// word H carries DIRECTION (0 import, 1 export) in bits 40..47. H is a constant of the circuit: a
// commitment of the other direction has another preimage, so it cannot be opened here.
template OpenSlotSums(SLOTS, DIRECTION) {
    signal input readingsDigest;
    signal input slotSums[SLOTS];
    signal output commitment;

    var LANE = 20;
    var PER_ELEMENT = 12;
    var ELEMENTS = (SLOTS + PER_ELEMENT - 1) \ PER_ELEMENT;
    var LAYOUT = 3 + 256 * 1 + 65536 * SLOTS + (1 << 40) * DIRECTION;

    // 20-bit lanes, as in Bill: without them a prover could move energy between lanes of one
    // packed element (circuits/test/net-bill.test.ts "export sums past lanes").
    component laneCheck[SLOTS];
    for (var s = 0; s < SLOTS; s++) {
        laneCheck[s] = Num2Bits(LANE);
        laneCheck[s].in <== slotSums[s];
    }

    component chain = PoseidonChain(1 + ELEMENTS);
    chain.init <== readingsDigest;
    chain.elements[0] <== LAYOUT;
    for (var j = 0; j < ELEMENTS; j++) {
        var packed = 0;
        for (var k = 0; k < PER_ELEMENT; k++) {
            if (j * PER_ELEMENT + k < SLOTS) packed += slotSums[j * PER_ELEMENT + k] * (1 << (LANE * k));
        }
        chain.elements[1 + j] <== packed;
    }
    commitment <== chain.out;
}

// Public signals, in this order: commitment (import, C), exportCommitment (C_x), tariffHash,
// packed. Four, as the import bill has: each public input costs the verifier an ecMul and an
// ecAdd (~6,350 gas), so the four amounts share one field element:
//   packed = cost + 2^91 * credit + 2^182 * importWh + 2^209 * exportWh   (236 bits < 253)
// tariffHash = Poseidon(T, T_f): T the import curve's hash (protocol §4), T_f the feed-in curve's,
// computed the same way; the utility publishes it with the feed-in curve (ZkMeterLedger.publishFeedIn).
template NetBill(SLOTS) {
    signal input importDigest;
    signal input importSums[SLOTS];
    signal input exportDigest;
    signal input exportSums[SLOTS];
    signal input prices[SLOTS];
    signal input feedInPrices[SLOTS];

    signal output commitment;
    signal output exportCommitment;
    signal output tariffHash;
    signal output packed;

    var AMOUNT_BITS = 91;
    var ENERGY_BITS = 27;
    // Each energy is a sum of SLOTS 20-bit lanes: it fits ENERGY_BITS without a check of its own.
    assert(SLOTS * ((1 << 20) - 1) < (1 << ENERGY_BITS));

    component openImport = OpenSlotSums(SLOTS, 0);
    openImport.readingsDigest <== importDigest;
    for (var s = 0; s < SLOTS; s++) openImport.slotSums[s] <== importSums[s];
    commitment <== openImport.commitment;

    component openExport = OpenSlotSums(SLOTS, 1);
    openExport.readingsDigest <== exportDigest;
    for (var s = 0; s < SLOTS; s++) openExport.slotSums[s] <== exportSums[s];
    exportCommitment <== openExport.commitment;

    component importCurve = PoseidonChain(SLOTS);
    importCurve.init <== SLOTS;
    for (var s = 0; s < SLOTS; s++) importCurve.elements[s] <== prices[s];
    component feedInCurve = PoseidonChain(SLOTS);
    feedInCurve.init <== SLOTS;
    for (var s = 0; s < SLOTS; s++) feedInCurve.elements[s] <== feedInPrices[s];
    component both = Poseidon(2);
    both.inputs[0] <== importCurve.out;
    both.inputs[1] <== feedInCurve.out;
    tariffHash <== both.out;

    signal slotCost[SLOTS];
    signal slotCredit[SLOTS];
    var cost = 0;
    var credit = 0;
    var importWh = 0;
    var exportWh = 0;
    for (var s = 0; s < SLOTS; s++) {
        slotCost[s] <== importSums[s] * prices[s];
        slotCredit[s] <== exportSums[s] * feedInPrices[s];
        cost += slotCost[s];
        credit += slotCredit[s];
        importWh += importSums[s];
        exportWh += exportSums[s];
    }
    // The prices are bound to published uint64 curves by the tariff hash, so cost and credit are below
    // SLOTS * 2^84 < 2^91 anyway; the range checks make the packing unambiguous even for a hash
    // whose preimage is not a published curve (a wrapped product can never spill into the next field).
    component costBits = Num2Bits(AMOUNT_BITS);
    costBits.in <== cost;
    component creditBits = Num2Bits(AMOUNT_BITS);
    creditBits.in <== credit;
    packed <== cost + credit * (1 << AMOUNT_BITS) + importWh * (1 << (2 * AMOUNT_BITS))
        + exportWh * (1 << (2 * AMOUNT_BITS + ENERGY_BITS));
}
