#include "zkm_link.h"

#include "zkm_bytes.h"
#include "zkm_crc16.h"

namespace zkm {

uint8_t linkEncode(uint8_t type, const uint8_t *payload, uint8_t len, uint8_t *out) {
  if (len > LINK_MAX_PAYLOAD) return 0;
  out[0] = LINK_START;
  out[1] = len;
  out[2] = type;
  if (len) memcpy(out + 3, payload, len);
  uint16_t crc = crc16(out + 1, (size_t)len + 2);
  out[3 + len] = (uint8_t)crc;
  out[4 + len] = (uint8_t)(crc >> 8);
  return (uint8_t)(len + LINK_OVERHEAD);
}

bool LinkDecoder::check() {
  uint8_t len = buf_[1];
  return crc16(buf_ + 1, (size_t)len + 4) == 0;  // CRC over len..crc of an intact frame is 0
}

// Drops the current start byte and restarts from the next 0x7E already buffered, so a frame that
// began inside a corrupted one is still found.
void LinkDecoder::resync() {
  errors_++;
  uint8_t i = 1;
  while (i < fill_ && buf_[i] != LINK_START) i++;
  memmove(buf_, buf_ + i, fill_ - i);
  fill_ = (uint8_t)(fill_ - i);
}

bool LinkDecoder::push(uint8_t byte) {
  if (fill_ == 0 && byte != LINK_START) return false;
  buf_[fill_++] = byte;
  return parse();
}

bool LinkDecoder::idle() {
  while (fill_) {
    if (parse()) return true;  // a complete frame was still waiting
    resync();                  // what is left is a partial frame that can no longer complete
  }
  return false;
}

bool LinkDecoder::parse() {
  for (;;) {
    if (fill_ < 2) return false;
    if (buf_[1] > LINK_MAX_PAYLOAD) {
      resync();
      continue;
    }
    uint8_t need = (uint8_t)(buf_[1] + LINK_OVERHEAD);
    if (fill_ < need) return false;
    if (check()) {
      memcpy(frame_, buf_, need);
      memmove(buf_, buf_ + need, fill_ - need);
      fill_ = (uint8_t)(fill_ - need);
      uint8_t skip = 0;  // bytes after a frame that cannot start one are line noise
      while (skip < fill_ && buf_[skip] != LINK_START) skip++;
      memmove(buf_, buf_ + skip, fill_ - skip);
      fill_ = (uint8_t)(fill_ - skip);
      return true;
    }
    resync();
  }
}

void measurementEncode(const Measurement &m, uint8_t out[MEASUREMENT_SIZE]) {
  putLe64(out, m.energyWh);
  putLe32(out + 8, m.powerW);
  putLe32(out + 12, m.voltageMv);
  putLe32(out + 16, m.currentMa);
  putLe16(out + 20, m.powerFactor);
  putLe32(out + 22, (uint32_t)m.temperatureCenti);
  putLe16(out + 26, m.light);
  putLe16(out + 28, m.gas);
  putLe16(out + 30, m.water);
  out[32] = m.hazards;
  out[33] = m.relays;
  out[34] = m.fanSpeed;
  out[35] = m.source;
  putLe64(out + 36, m.exportedWh);
}

bool measurementDecode(const uint8_t *in, uint8_t len, Measurement &m) {
  if (len != MEASUREMENT_SIZE) return false;
  m.energyWh = getLe64(in);
  m.powerW = getLe32(in + 8);
  m.voltageMv = getLe32(in + 12);
  m.currentMa = getLe32(in + 16);
  m.powerFactor = getLe16(in + 20);
  m.temperatureCenti = (int32_t)getLe32(in + 22);
  m.light = getLe16(in + 26);
  m.gas = getLe16(in + 28);
  m.water = getLe16(in + 30);
  m.hazards = in[32];
  m.relays = in[33];
  m.fanSpeed = in[34];
  m.source = in[35];
  m.exportedWh = getLe64(in + 36);
  return true;
}

}  // namespace zkm
