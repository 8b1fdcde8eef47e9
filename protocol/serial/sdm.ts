/**
 * A bidirectional metering source on Modbus-RTU: the Eastron SDM120-Modbus register map (mirrors
 * firmware/core/src/zkm_sdm.cpp). Builds the requests a meter sends and the answers an SDM gives,
 * so it is the simulated meter of the tests and the source of the shared vectors; and the
 * reference of how the firmware turns its float32 registers into integers (scaled, rounded half
 * away from zero, exactly: no float arithmetic on the UNO).
 */
import { withCrc } from './crc16.ts'

export const SDM_DEFAULT_ADDRESS = 0x01
export const SDM_INSTANT_FIRST = 0x0000
export const SDM_INSTANT_COUNT = 32
export const SDM_ENERGY_FIRST = 0x0048
export const SDM_ENERGY_COUNT = 4

/** What an SDM measures, in its own units: V, A, W (negative = exporting), PF, kWh. */
export interface SdmValues {
  voltageV: number
  currentA: number
  powerW: number
  powerFactor: number
  importKwh: number
  exportKwh: number
}

export function sdmReadRequest(address: number, first: number, count: number): Uint8Array {
  return withCrc([address, 0x04, first >>> 8, first & 0xff, 0x00, count])
}

/** A block of `count` registers starting at `first`, each float32 big-endian in two registers. */
function block(address: number, count: number, floats: Map<number, number>): Uint8Array {
  const data = new Uint8Array(2 * count)
  const view = new DataView(data.buffer)
  for (const [register, value] of floats) view.setFloat32(2 * register, value, false)
  return withCrc([address, 0x04, 2 * count, ...data])
}

/** The answer to a read of 0x0000..0x001F: voltage, current, active power, power factor. */
export function sdmInstantResponse(address: number, v: SdmValues): Uint8Array {
  return block(
    address,
    SDM_INSTANT_COUNT,
    new Map([
      [0x00, v.voltageV],
      [0x06, v.currentA],
      [0x0c, v.powerW],
      [0x1e, v.powerFactor],
    ]),
  )
}

/** The answer to a read of 0x0048..0x004B: import and export active energy. */
export function sdmEnergyResponse(address: number, v: SdmValues): Uint8Array {
  return block(
    address,
    SDM_ENERGY_COUNT,
    new Map([
      [0, v.importKwh],
      [2, v.exportKwh],
    ]),
  )
}

/** value × scale of the float32 nearest `value`, rounded half away from zero (the firmware's rule). */
export function float32Scaled(value: number, scale: number): number {
  const f = Math.fround(value)
  // f has 24 significant bits and scale ≤ 2^10 here: f × scale is exact in a double.
  const magnitude = Math.floor(Math.abs(f) * scale + 0.5)
  return f < 0 ? -magnitude : magnitude
}

/** What the firmware reads from the two answers (zkm::SdmInstant and zkm::SdmEnergy). */
export function sdmReading(v: SdmValues) {
  return {
    voltageMv: float32Scaled(v.voltageV, 1000),
    currentMa: float32Scaled(v.currentA, 1000),
    powerW: float32Scaled(v.powerW, 1),
    powerFactorPermille: Math.abs(float32Scaled(v.powerFactor, 1000)),
    importWh: float32Scaled(v.importKwh, 1000),
    exportWh: float32Scaled(v.exportKwh, 1000),
  }
}
