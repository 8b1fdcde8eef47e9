// The period commitment of docs/protocol.md §3 (version 3), computed incrementally: readings are
// pushed as intervals close and folded into the Poseidon chain every 225 readings (15 packed
// elements), and added to their slot's sum (reading i is in slot i mod SLOTS), so the meter keeps
// 15 field elements and SLOTS 32-bit sums, never the period's 2976 readings. At the end the chain
// goes on over the layout word H and the slot sums packed 12 to an element in 20-bit lanes:
// C = PoseidonChain(PoseidonChain(salt, packed readings), [H, packed slot sums]): one more
// Poseidon16 permutation at 96 slots.
#ifndef ZKM_COMMITMENT_H
#define ZKM_COMMITMENT_H
#include <stdint.h>
#include <string.h>

#include "zkm_field.h"

namespace zkm {

static const uint8_t READINGS_PER_ELEMENT = 15;
static const uint8_t CHAIN_RATE = 15;
// Tariff slots per UTC day the meter can sum: 96 (15-minute intervals) or fewer, longer intervals.
static const uint8_t MAX_SLOTS = 96;
// Commitment version 3 (the PERIOD payload's v) and its slot-sum packing.
static const uint32_t COMMITMENT_VERSION = 3;
static const uint32_t SLOT_SUM_VECTORS = 1;  // one vector a commitment; import and export are committed apart
// The layout word's direction byte (bits 40..47 of H): which counter the readings come from.
static const uint8_t DIRECTION_IMPORT = 0;
static const uint8_t DIRECTION_EXPORT = 1;
static const uint8_t SUMS_PER_ELEMENT = 12;
static const uint8_t SUM_LANE_BITS = 20;
static const uint32_t MAX_SLOT_SUM = (1UL << 20) - 1;
static const uint8_t MAX_DAYS = 32;  // 32 * (2^15 - 1) < 2^20

class CommitmentChain {
 public:
  CommitmentChain() { begin(ZERO_SALT); }
  // salt: 32-byte big-endian integer < r (deriveSalt's output); slots: tariff slots per day
  // (86400 / INTERVAL), 1..MAX_SLOTS. Returns false (and finish() will too) for another slot count.
  // direction: DIRECTION_IMPORT or DIRECTION_EXPORT, hashed into H (not part of save()/load()).
  bool begin(const uint8_t salt[32], uint8_t slots = MAX_SLOTS, uint8_t direction = DIRECTION_IMPORT);
  // Appends readings[count()] (Wh, < 2^15; packed in a 16-bit lane).
  void push(uint16_t reading);
  uint32_t count() const { return count_; }
  // Pads with zero readings up to n (the period size N) and writes C (32 bytes, big-endian).
  // Returns false if more than n readings were pushed, the slot count was invalid or n spans more
  // than MAX_DAYS days of slots (a sum could outgrow its 20-bit lane). The chain must be begun
  // again afterwards.
  bool finish(uint32_t n, uint8_t out[32]);

  // Persisting the running state (so a reboot mid-period does not need the readings again).
  static const uint16_t STATE_BYTES = 4 + 1 + 1 + 32 + 32 + 15 * 32 + 1 + 4 * MAX_SLOTS;
  void save(uint8_t out[STATE_BYTES]) const;
  bool load(const uint8_t in[STATE_BYTES]);

 private:
  static const uint8_t ZERO_SALT[32];
  void flushElement();
  void absorb();
  void pushElement(const Fe &e);
  void pushLimbs(const uint32_t limbs[8]);
  Fe state_;
  Fe block_[CHAIN_RATE];  // packed elements of the current chain block (Montgomery form)
  uint32_t packed_[8];    // the packed element being filled, canonical limbs
  uint8_t inElement_;     // readings in packed_
  uint8_t inBlock_;       // elements in block_
  uint32_t count_;
  uint32_t sums_[MAX_SLOTS];  // per-slot sums of the readings pushed (each < 32 * 2^15)
  uint8_t slots_;             // 0: begun with an invalid slot count
  uint8_t direction_;
};

// salt = keccak256("zkmeter/salt/v1" || pairingKey || meter || be64(periodStart)) mod r.
void deriveSalt(const uint8_t pairingKey[32], const uint8_t meter[20], uint64_t periodStart, uint8_t salt[32]);

}  // namespace zkm
#endif
