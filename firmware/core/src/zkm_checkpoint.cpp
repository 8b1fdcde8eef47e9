#include "zkm_checkpoint.h"

#include "zkm_bytes.h"
#include "zkm_crc16.h"

namespace zkm {

void checkpointEncode(uint32_t generation, const Checkpoint &cp, uint8_t out[CHECKPOINT_ENTRY_SIZE]) {
  out[0] = CHECKPOINT_MAGIC;
  putLe32(out + 1, generation);
  putLe64(out + 5, cp.energyWh);
  putLe32(out + 13, cp.sourceRaw);
  putLe32(out + 17, cp.seqLimit);
  out[21] = cp.flags;
  uint16_t crc = crc16(out, 22);
  out[22] = (uint8_t)crc;
  out[23] = (uint8_t)(crc >> 8);
}

bool checkpointDecode(const uint8_t in[CHECKPOINT_ENTRY_SIZE], uint32_t &generation, Checkpoint &cp) {
  if (in[0] != CHECKPOINT_MAGIC) return false;
  if (crc16(in, CHECKPOINT_ENTRY_SIZE) != 0) return false;
  generation = getLe32(in + 1);
  cp.energyWh = getLe64(in + 5);
  cp.sourceRaw = getLe32(in + 13);
  cp.seqLimit = getLe32(in + 17);
  cp.flags = in[21];
  return true;
}

bool CheckpointLog::restore(Checkpoint &out) {
  uint8_t buf[CHECKPOINT_ENTRY_SIZE];
  bool found = false;
  uint32_t bestGen = 0;
  uint8_t bestSlot = 0;
  for (uint8_t slot = 0; slot < slots_; slot++) {
    store_.read((uint16_t)(base_ + slot * CHECKPOINT_ENTRY_SIZE), buf, CHECKPOINT_ENTRY_SIZE);
    uint32_t gen;
    Checkpoint cp;
    if (!checkpointDecode(buf, gen, cp)) continue;
    if (!found || gen > bestGen) {
      found = true;
      bestGen = gen;
      bestSlot = slot;
      out = cp;
    }
  }
  if (found) {
    generation_ = bestGen;
    next_ = (uint8_t)((bestSlot + 1) % slots_);
  } else {
    generation_ = 0;
    next_ = 0;
  }
  return found;
}

void CheckpointLog::append(const Checkpoint &cp) {
  uint8_t buf[CHECKPOINT_ENTRY_SIZE];
  generation_++;
  checkpointEncode(generation_, cp, buf);
  store_.write((uint16_t)(base_ + next_ * CHECKPOINT_ENTRY_SIZE), buf, CHECKPOINT_ENTRY_SIZE);
  next_ = (uint8_t)((next_ + 1) % slots_);
}

void CheckpointPolicy::prepare(uint64_t energyWh, uint32_t raw, bool rawValid, uint32_t nextSeq, Checkpoint &cp) {
  cp.energyWh = energyWh;
  cp.sourceRaw = raw;
  cp.flags = rawValid ? CHECKPOINT_RAW_VALID : 0;
  // Reserve a fresh block: after a power cut the meter resumes at seqLimit, so no number below it
  // (possibly used but not yet checkpointed) is ever reused.
  uint32_t limit = nextSeq + seqBlock_;
  if (limit < seqLimit_) limit = seqLimit_;
  cp.seqLimit = limit;
  savedWh_ = energyWh;
  seqLimit_ = limit;
}

}  // namespace zkm
