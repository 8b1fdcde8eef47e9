/**
 * Pipelined intake with ordered, held-back PUBACKs for the node's MQTT session.
 *
 * mqtt.js takes in one PUBLISH at a time: it parses the next packet only after the handleMessage
 * callback has run and the PUBACK is written. Holding that callback until a record is durable (what
 * "PUBACK after fsync" needs) therefore made every record wait for its own fsync, alone: the
 * journal's group commit never had two records to share a sync, and the process sat idle for most of
 * a backlog replay (a CPU profile of bench:ingest over MQTT: 37 % idle).
 *
 * Here the handleMessage callback runs at once, so mqtt.js goes on to the next packet, and the PUBACK
 * it then asks to send is held back until that record's `handled` promise resolves (the record is
 * journaled and fsynced, or refused) and every PUBACK before it has gone: PUBACKs leave in the order
 * the PUBLISHes came (MQTT 3.1.1 §4.6), never before the record is durable. At most `window`
 * messages are in flight; beyond that mqtt.js is not told to go on (and TCP flow control slows the
 * broker). If a record cannot be stored (`handled` rejects), its PUBACK and every later one are
 * dropped and the connection is closed: the broker redelivers them to the next session (QoS 1,
 * persistent session), where duplicates are dropped by sequence number. PUBACKs of a connection that
 * ended are dropped too; the broker redelivers those messages as well.
 *
 * This relies on one mqtt.js internal, `_sendPacket(packet, done)`, through which handlePublish writes
 * the PUBACK and resumes its parser (mqtt 5.x, handlers/publish.js); the session's tests check the
 * behaviour against a real broker (held PUBACKs, their order, the window), so an upgrade that
 * changes it fails there.
 */
import type { IPublishPacket, MqttClient } from 'mqtt'

/** What to do with an incoming PUBLISH: resolves once it is durable or refused; rejects if it cannot be stored. */
export type MessageHandler = (packet: IPublishPacket) => Promise<void>

/** Default in-flight bound: the journal's group commit shares one fsync among this many records. */
export const DEFAULT_PUBACK_WINDOW = 256

type Done = (error?: Error) => void
type SendPacket = (packet: { cmd: string; messageId?: number }, done?: Done, ...rest: unknown[]) => void

interface Held {
  packet: { cmd: string; messageId?: number }
  handled: Promise<void>
  stream: unknown
}

export interface OrderedPubacks {
  /** Messages taken in whose handling has not settled. */
  readonly inFlight: number
  /** Resolves when every message taken in so far has settled (its PUBACK sent or dropped). */
  idle(): Promise<void>
}

export function orderPubacks(
  client: MqttClient,
  handle: MessageHandler,
  options: { window?: number; onDropped?: (error: Error) => void } = {},
): OrderedPubacks {
  const window = options.window ?? DEFAULT_PUBACK_WINDOW
  if (!Number.isInteger(window) || window < 1)
    throw new RangeError(`window must be a positive integer, got ${window}`)
  const internal = client as unknown as { _sendPacket?: SendPacket }
  if (typeof internal._sendPacket !== 'function')
    throw new TypeError('this mqtt.js has no _sendPacket: ordered PUBACKs need mqtt 5.x')
  const send: SendPacket = internal._sendPacket.bind(client)

  /** QoS 1 messages handed to `handle`, by message id, until mqtt.js asks to PUBACK them. */
  const awaitingPuback = new Map<number, Promise<void>>()
  /** PUBACKs held back, oldest first. */
  const queue: Held[] = []
  /** Every message being handled (QoS 0 ones too): the window counts these. */
  const settling = new Set<Promise<void>>()
  /** mqtt.js' "go on parsing" callbacks held while the window is full. */
  const resume: (() => void)[] = []
  /** The stream whose PUBACKs were dropped after a failure: nothing more is acknowledged on it. */
  let broken: unknown
  let releasing = false
  let corked: { uncork(): void } | undefined

  const roomLeft = () => settling.size < window

  /**
   * Runs mqtt.js' continuation on the next turn of the event loop, unless the client was ended
   * meanwhile: its stores are closed then, and a packet still parsed (a late PUBACK) would crash it.
   */
  const later = (done: () => void): void => {
    setImmediate(() => {
      if (!client.disconnecting) done()
    })
  }

  const wake = (): void => {
    while (resume.length > 0 && roomLeft()) {
      const done = resume.shift()
      if (done) later(done)
    }
  }

  /**
   * Lets mqtt.js go on to the next packet, once the window has room, and always through
   * setImmediate: mqtt.js walks the packets of a socket chunk in a process.nextTick chain, which
   * would verify a whole chunk (a hundred records) before the event loop could deliver the
   * journal's fsync completion; yielding once per message lets fsyncs complete, and records
   * become durable (and acknowledged) while later ones are still being checked.
   */
  const proceed = (done: (() => void) | undefined): void => {
    if (!done) return
    if (roomLeft()) later(done)
    else resume.push(done)
  }

  const fail = (stream: unknown, error: Error): void => {
    if (broken === stream) return
    broken = stream
    options.onDropped?.(error)
    const s = stream as { destroy?(error?: Error): void }
    // The broker redelivers every message this connection did not PUBACK (persistent session).
    s.destroy?.()
  }

  /**
   * Sends the head of the queue while its record has settled, so PUBACKs leave strictly in order.
   * Several records settle together after one group fsync: their PUBACKs go out in one write (cork).
   */
  const release = async (): Promise<void> => {
    if (releasing) return
    releasing = true
    try {
      while (queue.length > 0) {
        const head = queue[0] as Held
        let error: Error | undefined
        try {
          await head.handled
        } catch (e) {
          error = e as Error
        }
        queue.shift()
        if (error !== undefined) fail(head.stream, error)
        if (
          error !== undefined ||
          head.stream !== client.stream ||
          broken === head.stream ||
          !client.connected
        )
          continue
        if (corked === undefined) {
          const stream = client.stream as unknown as { cork?(): void; uncork(): void }
          if (typeof stream.cork === 'function') {
            stream.cork()
            corked = stream
            process.nextTick(() => {
              corked?.uncork()
              corked = undefined
            })
          }
        }
        send(head.packet)
      }
    } finally {
      releasing = false
    }
  }

  internal._sendPacket = (packet, done, ...rest) => {
    const handled = packet.cmd === 'puback' ? awaitingPuback.get(packet.messageId as number) : undefined
    if (handled === undefined) {
      send(packet, done, ...rest)
      return
    }
    awaitingPuback.delete(packet.messageId as number)
    queue.push({ packet, handled, stream: client.stream })
    void release()
    proceed(done ? () => done() : undefined)
  }

  client.handleMessage = (packet, callback) => {
    const stream = client.stream
    // Called synchronously, so messages are checked in the order they came.
    let handled: Promise<void>
    try {
      handled = handle(packet)
    } catch (error) {
      handled = Promise.reject(error)
    }
    const settled = handled.then(
      () => {},
      (error: Error) => {
        // QoS 0 has no PUBACK to hold back; a storage failure still ends the connection.
        if (packet.qos === 0) fail(stream, error)
      },
    )
    settling.add(settled)
    void settled.finally(() => {
      settling.delete(settled)
      wake()
    })
    if (packet.qos === 1 && packet.messageId !== undefined) {
      awaitingPuback.set(packet.messageId, handled)
      // mqtt.js now asks for the PUBACK (held in _sendPacket above) and resumes through it.
      callback()
    } else if (packet.qos === 2) {
      // Not subscribed for (the node asks for QoS 1 at most): held as mqtt.js would, one at a time.
      handled.then(
        () => callback(),
        (error: Error) => callback(error),
      )
    } else {
      proceed(() => callback())
    }
  }

  return {
    get inFlight() {
      return settling.size
    },
    async idle() {
      while (settling.size > 0) await Promise.all(settling)
      while (releasing || queue.length > 0) await new Promise((resolve) => setImmediate(resolve))
    },
  }
}
