import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { InvalidInputError } from '#protocol/errors.ts'
import { CompilationError, compileSolidity } from '../ts/compile.ts'

const SOURCE =
  'pragma solidity ^0.8.28; contract Counter { uint256 public n; function inc() external { n += 1; } }'
let dir: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'zkmeter-compile-'))
})

afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('compileSolidity', () => {
  it('compiles with solc-js and reuses the cache for identical sources', async () => {
    const first = await compileSolidity({ 'Counter.sol': SOURCE }, { cacheDir: dir })
    expect(first.Counter?.bytecode).toMatch(/^0x[0-9a-f]+$/)
    expect(first.Counter?.abi.map((f) => f.name)).toEqual(expect.arrayContaining(['n', 'inc']))
    const cached = JSON.parse(await readFile(join(dir, 'artifacts.json'), 'utf8'))
    expect(cached.solc).toMatch(/^0\.8\.37/)
    const started = performance.now()
    const second = await compileSolidity({ 'Counter.sol': SOURCE }, { cacheDir: dir })
    expect(performance.now() - started).toBeLessThan(200)
    expect(second).toEqual(first)
  })

  it('recompiles when the source changes', async () => {
    const changed = await compileSolidity(
      { 'Counter.sol': SOURCE.replace('n += 1', 'n += 2') },
      { cacheDir: dir },
    )
    const original = await compileSolidity({ 'Counter.sol': SOURCE })
    expect(changed.Counter?.bytecode).not.toBe(original.Counter?.bytecode)
  })

  it("reports solc's errors as a CompilationError", async () => {
    const err = await compileSolidity({
      'Bad.sol': 'pragma solidity ^0.8.28; contract Bad { function f( }',
    }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(CompilationError)
    expect((err as CompilationError).message).toMatch(/ParserError/)
  })

  it('validates its arguments', async () => {
    await expect(compileSolidity({})).rejects.toThrow(InvalidInputError)
    await expect(compileSolidity({ 'X.sol': 42 as unknown as string })).rejects.toThrow(InvalidInputError)
  })
})
