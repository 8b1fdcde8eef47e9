#include "zkm_sdm.h"

#include "zkm_crc16.h"

namespace zkm {

void sdmReadRequest(uint8_t address, uint16_t first, uint8_t count, uint8_t out[SDM_REQUEST_LEN]) {
  out[0] = address;
  out[1] = SDM_READ_INPUT;
  out[2] = (uint8_t)(first >> 8);
  out[3] = (uint8_t)first;
  out[4] = 0x00;
  out[5] = count;
  uint16_t crc = crc16(out, 6);
  out[6] = (uint8_t)(crc & 0xFF);  // Modbus sends the CRC low byte first
  out[7] = (uint8_t)(crc >> 8);
}

bool floatBitsScaled(uint32_t bits, uint32_t scale, int64_t &out) {
  const bool negative = (bits >> 31) != 0;
  const int16_t exponent = (int16_t)((bits >> 23) & 0xFF);
  const uint32_t fraction = bits & 0x7FFFFFUL;
  if (exponent == 0xFF) return false;  // infinity or NaN
  // value = m · 2^(e − 150): subnormals have e = 1 and no implicit bit.
  const uint64_t m = exponent == 0 ? fraction : (fraction | 0x800000UL);
  const int16_t shift = (int16_t)((exponent == 0 ? 1 : exponent) - 150);
  const uint64_t scaled = m * (uint64_t)scale;  // < 2^24 · 2^32 = 2^56
  uint64_t magnitude;
  if (shift >= 0) {
    if (scaled != 0 && (shift >= 62 || (scaled >> (62 - shift)) != 0)) return false;
    magnitude = scaled << shift;
  } else if (-shift >= 63) {
    magnitude = 0;
  } else {
    const uint8_t s = (uint8_t)(-shift);
    magnitude = (scaled + (1ULL << (s - 1))) >> s;  // half away from zero
  }
  out = negative ? -(int64_t)magnitude : (int64_t)magnitude;
  return true;
}

static uint32_t be32(const uint8_t *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

// Checks a response of `count` registers; returns its data or sets status.
static const uint8_t *checkFrame(uint8_t address, const uint8_t *frame, uint8_t len, uint8_t count, SdmStatus &status) {
  if (len >= 5 && frame[1] == (SDM_READ_INPUT | 0x80)) {
    status = crc16(frame, 5) != 0 ? SDM_BAD_CRC : SDM_EXCEPTION;
    return 0;
  }
  const uint8_t expected = (uint8_t)(5 + 2 * count);
  if (len < expected) {
    status = SDM_SHORT;
    return 0;
  }
  // A CRC computed over the frame including its own CRC is 0 for an intact frame.
  if (crc16(frame, expected) != 0) {
    status = SDM_BAD_CRC;
    return 0;
  }
  if (frame[0] != address || frame[1] != SDM_READ_INPUT || frame[2] != 2 * count) {
    status = SDM_BAD_HEADER;
    return 0;
  }
  status = SDM_OK;
  return frame + 3;
}

// Register r of the block as a float scaled to an integer in [min, max].
static bool field(const uint8_t *data, uint8_t r, uint32_t scale, int64_t min, int64_t max, int64_t &out) {
  return floatBitsScaled(be32(data + 2 * r), scale, out) && out >= min && out <= max;
}

SdmStatus sdmParseInstant(uint8_t address, const uint8_t *frame, uint8_t len, SdmInstant &out) {
  SdmStatus status;
  const uint8_t *d = checkFrame(address, frame, len, SDM_INSTANT_COUNT, status);
  if (!d) return status;
  int64_t v, i, p, pf;
  if (!field(d, 0x00, 1000, 0, 0xFFFFFFFFLL, v) || !field(d, 0x06, 1000, 0, 0xFFFFFFFFLL, i) ||
      !field(d, 0x0C, 1, -0x7FFFFFFFLL, 0x7FFFFFFFLL, p) || !field(d, 0x1E, 1000, -1000, 1000, pf)) {
    return SDM_BAD_VALUE;
  }
  out.voltageMv = (uint32_t)v;
  out.currentMa = (uint32_t)i;
  out.powerW = (int32_t)p;
  out.powerFactorPermille = (uint16_t)(pf < 0 ? -pf : pf);
  return SDM_OK;
}

SdmStatus sdmParseEnergy(uint8_t address, const uint8_t *frame, uint8_t len, SdmEnergy &out) {
  SdmStatus status;
  const uint8_t *d = checkFrame(address, frame, len, SDM_ENERGY_COUNT, status);
  if (!d) return status;
  int64_t imported, exported;
  // Registers 0x48 and 0x4A are 0 and 2 of this block; kWh → Wh, never negative.
  if (!field(d, 0, 1000, 0, 0xFFFFFFFFLL, imported) || !field(d, 2, 1000, 0, 0xFFFFFFFFLL, exported)) {
    return SDM_BAD_VALUE;
  }
  out.importWh = (uint32_t)imported;
  out.exportWh = (uint32_t)exported;
  return SDM_OK;
}

}  // namespace zkm
