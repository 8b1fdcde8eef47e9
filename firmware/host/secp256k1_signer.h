// zkm::Signer over Debian's libsecp256k1 for host tests and benchmarks: RFC 6979 nonces (the
// library default) and low-S signatures (the library always normalises), so its output matches
// @noble/curves byte for byte.
#ifndef ZKM_HOST_SECP256K1_SIGNER_H
#define ZKM_HOST_SECP256K1_SIGNER_H
#include <secp256k1.h>
#include <stdint.h>

#include "zkm_signer.h"

namespace zkm {

class Secp256k1Signer : public Signer {
 public:
  // privateKey: 32 bytes, big-endian; valid() tells whether the library accepted it.
  explicit Secp256k1Signer(const uint8_t privateKey[32]);
  ~Secp256k1Signer();
  Secp256k1Signer(const Secp256k1Signer &) = delete;
  Secp256k1Signer &operator=(const Secp256k1Signer &) = delete;
  bool valid() const { return valid_; }
  bool sign(const uint8_t digest[32], uint8_t signature[65]) override;
  void address(uint8_t out[20]) override;

 private:
  secp256k1_context *ctx_;
  uint8_t key_[32];
  bool valid_;
};

}  // namespace zkm
#endif
