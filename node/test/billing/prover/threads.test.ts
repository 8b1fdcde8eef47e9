/** The prover child's thread choice, V8 flags and environment (node/src/billing/prover/threads.ts). */
import { describe, expect, it } from 'vitest'
import { InvalidInputError } from '#protocol/errors.ts'
import {
  PROVER_CHILD_EXEC_ARGV,
  proveOnOneThread,
  proverChildEnv,
} from '../../../src/billing/prover/threads.ts'

describe('proveOnOneThread', () => {
  it('uses the cores wherever there are two, whatever the memory, and one thread on a single core', () => {
    // With the child's flags the threaded peak is under 300 MB (docs/benchmarks/prove.md), so a
    // 512 MB box with two cores proves threaded too.
    expect(proveOnOneThread({}, 2)).toBe(false)
    expect(proveOnOneThread({}, 4)).toBe(false)
    expect(proveOnOneThread({}, 1)).toBe(true)
  })

  it('obeys ZKMETER_PROVER_THREADS, and names a bad value', () => {
    expect(proveOnOneThread({ ZKMETER_PROVER_THREADS: 'single' }, 4)).toBe(true)
    expect(proveOnOneThread({ ZKMETER_PROVER_THREADS: 'multi' }, 1)).toBe(false)
    expect(() => proveOnOneThread({ ZKMETER_PROVER_THREADS: 'two' }, 4)).toThrow(InvalidInputError)
    expect(() => proveOnOneThread({ ZKMETER_PROVER_THREADS: 'two' }, 4)).toThrow(/"single" or "multi"/)
  })
})

describe('the prover child configuration', () => {
  it('makes V8 collect the copies sent to the curve workers, with a bounded heap', () => {
    expect(PROVER_CHILD_EXEC_ARGV).toEqual([
      '--external-memory-accounted-in-global-limit',
      '--max-old-space-size=64',
      '--max-semi-space-size=4',
    ])
  })

  it("keeps glibc to one malloc arena unless the operator chose, and passes the node's environment on", () => {
    expect(proverChildEnv({ PATH: '/bin' })).toEqual({ PATH: '/bin', MALLOC_ARENA_MAX: '1' })
    expect(proverChildEnv({ MALLOC_ARENA_MAX: '4' }).MALLOC_ARENA_MAX).toBe('4')
  })
})
