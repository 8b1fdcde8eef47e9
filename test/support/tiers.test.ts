import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { SYSTEM_TESTS } from './tiers.ts'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

describe('test tiers', () => {
  it('name only test files that exist (a moved system test would silently join the unit tier)', () => {
    const missing = SYSTEM_TESTS.filter((path) => !existsSync(`${ROOT}${path}`))
    expect(missing, 'update test/support/tiers.ts for these moved or removed files').toEqual([])
  })

  it('name each file once', () => {
    expect(new Set(SYSTEM_TESTS).size).toBe(SYSTEM_TESTS.length)
  })
})
