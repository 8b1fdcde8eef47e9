/** CRC-16/Modbus (reflected 0xA001, init 0xFFFF): PZEM Modbus-RTU frames and the UNO ↔ ESP8266 link. */
export function crc16Modbus(bytes: Uint8Array): number {
  let crc = 0xffff
  for (const byte of bytes) {
    crc ^= byte
    for (let i = 0; i < 8; i++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1
  }
  return crc
}

/** A Modbus RTU frame: `body` followed by its CRC-16, low byte first (PZEM-004T and SDM120 alike). */
export function withCrc(body: number[]): Uint8Array {
  const out = new Uint8Array(body.length + 2)
  out.set(body)
  const crc = crc16Modbus(out.subarray(0, body.length))
  out[body.length] = crc & 0xff
  out[body.length + 1] = crc >>> 8
  return out
}
