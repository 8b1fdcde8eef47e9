pragma circom 2.1.0;

// The bill statement of docs/protocol.md §5. Keep in lock-step with protocol/commitment.ts.
include "circomlib/circuits/poseidon.circom";
include "circomlib/circuits/bitify.circom";

// state <- Poseidon16(state, next 15 elements, zero-padded), as protocol.md §3-4 (poseidonChain).
template PoseidonChain(LEN) {
    signal input init;
    signal input elements[LEN];
    signal output out;

    var RATE = 15;
    var CALLS = (LEN + RATE - 1) \ RATE;
    component h[CALLS];
    for (var c = 0; c < CALLS; c++) {
        h[c] = Poseidon(16);
        h[c].inputs[0] <== c == 0 ? init : h[c - 1].out;
        for (var k = 0; k < RATE; k++) {
            var idx = c * RATE + k;
            h[c].inputs[k + 1] <== idx < LEN ? elements[idx] : 0;
        }
    }
    out <== h[CALLS - 1].out;
}

// Public signals, in this order: commitment, tariffHash, total, energyWh. They are outputs, and
// circom lists outputs first in declaration order, so snarkjs' publicSignals follow protocol §5.
//
// Commitment version 3 (protocol §3): the meter signs C = PoseidonChain(R, [H, P]) where
// R = PoseidonChain(salt, packed readings) binds every reading, H is the layout word and P the
// per-slot sums packed 12 to an element in 20-bit lanes. The bill needs only the per-slot sums, so
// the circuit opens C to R (an opaque private value: it hides the salt and the readings) and the
// sums, and never touches a reading: its size does not depend on N.
template Bill(SLOTS) {
    signal input readingsDigest;
    signal input slotSums[SLOTS];
    signal input prices[SLOTS];

    signal output commitment;
    signal output tariffHash;
    signal output total;
    signal output energyWh;

    var LANE = 20;
    var PER_ELEMENT = 12;
    var ELEMENTS = (SLOTS + PER_ELEMENT - 1) \ PER_ELEMENT;
    // Layout word H = version 3 + 2^8 * (slot-sum vectors: 1, imported energy) + 2^16 * SLOTS.
    var LAYOUT = 3 + 256 * 1 + 65536 * SLOTS;

    // Every sum is range-checked to 20 bits: 12 lanes x 20 bits = 240 bits < 254, so a packed
    // element is an integer below r and its lanes are unique. Without the checks a prover could
    // open the meter's packed elements to other lanes (one lane - 2^20, the next + 2^20 + 1, the
    // one after - 1: same element, same energy, energy moved to a cheaper slot), which
    // circuits/test/bill.test.ts shows.
    component laneCheck[SLOTS];
    for (var s = 0; s < SLOTS; s++) {
        laneCheck[s] = Num2Bits(LANE);
        laneCheck[s].in <== slotSums[s];
    }

    component commitChain = PoseidonChain(1 + ELEMENTS);
    commitChain.init <== readingsDigest;
    commitChain.elements[0] <== LAYOUT;
    for (var j = 0; j < ELEMENTS; j++) {
        var packed = 0;
        for (var k = 0; k < PER_ELEMENT; k++) {
            if (j * PER_ELEMENT + k < SLOTS) packed += slotSums[j * PER_ELEMENT + k] * (1 << (LANE * k));
        }
        commitChain.elements[1 + j] <== packed;
    }
    commitment <== commitChain.out;

    component tariffChain = PoseidonChain(SLOTS);
    tariffChain.init <== SLOTS;
    for (var s = 0; s < SLOTS; s++) tariffChain.elements[s] <== prices[s];
    tariffHash <== tariffChain.out;

    // The products cannot wrap: the sums are < 2^20 (range-checked above), the prices are bound by
    // the tariff hash to the published curve (each < 2^64, commitment.ts refuses more), so
    // total < SLOTS * 2^84 < 2^91.
    signal slotCost[SLOTS];
    var sum = 0;
    var energy = 0;
    for (var s = 0; s < SLOTS; s++) {
        slotCost[s] <== slotSums[s] * prices[s];
        sum += slotCost[s];
        energy += slotSums[s];
    }
    total <== sum;
    energyWh <== energy;
}
