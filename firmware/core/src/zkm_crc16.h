// CRC-16/Modbus (reflected poly 0xA001, init 0xFFFF): used by the PZEM's Modbus-RTU frames and,
// so both links share one well-tested routine, by the UNO <-> ESP8266 serial frames.
#ifndef ZKM_CRC16_H
#define ZKM_CRC16_H
#include <stdint.h>
#include <string.h>

namespace zkm {

uint16_t crc16Update(uint16_t crc, uint8_t byte);
uint16_t crc16(const uint8_t *data, size_t len);

}  // namespace zkm
#endif
