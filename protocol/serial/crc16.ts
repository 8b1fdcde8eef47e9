/** CRC-16/Modbus (reflected 0xA001, init 0xFFFF): PZEM Modbus-RTU frames and the UNO ↔ ESP8266 link. */
export function crc16Modbus(bytes: Uint8Array): number {
  let crc = 0xffff
  for (const byte of bytes) {
    crc ^= byte
    for (let i = 0; i < 8; i++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1
  }
  return crc
}
