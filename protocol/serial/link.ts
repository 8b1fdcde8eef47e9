/**
 * The UNO ↔ ESP8266 serial frame (docs/firmware.md "Serial link"), mirroring
 * firmware/core/src/zkm_link.cpp: `0x7E | len | type | payload[len] | crc16 lo | crc16 hi`, CRC-16/Modbus
 * over len, type and payload. The same frames reach the node when a meter is wired to it by USB.
 */
import { InvalidInputError } from '../errors.ts'
import { crc16Modbus } from './crc16.ts'

export const LINK_START = 0x7e
export const LINK_MAX_PAYLOAD = 48
export const LINK_OVERHEAD = 5
/** Quiet time after which a partial frame is abandoned (about 20 byte times at 9600 baud). */
export const LINK_IDLE_MS = 20

export const LinkType = {
  measurement: 0x01,
  setRelay: 0x10,
  setFan: 0x11,
  heartbeat: 0x12,
} as const

/**
 * Where the UNO's energy came from: the PZEM-004T (import only), the CF-pulse fallback, nothing, or
 * a bidirectional meter (SDM120-style Modbus, import and export registers, docs/firmware.md).
 */
export const MeasureSource = { pzem: 0, pulse: 1, none: 2, bidirectional: 3 } as const

export class LinkFrameError extends InvalidInputError {
  override name = 'LinkFrameError'
}

export interface LinkFrame {
  type: number
  payload: Uint8Array
}

export function encodeFrame(type: number, payload: Uint8Array): Uint8Array {
  if (!Number.isInteger(type) || type < 0 || type > 255)
    throw new LinkFrameError(`frame type must be a byte, got ${type}`)
  if (payload.length > LINK_MAX_PAYLOAD) {
    throw new LinkFrameError(
      `a frame carries at most ${LINK_MAX_PAYLOAD} payload bytes, got ${payload.length}`,
    )
  }
  const out = new Uint8Array(payload.length + LINK_OVERHEAD)
  out[0] = LINK_START
  out[1] = payload.length
  out[2] = type
  out.set(payload, 3)
  const crc = crc16Modbus(out.subarray(1, 3 + payload.length))
  out[3 + payload.length] = crc & 0xff
  out[4 + payload.length] = crc >>> 8
  return out
}

/**
 * Incremental decoder with resynchronisation: after a bad CRC or an impossible length it drops
 * the start byte and re-scans the bytes it already holds, exactly like the C++ LinkDecoder, so a
 * frame that began inside a corrupted one is still found.
 */
export class LinkDecoder {
  #buf: number[] = []
  errors = 0

  /** Feeds bytes; returns the frames completed by them, in order. */
  push(bytes: Uint8Array): LinkFrame[] {
    const frames: LinkFrame[] = []
    for (const byte of bytes) {
      if (this.#buf.length === 0 && byte !== LINK_START) continue
      this.#buf.push(byte)
      this.#drain(frames)
    }
    return frames
  }

  /**
   * The line has been quiet for LINK_IDLE_MS: a partial frame still buffered is a false start (a
   * 0x7E inside a corrupted frame) holding back the frames behind it. Drops it and re-scans.
   */
  idle(): LinkFrame[] {
    const frames: LinkFrame[] = []
    while (this.#buf.length > 0) {
      this.#resync()
      this.#drain(frames)
    }
    return frames
  }

  #drain(frames: LinkFrame[]): void {
    for (;;) {
      const buf = this.#buf
      if (buf.length < 2) return
      const len = buf[1] as number
      if (len > LINK_MAX_PAYLOAD) {
        this.#resync()
        continue
      }
      const need = len + LINK_OVERHEAD
      if (buf.length < need) return
      const frame = Uint8Array.from(buf.slice(0, need))
      if (crc16Modbus(frame.subarray(1)) === 0) {
        frames.push({ type: frame[2] as number, payload: frame.slice(3, 3 + len) })
        const rest = buf.slice(need)
        const skip = rest.indexOf(LINK_START)
        this.#buf = skip < 0 ? [] : rest.slice(skip)
        continue
      }
      this.#resync()
    }
  }

  #resync(): void {
    this.errors++
    const next = this.#buf.findIndex((b, i) => i > 0 && b === LINK_START)
    this.#buf = next < 0 ? [] : this.#buf.slice(next)
  }
}

export interface Measurement {
  energyWh: bigint
  powerW: number
  voltageMv: number
  currentMa: number
  powerFactor: number
  temperatureCenti: number
  light: number
  gas: number
  water: number
  hazards: number
  relays: number
  fanSpeed: number
  source: number
  /** The export counter (OBIS 2.8.0, Wh); 0 from a source that cannot see direction. */
  exportedWh: bigint
}

/** 36 bytes as before the export counter, then exportedWh (u64 LE) appended: 44 ≤ the link's 48. */
export const MEASUREMENT_SIZE = 44

export function encodeMeasurement(m: Measurement): Uint8Array {
  const out = new Uint8Array(MEASUREMENT_SIZE)
  const view = new DataView(out.buffer)
  view.setBigUint64(0, m.energyWh, true)
  view.setUint32(8, m.powerW, true)
  view.setUint32(12, m.voltageMv, true)
  view.setUint32(16, m.currentMa, true)
  view.setUint16(20, m.powerFactor, true)
  view.setInt32(22, m.temperatureCenti, true)
  view.setUint16(26, m.light, true)
  view.setUint16(28, m.gas, true)
  view.setUint16(30, m.water, true)
  out[32] = m.hazards
  out[33] = m.relays
  out[34] = m.fanSpeed
  out[35] = m.source
  view.setBigUint64(36, m.exportedWh, true)
  return out
}

export function decodeMeasurement(payload: Uint8Array): Measurement {
  if (payload.length !== MEASUREMENT_SIZE) {
    throw new LinkFrameError(`a measurement is ${MEASUREMENT_SIZE} bytes, got ${payload.length}`)
  }
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength)
  return {
    energyWh: view.getBigUint64(0, true),
    powerW: view.getUint32(8, true),
    voltageMv: view.getUint32(12, true),
    currentMa: view.getUint32(16, true),
    powerFactor: view.getUint16(20, true),
    temperatureCenti: view.getInt32(22, true),
    light: view.getUint16(26, true),
    gas: view.getUint16(28, true),
    water: view.getUint16(30, true),
    hazards: payload[32] as number,
    relays: payload[33] as number,
    fanSpeed: payload[34] as number,
    source: payload[35] as number,
    exportedWh: view.getBigUint64(36, true),
  }
}
