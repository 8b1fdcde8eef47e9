// Wear-levelled log of counter checkpoints. Each write goes to the next slot of a ring, so every
// cell sees 1/slots of the writes; each entry carries a generation number and a CRC-16, so a write
// torn by a power cut is simply not valid and restore falls back to the previous entry.
// See docs/firmware.md "Counter persistence" for the loss bound.
#ifndef ZKM_CHECKPOINT_H
#define ZKM_CHECKPOINT_H
#include <stdint.h>
#include <string.h>

#include "zkm_nvstore.h"

namespace zkm {

struct Checkpoint {
  uint64_t energyWh;   // cumulative import counter
  uint32_t sourceRaw;  // PZEM energy register matching energyWh
  uint32_t seqLimit;   // sequence numbers below this may have been used (see SeqAllocator)
  uint8_t flags;       // CHECKPOINT_RAW_VALID
};

static const uint8_t CHECKPOINT_RAW_VALID = 1;
static const uint8_t CHECKPOINT_ENTRY_SIZE = 24;  // magic, gen(4), payload(17), crc(2)
static const uint8_t CHECKPOINT_MAGIC = 0xC7;

void checkpointEncode(uint32_t generation, const Checkpoint &cp, uint8_t out[CHECKPOINT_ENTRY_SIZE]);
bool checkpointDecode(const uint8_t in[CHECKPOINT_ENTRY_SIZE], uint32_t &generation, Checkpoint &cp);

class CheckpointLog {
 public:
  // Occupies slots * CHECKPOINT_ENTRY_SIZE bytes of store from base.
  CheckpointLog(NvStore &store, uint16_t base, uint8_t slots)
      : store_(store), base_(base), slots_(slots), next_(0), generation_(0) {}

  // Scans the ring; returns true and the newest valid checkpoint, false on a blank/corrupt log.
  bool restore(Checkpoint &out);
  void append(const Checkpoint &cp);
  uint32_t generation() const { return generation_; }

 private:
  NvStore &store_;
  uint16_t base_;
  uint8_t slots_;
  uint8_t next_;
  uint32_t generation_;
};

// When to write: every stepWh of energy, when the sequence reservation runs out, or on brown-out.
class CheckpointPolicy {
 public:
  CheckpointPolicy(uint32_t stepWh, uint32_t seqBlock) : stepWh_(stepWh), seqBlock_(seqBlock), savedWh_(0), seqLimit_(0) {}
  void restored(const Checkpoint &cp) { savedWh_ = cp.energyWh; seqLimit_ = cp.seqLimit; }
  // seqEnd: every sequence number below it must be covered by a persisted reservation before it is
  // used (pass next() + 1 before taking one). Reserve-then-use is what makes reuse impossible.
  bool due(uint64_t energyWh, uint32_t seqEnd) const { return energyWh >= savedWh_ + stepWh_ || seqEnd > seqLimit_; }
  // Fills cp for a write now; reserves the next block of sequence numbers.
  void prepare(uint64_t energyWh, uint32_t raw, bool rawValid, uint32_t nextSeq, Checkpoint &cp);
  uint32_t seqLimit() const { return seqLimit_; }
  uint32_t stepWh() const { return stepWh_; }

 private:
  uint32_t stepWh_;
  uint32_t seqBlock_;
  uint64_t savedWh_;
  uint32_t seqLimit_;
};

}  // namespace zkm
#endif
