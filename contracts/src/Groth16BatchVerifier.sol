// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title Groth16 batch verifier for the Bill circuit (4 public inputs), BN254 precompiles only.
/// @notice Checks n proofs under one verifying key with one pairing product of n + 3 pairs instead of
/// 4n: a random linear combination of the n verification equations (docs/contracts.md, "Batch
/// verification"), with the coefficients derived from the keccak256 of the whole batch, so whoever
/// assembles the batch cannot choose them. When the combination fails, every proof is checked alone
/// and the first failing index is returned.
/// @dev Hand-written, not generated: snarkjs exports a single-proof verifier only. The verifying key is
/// set once in the constructor (immutables: as cheap to read as constants) and its hash, computed here
/// with the sha256 precompile exactly as circuits/src/setup.ts verifyingKeyHash does, is exposed so the
/// ledger can refuse a verifier built for another key. Layout of one proof in `data` (12 words):
/// A.x, A.y, B.x1, B.x0, B.y1, B.y0 (snarkjs calldata order: imaginary part first), C.x, C.y, then the
/// public inputs commitment, tariffHash, total, energyWh.
contract Groth16BatchVerifier {
    /// @dev BN254 base field (coordinates) and scalar field (public inputs, coefficients).
    uint256 internal constant Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583;
    uint256 internal constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    uint256 public constant PUBLIC_INPUTS = 4;
    /// @notice Words per proof in `data`: A (2), B (4), C (2), public inputs (4).
    uint256 public constant WORDS_PER_PROOF = 12;
    uint256 private constant PROOF_BYTES = 384;
    uint256 private constant PAIR_BYTES = 192;
    /// @dev Gas handed to each precompile call: a precompile that fails (a point off the curve) burns all
    /// it was given, so it gets a bounded amount, not all the gas left, or the fallback that names the
    /// bad proof would run out. About three times today's prices (EIP-1108), for headroom if they rise.
    uint256 private constant EC_ADD_GAS = 500;
    uint256 private constant EC_MUL_GAS = 20000;
    uint256 private constant PAIRING_BASE_GAS = 150000;
    uint256 private constant PAIRING_PER_PAIR_GAS = 100000;

    /// @notice `data` is empty or not a whole number of proofs.
    error MalformedBatch(uint256 words);

    /// @notice sha256("zkmeter/groth16-vk/v1" ‖ uint32 nPublic ‖ every key coordinate), as recorded by the ledger.
    bytes32 public immutable verifyingKeyHash;

    uint256 private immutable alphaX;
    uint256 private immutable alphaY;
    uint256 private immutable betaX1;
    uint256 private immutable betaX0;
    uint256 private immutable betaY1;
    uint256 private immutable betaY0;
    uint256 private immutable gammaX1;
    uint256 private immutable gammaX0;
    uint256 private immutable gammaY1;
    uint256 private immutable gammaY0;
    uint256 private immutable deltaX1;
    uint256 private immutable deltaX0;
    uint256 private immutable deltaY1;
    uint256 private immutable deltaY0;
    uint256 private immutable ic0X;
    uint256 private immutable ic0Y;
    uint256 private immutable ic1X;
    uint256 private immutable ic1Y;
    uint256 private immutable ic2X;
    uint256 private immutable ic2Y;
    uint256 private immutable ic3X;
    uint256 private immutable ic3Y;
    uint256 private immutable ic4X;
    uint256 private immutable ic4Y;

    /// @param vk the key's coordinates in verification_key.json order (the order verifyingKeyHash hashes):
    /// alpha x, y; beta x.c0, x.c1, y.c0, y.c1; gamma and delta alike; IC0 … IC4 x, y.
    constructor(uint256[24] memory vk) {
        verifyingKeyHash = sha256(abi.encodePacked("zkmeter/groth16-vk/v1", uint32(PUBLIC_INPUTS), vk));
        alphaX = vk[0];
        alphaY = vk[1];
        // The pairing precompile takes G2 coordinates imaginary part first.
        betaX1 = vk[3];
        betaX0 = vk[2];
        betaY1 = vk[5];
        betaY0 = vk[4];
        gammaX1 = vk[7];
        gammaX0 = vk[6];
        gammaY1 = vk[9];
        gammaY0 = vk[8];
        deltaX1 = vk[11];
        deltaX0 = vk[10];
        deltaY1 = vk[13];
        deltaY0 = vk[12];
        ic0X = vk[14];
        ic0Y = vk[15];
        ic1X = vk[16];
        ic1Y = vk[17];
        ic2X = vk[18];
        ic2Y = vk[19];
        ic3X = vk[20];
        ic3Y = vk[21];
        ic4X = vk[22];
        ic4Y = vk[23];
    }

    /// @notice Verifies every proof in `data` (12 words each, see the contract's notes).
    /// @return valid true if all proofs verify
    /// @return firstInvalid the index of the first proof that does not verify on its own (0 when valid)
    function verifyBatch(uint256[] calldata data) external view returns (bool valid, uint256 firstInvalid) {
        uint256 n = data.length / WORDS_PER_PROOF;
        if (n == 0 || data.length % WORDS_PER_PROOF != 0) revert MalformedBatch(data.length);
        if (_combinationHolds(data, n)) return (true, 0);
        // The combination is a sum of the n equations with non-zero coefficients: if each held, it would
        // hold. So some proof fails alone; name the first one.
        for (uint256 i = 0; i < n; ++i) {
            if (!_proofHolds(data, i)) return (false, i);
        }
        // Unreachable (see above); refuse rather than accept.
        return (false, n);
    }

    /// @notice Verifies one proof (12 words): the plain Groth16 check, 4 pairs.
    function verifyOne(uint256[12] calldata proof) external view returns (bool) {
        uint256[] calldata data;
        assembly ("memory-safe") {
            data.offset := proof
            data.length := 12
        }
        return _proofHolds(data, 0);
    }

    // ----------------------------------------------------------------------------------------------
    // Batch: prod_i e(r_i A_i, B_i) · e(-(Σ r_i) α, β) · e(-Σ_i r_i vk_i, γ) · e(-Σ r_i C_i, δ) = 1
    // ----------------------------------------------------------------------------------------------

    /// @dev Coefficients r_0 = 1 and r_i = the top 128 bits of keccak256(seed, i), seed = keccak256(data).
    /// The public-input parts collapse into one multi-scalar product over IC with scalars Σ r_i x_ij
    /// (mod R), so the key costs 6 multiplications per batch, each further proof 2 (r_i A_i, r_i C_i).
    function _combinationHolds(uint256[] calldata data, uint256 n) private view returns (bool ok) {
        uint256[5] memory s; // s[0] = Σ r_i, s[1 + j] = Σ r_i · input_ij, all mod R
        uint256 buf; // the pairing input: n + 3 pairs
        uint256 scratch; // 7 words: C accumulator (2), r·C (2), multiplication input (3)
        assembly ("memory-safe") {
            let len := mul(data.length, 32)
            buf := mload(0x40)
            // Hash the batch first, in the memory the pairing input overwrites next.
            calldatacopy(buf, data.offset, len)
            let seed := keccak256(buf, len)
            let bufLen := mul(add(n, 3), PAIR_BYTES)
            if lt(bufLen, len) { bufLen := len }
            scratch := add(buf, bufLen)
            mstore(0x40, add(scratch, 224))
            ok := 1
            for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                let p := add(data.offset, mul(i, PROOF_BYTES))
                let r := 1
                if i {
                    mstore(0, seed)
                    mstore(32, i)
                    r := shr(128, keccak256(0, 64))
                }
                mstore(s, addmod(mload(s), r, R))
                for { let j := 0 } lt(j, 4) { j := add(j, 1) } {
                    let x := calldataload(add(p, add(256, shl(5, j))))
                    // An input outside the field would alias x - R: that proof fails (as snarkjs's checkField).
                    if iszero(lt(x, R)) { ok := 0 }
                    let sj := add(s, shl(5, add(j, 1)))
                    mstore(sj, addmod(mload(sj), mulmod(r, x, R), R))
                }
                let dst := add(buf, mul(i, PAIR_BYTES))
                let mulIn := add(scratch, 128)
                switch i
                case 0 {
                    calldatacopy(dst, p, 64)
                    calldatacopy(scratch, add(p, 192), 64)
                }
                default {
                    // r·A into the pair; r·C added to the accumulator.
                    calldatacopy(mulIn, p, 64)
                    mstore(add(mulIn, 64), r)
                    ok := and(ok, staticcall(EC_MUL_GAS, 7, mulIn, 96, dst, 64))
                    calldatacopy(mulIn, add(p, 192), 64)
                    mstore(add(mulIn, 64), r)
                    ok := and(ok, staticcall(EC_MUL_GAS, 7, mulIn, 96, add(scratch, 64), 64))
                    ok := and(ok, staticcall(EC_ADD_GAS, 6, scratch, 128, scratch, 64))
                }
                calldatacopy(add(dst, 64), add(p, 64), 128)
            }
        }
        if (!ok) return false;
        uint256 tail = buf + n * PAIR_BYTES;
        // (-Σ r_i C_i, δ) first: the helpers below reuse the scratch words that hold the sum.
        uint256 x;
        uint256 y;
        assembly ("memory-safe") {
            x := mload(scratch)
            y := mload(add(scratch, 32))
        }
        if (y >= Q) return false; // n = 1: C was copied, not checked by a precompile
        _storePair(tail + 2 * PAIR_BYTES, x, (Q - y) % Q, deltaX1, deltaX0, deltaY1, deltaY0);
        // (-(Σ r_i)·α, β)
        bool good;
        (x, y, good) = _mul(alphaX, alphaY, _negScalar(s[0]), scratch + 128);
        _storePair(tail, x, y, betaX1, betaX0, betaY1, betaY0);
        // (-Σ_j s_j IC_j, γ)
        bool good2;
        (x, y, good2) = _icCombination(s, true, scratch);
        _storePair(tail + PAIR_BYTES, x, y, gammaX1, gammaX0, gammaY1, gammaY0);
        if (!(good && good2)) return false;
        return _pairing(buf, n + 3, scratch);
    }

    // ----------------------------------------------------------------------------------------------
    // One proof: e(-A, B) · e(α, β) · e(vk, γ) · e(C, δ) = 1, vk = IC0 + Σ x_j IC_{j+1}
    // ----------------------------------------------------------------------------------------------

    function _proofHolds(uint256[] calldata data, uint256 i) private view returns (bool) {
        uint256[5] memory s;
        uint256 p;
        uint256 ay;
        assembly ("memory-safe") {
            p := add(data.offset, mul(i, PROOF_BYTES))
            ay := calldataload(add(p, 32))
        }
        s[0] = 1;
        for (uint256 j = 0; j < 4; ++j) {
            uint256 x = data[i * WORDS_PER_PROOF + 8 + j];
            if (x >= R) return false;
            s[j + 1] = x;
        }
        if (ay >= Q) return false;
        uint256 buf;
        uint256 scratch;
        assembly ("memory-safe") {
            buf := mload(0x40)
            scratch := add(buf, 768)
            mstore(0x40, add(scratch, 224))
            // (-A, B)
            mstore(buf, calldataload(p))
            mstore(add(buf, 32), mod(sub(Q, ay), Q))
            calldatacopy(add(buf, 64), add(p, 64), 128)
        }
        _storePair(buf + PAIR_BYTES, alphaX, alphaY, betaX1, betaX0, betaY1, betaY0);
        (uint256 vx, uint256 vy, bool good) = _icCombination(s, false, scratch);
        if (!good) return false;
        _storePair(buf + 2 * PAIR_BYTES, vx, vy, gammaX1, gammaX0, gammaY1, gammaY0);
        uint256 cx;
        uint256 cy;
        assembly ("memory-safe") {
            cx := calldataload(add(p, 192))
            cy := calldataload(add(p, 224))
        }
        _storePair(buf + 3 * PAIR_BYTES, cx, cy, deltaX1, deltaX0, deltaY1, deltaY0);
        return _pairing(buf, 4, scratch);
    }

    // ----------------------------------------------------------------------------------------------
    // Precompile helpers
    // ----------------------------------------------------------------------------------------------

    /// @dev Σ_j s[j]·IC_j, or its negation (each scalar negated): 5 multiplications, 4 additions.
    function _icCombination(uint256[5] memory s, bool negate, uint256 scratch)
        private
        view
        returns (uint256 x, uint256 y, bool ok)
    {
        uint256[10] memory ic = [ic0X, ic0Y, ic1X, ic1Y, ic2X, ic2Y, ic3X, ic3Y, ic4X, ic4Y];
        ok = true;
        for (uint256 j = 0; j < 5; ++j) {
            uint256 k = negate ? _negScalar(s[j]) : s[j];
            (uint256 mx, uint256 my, bool good) = _mul(ic[2 * j], ic[2 * j + 1], k, scratch + 128);
            ok = ok && good;
            if (j == 0) {
                (x, y) = (mx, my);
            } else {
                (x, y, good) = _add(x, y, mx, my, scratch);
                ok = ok && good;
            }
        }
    }

    function _negScalar(uint256 k) private pure returns (uint256) {
        return k == 0 ? 0 : R - k;
    }

    function _mul(uint256 x, uint256 y, uint256 k, uint256 mem) private view returns (uint256 rx, uint256 ry, bool ok) {
        assembly ("memory-safe") {
            mstore(mem, x)
            mstore(add(mem, 32), y)
            mstore(add(mem, 64), k)
            ok := staticcall(EC_MUL_GAS, 7, mem, 96, mem, 64)
            rx := mload(mem)
            ry := mload(add(mem, 32))
        }
    }

    function _add(uint256 x1, uint256 y1, uint256 x2, uint256 y2, uint256 mem)
        private
        view
        returns (uint256 rx, uint256 ry, bool ok)
    {
        assembly ("memory-safe") {
            mstore(mem, x1)
            mstore(add(mem, 32), y1)
            mstore(add(mem, 64), x2)
            mstore(add(mem, 96), y2)
            ok := staticcall(EC_ADD_GAS, 6, mem, 128, mem, 64)
            rx := mload(mem)
            ry := mload(add(mem, 32))
        }
    }

    function _storePair(uint256 dst, uint256 x, uint256 y, uint256 x1, uint256 x0, uint256 y1, uint256 y0)
        private
        pure
    {
        assembly ("memory-safe") {
            mstore(dst, x)
            mstore(add(dst, 32), y)
            mstore(add(dst, 64), x1)
            mstore(add(dst, 96), x0)
            mstore(add(dst, 128), y1)
            mstore(add(dst, 160), y0)
        }
    }

    function _pairing(uint256 buf, uint256 pairs, uint256 out) private view returns (bool ok) {
        assembly ("memory-safe") {
            ok := staticcall(add(PAIRING_BASE_GAS, mul(pairs, PAIRING_PER_PAIR_GAS)), 8, buf, mul(pairs, PAIR_BYTES), out, 32)
            ok := and(ok, eq(mload(out), 1))
        }
    }
}
