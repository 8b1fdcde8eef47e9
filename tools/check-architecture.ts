/**
 * The import rules of docs/architecture.md, checked on every `npm run check`:
 *   1. protocol/ is the bottom of the graph: it imports only packages and itself.
 *   2. circuits/, contracts/, firmware/ and ui/ never import node/ (the household node sits on top of
 *      them, so an arrow back would make the layers meaningless).
 *   3. No import cycle anywhere in the tree (static imports, `import type` and re-exports included:
 *      a type-only cycle is still two modules that cannot be understood one without the other).
 *      Dynamic `import()` is a lazy load, not a dependency of module evaluation, so it is checked by
 *      rules 1–2 but not by the cycle rule.
 * Run: node tools/check-architecture.ts [root]. Exits 1 with one line per violation.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

const SOURCE_DIRS = ['protocol', 'node', 'circuits', 'contracts', 'firmware', 'ui', 'bench', 'test', 'tools']
const SKIP_DIRS = new Set(['node_modules', 'build', 'dist', 'data', '.cache', 'coverage'])
const SOURCE_EXT = /\.(ts|mts|mjs|js)$/
/** Folders that must never import node/ (rule 2). */
const BELOW_NODE = ['circuits', 'contracts', 'firmware', 'ui']

export interface ImportEdge {
  from: string
  to: string
  dynamic: boolean
}

export interface Violation {
  rule: 'protocol-at-bottom' | 'no-node-import' | 'no-cycle'
  message: string
}

/** Source text with comments blanked out, strings and template literals kept (specifiers are strings). */
export function stripComments(text: string): string {
  let out = ''
  let i = 0
  while (i < text.length) {
    const c = text[i] as string
    const next = text[i + 1]
    if (c === '/' && next === '/') {
      while (i < text.length && text[i] !== '\n') i++
    } else if (c === '/' && next === '*') {
      const end = text.indexOf('*/', i + 2)
      i = end === -1 ? text.length : end + 2
      out += ' '
    } else if (c === '"' || c === "'" || c === '`') {
      let j = i + 1
      while (j < text.length && text[j] !== c) j += text[j] === '\\' ? 2 : 1
      out += text.slice(i, j + 1)
      i = j + 1
    } else {
      out += c
      i++
    }
  }
  return out
}

const STATIC_SPEC = /(?:^|[\n;}])\s*(?:import|export)\b[^'"`;]*?\bfrom\s*(['"])([^'"]+)\1/g
const SIDE_EFFECT_SPEC = /(?:^|[\n;}])\s*import\s*(['"])([^'"]+)\1/g
const DYNAMIC_SPEC = /\bimport\(\s*(['"])([^'"]+)\1\s*\)/g

/** Module specifiers a source file imports, static or dynamic. */
export function importSpecifiers(text: string): { specifier: string; dynamic: boolean }[] {
  const code = stripComments(text)
  const found: { specifier: string; dynamic: boolean }[] = []
  for (const re of [STATIC_SPEC, SIDE_EFFECT_SPEC]) {
    for (const m of code.matchAll(re)) found.push({ specifier: m[2] as string, dynamic: false })
  }
  for (const m of code.matchAll(DYNAMIC_SPEC)) found.push({ specifier: m[2] as string, dynamic: true })
  return found
}

function walk(dir: string, files: string[]): void {
  for (const name of readdirSync(dir)) {
    if (SKIP_DIRS.has(name) || name.startsWith('.')) continue
    const path = join(dir, name)
    if (statSync(path).isDirectory()) walk(path, files)
    else if (SOURCE_EXT.test(name) && !name.endsWith('.d.ts')) files.push(path)
  }
}

/** The repository file a specifier names, or undefined for a package (or a file outside the tree). */
function resolveSpecifier(root: string, importer: string, specifier: string): string | undefined {
  let target: string
  if (specifier.startsWith('.')) target = resolve(dirname(importer), specifier)
  else if (specifier.startsWith('#protocol/'))
    target = join(root, 'protocol', specifier.slice('#protocol/'.length))
  else return undefined
  for (const candidate of [target, `${target}.ts`, join(target, 'index.ts')]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate
  }
  return target
}

export function collectEdges(root: string): { files: string[]; edges: ImportEdge[] } {
  const files: string[] = []
  for (const dir of SOURCE_DIRS) if (existsSync(join(root, dir))) walk(join(root, dir), files)
  const edges: ImportEdge[] = []
  for (const file of files) {
    for (const { specifier, dynamic } of importSpecifiers(readFileSync(file, 'utf8'))) {
      const to = resolveSpecifier(root, file, specifier)
      if (to !== undefined) edges.push({ from: rel(root, file), to: rel(root, to), dynamic })
    }
  }
  return { files: files.map((f) => rel(root, f)), edges }
}

function rel(root: string, path: string): string {
  return relative(root, path).split(sep).join('/')
}

const topFolder = (path: string) => path.split('/')[0] as string

export function layerViolations(edges: readonly ImportEdge[]): Violation[] {
  const violations: Violation[] = []
  for (const { from, to } of edges) {
    const source = topFolder(from)
    const target = topFolder(to)
    if (source === 'protocol' && target !== 'protocol') {
      violations.push({
        rule: 'protocol-at-bottom',
        message: `${from} imports ${to}: protocol/ may import only packages and protocol/`,
      })
    }
    if (BELOW_NODE.includes(source) && target === 'node') {
      violations.push({
        rule: 'no-node-import',
        message: `${from} imports ${to}: ${source}/ sits below node/ and must not import it`,
      })
    }
  }
  return violations
}

/** Every strongly connected component of more than one module (or a module importing itself). */
export function cycleViolations(edges: readonly ImportEdge[]): Violation[] {
  const graph = new Map<string, Set<string>>()
  for (const { from, to, dynamic } of edges) {
    if (dynamic) continue
    if (!graph.has(from)) graph.set(from, new Set())
    if (!graph.has(to)) graph.set(to, new Set())
    graph.get(from)?.add(to)
  }
  // Tarjan's algorithm, iterative so a deep graph cannot overflow the stack.
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const onStack = new Set<string>()
  const stack: string[] = []
  const components: string[][] = []
  let counter = 0
  for (const start of graph.keys()) {
    if (index.has(start)) continue
    const work: { node: string; next: Iterator<string> }[] = []
    const enter = (node: string) => {
      index.set(node, counter)
      low.set(node, counter)
      counter++
      stack.push(node)
      onStack.add(node)
      work.push({ node, next: (graph.get(node) ?? new Set<string>()).values() })
    }
    enter(start)
    while (work.length > 0) {
      const frame = work[work.length - 1] as { node: string; next: Iterator<string> }
      const step = frame.next.next()
      if (!step.done) {
        const w = step.value
        if (!index.has(w)) enter(w)
        else if (onStack.has(w)) low.set(frame.node, Math.min(low.get(frame.node)!, index.get(w)!))
        continue
      }
      work.pop()
      const parent = work[work.length - 1]
      if (parent) low.set(parent.node, Math.min(low.get(parent.node)!, low.get(frame.node)!))
      if (low.get(frame.node) === index.get(frame.node)) {
        const component: string[] = []
        let w: string
        do {
          w = stack.pop() as string
          onStack.delete(w)
          component.push(w)
        } while (w !== frame.node)
        const selfLoop = graph.get(frame.node)?.has(frame.node) ?? false
        if (component.length > 1 || selfLoop) components.push(component)
      }
    }
  }
  return components.map((component) => ({
    rule: 'no-cycle' as const,
    message: `import cycle: ${describeCycle(graph, component)}`,
  }))
}

/** One concrete loop through a component, e.g. "a.ts → b.ts → a.ts". */
function describeCycle(graph: Map<string, Set<string>>, component: string[]): string {
  const members = new Set(component)
  const start = [...component].sort()[0] as string
  const path = [start]
  const seen = new Set([start])
  let current = start
  for (;;) {
    const next = [...(graph.get(current) ?? [])].filter((n) => members.has(n)).sort()
    const back = next.find((n) => n === start)
    if (back !== undefined && path.length > 1) break
    const fresh = next.find((n) => !seen.has(n))
    if (fresh === undefined) break
    path.push(fresh)
    seen.add(fresh)
    current = fresh
  }
  return [...path, start].join(' → ')
}

export function checkArchitecture(root: string): Violation[] {
  const { edges } = collectEdges(root)
  return [...layerViolations(edges), ...cycleViolations(edges)]
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..'))
  const violations = checkArchitecture(root)
  for (const v of violations) console.error(`${v.rule}: ${v.message}`)
  if (violations.length > 0) {
    console.error(
      `architecture check: ${violations.length} violation(s); the rules are in docs/architecture.md`,
    )
    process.exit(1)
  }
  console.log('architecture check: protocol/ at the bottom, nothing below node/ imports it, no import cycles')
}
