import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { InvalidInputError } from '#protocol/errors.ts'
import { scaledBudget } from '../../test/support/load.ts'
import {
  CompilationError,
  compileSolidity,
  MissingImportError,
  REPO_ROOT,
  withImports,
} from '../ts/compile.ts'

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
    expect(performance.now() - started).toBeLessThan(scaledBudget(200))
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

  it('leaves the compiler out of the calling process (a node deploying on its first start)', async () => {
    // A fresh process compiles a fresh source (a cache miss) and reports how much its RSS grew. solc-js
    // loaded in-process adds ~115 MB that V8 keeps; run in a child it adds next to nothing here.
    const script = `
      const { compileSolidity } = await import(${JSON.stringify(join(REPO_ROOT, 'contracts', 'ts', 'compile.ts'))})
      const before = process.memoryUsage.rss()
      await compileSolidity({ 'Fresh.sol': ${JSON.stringify(SOURCE.replace('Counter', 'Fresh'))} }, { cacheDir: ${JSON.stringify(join(dir, 'rss'))} })
      process.stdout.write(String((process.memoryUsage.rss() - before) / 1024 / 1024))`
    const grewMb = await new Promise<number>((resolve, reject) => {
      execFile(process.execPath, ['--input-type=module', '-e', script], { cwd: REPO_ROOT }, (err, stdout) =>
        err ? reject(err) : resolve(Number(stdout)),
      )
    })
    expect(grewMb).toBeLessThan(40)
  })

  it('validates its arguments', async () => {
    await expect(compileSolidity({})).rejects.toThrow(InvalidInputError)
    await expect(compileSolidity({ 'X.sol': 42 as unknown as string })).rejects.toThrow(InvalidInputError)
  })

  it('adds the files a source imports, relative ones against their importer, packages from node_modules', () => {
    const sources = withImports({
      'Uses.sol':
        'import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";\ncontract Uses {}',
    })
    // SafeERC20 imports ../IERC20.sol: named as solc resolves it, from the importer's unit name.
    expect(Object.keys(sources)).toContain('@openzeppelin/contracts/token/ERC20/IERC20.sol')
    expect(Object.keys(sources)).toContain('@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol')
    expect(() => withImports({ 'A.sol': 'import "./Missing.sol";\ncontract A {}' })).toThrow(
      MissingImportError,
    )
    expect(() => withImports({ 'A.sol': 'import "@no-such/pkg/X.sol";\ncontract A {}' })).toThrow(
      /neither among the sources nor in an installed package/,
    )
  })
})
