/**
 * The service worker's request policy (ui/src/pwa/policy.ts): what may ever be answered from a
 * cache on the phone. Property tests over any method, origin and path a page can fetch: only the
 * worker's own origin's GETs of the few dashboard answers are kept; never the CSV export, never a
 * non-GET, never another origin's URL, never a query.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { endsSession, keepable, OFFLINE_API, strategyFor } from '../src/pwa/policy.ts'

const SCOPE = 'https://zkmeter.local:8787/'
const SHELL = new Set(['index.html', 'assets/index-abc123.js', 'manifest.webmanifest', 'icons/icon-192.png'])
const get = (url: string, mode = 'cors') => ({ method: 'GET', url, mode })

const methods = fc.oneof(
  fc.constantFrom('POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'),
  fc.stringMatching(/^[A-Z]{1,10}$/).filter((m) => m !== 'GET'),
)
const apiPaths = fc.oneof(
  fc.constantFrom(...OFFLINE_API, '/api/export.csv', '/api/stream', '/api/readings', '/api/utility/bills'),
  fc.webPath().map((p) => `/api${p}`),
)

describe('what the service worker may answer from a cache', () => {
  it('keeps exactly the dashboard answers of its own origin, without a query', () => {
    for (const path of OFFLINE_API)
      expect(strategyFor(get(`${SCOPE}${path.slice(1)}`), SCOPE, SHELL)).toEqual({ kind: 'api', path })
    expect(OFFLINE_API).not.toContain('/api/export.csv')
  })

  it('never touches the CSV export, the live stream or any other API route', () => {
    for (const path of [
      '/api/export.csv',
      '/api/stream',
      '/api/readings',
      '/api/utility/bills',
      '/api/bills/0x1',
    ])
      for (const mode of ['cors', 'navigate', 'no-cors'])
        expect(strategyFor(get(`${SCOPE}${path.slice(1)}`, mode), SCOPE, SHELL)).toEqual({ kind: 'network' })
    expect(strategyFor(get(`${SCOPE}api/export.csv?from=0&to=9`), SCOPE, SHELL)).toEqual({ kind: 'network' })
  })

  it('never answers a request that is not a GET, whatever its URL', () => {
    fc.assert(
      fc.property(
        methods,
        apiPaths,
        fc.constantFrom('cors', 'navigate', 'no-cors', 'same-origin'),
        (method, path, mode) => {
          expect(strategyFor({ method, url: `${SCOPE}${path.slice(1)}`, mode }, SCOPE, SHELL)).toEqual({
            kind: 'network',
          })
        },
      ),
    )
  })

  it('never answers for another origin, even for a path it keeps on its own', () => {
    const others = fc.oneof(
      fc.constantFrom(
        'http://zkmeter.local:8787/',
        'https://zkmeter.local:8788/',
        'https://evil.example/',
        'https://zkmeter.local.evil.example:8787/',
      ),
      fc.webUrl({ withFragments: false, withQueryParameters: false }).map((u) => `${new URL(u).origin}/`),
    )
    fc.assert(
      fc.property(
        others,
        fc.constantFrom(...OFFLINE_API, '/index.html', '/assets/index-abc123.js'),
        (origin, path) => {
          fc.pre(new URL(origin).origin !== new URL(SCOPE).origin)
          expect(strategyFor(get(`${origin}${path.slice(1)}`), SCOPE, SHELL)).toEqual({ kind: 'network' })
        },
      ),
    )
  })

  it('keeps nothing with a query string (only the dashboard default views)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...OFFLINE_API),
        fc.webQueryParameters().filter((q) => q !== ''),
        (path, query) => {
          expect(strategyFor(get(`${SCOPE}${path.slice(1)}?${query}`), SCOPE, SHELL)).toEqual({
            kind: 'network',
          })
        },
      ),
    )
  })

  it('serves the build from the precache and page loads network-first', () => {
    expect(strategyFor(get(`${SCOPE}assets/index-abc123.js`), SCOPE, SHELL)).toEqual({
      kind: 'shell',
      path: 'assets/index-abc123.js',
    })
    expect(strategyFor(get(`${SCOPE}assets/other.js`), SCOPE, SHELL)).toEqual({ kind: 'network' })
    expect(strategyFor(get(SCOPE, 'navigate'), SCOPE, SHELL)).toEqual({ kind: 'navigate' })
    expect(strategyFor(get(`${SCOPE}#/bills`, 'navigate'), SCOPE, SHELL)).toEqual({ kind: 'navigate' })
  })

  it('keeps only complete 200 JSON answers of its own origin, and forgets everything on a 401', () => {
    const answer = (status: number, type: string, contentType: string | null) => ({
      status,
      type,
      headers: { get: (name: string) => (name === 'content-type' ? contentType : null) },
    })
    expect(keepable(answer(200, 'basic', 'application/json; charset=utf-8'))).toBe(true)
    expect(keepable(answer(200, 'opaque', 'application/json'))).toBe(false)
    expect(keepable(answer(200, 'cors', 'application/json'))).toBe(false)
    expect(keepable(answer(200, 'basic', 'text/html'))).toBe(false)
    for (const status of [201, 204, 301, 304, 401, 403, 404, 500, 503])
      expect(keepable(answer(status, 'basic', 'application/json'))).toBe(false)
    expect(endsSession(401)).toBe(true)
    expect(endsSession(200)).toBe(false)
    expect(endsSession(503)).toBe(false)
  })
})
