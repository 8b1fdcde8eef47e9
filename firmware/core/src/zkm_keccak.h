// Keccak-256 as Ethereum uses it (original Keccak padding 0x01, not SHA3-256's 0x06).
#ifndef ZKM_KECCAK_H
#define ZKM_KECCAK_H
#include <stdint.h>
#include <string.h>

namespace zkm {

class Keccak256 {
 public:
  Keccak256() { reset(); }
  void reset();
  void update(const uint8_t *data, size_t len);
  void final(uint8_t out[32]);

 private:
  uint64_t state_[25];
  uint8_t pos_;  // bytes absorbed into the current 136-byte block
};

void keccak256(const uint8_t *data, size_t len, uint8_t out[32]);

}  // namespace zkm
#endif
