/**
 * A virtual meter stops in bounded time when the broker is slow to acknowledge: stop() used to wait
 * for every record in flight, and at 14,400× time on a busy machine a household node's stop took
 * 49 s, ingesting the backlog the whole time. The records the broker has not acknowledged are in the
 * checkpoint, as a real meter's flash keeps them, and a restart resends them.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { createConnection, createServer, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { scaledBudget } from '../../../test/support/load.ts'
import { waitUntil } from '../../../test/support/wait.ts'
import { checkpointKey, readCheckpoint } from '../../src/meter/checkpoint.ts'
import { STOP_FLUSH_MS } from '../../src/meter/virtual-meter.ts'
import { startTestBroker, type TestBroker } from '../mqtt/users.ts'
import { PRIVATE_KEY, startRig } from './fixtures.ts'

/** A TCP relay to the broker that can hold back everything the broker sends (its PUBACKs among it). */
async function freezableRelay(target: string) {
  const { hostname, port } = new URL(target)
  let frozen = false
  const sockets = new Set<Socket>()
  const server = createServer((client) => {
    const upstream = createConnection({ host: hostname, port: Number(port) })
    sockets.add(client).add(upstream)
    client.pipe(upstream)
    upstream.on('data', (chunk: Buffer) => {
      if (!frozen) client.write(chunk)
    })
    const end = () => {
      client.destroy()
      upstream.destroy()
    }
    client.on('close', end).on('error', end)
    upstream.on('close', end).on('error', end)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `mqtt://127.0.0.1:${(server.address() as { port: number }).port}`,
    freeze: () => {
      frozen = true
    },
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

let broker: TestBroker
let dir: string
beforeAll(async () => {
  broker = await startTestBroker()
  dir = await mkdtemp(join(tmpdir(), 'zkm-meter-stop-'))
})
afterAll(async () => {
  await broker.stop()
  await rm(dir, { recursive: true, force: true })
})

describe('stopping the virtual meter while the broker does not acknowledge', () => {
  it(
    'returns within its flush bound and keeps the unacknowledged records in the checkpoint',
    async () => {
      const relay = await freezableRelay(broker.url)
      const stateFile = join(dir, 'meter.json')
      const rig = await startRig({ url: relay.url, users: broker.users }, { stateFile })
      try {
        const before = rig.meter.state().nextSeq
        relay.freeze()
        // Two simulated hours: interval records and live samples, none acknowledged. The clock's
        // advance waits for the meter's flush, which cannot end while the relay holds the PUBACKs.
        const advancing = rig.clock.advance(2 * 3600)
        await waitUntil(() => rig.meter.state().nextSeq > before, scaledBudget(10_000), 'records published')
        const after = rig.meter.state().nextSeq

        const started = performance.now()
        await rig.meter.stop()
        const took = performance.now() - started
        // Before the bound it never returned while the broker held its acknowledgements.
        expect(took).toBeLessThan(STOP_FLUSH_MS + scaledBudget(3000))

        const saved = readCheckpoint(stateFile, checkpointKey(PRIVATE_KEY))
        const kept = new Set((saved?.buffer ?? []).map((r) => r.seq))
        for (let seq = before; seq < after; seq++) expect(kept.has(seq), `seq ${seq} kept`).toBe(true)
        // The clock is free again once the meter has stopped.
        await advancing
      } finally {
        await rig.sub.close()
        await relay.close()
      }
    },
    scaledBudget(60_000),
  )
})
