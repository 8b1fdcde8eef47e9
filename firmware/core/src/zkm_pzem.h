// PZEM-004T v3 over Modbus-RTU: the request frames the meter sends and the parser of its answers.
// Register map (input registers 0x0000..0x0009): voltage 0.1 V; current 0.001 A (32-bit, low word
// first); power 0.1 W (32-bit); energy 1 Wh (32-bit); frequency 0.1 Hz; power factor 0.01; alarm.
#ifndef ZKM_PZEM_H
#define ZKM_PZEM_H
#include <stdint.h>
#include <string.h>

namespace zkm {

static const uint8_t PZEM_DEFAULT_ADDRESS = 0xF8;  // the "general" address every PZEM answers
static const uint8_t PZEM_READ_INPUT = 0x04;
static const uint8_t PZEM_RESET_ENERGY = 0x42;
static const uint8_t PZEM_REQUEST_LEN = 8;
static const uint8_t PZEM_RESPONSE_LEN = 25;  // addr, func, count(20), 20 data bytes, CRC
// The PZEM's energy register counts 0 .. 9999.99 kWh and then starts again at 0.
static const uint32_t PZEM_ENERGY_MODULUS = 10000000UL;

struct PzemReading {
  uint32_t voltageMv;
  uint32_t currentMa;
  uint32_t powerDeciW;
  uint32_t energyWh;  // the module's own counter, wraps at PZEM_ENERGY_MODULUS
  uint16_t frequencyDeciHz;
  uint16_t powerFactorPermille;
  uint8_t alarm;
};

enum PzemStatus : uint8_t {
  PZEM_OK = 0,
  PZEM_SHORT = 1,       // fewer bytes than a full answer (timeout)
  PZEM_BAD_CRC = 2,
  PZEM_BAD_HEADER = 3,  // wrong address / function / byte count
  PZEM_EXCEPTION = 4,   // the module answered with a Modbus exception (function | 0x80)
};

// Read all ten input registers: 8 bytes into out.
void pzemReadRequest(uint8_t address, uint8_t out[PZEM_REQUEST_LEN]);
// Reset the energy counter: 4 bytes into out.
void pzemResetRequest(uint8_t address, uint8_t out[4]);
PzemStatus pzemParseResponse(uint8_t address, const uint8_t *frame, uint8_t len, PzemReading &out);

}  // namespace zkm
#endif
