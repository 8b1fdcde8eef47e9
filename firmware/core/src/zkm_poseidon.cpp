#include "zkm_poseidon.h"

#include "zkm_config.h"
#if ZKM_WITH_CRYPTO
#include "zkm_poseidon16_constants.h"

namespace zkm {

using namespace poseidon16_constants;

static YieldFn yieldFn = 0;

void setPoseidonYield(YieldFn fn) { yieldFn = fn; }

static void pow5(Fe &x) {
  Fe x2, x4;
  feMul(x2, x, x);
  feMul(x4, x2, x2);
  feMul(x, x4, x);
}

static void addConstant(Fe &x, const uint32_t c[8]) {
  Fe k;
  memcpy(k.v, c, sizeof(k.v));
  feAdd(x, x, k);
}

// out[i] = sum_j m[j][i] * s[j]: circomlib's Mix (the matrix is applied transposed).
static void mix(Fe s[T], const uint32_t m[T][T][8]) {
  Fe out[T], prod;
  for (uint8_t i = 0; i < T; i++) {
    feZero(out[i]);
    for (uint8_t j = 0; j < T; j++) {
      feMulRaw(prod, s[j], m[j][i]);
      feAdd(out[i], out[i], prod);
    }
  }
  memcpy(s, out, sizeof(out));
}

static void fullRound(Fe s[T], uint16_t arkOffset) {
  for (uint8_t j = 0; j < T; j++) {
    pow5(s[j]);
    addConstant(s[j], C[arkOffset + j]);
  }
}

static void tick() {
  if (yieldFn) yieldFn();
}

// circomlib's optimised Poseidon (PoseidonEx in circuits/poseidon.circom): the partial rounds use
// sparse matrices S (one dense row, one dense column), so each costs 2t - 1 multiplications
// instead of t^2. Same permutation as the textbook form (checked against poseidon-lite).
void poseidon16(const Fe inputs[16], Fe &out) {
  const uint8_t half = ROUNDS_F / 2;
  Fe s[T];
  feZero(s[0]);
  for (uint8_t i = 0; i < 16; i++) s[i + 1] = inputs[i];
  for (uint8_t j = 0; j < T; j++) addConstant(s[j], C[j]);
  for (uint8_t r = 0; r < half - 1; r++) {
    fullRound(s, (uint16_t)((r + 1) * T));
    mix(s, M);
    tick();
  }
  fullRound(s, (uint16_t)(half * T));
  mix(s, P);
  tick();
  for (uint8_t r = 0; r < ROUNDS_P; r++) {
    pow5(s[0]);
    addConstant(s[0], C[(half + 1) * T + r]);
    const uint32_t(*row)[8] = S + (uint16_t)(2 * T - 1) * r;
    Fe first, prod;
    feZero(first);
    for (uint8_t i = 0; i < T; i++) {
      feMulRaw(prod, s[i], row[i]);
      feAdd(first, first, prod);
    }
    for (uint8_t i = 1; i < T; i++) {
      feMulRaw(prod, s[0], row[T + i - 1]);
      feAdd(s[i], s[i], prod);
    }
    s[0] = first;
    tick();
  }
  for (uint8_t r = 0; r < half - 1; r++) {
    fullRound(s, (uint16_t)((half + 1) * T + ROUNDS_P + r * T));
    mix(s, M);
    tick();
  }
  for (uint8_t j = 0; j < T; j++) pow5(s[j]);
  Fe acc, prod;
  feZero(acc);
  for (uint8_t j = 0; j < T; j++) {
    feMulRaw(prod, s[j], M[j][0]);
    feAdd(acc, acc, prod);
  }
  out = acc;
  tick();
}

}  // namespace zkm
#endif
