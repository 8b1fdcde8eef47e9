/**
 * Serves the built web UI (ui/dist) for any GET that no API route matched. Paths are resolved
 * inside the dist directory only; unknown paths fall back to index.html (hash routes). Each file
 * goes out under the UI's Content-Security-Policy (security-headers.ts; a page's inline <style>
 * blocks allowed by their hash), on top of the headers the server sets on every answer.
 */
import { readFile, stat } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { extname, join, normalize, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { uiContentSecurityPolicy } from './security-headers.ts'

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.woff2': 'font/woff2',
}

export const UI_DIST = fileURLToPath(new URL('../../../ui/dist/', import.meta.url))

export function serveStatic(root = UI_DIST) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false
    const pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname)
    if (pathname.startsWith('/api/')) return false
    const candidate = normalize(join(root, pathname))
    if (!candidate.startsWith(root.endsWith(sep) ? root : root + sep) && candidate !== root) return false
    let file = candidate
    try {
      if ((await stat(file)).isDirectory()) file = join(file, 'index.html')
    } catch {
      file = join(root, 'index.html')
    }
    let body: Buffer
    try {
      body = await readFile(file)
    } catch {
      if (pathname === '/' || pathname === '/index.html') {
        res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' })
        res.end('The web UI is not built yet: run `npm run build:ui`. The API is at /api/status.\n')
        return true
      }
      return false
    }
    const immutable = file.includes(`${sep}assets${sep}`)
    const html = extname(file) === '.html'
    res.writeHead(200, {
      'content-security-policy': uiContentSecurityPolicy(html ? body.toString('utf8') : undefined),
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'content-length': body.length,
      'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
      'x-content-type-options': 'nosniff',
    })
    res.end(req.method === 'HEAD' ? undefined : body)
    return true
  }
}
