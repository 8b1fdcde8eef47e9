/**
 * Builds the service worker (ui/src/sw.ts) into <outDir>/sw.js after the app's own build, as a
 * Vite plugin (ui/vite.config.ts). Why a second, separate Vite build and not a second entry of the
 * app's: a service worker must be one self-contained classic script at a fixed, unhashed URL (so
 * every browser can run it and the browser finds the next build's worker at the same address),
 * while a second entry would share chunks with the page and get a hashed name.
 *
 * The worker gets the build written in (`define`): the list of files to precache — everything the
 * app's build and ui/public put into outDir, with their hashed names — and a version, a hash of
 * those files' names and contents. A build that changes any file therefore changes sw.js, which
 * is what makes browsers install the new worker (docs/app.md, "Updates").
 */
import { createHash } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join, relative, resolve, sep } from 'node:path'
import { build, type Plugin, type ResolvedConfig } from 'vite'

export const WORKER_FILE = 'sw.js'

/** Every file under `dir`, as paths relative to it with '/' separators, sorted. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true })
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)).split(sep).join('/'))
    .sort()
}

/**
 * Files only the browser's installer reads (home-screen and splash icons), once, while online: not
 * worth keeping a second copy of on the phone.
 */
const INSTALL_ONLY = /^icons\/(apple-touch-icon|icon(-maskable)?-512)\.png$/

/** The files the worker precaches: the whole output but the worker, source maps and install-only icons. */
export async function shellFiles(outDir: string): Promise<{ files: string[]; version: string }> {
  const files = (await filesUnder(outDir)).filter(
    (f) => f !== WORKER_FILE && !f.endsWith('.map') && !INSTALL_ONLY.test(f),
  )
  const hash = createHash('sha256')
  for (const file of files)
    hash
      .update(file)
      .update('\0')
      .update(await readFile(join(outDir, file)))
  return { files, version: hash.digest('hex').slice(0, 16) }
}

export function serviceWorker(options: { entry: string }): Plugin {
  let config: ResolvedConfig
  return {
    name: 'zkmeter:service-worker',
    apply: 'build',
    // Tells the page there is a worker to register (ui/src/pwa/register.ts); the dev server has none.
    config() {
      return { define: { __ZKM_SERVICE_WORKER__: JSON.stringify(WORKER_FILE) } }
    },
    configResolved(resolved) {
      config = resolved
    },
    // After the app's files (and ui/public's) are written: the worker lists what is on disk.
    async writeBundle() {
      const outDir = resolve(config.root, config.build.outDir)
      const { files, version } = await shellFiles(outDir)
      await build({
        configFile: false,
        root: config.root,
        logLevel: 'warn',
        publicDir: false,
        define: {
          __ZKM_PRECACHE__: JSON.stringify(files),
          __ZKM_VERSION__: JSON.stringify(version),
        },
        build: {
          outDir,
          emptyOutDir: false,
          copyPublicDir: false,
          target: 'es2022',
          minify: true,
          sourcemap: false,
          lib: {
            entry: options.entry,
            formats: ['iife'],
            name: 'zkmServiceWorker',
            fileName: () => WORKER_FILE,
          },
        },
      })
    },
  }
}
