#include "zkm_periodstore.h"

#include "zkm_bytes.h"
#include "zkm_crc16.h"

namespace zkm {

// 0xC5 was the import-only close (152-byte entries).
static const uint8_t ENTRY_MAGIC = 0xC6;

void periodEncode(const BillingPeriod &p, uint8_t out[PERIOD_BYTES]) {
  memcpy(out, p.meter, 20);
  putLe64(out + 20, p.periodStart);
  putLe64(out + 28, p.periodEnd);
  putLe64(out + 36, p.startCounter);
  putLe64(out + 44, p.endCounter);
  memcpy(out + 52, p.commitment, 32);
  putLe64(out + 84, p.exportStartCounter);
  putLe64(out + 92, p.exportEndCounter);
  memcpy(out + 100, p.exportCommitment, 32);
}

void periodDecode(const uint8_t in[PERIOD_BYTES], BillingPeriod &p) {
  memcpy(p.meter, in, 20);
  p.periodStart = getLe64(in + 20);
  p.periodEnd = getLe64(in + 28);
  p.startCounter = getLe64(in + 36);
  p.endCounter = getLe64(in + 44);
  memcpy(p.commitment, in + 52, 32);
  p.exportStartCounter = getLe64(in + 84);
  p.exportEndCounter = getLe64(in + 92);
  memcpy(p.exportCommitment, in + 100, 32);
}

bool PeriodCloseStore::readEntry(uint8_t slot, BillingPeriod &p, uint8_t signature[65], uint8_t exportSignature[65]) {
  uint8_t e[PERIOD_ENTRY_BYTES];
  if (!store_.read((uint32_t)slot * PERIOD_ENTRY_BYTES, e, PERIOD_ENTRY_BYTES)) return false;
  if (e[0] != ENTRY_MAGIC || crc16(e, PERIOD_ENTRY_BYTES) != 0) return false;
  periodDecode(e + 1, p);
  memcpy(signature, e + 1 + PERIOD_BYTES, 65);
  memcpy(exportSignature, e + 1 + PERIOD_BYTES + 65, 65);
  return true;
}

bool PeriodCloseStore::put(const BillingPeriod &p, const uint8_t signature[65], const uint8_t exportSignature[65]) {
  uint8_t target = slots_, empty = slots_, oldest = slots_;
  uint64_t oldestStart = 0;
  BillingPeriod kept;
  uint8_t sig[65], exportSig[65];
  for (uint8_t slot = 0; slot < slots_; slot++) {
    if (!readEntry(slot, kept, sig, exportSig)) {
      if (empty == slots_) empty = slot;
      continue;
    }
    if (kept.periodStart == p.periodStart) target = slot;
    if (oldest == slots_ || kept.periodStart < oldestStart) {
      oldest = slot;
      oldestStart = kept.periodStart;
    }
  }
  if (target == slots_) target = empty != slots_ ? empty : oldest;
  if (target == slots_) return false;  // no slots at all
  uint8_t e[PERIOD_ENTRY_BYTES];
  e[0] = ENTRY_MAGIC;
  periodEncode(p, e + 1);
  memcpy(e + 1 + PERIOD_BYTES, signature, 65);
  memcpy(e + 1 + PERIOD_BYTES + 65, exportSignature, 65);
  uint16_t crc = crc16(e, PERIOD_ENTRY_BYTES - 2);
  e[PERIOD_ENTRY_BYTES - 2] = (uint8_t)crc;
  e[PERIOD_ENTRY_BYTES - 1] = (uint8_t)(crc >> 8);
  return store_.write((uint32_t)target * PERIOD_ENTRY_BYTES, e, PERIOD_ENTRY_BYTES);
}

bool PeriodCloseStore::find(uint64_t periodStart, BillingPeriod &p, uint8_t signature[65], uint8_t exportSignature[65]) {
  for (uint8_t slot = 0; slot < slots_; slot++) {
    if (readEntry(slot, p, signature, exportSignature) && p.periodStart == periodStart) return true;
  }
  return false;
}

}  // namespace zkm
