/** The import rules tools/check-architecture.ts enforces in `npm run check`, on small fixture trees. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { checkArchitecture, importSpecifiers, stripComments } from '../tools/check-architecture.ts'

const trees: string[] = []
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'zkm-arch-'))
  trees.push(root)
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true })
    writeFileSync(join(root, path), text)
  }
  return root
}
afterEach(() => {
  for (const root of trees.splice(0)) rmSync(root, { recursive: true, force: true })
})

describe('import specifiers', () => {
  it('finds static, type-only, multi-line, re-export, side-effect and dynamic imports', () => {
    const text = [
      "import { a } from './a.ts'",
      "import type { B } from '#protocol/b.ts'",
      'import {',
      '  c,',
      '  d,',
      "} from '../c.ts'",
      "export { e } from './e.ts'",
      "export * from './f.ts'",
      "import './g.ts'",
      "const h = await import('./h.ts')",
    ].join('\n')
    expect(importSpecifiers(text)).toEqual([
      { specifier: './a.ts', dynamic: false },
      { specifier: '#protocol/b.ts', dynamic: false },
      { specifier: '../c.ts', dynamic: false },
      { specifier: './e.ts', dynamic: false },
      { specifier: './f.ts', dynamic: false },
      { specifier: './g.ts', dynamic: false },
      { specifier: './h.ts', dynamic: true },
    ])
  })

  it('ignores imports written in comments but keeps strings that look like comments', () => {
    const text =
      "// import { x } from './x.ts'\n/* import './y.ts' */\nconst url = 'http://a'\nimport { z } from './z.ts'"
    expect(importSpecifiers(text).map((s) => s.specifier)).toEqual(['./z.ts'])
    expect(stripComments("const s = '// not a comment'")).toBe("const s = '// not a comment'")
  })
})

describe('architecture rules', () => {
  it('accepts a layered tree', () => {
    const root = tree({
      'protocol/errors.ts': 'export class E extends Error {}',
      'protocol/records.ts': "import { E } from './errors.ts'",
      'contracts/ts/ledger.ts': "import { E } from '#protocol/errors.ts'",
      'node/src/app.ts': "import '../../contracts/ts/ledger.ts'\nimport '#protocol/records.ts'",
    })
    expect(checkArchitecture(root)).toEqual([])
  })

  it('refuses an import from node/ below it, and protocol/ importing anything of ours', () => {
    const root = tree({
      'node/src/errors.ts': 'export class E extends Error {}',
      'circuits/src/x.ts': "import { E } from '../../node/src/errors.ts'",
      'ui/src/y.ts': "import type { E } from '../../node/src/errors.ts'",
      'protocol/z.ts': "import '../contracts/ts/ledger.ts'",
      'contracts/ts/ledger.ts': '',
    })
    const found = checkArchitecture(root)
    expect(found.map((v) => v.rule).sort()).toEqual([
      'no-node-import',
      'no-node-import',
      'protocol-at-bottom',
    ])
    expect(found.find((v) => v.message.startsWith('circuits/src/x.ts'))?.message).toContain(
      'must not import it',
    )
  })

  it('names each cycle, type-only ones included, but not a lazy dynamic import', () => {
    const root = tree({
      'node/src/a.ts': "import type { B } from './b.ts'",
      'node/src/b.ts': "import { c } from './c.ts'",
      'node/src/c.ts': "export { a } from './a.ts'",
      'node/src/lazy.ts': "import './eager.ts'",
      'node/src/eager.ts': "const m = await import('./lazy.ts')",
    })
    const found = checkArchitecture(root)
    expect(found).toHaveLength(1)
    expect(found[0]?.message).toBe(
      'import cycle: node/src/a.ts → node/src/b.ts → node/src/c.ts → node/src/a.ts',
    )
  })
})
