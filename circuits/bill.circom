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
template Bill(N, SLOTS) {
    signal input readings[N];
    signal input salt;
    signal input prices[SLOTS];

    signal output commitment;
    signal output tariffHash;
    signal output total;
    signal output energyWh;

    var BITS = 15;  // range check per reading (protocol §1)
    var LANE = 16;  // packing lane width (protocol §3)
    var PACK = 15;
    var PACKED = (N + PACK - 1) \ PACK;

    // Range check: each reading is the sum of its 15 boolean bits (15 constraints a reading, the
    // bulk of the circuit), sized to the physical limit: 2^15 - 1 Wh per 15 min is 131 kW. Once a
    // reading is known to fit 15 bits, packing 15 of them into one field element in 16-bit lanes
    // (240 bits < 254) is a linear combination that cannot wrap and whose lanes cannot carry into
    // each other: no constraints.
    component bits[N];
    var packed[PACKED];
    for (var j = 0; j < PACKED; j++) packed[j] = 0;
    var slotSum[SLOTS];
    for (var s = 0; s < SLOTS; s++) slotSum[s] = 0;
    var energy = 0;
    for (var i = 0; i < N; i++) {
        bits[i] = Num2Bits(BITS);
        bits[i].in <== readings[i];
        packed[i \ PACK] += readings[i] * (1 << (LANE * (i % PACK)));
        // Readings are indexed from UTC midnight, so the slot of reading i is i mod SLOTS and the
        // per-slot sums are linear: the tariff costs SLOTS multiplications whatever N is.
        slotSum[i % SLOTS] += readings[i];
        energy += readings[i];
    }

    component commitChain = PoseidonChain(PACKED);
    commitChain.init <== salt;
    for (var j = 0; j < PACKED; j++) commitChain.elements[j] <== packed[j];
    commitment <== commitChain.out;

    component tariffChain = PoseidonChain(SLOTS);
    tariffChain.init <== SLOTS;
    for (var s = 0; s < SLOTS; s++) tariffChain.elements[s] <== prices[s];
    tariffHash <== tariffChain.out;

    // No overflow: total < N * 2^15 * 2^64 < 2^91, far below the field order. Prices are not
    // range-checked here: the tariff hash binds them to the utility's published curve.
    signal slotCost[SLOTS];
    var sum = 0;
    for (var s = 0; s < SLOTS; s++) {
        slotCost[s] <== slotSum[s] * prices[s];
        sum += slotCost[s];
    }
    total <== sum;
    energyWh <== energy;
}
