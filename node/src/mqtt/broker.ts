/**
 * The embedded MQTT broker: aedes on a plain TCP server, loopback-only unless told otherwise, and
 * optionally a TLS listener for meters on the LAN (8883), with
 * a hard bound on packet and payload size so one misbehaving client cannot make the node buffer
 * megabytes. Every client logs in (credentials.ts) and is held to its role's ACL (acl.ts): an
 * unknown user or a wrong password gets CONNACK 4, a refused subscription SUBACK 0x80, a refused
 * publish closes the connection. Failed logins are limited per address and per user name
 * (login-limits.ts): a locked-out address gets CONNACK 3 without its password being checked.
 * Meter and node connect to it like to any external broker (client.ts).
 */

import { createServer, type Server, type Socket } from 'node:net'
import { Duplex } from 'node:stream'
import type { ReadableWritablePair } from 'node:stream/web'
import { createServer as createTlsServer } from 'node:tls'
import { Aedes } from 'aedes'
import { InvalidInputError } from '#protocol/errors.ts'
import { type Logger, silentLogger } from '../log/logger.ts'
import { mayPublish, maySubscribe, mayUseClientId } from './acl.ts'
import type { CredentialStore, MqttUser } from './credentials.ts'
import { BrokerStartError } from './errors.ts'
import {
  createLoginLimits,
  type LoginLimitOptions,
  type LoginOutcome,
  limitKeyFor,
  TooManyLoginAttemptsError,
} from './login-limits.ts'
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
  /** Who may connect (read on every CONNECT): the data directory's store, openCredentialStore(). */
  credentials: Pick<CredentialStore, 'authenticate' | 'get'>
  /**
   * A TLS listener besides the plain one, for meters on the home network: the node's certificate
   * and key (PEM). Listens on every interface unless `host` says otherwise.
   */
  tls?: { port: number; host?: string; key: string; cert: string }
  /** Failed-login limits (login-limits.ts); the defaults suit a home network. */
  loginLimits?: LoginLimitOptions
}

export interface Broker {
  start(): Promise<void>
  stop(): Promise<void>
  /** mqtt://host:port with the actual port; throws before start(). */
  readonly url: string
  readonly port: number
  /** The TLS listener's actual port and mqtts:// URL (undefined without `tls`). */
  readonly tlsPort: number | undefined
  readonly tlsUrl: string | undefined
}

/** CONNACK return code 4 (MQTT 3.1.1): bad user name or password. */
class BadCredentialsError extends Error {
  readonly returnCode = 4
}
/** CONNACK return code 5: not authorized (here: a client id bound to another user). */
class NotAuthorizedError extends Error {
  readonly returnCode = 5
}

export class PayloadTooLargeError extends InvalidInputError {
  override name = 'PayloadTooLargeError'
}

function validate(options: BrokerOptions): { host: string; port: number; maxPayloadBytes: number } {
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

function listen(srv: Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
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
  })
}

function portOf(srv: Server, fallback: number): number {
  const address = srv.address()
  return typeof address === 'object' && address ? address.port : fallback
}

function formatUrl(host: string, port: number): string {
  return `mqtt://${host.includes(':') ? `[${host}]` : host}:${port}`
}

export function createBroker(options: BrokerOptions): Broker {
  const { host, port, maxPayloadBytes } = validate(options)
  const log = options.log ?? silentLogger
  const { credentials, tls } = options
  if (!credentials) throw new InvalidInputError('the broker needs a credential store: every client logs in')
  if (tls) validate({ ...options, host: tls.host ?? '0.0.0.0', port: tls.port })
  // The user each connected client logged in as (aedes keeps clients; this keeps who they are).
  const users = new WeakMap<object, MqttUser>()
  // The peer address of each connection handed to aedes (its client.conn), for the login limits.
  const peers = new WeakMap<object, string>()
  const limits = createLoginLimits(options.loginLimits)
  let aedes: Aedes | undefined
  let server: Server | undefined
  let tlsServer: Server | undefined
  let boundPort: number | undefined
  let boundTlsPort: number | undefined
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
    const conn = Duplex.from(pair)
    peers.set(conn, socket.remoteAddress ?? 'unknown')
    broker.handle(conn)
  }

  async function start(): Promise<void> {
    if (stopping) throw new BrokerStartError('this broker was stopped; create a new one to start again')
    starting ??= (async () => {
      const broker = await Aedes.createBroker({
        authenticate(client, username, password, callback) {
          const address = peers.get(client.conn) ?? 'unknown'
          const name = typeof username === 'string' ? username : undefined
          let report: ((outcome: LoginOutcome) => void) | undefined
          const check = async (): Promise<MqttUser | undefined> => {
            // Only names that exist get per-name state: an invented one costs no PBKDF2 below.
            const known = name !== undefined && (await credentials.get(name)) !== undefined
            report = await limits.admit(limitKeyFor(address, name), known ? name : undefined)
            // It may have waited its turn: a client that left meanwhile is not worth a PBKDF2.
            if (client.closed) {
              report(undefined)
              return undefined
            }
            const user = await credentials.authenticate(username, password)
            report(user ? 'success' : 'failure')
            return user
          }
          check().then(
            async (user) => {
              if (!user) {
                if (client.closed) return callback(new BadCredentialsError('the client left'), false)
                log.warn('refused a login', {
                  client: client.id,
                  user: String(username ?? '').slice(0, 64),
                  address,
                })
                return callback(new BadCredentialsError('bad user name or password'), false)
              }
              const other = new Set<string>()
              if (user.role !== 'node' && user.role !== 'meter' && client.id !== user.username) {
                if (await credentials.get(client.id)) other.add(client.id)
              }
              if (!mayUseClientId(user, client.id, (id) => other.has(id))) {
                log.warn('refused a client id', { client: client.id, user: user.username })
                return callback(
                  new NotAuthorizedError(`client id ${client.id} is not ${user.username}'s`),
                  false,
                )
              }
              users.set(client, user)
              callback(null, true)
            },
            (error: Error) => {
              report?.(undefined)
              if (error instanceof TooManyLoginAttemptsError) {
                log.warn('refused a login: too many failed attempts', {
                  client: client.id,
                  user: String(username ?? '').slice(0, 64),
                  address,
                  retryAfterMs: error.retryAfterMs,
                })
                return callback(error, false)
              }
              log.error('cannot read the MQTT users', { error })
              callback(new NotAuthorizedError('the broker cannot check credentials now'), false)
            },
          )
        },
        authorizePublish(client, packet, callback) {
          const size = packet.payload?.length ?? 0
          if (size > maxPayloadBytes) {
            const reason = `payload of ${size} bytes on ${packet.topic} exceeds the ${maxPayloadBytes}-byte limit`
            log.warn('rejected a publish', { client: client?.id ?? 'broker', reason })
            callback(new PayloadTooLargeError(reason))
            return
          }
          // The broker's own publishes ($SYS) come without a client.
          const user = client ? users.get(client) : undefined
          if (client && (!user || !mayPublish(user, packet.topic))) {
            log.warn('refused a publish', {
              client: client.id,
              user: user?.username,
              topic: packet.topic.slice(0, 120),
            })
            callback(
              new NotAuthorizedError(`${user?.username ?? 'this client'} may not publish on ${packet.topic}`),
            )
            return
          }
          callback(null)
        },
        authorizeSubscribe(client, subscription, callback) {
          const user = users.get(client)
          if (!user || !maySubscribe(user, subscription.topic)) {
            log.warn('refused a subscription', {
              client: client.id,
              user: user?.username,
              filter: subscription.topic.slice(0, 120),
            })
            // null: SUBACK 0x80 for this filter, the connection stays (MQTT 3.1.1 §3.9.3).
            callback(null, null)
            return
          }
          callback(null, subscription)
        },
      })
      broker.on('clientError', (client, error) => {
        if (!isConnectionEnd(error)) log.warn('client error', { client: client.id, error })
      })
      broker.on('connectionError', (_client, error) => log.warn('connection error', { error }))
      aedes = broker
      const srv = createServer(onConnection(broker))
      server = srv
      let secure: Server | undefined
      try {
        await listen(srv, port, host)
        if (tls) {
          secure = createTlsServer({ key: tls.key, cert: tls.cert, minVersion: 'TLSv1.2' }, (socket) =>
            onConnection(broker)(socket),
          )
          secure.on('tlsClientError', (error) => log.info('a TLS handshake failed', { error }))
          tlsServer = secure
          await listen(secure, tls.port, tls.host ?? '0.0.0.0')
        }
      } catch (error) {
        for (const s of [srv, secure])
          if (s?.listening) await new Promise<void>((resolve) => s.close(() => resolve()))
        await new Promise<void>((resolve) => broker.close(() => resolve()))
        aedes = undefined
        server = undefined
        tlsServer = undefined
        throw error
      }
      boundPort = portOf(srv, port)
      if (secure && tls) boundTlsPort = portOf(secure, tls.port)
    })()
    return starting
  }

  async function stop(): Promise<void> {
    stopping ??= (async () => {
      await starting?.catch(() => {})
      const srv = server
      const broker = aedes
      const closed = [srv, tlsServer]
        .filter((s): s is Server => s !== undefined)
        .map((s) => new Promise<void>((resolve) => s.close(() => resolve())))
      for (const socket of sockets) socket.destroy()
      await Promise.all(closed)
      tlsServer = undefined
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
    get tlsPort() {
      return boundTlsPort
    },
    get tlsUrl() {
      if (boundTlsPort === undefined || !tls) return undefined
      const h = tls.host === undefined || tls.host === '0.0.0.0' ? '127.0.0.1' : tls.host
      return formatUrl(h, boundTlsPort).replace(/^mqtt:/, 'mqtts:')
    },
  }
}
