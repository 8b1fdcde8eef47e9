// Arithmetic modulo the BN254 scalar field order r, in Montgomery form with eight 32-bit limbs
// (little-endian): 32x32->64 multiplies are what both the lx106 and a host do well, and the
// code has no dependency beyond <stdint.h>.
#ifndef ZKM_FIELD_H
#define ZKM_FIELD_H
#include <stdint.h>
#include <string.h>

namespace zkm {

struct Fe {
  uint32_t v[8];
};

void feZero(Fe &out);
void feAdd(Fe &out, const Fe &a, const Fe &b);
// Montgomery product a * b / 2^256 mod r (operands and result in Montgomery form).
void feMul(Fe &out, const Fe &a, const Fe &b);
void feMulRaw(Fe &out, const Fe &a, const uint32_t b[8]);
// A 32-byte big-endian integer, reduced mod r, into Montgomery form.
void feFromBytesBe(Fe &out, const uint8_t in[32]);
// Montgomery form back to a canonical 32-byte big-endian integer.
void feToBytesBe(uint8_t out[32], const Fe &a);
// Canonical integer (limbs, < r) into Montgomery form.
void feFromLimbs(Fe &out, const uint32_t limbs[8]);
// Reduces a 32-byte big-endian integer mod r without leaving canonical form (for the salt).
void reduceBytesBe(uint8_t out[32], const uint8_t in[32]);

}  // namespace zkm
#endif
