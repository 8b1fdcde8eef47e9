#!/usr/bin/env node
/**
 * Bundles the household node (node/src/cli.ts) into one ESM file, dist/node/cli.mjs, for `npm start`
 * and bench:node. Why: Node keeps every loaded module's source and compiled code resident, and the
 * node loads about two thousand small modules (libp2p, Helia, ethers, aedes, …). One bundle holds
 * far less (PROBES.md: a libp2p stack 170 MB unbundled, 82–90 MB bundled). Tests keep running from
 * the TypeScript sources.
 *
 * What stays outside the bundle, loaded from node_modules at run time:
 *  - native modules (classic-level, serialport's bindings): they find their .node files from their
 *    own directory;
 *  - hardhat, solc and snarkjs: the node never loads them (the dev chain, the prover and, on a
 *    compile cache miss, solc run in separate processes), and inlining them would only make the
 *    bundle bigger.
 *
 * Child processes (the dev chain, the prover) are forked from their TypeScript sources: they are
 * not the household node's memory, and running them as sources keeps one code path.
 *
 * Paths: every `import.meta.url` in a repository source is rewritten to that source file's own URL
 * (relative to the bundle, so the checkout can move), so `new URL('../../ui/dist/', import.meta.url)`
 * and friends resolve exactly as they do when the sources run directly.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { dirname, join, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const OUT_DIR = join(ROOT, 'dist', 'node')
export const BUNDLE = join(OUT_DIR, 'cli.mjs')

/**
 * V8 flags `npm start` runs the bundle with (package.json repeats them; bench:node uses these).
 *
 * --max-semi-space-size=2 (MB): the young generation, where new objects live until their first
 *   garbage collections, may otherwise grow its two semi-spaces to tens of MB each on a 64-bit
 *   machine, and that memory stays resident. A household node allocates little per second (one
 *   record, a few MQTT and HTTP messages), so small semi-spaces only mean more frequent, shorter
 *   scavenges. Measured here on the idle node (bundled, one 35-s window each): default 175 MB,
 *   16 → 151, 8 → 136, 4 → 145, 2 → 124, 1 → 124 MB; stream latency unchanged (bench:node).
 * --optimize-for-size: V8 trades peak speed for memory (smaller code, earlier heap shrinking). The
 *   node's hot paths run a few times a second, and proving runs in a child without this flag.
 *   With semi-spaces at 2 MB alone the idle node settled at 128–147 MB from run to run; with this
 *   flag too at 124–126 MB (two runs of each side by side, 90 s each, 2026-11-24).
 */
export const NODE_RUN_FLAGS = ['--max-semi-space-size=2', '--optimize-for-size']

const EXTERNAL = [
  'classic-level',
  '@serialport/bindings-cpp',
  'serialport',
  'hardhat',
  'hardhat/*',
  '@nomicfoundation/*',
  'solc',
  'snarkjs',
  'ffjavascript',
]

/** @type {import('esbuild').Plugin} */
const sourceRelativeImportMetaUrl = {
  name: 'source-relative-import-meta-url',
  setup(b) {
    b.onLoad({ filter: /\.(ts|mts|js|mjs)$/ }, async (args) => {
      if (args.path.includes(`${sep}node_modules${sep}`)) return undefined
      const text = await readFile(args.path, 'utf8')
      if (!text.includes('import.meta.url')) return undefined
      const fromBundle = relative(OUT_DIR, args.path).split(sep).join('/')
      return {
        contents: text.replaceAll(
          'import.meta.url',
          `new URL(${JSON.stringify(fromBundle)}, import.meta.url).href`,
        ),
        loader: args.path.endsWith('ts') ? 'ts' : 'js',
        resolveDir: dirname(args.path),
      }
    })
  },
}

export async function buildNode() {
  const started = performance.now()
  const result = await build({
    entryPoints: [join(ROOT, 'node', 'src', 'cli.ts')],
    outfile: BUNDLE,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    external: EXTERNAL,
    // Minified source is smaller resident source text; names are kept because error classes and
    // some libraries read constructor names.
    minify: true,
    keepNames: true,
    sourcemap: 'linked',
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
    plugins: [sourceRelativeImportMetaUrl],
    // CommonJS dependencies call require() for Node built-ins; an ESM bundle has no require.
    banner: {
      js: "import { createRequire as __zkmeterCreateRequire } from 'node:module'; const require = __zkmeterCreateRequire(import.meta.url);",
    },
    // Written below, each file whole: two test files build the bundle while another may be starting it.
    write: false,
  })
  // A temporary name, then a rename: a process starting the bundle meanwhile reads the old file or
  // the new one, never a half-written one (rename replaces a file atomically on one filesystem).
  await mkdir(OUT_DIR, { recursive: true })
  for (const out of result.outputFiles) {
    const temporary = `${out.path}.${process.pid}.tmp`
    await writeFile(temporary, out.contents)
    await rename(temporary, out.path)
  }
  const bytes = result.metafile.outputs[relative(ROOT, BUNDLE).split(sep).join('/')]?.bytes ?? 0
  return { file: BUNDLE, bytes, ms: Math.round(performance.now() - started) }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { file, bytes, ms } = await buildNode()
  process.stdout.write(`built ${relative(ROOT, file)} (${(bytes / 1024 / 1024).toFixed(1)} MB) in ${ms} ms\n`)
}
