/**
 * Shared by the UI tests, screenshots and the benchmark: build the UI with Vite into a directory
 * and start Debian's Chromium through playwright-core with a throw-away profile.
 */
import { createHash, randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { cp, mkdir, mkdtemp, readdir, readFile, rename, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type BrowserContext, chromium, type Page } from 'playwright-core'

export const UI_ROOT = fileURLToPath(new URL('..', import.meta.url))
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

/** Production build of the UI into `outDir` (default ui/dist). */
export async function buildUi(outDir = join(UI_ROOT, 'dist')): Promise<string> {
  const { build } = await import('vite')
  await build({
    configFile: join(UI_ROOT, 'vite.config.ts'),
    logLevel: 'warn',
    build: { outDir, emptyOutDir: true },
  })
  return outDir
}

const REPO_ROOT = join(UI_ROOT, '..')
/** What a UI build is made of: its sources, the protocol modules it imports, its build setup. */
const BUILD_INPUTS = [
  'ui/index.html',
  'ui/vite.config.ts',
  'ui/src',
  'ui/public',
  'ui/scripts',
  'protocol',
  'package.json',
]
const CACHE = join(UI_ROOT, '.cache')

async function inputFiles(path: string): Promise<string[]> {
  if (!existsSync(path)) return []
  const entries = await readdir(path, { withFileTypes: true }).catch(() => undefined)
  if (entries === undefined) return [path]
  const nested = await Promise.all(
    entries
      .filter((e) => !['node_modules', 'test', 'build', 'dist'].includes(e.name))
      .map((e) => inputFiles(join(path, e.name))),
  )
  return nested.flat()
}

/**
 * sha256 over the build's inputs (paths and contents) and Vite's version: two builds from the same
 * key are the same build.
 */
export async function uiBuildKey(): Promise<string> {
  const hash = createHash('sha256')
  const files = (await Promise.all(BUILD_INPUTS.map((p) => inputFiles(join(REPO_ROOT, p))))).flat().sort()
  for (const file of files) {
    hash.update(`${relative(REPO_ROOT, file)}\0`)
    hash.update(await readFile(file))
  }
  hash.update(
    JSON.parse(await readFile(join(REPO_ROOT, 'node_modules', 'vite', 'package.json'), 'utf8')).version,
  )
  return hash.digest('hex').slice(0, 32)
}

/**
 * A production build of the current sources for tests that serve the UI themselves (the fake
 * node): built once per key and shared by every test file, in ui/.cache/test-dist/<key> (each file
 * used to make its own Vite build, seconds of CPU apiece). Built under a temporary name and renamed,
 * so two files asking at once never see half a build. Read-only for its users: a test that changes
 * a build works on a copy (pwa.test.ts does).
 */
export async function sharedUiBuild(): Promise<string> {
  const key = await uiBuildKey()
  const root = join(CACHE, 'test-dist')
  const dir = join(root, key)
  if (existsSync(dir)) return dir
  await mkdir(root, { recursive: true })
  const tmp = `${dir}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  await buildUi(tmp)
  try {
    await rename(tmp, dir)
  } catch (error) {
    // Another test file built the same key meanwhile: theirs is as good.
    await rm(tmp, { recursive: true, force: true })
    if (!existsSync(dir)) throw error
  }
  // Builds of older sources are of no further use.
  for (const old of await readdir(root)) {
    if (old !== key && !old.endsWith('.tmp')) await rm(join(root, old), { recursive: true, force: true })
  }
  return dir
}

/** sha256 over a directory's files (relative paths and contents), for comparing two builds. */
async function treeHash(dir: string): Promise<string> {
  const hash = createHash('sha256')
  for (const file of (await inputFiles(dir)).sort()) {
    hash.update(`${relative(dir, file)}\0`)
    hash.update(await readFile(file))
  }
  return hash.digest('hex')
}

/**
 * ui/dist (what the real node serves) as the current sources build it: left alone when it holds the
 * same files as the shared build of those sources (a Vite build is deterministic: `npm test` runs
 * `npm run build:ui` just before vitest, so in a test run it always does), else replaced by a copy
 * of it. A stamp this function wrote used to decide, so the first real-node file of a clean clone
 * built ui/dist a second time, emptying it while the files that serve ui/dist directly
 * (browser-attacks, tls/browser) could be reading it.
 */
export async function ensureUiDist(): Promise<string> {
  const dist = join(UI_ROOT, 'dist')
  const shared = await sharedUiBuild()
  if (existsSync(join(dist, 'index.html')) && (await treeHash(dist)) === (await treeHash(shared))) return dist
  await rm(dist, { recursive: true, force: true })
  await cp(shared, dist, { recursive: true })
  return dist
}

export interface Browser {
  context: BrowserContext
  /** Console errors and uncaught page errors seen so far, across pages. */
  errors: string[]
  newPage(viewport?: { width: number; height: number }): Promise<Page>
  close(): Promise<void>
}

/** What a test may add to the browser context, e.g. a phone's viewport, `isMobile`, `hasTouch`. */
export type ContextOptions = Omit<
  NonNullable<Parameters<typeof chromium.launchPersistentContext>[1]>,
  'executablePath' | 'headless' | 'args'
>

/** The flags every test browser runs with: headless, no sandbox, nothing phoning home. */
export const CHROMIUM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

export async function launchBrowser(contextOptions: ContextOptions = {}): Promise<Browser> {
  const profile = await mkdtemp(join(tmpdir(), 'zkm-ui-chromium-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS],
    viewport: { width: 1280, height: 900 },
    ...contextOptions,
  })
  const errors: string[] = []
  const watch = (page: Page) => {
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`console: ${m.text()}`)
    })
    page.on('pageerror', (e) => errors.push(`page: ${e.message}`))
  }
  context.on('page', watch)
  for (const p of context.pages()) watch(p)
  return {
    context,
    errors,
    async newPage(viewport) {
      const page = await context.newPage()
      if (viewport) await page.setViewportSize(viewport)
      return page
    },
    async close() {
      await context.close().catch(() => undefined)
      await rm(profile, { recursive: true, force: true })
    },
  }
}
