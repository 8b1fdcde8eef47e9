import { createServer, type Socket } from 'node:net'
import { describe, expect, it } from 'vitest'
import { InvalidInputError } from '#protocol/errors.ts'
import { scaledBudget } from '../../../test/support/load.ts'
import { reservePort } from '../../../test/support/ports.ts'
import { createBroker } from '../../src/mqtt/broker.ts'
import { closeMqtt, connectMqtt } from '../../src/mqtt/client.ts'
import { MqttConnectRefusedError, MqttUnreachableError } from '../../src/mqtt/errors.ts'
import { createTestUsers } from './users.ts'

describe('connectMqtt', () => {
  it('fails with MqttUnreachableError within the timeout when nothing listens', async () => {
    const port = await reservePort()
    const started = Date.now()
    const error = await connectMqtt(`mqtt://127.0.0.1:${port}`, { timeoutMs: 300 }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(MqttUnreachableError)
    expect((error as Error).message).toMatch(
      /no MQTT broker answered at mqtt:\/\/127\.0\.0\.1:\d+ within 300 ms/,
    )
    expect(Date.now() - started).toBeLessThan(scaledBudget(2000))
  })

  it('fails with MqttUnreachableError when a server accepts TCP but never speaks MQTT', async () => {
    const sockets: Socket[] = []
    const server = createServer((socket) => {
      sockets.push(socket)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const address = server.address()
    const port = typeof address === 'object' && address ? address.port : 0
    const error = await connectMqtt(`mqtt://127.0.0.1:${port}`, { timeoutMs: 300 }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(MqttUnreachableError)
    for (const socket of sockets) socket.destroy()
    await new Promise((resolve) => server.close(resolve))
  })

  it('rejects bad URLs and options before connecting, without leaking credentials', async () => {
    await expect(connectMqtt('not a url')).rejects.toBeInstanceOf(InvalidInputError)
    await expect(connectMqtt('http://127.0.0.1:1883')).rejects.toThrow(/scheme/)
    await expect(connectMqtt('mqtt://127.0.0.1:1883', { timeoutMs: 0 })).rejects.toThrow(/timeoutMs/)
    const port = await reservePort()
    const error = await connectMqtt(`mqtt://user:hunter2@127.0.0.1:${port}`, { timeoutMs: 200 }).catch(
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(MqttUnreachableError)
    expect((error as Error).message).not.toContain('hunter2')
  })

  it('closeMqtt can be called twice', async () => {
    const users = await createTestUsers()
    const broker = createBroker({ port: 0, credentials: users.store })
    await broker.start()
    const client = await connectMqtt(broker.url, users.node)
    await closeMqtt(client)
    await closeMqtt(client)
    await broker.stop()
    await users.remove()
  })

  it('names a refused login MqttConnectRefusedError, without the password', async () => {
    const users = await createTestUsers()
    const broker = createBroker({ port: 0, credentials: users.store })
    await broker.start()
    const error = await connectMqtt(broker.url, {
      username: 'node',
      password: 'hunter2',
      reconnectPeriod: 0,
    }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(MqttConnectRefusedError)
    expect((error as Error).message).not.toContain('hunter2')
    await broker.stop()
    await users.remove()
  })
})
