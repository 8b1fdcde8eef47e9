/**
 * The node's routes are registered through the contract (protocol/api/routes.ts): every route of
 * ROUTES answers at its method and path, nothing else is served under /api, and the CSV download
 * goes out as text with the type and file name the map names. Over the fake node: the node's own
 * HTTP layer and handlers, on in-memory services (test/support/fake-node.ts).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ROUTES, STREAM_PATH } from '#protocol/api/routes.ts'
import { type FakeNode, reading, startFakeNode } from '../../../test/support/fake-node.ts'

let dist: string
let node: FakeNode

beforeAll(async () => {
  dist = await mkdtemp(join(tmpdir(), 'zkmeter-routes-'))
  node = await startFakeNode({ dist })
})

afterAll(async () => {
  await node.close()
  await rm(dist, { recursive: true, force: true })
})

describe('routes registered from the route map', () => {
  it('serves every route of the map at its path, allowing its method', async () => {
    for (const route of Object.values(ROUTES)) {
      const path = route.path.replace(/:[A-Za-z]+/g, '1')
      const answer = await fetch(`${node.url}${path}`, { method: 'PATCH' })
      expect(answer.status, `${route.method} ${route.path}`).toBe(405)
      expect(answer.headers.get('allow')?.split(', ')).toContain(route.method)
    }
  })

  it('serves no other API path', async () => {
    const answer = await fetch(`${node.url}/api/not-in-the-map`)
    expect(answer.status).toBe(404)
    expect(await answer.json()).toMatchObject({ error: 'NotFound' })
  })

  it('sends the CSV export as the download the map names', async () => {
    const answer = await fetch(`${node.url}${ROUTES.exportCsv.path}`, { headers: node.headers })
    expect(answer.status).toBe(200)
    expect(answer.headers.get('content-type')).toBe(ROUTES.exportCsv.text.type)
    expect(answer.headers.get('content-disposition')).toBe(
      `attachment; filename="${ROUTES.exportCsv.text.filename}"`,
    )
    expect(answer.headers.get('cache-control')).toBe('no-store')
    expect(await answer.text()).toMatch(/^[a-z]/i)
  })

  it('serves the live stream at the path the contract names', async () => {
    const controller = new AbortController()
    const answer = await fetch(`${node.url}${STREAM_PATH}`, {
      headers: node.headers,
      signal: controller.signal,
    })
    expect(answer.headers.get('content-type')).toBe('text/event-stream; charset=utf-8')
    controller.abort()
  })

  it('opens the live stream with the latest reading, and only with that', async () => {
    // Before any reading a new client gets only the opening comment, then live events.
    const first = await openStream()
    expect(await first.next()).toBe(': zkmeter live stream')
    node.emit('alarm', { id: 1 } as never)
    node.emit('reading', reading(41))
    node.emit('reading', reading(42))
    expect(await first.next()).toMatch(/^event: alarm/m)
    expect(await first.next()).toMatch(/"seq":41/)
    expect(await first.next()).toMatch(/"seq":42/)
    first.close()
    // A client connecting now gets the last reading at once (not the alarm: that was news).
    const second = await openStream()
    expect(await second.next()).toBe(': zkmeter live stream')
    const replayed = await second.next()
    expect(replayed).toMatch(/^event: reading$/m)
    expect(JSON.parse(/^data: (.*)$/m.exec(replayed)?.[1] ?? '')).toEqual(reading(42))
    node.emit('reading', reading(43))
    expect(await second.next()).toMatch(/"seq":43/)
    second.close()
  })
})

/** The stream's frames (blank-line separated), one at a time. */
async function openStream(): Promise<{ next(): Promise<string>; close(): void }> {
  const controller = new AbortController()
  const answer = await fetch(`${node.url}${STREAM_PATH}`, {
    headers: node.headers,
    signal: controller.signal,
  })
  const reader = (answer.body as ReadableStream<Uint8Array>).getReader()
  const decoder = new TextDecoder()
  let buffer = ''
  return {
    async next() {
      for (;;) {
        const end = buffer.indexOf('\n\n')
        if (end >= 0) {
          const frame = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          return frame
        }
        const { value, done } = await reader.read()
        if (done) throw new Error(`the stream ended; unread: ${buffer}`)
        buffer += decoder.decode(value, { stream: true })
      }
    },
    close: () => controller.abort(),
  }
}
