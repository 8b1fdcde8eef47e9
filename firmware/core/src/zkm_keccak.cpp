#include "zkm_keccak.h"

#include "zkm_config.h"
#if ZKM_WITH_CRYPTO

namespace zkm {

static const uint8_t RATE = 136;

static const uint64_t RC[24] = {
    0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL, 0x8000000080008000ULL,
    0x000000000000808bULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
    0x000000000000008aULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
    0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
    0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800aULL, 0x800000008000000aULL,
    0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL};
static const uint8_t ROT[25] = {0, 1, 62, 28, 27, 36, 44, 6, 55, 20, 3, 10, 43, 25, 39, 41, 45, 15, 21, 8, 18, 2, 61, 56, 14};

static inline uint64_t rotl(uint64_t x, uint8_t n) { return n ? (x << n) | (x >> (64 - n)) : x; }

static void keccakF(uint64_t a[25]) {
  uint64_t b[25], c[5], d[5];
  for (uint8_t round = 0; round < 24; round++) {
    for (uint8_t x = 0; x < 5; x++) c[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
    for (uint8_t x = 0; x < 5; x++) d[x] = c[(x + 4) % 5] ^ rotl(c[(x + 1) % 5], 1);
    for (uint8_t i = 0; i < 25; i++) a[i] ^= d[i % 5];
    // rho and pi: lane (x, y) moves to (y, 2x + 3y).
    for (uint8_t x = 0; x < 5; x++)
      for (uint8_t y = 0; y < 5; y++) b[y + 5 * ((2 * x + 3 * y) % 5)] = rotl(a[x + 5 * y], ROT[x + 5 * y]);
    for (uint8_t y = 0; y < 5; y++)
      for (uint8_t x = 0; x < 5; x++) a[x + 5 * y] = b[x + 5 * y] ^ (~b[(x + 1) % 5 + 5 * y] & b[(x + 2) % 5 + 5 * y]);
    a[0] ^= RC[round];
  }
}

void Keccak256::reset() {
  memset(state_, 0, sizeof(state_));
  pos_ = 0;
}

// Lanes are little-endian: byte i of the block goes to bits 8*(i%8) of lane i/8.
static inline void xorByte(uint64_t *s, uint8_t i, uint8_t v) { s[i / 8] ^= (uint64_t)v << (8 * (i % 8)); }

void Keccak256::update(const uint8_t *data, size_t len) {
  for (size_t i = 0; i < len; i++) {
    xorByte(state_, pos_++, data[i]);
    if (pos_ == RATE) {
      keccakF(state_);
      pos_ = 0;
    }
  }
}

void Keccak256::final(uint8_t out[32]) {
  xorByte(state_, pos_, 0x01);
  xorByte(state_, RATE - 1, 0x80);
  keccakF(state_);
  for (uint8_t i = 0; i < 32; i++) out[i] = (uint8_t)(state_[i / 8] >> (8 * (i % 8)));
  reset();
}

void keccak256(const uint8_t *data, size_t len, uint8_t out[32]) {
  Keccak256 k;
  k.update(data, len);
  k.final(out);
}

}  // namespace zkm
#endif
