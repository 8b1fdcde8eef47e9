import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { SYSTEM_TESTS } from './tiers.ts'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

/** Every *.test.ts below the tiers' folders (vitest.config.ts includes the same), as repository paths. */
function testFiles(): string[] {
  const found: string[] = []
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (['node_modules', 'build', 'dist'].includes(entry.name)) continue
      const path = join(dir, entry.name)
      if (entry.isDirectory()) walk(path)
      else if (entry.name.endsWith('.test.ts')) found.push(relative(ROOT, path).split('\\').join('/'))
    }
  }
  for (const top of ['protocol', 'node', 'circuits', 'contracts', 'firmware', 'ui', 'test'])
    walk(join(ROOT, top))
  return found
}

describe('test tiers', () => {
  it('name only test files that exist (a moved system test would silently join the unit tier)', () => {
    const missing = SYSTEM_TESTS.filter((path) => !existsSync(`${ROOT}${path}`))
    expect(missing, 'update test/support/tiers.ts for these moved or removed files').toEqual([])
  })

  it('put every file that starts a real node or a browser in the system tier', () => {
    // A browser or a whole household node takes tens of seconds: in the unit tier such a file
    // breaks its two-minute budget (ui/test/utility-token.test.ts did: 44 s).
    const stack = /\b(startRealNode|launchBrowser)\(/
    const misplaced = testFiles().filter(
      (path) => !SYSTEM_TESTS.includes(path) && stack.test(readFileSync(join(ROOT, path), 'utf8')),
    )
    expect(misplaced, 'add these to SYSTEM_TESTS in test/support/tiers.ts').toEqual([])
  })

  it('name each file once', () => {
    expect(new Set(SYSTEM_TESTS).size).toBe(SYSTEM_TESTS.length)
  })
})
