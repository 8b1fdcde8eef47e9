#include "zkm_recordlog.h"

#include "zkm_bytes.h"
#include "zkm_crc16.h"

namespace zkm {

// 0xA5 was format 1 (56-byte records): such an entry reads as absent, never as a format-2 record.
static const uint8_t ENTRY_MAGIC = 0xA6;

void recordEncode(const MeterRecord &r, uint8_t out[RECORD_BYTES]) {
  putLe64(out, r.seq);
  out[8] = r.kind;
  putLe64(out + 9, r.time);
  putLe64(out + 17, r.energyWh);
  putLe32(out + 25, r.intervalWh);
  putLe32(out + 29, r.powerW);
  putLe32(out + 33, r.voltageMv);
  putLe32(out + 37, r.currentMa);
  putLe16(out + 41, r.powerFactor);
  putLe32(out + 43, (uint32_t)r.temperatureCenti);
  putLe16(out + 47, r.light);
  putLe16(out + 49, r.gas);
  putLe16(out + 51, r.water);
  out[53] = r.hazards;
  out[54] = r.relays;
  out[55] = r.fanSpeed;
  putLe64(out + 56, r.exportedWh);
  putLe32(out + 64, r.intervalExportedWh);
}

void recordDecode(const uint8_t in[RECORD_BYTES], MeterRecord &r) {
  r.seq = getLe64(in);
  r.kind = in[8];
  r.time = getLe64(in + 9);
  r.energyWh = getLe64(in + 17);
  r.intervalWh = getLe32(in + 25);
  r.powerW = getLe32(in + 29);
  r.voltageMv = getLe32(in + 33);
  r.currentMa = getLe32(in + 37);
  r.powerFactor = getLe16(in + 41);
  r.temperatureCenti = (int32_t)getLe32(in + 43);
  r.light = getLe16(in + 47);
  r.gas = getLe16(in + 49);
  r.water = getLe16(in + 51);
  r.hazards = in[53];
  r.relays = in[54];
  r.fanSpeed = in[55];
  r.exportedWh = getLe64(in + 56);
  r.intervalExportedWh = getLe32(in + 64);
}

bool RecordLog::readEntry(uint32_t slot, MeterRecord &r, uint8_t signature[65]) {
  uint8_t e[RECORD_ENTRY_BYTES];
  if (!store_.read(slot * RECORD_ENTRY_BYTES, e, RECORD_ENTRY_BYTES)) return false;
  if (e[0] != ENTRY_MAGIC || crc16(e, RECORD_ENTRY_BYTES) != 0) return false;
  recordDecode(e + 1, r);
  memcpy(signature, e + 1 + RECORD_BYTES, 65);
  return r.seq % slots_ == slot;
}

uint64_t RecordLog::restore() {
  MeterRecord r;
  uint8_t sig[65];
  any_ = false;
  next_ = 0;
  for (uint32_t slot = 0; slot < slots_; slot++) {
    if (readEntry(slot, r, sig) && (!any_ || r.seq >= next_)) {
      next_ = r.seq + 1;
      any_ = true;
    }
  }
  return next_;
}

bool RecordLog::append(const MeterRecord &r, const uint8_t signature[65]) {
  if (r.seq != next_) return false;
  uint8_t e[RECORD_ENTRY_BYTES];
  e[0] = ENTRY_MAGIC;
  recordEncode(r, e + 1);
  memcpy(e + 1 + RECORD_BYTES, signature, 65);
  uint16_t crc = crc16(e, RECORD_ENTRY_BYTES - 2);
  e[RECORD_ENTRY_BYTES - 2] = (uint8_t)crc;
  e[RECORD_ENTRY_BYTES - 1] = (uint8_t)(crc >> 8);
  if (!store_.write((uint32_t)(r.seq % slots_) * RECORD_ENTRY_BYTES, e, RECORD_ENTRY_BYTES)) return false;
  next_ = r.seq + 1;
  any_ = true;
  return true;
}

bool RecordLog::find(uint64_t seq, MeterRecord &r, uint8_t signature[65]) {
  if (!any_ || seq >= next_) return false;
  return readEntry((uint32_t)(seq % slots_), r, signature) && r.seq == seq;
}

}  // namespace zkm
