/**
 * The embedded MQTT broker: aedes on a plain TCP server, loopback-only unless told otherwise, with
 * a hard bound on packet and payload size so one misbehaving client cannot make the node buffer
 * megabytes. Meter and node connect to it like to any external broker (see client.ts).
 */

import { createServer, type Server, type Socket } from 'node:net'
import { Duplex } from 'node:stream'
import type { ReadableWritablePair } from 'node:stream/web'
import { Aedes } from 'aedes'
import { InvalidInputError } from '#protocol/errors.ts'
import { type Logger, silentLogger } from '../log/logger.ts'
import { BrokerStartError } from './errors.ts'
import { createPacketGuard } from './packet-guard.ts'

/** Largest PUBLISH payload accepted; a signed record is ~700 bytes, a period close ~400. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 64 * 1024
/** Room for the fixed/variable header and topic on top of the payload bound. */
const HEADER_ALLOWANCE_BYTES = 1024

export interface BrokerOptions {
  /** Interface to bind; loopback by default so the meter link is not exposed to the LAN. */
  host?: string
  /** TCP port; 0 picks a free one (tests). */
  port?: number
  maxPayloadBytes?: number
  /** Told whenever the broker rejects something (oversized, bad packet) or a client fails. Default: silent. */
  log?: Logger
}

export interface Broker {
  start(): Promise<void>
  stop(): Promise<void>
  /** mqtt://host:port with the actual port; throws before start(). */
  readonly url: string
  readonly port: number
}

export class PayloadTooLargeError extends InvalidInputError {
  override name = 'PayloadTooLargeError'
}

function validate(options: BrokerOptions): Required<Omit<BrokerOptions, 'log'>> {
  const host = options.host ?? '127.0.0.1'
  const port = options.port ?? 1883
  const maxPayloadBytes = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES
  if (typeof host !== 'string' || host.length === 0) {
    throw new InvalidInputError('broker host must be a non-empty interface address such as 127.0.0.1')
  }
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InvalidInputError(`broker port must be an integer in [0, 65535], got ${String(port)}`)
  }
  if (!Number.isInteger(maxPayloadBytes) || maxPayloadBytes < 1 || maxPayloadBytes > 256 * 1024 * 1024) {
    throw new InvalidInputError(
      `maxPayloadBytes must be an integer in [1, 268435456], got ${maxPayloadBytes}`,
    )
  }
  return { host, port, maxPayloadBytes }
}

/** Every client that disconnects aborts its stream: an ordinary end, not worth a warning. */
const isConnectionEnd = (error: Error) => error.name === 'AbortError'

function formatUrl(host: string, port: number): string {
  return `mqtt://${host.includes(':') ? `[${host}]` : host}:${port}`
}

export function createBroker(options: BrokerOptions = {}): Broker {
  const { host, port, maxPayloadBytes } = validate(options)
  const log = options.log ?? silentLogger
  let aedes: Aedes | undefined
  let server: Server | undefined
  let boundPort: number | undefined
  const sockets = new Set<Socket>()
  let starting: Promise<void> | undefined
  let stopping: Promise<void> | undefined

  const onConnection = (broker: Aedes) => (socket: Socket) => {
    // aedes writes small packets; with Nagle on they wait for the peer's delayed ACK (~40 ms a hop).
    socket.setNoDelay(true)
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    const guard = createPacketGuard(maxPayloadBytes + HEADER_ALLOWANCE_BYTES)
    guard.on('error', (error) => {
      if (!isConnectionEnd(error))
        log.warn('closing a connection', { peer: `${socket.remoteAddress}:${socket.remotePort}`, error })
      socket.destroy()
    })
    socket.on('error', () => socket.destroy())
    socket.pipe(guard)
    // Node documents Duplex.from({ readable, writable }) for node streams; @types/node only
    // declares the web-stream pair, hence the cast.
    const pair = { readable: guard, writable: socket } as unknown as ReadableWritablePair
    broker.handle(Duplex.from(pair))
  }

  async function start(): Promise<void> {
    if (stopping) throw new BrokerStartError('this broker was stopped; create a new one to start again')
    starting ??= (async () => {
      const broker = await Aedes.createBroker({
        authorizePublish(client, packet, callback) {
          const size = packet.payload?.length ?? 0
          if (size > maxPayloadBytes) {
            const reason = `payload of ${size} bytes on ${packet.topic} exceeds the ${maxPayloadBytes}-byte limit`
            log.warn('rejected a publish', { client: client?.id ?? 'broker', reason })
            callback(new PayloadTooLargeError(reason))
            return
          }
          callback(null)
        },
      })
      broker.on('clientError', (client, error) => {
        if (!isConnectionEnd(error)) log.warn('client error', { client: client.id, error })
      })
      broker.on('connectionError', (_client, error) => log.warn('connection error', { error }))
      aedes = broker
      const srv = createServer(onConnection(broker))
      server = srv
      await new Promise<void>((resolve, reject) => {
        const onError = (error: NodeJS.ErrnoException) => {
          reject(
            new BrokerStartError(
              `cannot listen for MQTT on ${host}:${port} (${error.code ?? error.message}); ` +
                'choose another port or stop the program using it',
              { cause: error, details: { host, port } },
            ),
          )
        }
        srv.once('error', onError)
        srv.listen(port, host, () => {
          srv.off('error', onError)
          resolve()
        })
      }).catch(async (error) => {
        await new Promise<void>((resolve) => broker.close(() => resolve()))
        aedes = undefined
        server = undefined
        throw error
      })
      const address = srv.address()
      boundPort = typeof address === 'object' && address ? address.port : port
    })()
    return starting
  }

  async function stop(): Promise<void> {
    stopping ??= (async () => {
      await starting?.catch(() => {})
      const srv = server
      const broker = aedes
      if (srv) {
        const closed = new Promise<void>((resolve) => srv.close(() => resolve()))
        for (const socket of sockets) socket.destroy()
        await closed
      }
      if (broker) await new Promise<void>((resolve) => broker.close(() => resolve()))
      server = undefined
      aedes = undefined
    })()
    return stopping
  }

  return {
    start,
    stop,
    get port() {
      if (boundPort === undefined) throw new BrokerStartError('the broker has no port until start() resolves')
      return boundPort
    },
    get url() {
      if (boundPort === undefined) throw new BrokerStartError('the broker has no URL until start() resolves')
      return formatUrl(host, boundPort)
    },
  }
}
