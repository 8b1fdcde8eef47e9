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

void poseidon16(const Fe inputs[16], Fe &out) {
  Fe state[T];
  Fe next[T];
  feZero(state[0]);
  for (uint8_t i = 0; i < 16; i++) state[i + 1] = inputs[i];
  const uint8_t rounds = ROUNDS_F + ROUNDS_P;
  for (uint8_t r = 0; r < rounds; r++) {
    bool full = r < ROUNDS_F / 2 || r >= ROUNDS_F / 2 + ROUNDS_P;
    for (uint8_t y = 0; y < T; y++) {
      addConstant(state[y], C[(uint16_t)r * T + y]);
      if (full || y == 0) pow5(state[y]);
    }
    for (uint8_t x = 0; x < T; x++) {
      Fe acc, prod;
      feZero(acc);
      for (uint8_t y = 0; y < T; y++) {
        feMulRaw(prod, state[y], M[x][y]);
        feAdd(acc, acc, prod);
      }
      next[x] = acc;
    }
    memcpy(state, next, sizeof(state));
    if (yieldFn) yieldFn();
  }
  out = state[0];
}

}  // namespace zkm
#endif
