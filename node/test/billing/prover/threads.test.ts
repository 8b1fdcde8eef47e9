/** The prover child's thread choice (node/src/billing/prover/threads.ts). */
import { describe, expect, it } from 'vitest'
import { InvalidInputError } from '#protocol/errors.ts'
import { proveOnOneThread } from '../../../src/billing/prover/threads.ts'

const GiB = 1024 ** 3

describe('proveOnOneThread', () => {
  it('keeps to one thread on a small box or a single core, and uses the cores otherwise', () => {
    expect(proveOnOneThread({}, 0.5 * GiB, 4)).toBe(true) // a 512 MB Raspberry Pi
    expect(proveOnOneThread({}, 1 * GiB, 4)).toBe(true)
    expect(proveOnOneThread({}, 8 * GiB, 1)).toBe(true)
    expect(proveOnOneThread({}, 8 * GiB, 2)).toBe(false)
  })

  it('obeys ZKMETER_PROVER_THREADS, and names a bad value', () => {
    expect(proveOnOneThread({ ZKMETER_PROVER_THREADS: 'single' }, 8 * GiB, 4)).toBe(true)
    expect(proveOnOneThread({ ZKMETER_PROVER_THREADS: 'multi' }, 0.5 * GiB, 4)).toBe(false)
    expect(() => proveOnOneThread({ ZKMETER_PROVER_THREADS: 'two' }, 8 * GiB, 4)).toThrow(InvalidInputError)
    expect(() => proveOnOneThread({ ZKMETER_PROVER_THREADS: 'two' }, 8 * GiB, 4)).toThrow(
      /"single" or "multi"/,
    )
  })
})
