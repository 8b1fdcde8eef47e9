#include "secp256k1_signer.h"

#include <secp256k1_recovery.h>
#include <string.h>

#include "zkm_keccak.h"

namespace zkm {

Secp256k1Signer::Secp256k1Signer(const uint8_t privateKey[32])
    : ctx_(secp256k1_context_create(SECP256K1_CONTEXT_SIGN | SECP256K1_CONTEXT_VERIFY)) {
  memcpy(key_, privateKey, 32);
  valid_ = secp256k1_ec_seckey_verify(ctx_, key_) == 1;
}

Secp256k1Signer::~Secp256k1Signer() {
  memset(key_, 0, sizeof(key_));
  secp256k1_context_destroy(ctx_);
}

bool Secp256k1Signer::sign(const uint8_t digest[32], uint8_t signature[65]) {
  if (!valid_) return false;
  secp256k1_ecdsa_recoverable_signature sig;
  if (!secp256k1_ecdsa_sign_recoverable(ctx_, &sig, digest, key_, secp256k1_nonce_function_rfc6979, nullptr)) {
    return false;
  }
  int recid = 0;
  secp256k1_ecdsa_recoverable_signature_serialize_compact(ctx_, signature, &recid, &sig);
  signature[64] = (uint8_t)(27 + recid);
  return true;
}

void Secp256k1Signer::address(uint8_t out[20]) {
  secp256k1_pubkey pub;
  uint8_t serialized[65];
  size_t len = sizeof(serialized);
  if (!valid_ || !secp256k1_ec_pubkey_create(ctx_, &pub, key_)) {
    memset(out, 0, 20);
    return;
  }
  secp256k1_ec_pubkey_serialize(ctx_, serialized, &len, &pub, SECP256K1_EC_UNCOMPRESSED);
  uint8_t hash[32];
  keccak256(serialized + 1, 64, hash);
  memcpy(out, hash + 12, 20);
}

}  // namespace zkm
