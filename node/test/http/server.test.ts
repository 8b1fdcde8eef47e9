import { afterEach, describe, expect, it } from 'vitest'
import { type ErrorCategory, InvalidInputError, ZkMeterError } from '#protocol/errors.ts'
import { categorizeDependencyFailure } from '../../src/app/error-categories.ts'
import { createHttpApi, type HttpApi, HttpError, SseHub } from '../../src/http/server.ts'
import { createLogger, type LogEntry } from '../../src/log/logger.ts'

let api: HttpApi | undefined
afterEach(async () => {
  await api?.stop()
  api = undefined
})

async function serve(setup: (api: HttpApi) => void, options = {}) {
  api = createHttpApi(options)
  setup(api)
  return (await api.start()).url
}

describe('HTTP API layer', () => {
  it('routes by method and path with parameters, bigints as strings', async () => {
    const url = await serve((a) => {
      a.route('GET', '/api/bills/:id', ({ params }) => ({ id: params.id, total: 10n ** 20n }))
    })
    const res = await fetch(`${url}/api/bills/7`)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ id: '7', total: '100000000000000000000' })
  })

  it('answers unknown paths with 404 and wrong methods with 405 + Allow', async () => {
    const url = await serve((a) => a.route('GET', '/api/status', () => ({ ok: true })))
    expect((await fetch(`${url}/api/nope`)).status).toBe(404)
    const res = await fetch(`${url}/api/status`, { method: 'DELETE' })
    expect(res.status).toBe(405)
    expect(res.headers.get('allow')).toBe('GET')
  })

  it('rejects bad JSON, wrong content type and oversized bodies with clear errors', async () => {
    const url = await serve((a) => a.route('POST', '/api/echo', async (ctx) => ({ got: await ctx.json() })), {
      maxBodyBytes: 64,
    })
    const post = (body: string, type = 'application/json') =>
      fetch(`${url}/api/echo`, { method: 'POST', headers: { 'content-type': type }, body })
    expect(await (await post('{"a":1}')).json()).toEqual({ got: { a: 1 } })
    const bad = await post('{"a":')
    expect(bad.status).toBe(400)
    expect(((await bad.json()) as { message: string }).message).toMatch(/not valid JSON/)
    expect((await post('{}', 'text/plain')).status).toBe(415)
    const big = await post(JSON.stringify({ x: 'y'.repeat(200) }))
    expect(big.status).toBe(413)
  })

  it('maps named errors to 4xx with details and hides internal errors', async () => {
    const url = await serve((a) => {
      a.route('GET', '/a', () => {
        throw new InvalidInputError('period must be a number', { details: { field: 'period' } })
      })
      a.route('GET', '/b', () => {
        throw new HttpError(409, 'bill already paid')
      })
      a.route('GET', '/c', () => {
        throw new Error('secret internals at /home/x')
      })
    })
    const a = await fetch(`${url}/a`)
    expect(a.status).toBe(400)
    expect(await a.json()).toMatchObject({ error: 'InvalidInputError', details: { field: 'period' } })
    expect((await fetch(`${url}/b`)).status).toBe(409)
    const c = await fetch(`${url}/c`)
    expect(c.status).toBe(500)
    expect(await c.text()).not.toMatch(/secret/)
  })

  it('answers each error category with its status, and logs every 5xx', async () => {
    const log: LogEntry[] = []
    const categories: ErrorCategory[] = ['invalid-input', 'not-found', 'conflict', 'unavailable', 'internal']
    const url = await serve(
      (a) => {
        for (const category of categories) {
          a.route('GET', `/${category}`, () => {
            throw new ZkMeterError(`a ${category} failure`, { category, details: { category } })
          })
        }
        a.route('GET', '/chain-down', () => {
          throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8545'), { code: 'ECONNREFUSED' })
        })
        a.route('GET', '/meter-silent', () => {
          throw new HttpError(504, 'the meter did not confirm the command')
        })
      },
      { log: createLogger({ sink: (entry) => log.push(entry) }), categorize: categorizeDependencyFailure },
    )
    const expected: Record<ErrorCategory, number> = {
      'invalid-input': 400,
      'not-found': 404,
      conflict: 409,
      unavailable: 503,
      internal: 500,
    }
    for (const category of categories) {
      const res = await fetch(`${url}/${category}`)
      expect(res.status).toBe(expected[category])
      expect(await res.json()).toEqual({
        error: 'ZkMeterError',
        message: `a ${category} failure`,
        details: { category },
      })
    }
    // A foreign error that says the chain is down: 503, without its text (it may hold internals).
    const down = await fetch(`${url}/chain-down`)
    expect(down.status).toBe(503)
    expect(await down.text()).not.toMatch(/ECONNREFUSED|8545/)
    expect((await fetch(`${url}/meter-silent`)).status).toBe(504)

    const logged = log.filter((entry) => entry.msg === 'request failed')
    expect(logged.map((entry) => [entry.route, entry.status])).toEqual([
      ['GET /unavailable', 503],
      ['GET /internal', 500],
      ['GET /chain-down', 503],
      ['GET /meter-silent', 504],
    ])
    expect(logged[2]).toMatchObject({
      level: 'error',
      error: expect.objectContaining({ message: expect.stringMatching(/ECONNREFUSED/) }),
    })
  })

  it('gives named errors of each kind the category their name says', () => {
    expect(new InvalidInputError('x').category).toBe('invalid-input')
    expect(new ZkMeterError('x').category).toBe('invalid-input')
    expect(new HttpError(409, 'x').category).toBe('conflict')
    expect(new HttpError(503, 'x').category).toBe('unavailable')
  })

  it('streams events to SSE clients and drops them on disconnect', async () => {
    const hub = new SseHub()
    const url = await serve((a) => a.sse('/api/stream', hub))
    const controller = new AbortController()
    const res = await fetch(`${url}/api/stream`, { signal: controller.signal })
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/)
    const reader = (res.body as ReadableStream<Uint8Array>).getReader()
    await reader.read() // the opening comment
    await expect.poll(() => hub.size).toBe(1)
    hub.publish('reading', { powerW: 1500 })
    const { value } = await reader.read()
    const frame = new TextDecoder().decode(value)
    expect(frame).toContain('event: reading')
    expect(frame).toContain('data: {"powerW":1500}')
    controller.abort()
    await expect.poll(() => hub.size).toBe(0)
  })
})
