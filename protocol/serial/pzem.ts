/** PZEM-004T v3 Modbus-RTU frames (mirrors firmware/core/src/zkm_pzem.cpp); used for test vectors. */
import { withCrc } from './crc16.ts'

export const PZEM_DEFAULT_ADDRESS = 0xf8

export interface PzemRegisters {
  voltageDeciV: number
  currentMa: number
  powerDeciW: number
  energyWh: number
  frequencyDeciHz: number
  powerFactorCenti: number
  alarm: number
}

export function pzemReadRequest(address: number): Uint8Array {
  return withCrc([address, 0x04, 0x00, 0x00, 0x00, 0x0a])
}

export function pzemResetRequest(address: number): Uint8Array {
  return withCrc([address, 0x42])
}

/** The answer a PZEM gives to a read of its ten input registers. */
export function pzemResponse(address: number, r: PzemRegisters): Uint8Array {
  const regs = [
    r.voltageDeciV,
    r.currentMa & 0xffff,
    r.currentMa >>> 16,
    r.powerDeciW & 0xffff,
    r.powerDeciW >>> 16,
    r.energyWh & 0xffff,
    r.energyWh >>> 16,
    r.frequencyDeciHz,
    r.powerFactorCenti,
    r.alarm,
  ]
  return withCrc([address, 0x04, 20, ...regs.flatMap((v) => [(v >>> 8) & 0xff, v & 0xff])])
}
