#include "zkm_field.h"

#include "zkm_config.h"
#if ZKM_WITH_CRYPTO
#include "zkm_poseidon16_constants.h"

namespace zkm {

using bn254::MODULUS;

static bool geq(const uint32_t *a, const uint32_t *b) {
  for (int8_t i = 7; i >= 0; i--) {
    if (a[i] != b[i]) return a[i] > b[i];
  }
  return true;
}

// a -= b, returns the borrow.
static uint32_t subInPlace(uint32_t *a, const uint32_t *b) {
  uint64_t borrow = 0;
  for (uint8_t i = 0; i < 8; i++) {
    uint64_t d = (uint64_t)a[i] - b[i] - borrow;
    a[i] = (uint32_t)d;
    borrow = (d >> 63) & 1;
  }
  return (uint32_t)borrow;
}

void feZero(Fe &out) { memset(out.v, 0, sizeof(out.v)); }

void feAdd(Fe &out, const Fe &a, const Fe &b) {
  uint64_t carry = 0;
  for (uint8_t i = 0; i < 8; i++) {
    carry += (uint64_t)a.v[i] + b.v[i];
    out.v[i] = (uint32_t)carry;
    carry >>= 32;
  }
  // r < 2^254, so a + b < 2^255 never carries out; one conditional subtraction suffices.
  if (geq(out.v, MODULUS)) subInPlace(out.v, MODULUS);
}

// 32x32 -> 64-bit product. The lx106 has no high-word multiply (MULUH), so GCC would call the ROM's
// 64x64 __muldi3 for a plain widening product; four 16x16 MUL16U products are cheaper and inline.
static inline __attribute__((always_inline)) uint64_t mulWide(uint32_t a, uint32_t b) {
#if defined(__XTENSA__)
  uint32_t al = a & 0xFFFF, ah = a >> 16, bl = b & 0xFFFF, bh = b >> 16;
  uint32_t ll = al * bl, lh = al * bh, hl = ah * bl, hh = ah * bh;
  uint32_t mid = (ll >> 16) + (lh & 0xFFFF) + (hl & 0xFFFF);
  uint32_t lo = (ll & 0xFFFF) | (mid << 16);
  uint32_t hi = hh + (lh >> 16) + (hl >> 16) + (mid >> 16);
  return ((uint64_t)hi << 32) | lo;
#else
  return (uint64_t)a * b;
#endif
}

// CIOS Montgomery multiplication (Koc, Acar, Kaliski 1996).
void feMulRaw(Fe &out, const Fe &a, const uint32_t b[8]) {
  uint32_t t[10];
  memset(t, 0, sizeof(t));
  for (uint8_t i = 0; i < 8; i++) {
    uint64_t c = 0;
    uint32_t bi = b[i];
    for (uint8_t j = 0; j < 8; j++) {
      c += mulWide(a.v[j], bi) + t[j];
      t[j] = (uint32_t)c;
      c >>= 32;
    }
    c += t[8];
    t[8] = (uint32_t)c;
    t[9] = (uint32_t)(c >> 32);
    uint32_t m = t[0] * bn254::N_PRIME;
    c = (mulWide(m, MODULUS[0]) + t[0]) >> 32;
    for (uint8_t j = 1; j < 8; j++) {
      c += mulWide(m, MODULUS[j]) + t[j];
      t[j - 1] = (uint32_t)c;
      c >>= 32;
    }
    c += t[8];
    t[7] = (uint32_t)c;
    t[8] = t[9] + (uint32_t)(c >> 32);
  }
  if (t[8] || geq(t, MODULUS)) subInPlace(t, MODULUS);
  memcpy(out.v, t, sizeof(out.v));
}

void feMul(Fe &out, const Fe &a, const Fe &b) { feMulRaw(out, a, b.v); }

static void limbsFromBytesBe(uint32_t out[8], const uint8_t in[32]) {
  for (uint8_t i = 0; i < 8; i++) {
    const uint8_t *p = in + 28 - 4 * i;
    out[i] = ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
  }
}

static void limbsToBytesBe(uint8_t out[32], const uint32_t in[8]) {
  for (uint8_t i = 0; i < 8; i++) {
    uint8_t *p = out + 28 - 4 * i;
    p[0] = (uint8_t)(in[i] >> 24);
    p[1] = (uint8_t)(in[i] >> 16);
    p[2] = (uint8_t)(in[i] >> 8);
    p[3] = (uint8_t)in[i];
  }
}

static void reduceLimbs(uint32_t x[8]) {
  // x < 2^256 < 6r: at most five subtractions.
  while (geq(x, MODULUS)) subInPlace(x, MODULUS);
}

void reduceBytesBe(uint8_t out[32], const uint8_t in[32]) {
  uint32_t x[8];
  limbsFromBytesBe(x, in);
  reduceLimbs(x);
  limbsToBytesBe(out, x);
}

void feFromLimbs(Fe &out, const uint32_t limbs[8]) {
  Fe x;
  memcpy(x.v, limbs, sizeof(x.v));
  feMulRaw(out, x, bn254::R2);  // x * 2^512 / 2^256 = x * 2^256
}

void feFromBytesBe(Fe &out, const uint8_t in[32]) {
  uint32_t x[8];
  limbsFromBytesBe(x, in);
  reduceLimbs(x);
  feFromLimbs(out, x);
}

void feToBytesBe(uint8_t out[32], const Fe &a) {
  static const uint32_t ONE[8] = {1, 0, 0, 0, 0, 0, 0, 0};
  Fe x;
  feMulRaw(x, a, ONE);
  limbsToBytesBe(out, x.v);
}

}  // namespace zkm
#endif
