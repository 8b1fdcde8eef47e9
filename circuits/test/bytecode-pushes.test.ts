/**
 * `zkmeter verify-setup` looks for every verifying-key constant in the deployed verifier's code. solc
 * pushes a constant without its leading zero bytes, so a key with a coordinate below 2^248 (about one
 * in 256) was reported as "absent" from the very verifier built from it.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { bytecodePushes } from '../src/setup.ts'

/** What solc emits for `PUSHn <value>`: the opcode, then the value's significant bytes. */
function pushOf(value: bigint): string {
  let hex = value.toString(16)
  if (hex.length % 2 === 1) hex = `0${hex}`
  return (0x5f + hex.length / 2).toString(16) + hex
}

const word = fc.bigInt({ min: 1n, max: (1n << 256n) - 1n })
/** Long enough (≥ 26 bytes) that it cannot turn up in the surrounding test bytecode by chance. */
const longWord = fc.bigInt({ min: 1n << 200n, max: (1n << 256n) - 1n })

describe('bytecodePushes', () => {
  it('finds a constant whose first byte is zero, pushed as PUSH31', () => {
    const constant = `00${'ab'.repeat(31)}`
    const code = `0x6080604052${pushOf(BigInt(`0x${constant}`))}5260206000f3`
    expect(code).toContain('7e')
    expect(code.includes(constant)).toBe(false)
    expect(bytecodePushes(code, constant)).toBe(true)
  })

  it('finds any pushed constant and not one the code does not push', () => {
    fc.assert(
      fc.property(word, longWord, (pushed, other) => {
        fc.pre(pushed !== other)
        const code = `0x6080${pushOf(pushed)}52${pushOf(1n)}`.toUpperCase()
        expect(bytecodePushes(code, pushed.toString(16).padStart(64, '0'))).toBe(true)
        expect(bytecodePushes(code, other.toString(16).padStart(64, '0'))).toBe(false)
      }),
    )
  })
})
