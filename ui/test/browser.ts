/**
 * Shared by the UI tests, screenshots and the benchmark: build the UI with Vite into a directory
 * and start Debian's Chromium through playwright-core with a throw-away profile.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
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
