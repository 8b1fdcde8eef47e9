/**
 * Tampering with a computed witness (.wtns, iden3 binfile), for the tests of what the circuits'
 * constraints refuse: a dishonest prover can put any value on any wire, and the r1cs check
 * (snarkjs.wtns.check) must then fail.
 */
import type * as snarkjs from 'snarkjs'

export const silent: snarkjs.Logger = { debug() {}, info() {}, warn() {}, error() {} }

/** Offset of witness value `index` in a .wtns file (section 1 gives the field size, section 2 holds the values). */
function witnessOffset(data: Uint8Array, index: number): { offset: number; n8: number } {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength)
  const nSections = view.getUint32(8, true)
  let pos = 12
  let n8 = 0
  for (let s = 0; s < nSections; s++) {
    const type = view.getUint32(pos, true)
    const size = Number(view.getBigUint64(pos + 4, true))
    if (type === 1) n8 = view.getUint32(pos + 12, true)
    if (type === 2) return { offset: pos + 12 + index * n8, n8 }
    pos += 12 + size
  }
  throw new Error('no witness section')
}

/** Puts `value` on wire `index` of the witness file in `data` (little-endian field element). */
export function setWire(data: Uint8Array, index: number, value: bigint): void {
  const { offset, n8 } = witnessOffset(data, index)
  let v = value
  for (let k = 0; k < n8; k++) {
    data[offset + k] = Number(v & 0xffn)
    v >>= 8n
  }
}

/** The value on wire `index` of the witness file in `data`. */
export function getWire(data: Uint8Array, index: number): bigint {
  const { offset, n8 } = witnessOffset(data, index)
  let read = 0n
  for (let k = n8 - 1; k >= 0; k--) read = (read << 8n) | BigInt(data[offset + k] as number)
  return read
}
