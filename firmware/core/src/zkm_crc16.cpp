#include "zkm_crc16.h"

namespace zkm {

// Bitwise rather than table-driven: a 512-byte table would cost a quarter of the UNO's SRAM
// budget (or PROGMEM plumbing), and the frames are short.
uint16_t crc16Update(uint16_t crc, uint8_t byte) {
  crc ^= byte;
  for (uint8_t i = 0; i < 8; i++) crc = (crc & 1) ? (uint16_t)((crc >> 1) ^ 0xA001) : (uint16_t)(crc >> 1);
  return crc;
}

uint16_t crc16(const uint8_t *data, size_t len) {
  uint16_t crc = 0xFFFF;
  for (size_t i = 0; i < len; i++) crc = crc16Update(crc, data[i]);
  return crc;
}

}  // namespace zkm
