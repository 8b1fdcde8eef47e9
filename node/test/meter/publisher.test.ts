/**
 * The meter's publisher waits for what it published, not for what keeps coming. A scaled clock
 * publishes interval records as simulated time runs; on a busy machine the node acknowledges them
 * more slowly than they are published. flush() used to wait until no publish at all was in flight,
 * which never happens then: the virtual meter's start() (and stop()) hung for minutes, and with them
 * the household node's start (found in the household mesh test under load).
 */
import { createServer } from 'node:net'
import { Aedes } from 'aedes'
import { afterEach, describe, expect, it } from 'vitest'
import { scaledBudget } from '../../../test/support/load.ts'
import { silentLogger } from '../../src/log/logger.ts'
import { createPublisher } from '../../src/meter/publisher.ts'
import { closeMqtt, connectMqtt } from '../../src/mqtt/client.ts'

/** A real broker whose PUBACKs each take `delayMs` (as a node that fsyncs every record before it acks). */
async function slowBroker(delayMs: number) {
  const broker = await Aedes.createBroker({
    authorizePublish: (_client, _packet, done) => void setTimeout(() => done(null), delayMs),
  })
  const server = createServer(broker.handle)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return {
    url: `mqtt://127.0.0.1:${port}`,
    close: async () => {
      await new Promise<void>((resolve) => broker.close(() => resolve()))
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

describe('the meter publisher', () => {
  it(
    'flush() resolves once what was published before it is acknowledged, while publishing goes on',
    async () => {
      const broker = await slowBroker(20)
      cleanups.push(broker.close)
      const client = await connectMqtt(broker.url, { clientId: 'publisher-test', timeoutMs: 5000 })
      cleanups.push(() => closeMqtt(client, true))
      const publisher = createPublisher(silentLogger)
      publisher.client = client

      const acked: number[] = []
      client.on('packetreceive', (packet) => {
        if (packet.cmd === 'puback' && packet.messageId !== undefined) acked.push(packet.messageId)
      })
      // A producer faster than the acks: a new record every 5 ms, each acked after 20 ms (in order).
      for (let i = 0; i < 10; i++) publisher.publish('zkmeter/test/records', `record ${i}`)
      const producer = setInterval(() => publisher.publish('zkmeter/test/records', 'more'), 5)
      cleanups.push(async () => clearInterval(producer))

      const started = performance.now()
      await publisher.flush()
      const waited = performance.now() - started
      // The ten records published before flush() are acked; flush() did not wait for the stream behind them.
      expect(acked.length).toBeGreaterThanOrEqual(10)
      // Ten acks take ~0.2 s; before the fix flush() never resolved and the test hit its budget.
      expect(waited).toBeLessThan(scaledBudget(20_000))
    },
    scaledBudget(30_000),
  )
})
