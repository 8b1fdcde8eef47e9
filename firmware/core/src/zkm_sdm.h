// A bidirectional metering source: an Eastron SDM120-Modbus (and register-compatible single-phase
// meters) over Modbus-RTU, the same bus and framing as the PZEM-004T. Unlike the PZEM it sees the
// direction of the power: active power is signed (negative while exporting) and it keeps two
// energy registers, import (OBIS 1.8.0) and export (2.8.0) active energy. Input registers are
// IEEE-754 float32, big-endian, two registers each:
//   0x0000 voltage V · 0x0006 current A · 0x000C active power W · 0x001E power factor
//   0x0048 import active energy kWh · 0x004A export active energy kWh
// One poll reads two blocks (0x0000..0x001F, then 0x0048..0x004B). Floats become integers with
// integer arithmetic only (no float library on the UNO), exact to the float's own value and
// rounded half away from zero; NaN, infinities, negative energy and values beyond the
// Measurement's fields are SDM_BAD_VALUE (never a reading).
#ifndef ZKM_SDM_H
#define ZKM_SDM_H
#include <stdint.h>
#include <string.h>

namespace zkm {

static const uint8_t SDM_DEFAULT_ADDRESS = 0x01;
static const uint8_t SDM_READ_INPUT = 0x04;
static const uint8_t SDM_REQUEST_LEN = 8;
static const uint16_t SDM_INSTANT_FIRST = 0x0000;
static const uint8_t SDM_INSTANT_COUNT = 32;  // up to and including the power factor at 0x1E
static const uint16_t SDM_ENERGY_FIRST = 0x0048;
static const uint8_t SDM_ENERGY_COUNT = 4;    // import and export active energy
static const uint8_t SDM_INSTANT_RESPONSE_LEN = 5 + 2 * SDM_INSTANT_COUNT;
static const uint8_t SDM_ENERGY_RESPONSE_LEN = 5 + 2 * SDM_ENERGY_COUNT;

enum SdmStatus : uint8_t {
  SDM_OK = 0,
  SDM_SHORT = 1,       // fewer bytes than a full answer (timeout)
  SDM_BAD_CRC = 2,
  SDM_BAD_HEADER = 3,  // wrong address / function / byte count
  SDM_EXCEPTION = 4,   // a Modbus exception (function | 0x80)
  SDM_BAD_VALUE = 5,   // NaN, infinite, negative energy, or out of range
};

struct SdmInstant {
  uint32_t voltageMv;
  uint32_t currentMa;
  int32_t powerW;  // negative: exporting
  uint16_t powerFactorPermille;  // magnitude (the sign is lead/lag, not direction)
};

struct SdmEnergy {
  uint32_t importWh;
  uint32_t exportWh;
};

void sdmReadRequest(uint8_t address, uint16_t first, uint8_t count, uint8_t out[SDM_REQUEST_LEN]);
SdmStatus sdmParseInstant(uint8_t address, const uint8_t *frame, uint8_t len, SdmInstant &out);
SdmStatus sdmParseEnergy(uint8_t address, const uint8_t *frame, uint8_t len, SdmEnergy &out);

// value × scale of an IEEE-754 float32 given by its bits, rounded half away from zero, as an
// integer: false for NaN, infinities and magnitudes of 2^62 or more.
bool floatBitsScaled(uint32_t bits, uint32_t scale, int64_t &out);

}  // namespace zkm
#endif
