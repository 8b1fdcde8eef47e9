/**
 * The HTTP server's one authentication hook (server.ts `authorize`): called with the route's own
 * pattern before the handler runs and before the stream attaches; a refusal is the named error's
 * JSON answer and the handler never runs; the principal reaches the handler.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { Principal } from '#protocol/api/types.ts'
import { UnauthenticatedError } from '../../src/auth/errors.ts'
import { createHttpApi, type HttpApi, SseHub } from '../../src/http/server.ts'

let api: HttpApi | undefined
afterEach(async () => {
  await api?.stop()
  api = undefined
})

const ME: Principal = { kind: 'token', id: 't1', name: 'test', role: 'resident' }

describe('the authorize hook', () => {
  it('sees the route pattern, hands the principal to the handler, and refuses before it runs', async () => {
    const seen: string[] = []
    let ran = 0
    const hub = new SseHub()
    api = createHttpApi({
      authorize: async (req, route) => {
        seen.push(`${route.method} ${route.path}`)
        if (req.headers.authorization !== 'Bearer ok') throw new UnauthenticatedError()
        return ME
      },
    })
    api.route('POST', '/api/relays/:channel', ({ principal }) => {
      ran++
      return { principal }
    })
    api.sse('/api/stream', hub)
    const { url } = await api.start()
    const refused = await fetch(`${url}/api/relays/4`, { method: 'POST' })
    expect(refused.status).toBe(401)
    expect(await refused.json()).toMatchObject({ error: 'UnauthenticatedError' })
    expect(ran).toBe(0)
    const ok = await fetch(`${url}/api/relays/4`, { method: 'POST', headers: { authorization: 'Bearer ok' } })
    expect(await ok.json()).toEqual({ principal: ME })
    expect((await fetch(`${url}/api/stream`)).status).toBe(401)
    expect(hub.size).toBe(0)
    expect(seen).toEqual(['POST /api/relays/:channel', 'POST /api/relays/:channel', 'GET /api/stream'])
  })
})
