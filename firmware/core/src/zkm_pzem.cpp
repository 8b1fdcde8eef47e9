#include "zkm_pzem.h"

#include "zkm_crc16.h"

namespace zkm {

static void appendCrc(uint8_t *frame, uint8_t len) {
  uint16_t crc = crc16(frame, len);
  frame[len] = (uint8_t)(crc & 0xFF);  // Modbus sends the CRC low byte first
  frame[len + 1] = (uint8_t)(crc >> 8);
}

void pzemReadRequest(uint8_t address, uint8_t out[PZEM_REQUEST_LEN]) {
  out[0] = address;
  out[1] = PZEM_READ_INPUT;
  out[2] = 0x00;  // first register
  out[3] = 0x00;
  out[4] = 0x00;  // register count
  out[5] = 0x0A;
  appendCrc(out, 6);
}

void pzemResetRequest(uint8_t address, uint8_t out[4]) {
  out[0] = address;
  out[1] = PZEM_RESET_ENERGY;
  appendCrc(out, 2);
}

static uint16_t reg(const uint8_t *data, uint8_t index) {
  return (uint16_t)(((uint16_t)data[2 * index] << 8) | data[2 * index + 1]);
}

static uint32_t reg32(const uint8_t *data, uint8_t lowIndex) {
  return (uint32_t)reg(data, lowIndex) | ((uint32_t)reg(data, lowIndex + 1) << 16);
}

PzemStatus pzemParseResponse(uint8_t address, const uint8_t *frame, uint8_t len, PzemReading &out) {
  if (len >= 5 && frame[1] == (PZEM_READ_INPUT | 0x80)) {
    if (crc16(frame, 5) != 0) return PZEM_BAD_CRC;
    return PZEM_EXCEPTION;
  }
  if (len < PZEM_RESPONSE_LEN) return PZEM_SHORT;
  // A CRC computed over the frame including its own CRC is 0 for an intact frame.
  if (crc16(frame, PZEM_RESPONSE_LEN) != 0) return PZEM_BAD_CRC;
  if ((address != PZEM_DEFAULT_ADDRESS && frame[0] != address) || frame[1] != PZEM_READ_INPUT || frame[2] != 20) {
    return PZEM_BAD_HEADER;
  }
  const uint8_t *d = frame + 3;
  out.voltageMv = (uint32_t)reg(d, 0) * 100UL;
  out.currentMa = reg32(d, 1);
  out.powerDeciW = reg32(d, 3);
  out.energyWh = reg32(d, 5);
  out.frequencyDeciHz = reg(d, 7);
  out.powerFactorPermille = (uint16_t)(reg(d, 8) * 10U);
  out.alarm = reg(d, 9) ? 1 : 0;
  return PZEM_OK;
}

}  // namespace zkm
