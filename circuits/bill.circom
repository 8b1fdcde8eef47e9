pragma circom 2.1.0;

// The bill statement of docs/protocol.md §5. Keep in lock-step with protocol/commitment.ts.
include "circomlib/circuits/poseidon.circom";

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
// Commitment version 2 (protocol §3): the meter signs C = PoseidonChain(R, slotSums) where
// R = PoseidonChain(salt, packed readings) binds every reading and slotSums[s] is the sum of the
// readings in slot s of the day. The bill needs only the per-slot sums, so the circuit opens C to
// R (an opaque private value: it hides the salt and the readings) and the sums, and never touches
// a reading: no per-reading range checks, and a circuit whose size does not depend on N.
template Bill(SLOTS) {
    signal input readingsDigest;
    signal input slotSums[SLOTS];
    signal input prices[SLOTS];

    signal output commitment;
    signal output tariffHash;
    signal output total;
    signal output energyWh;

    component commitChain = PoseidonChain(SLOTS);
    commitChain.init <== readingsDigest;
    for (var s = 0; s < SLOTS; s++) commitChain.elements[s] <== slotSums[s];
    commitment <== commitChain.out;

    component tariffChain = PoseidonChain(SLOTS);
    tariffChain.init <== SLOTS;
    for (var s = 0; s < SLOTS; s++) tariffChain.elements[s] <== prices[s];
    tariffHash <== tariffChain.out;

    // No range checks are needed for soundness: the sums are bound by the commitment to the values
    // the meter computed (each < 31 * 2^15 < 2^20), the prices by the tariff hash to the published
    // curve (each < 2^64, commitment.ts refuses more), so total < SLOTS * 2^84 < 2^91 cannot wrap.
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
