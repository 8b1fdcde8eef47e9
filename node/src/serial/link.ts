/**
 * A meter wired to the node by USB: the same signed messages it would publish over MQTT arrive as
 * MESSAGE frames on the serial line (docs/serial.md), go through the ingestor's one path, and the
 * acks and Resend requests go back as frames. The port may vanish (USB unplug) and come back: the
 * link reopens it with backoff and sends the current acks again, as a retained MQTT ack would.
 */
import { SerialPort } from 'serialport'
import { InvalidInputError, ZkMeterError } from '#protocol/errors.ts'
import { LINK_IDLE_MS, LinkDecoder, type LinkFrame } from '#protocol/serial/link.ts'
import {
  encodeMessage,
  MESSAGE_FRAME_TYPE,
  MessageAssembler,
  type SerialMessage,
} from '#protocol/serial/message.ts'
import type { Ingestor, OutboundMessage } from '../ingest/ingestor.ts'

export class SerialLinkError extends ZkMeterError {
  override name = 'SerialLinkError'
}

export class SerialLinkConfigError extends InvalidInputError {
  override name = 'SerialLinkConfigError'
}

/** What the link needs of a port: serialport's SerialPort and SerialPortMock both fit. */
export interface SerialPortLike {
  readonly isOpen: boolean
  open(callback: (error: Error | null) => void): void
  close(callback?: (error: Error | null) => void): void
  write(data: Uint8Array, callback?: (error: Error | null | undefined) => void): boolean
  on(event: 'data', listener: (chunk: Buffer) => void): this
  on(event: 'close' | 'error', listener: (error?: Error) => void): this
  removeAllListeners(): this
}

export interface SerialMeterLinkOptions {
  path: string
  baudRate?: number
  ingestor: Pick<Ingestor, 'ingest' | 'addOutbound'>
  log?: (entry: Record<string, unknown>) => void
  /** First reopen delay after the port fails; doubles up to maxBackoffMs. Default 250. */
  backoffMs?: number
  maxBackoffMs?: number
  /** Messages waiting for the ingestor before new ones are dropped (the meter resends). Default 256. */
  maxQueued?: number
  /** Opens the port; default serialport's SerialPort (tests pass SerialPortMock). */
  createPort?: (options: { path: string; baudRate: number; autoOpen: false }) => SerialPortLike
  /** Messages the ingestor does not take (RESULT, LWT) and STATE (both take it): what an MQTT subscriber would see. */
  onMessage?: (message: SerialMessage) => void
}

export interface SerialLinkCounters {
  frames: number
  crcErrors: number
  messagesDropped: number
  otherFrames: number
  /** Complete messages handed to onMessage: every topic but tele/<meter>/SENSOR, PERIOD and GONE. */
  otherMessages: number
  ingested: number
  rejected: number
  ingestFailed: number
  queueFull: number
  sent: number
  opens: number
  disconnects: number
}

export interface SerialMeterLink {
  start(): Promise<void>
  stop(): Promise<void>
  /** Sends a message to the meter (a command topic such as cmnd/<meter>/POWER1). */
  send(topic: string, payload: Uint8Array | string): boolean
  readonly connected: boolean
  counters(): SerialLinkCounters
}

export const DEFAULT_SERIAL_BAUD = 9600
/** What the node subscribes to over MQTT: the ingestor takes these. */
const INGESTED = /^tele\/[^/]+\/(SENSOR|PERIOD|GONE|STATE)$/
/** STATE also serves automation and Home Assistant, so it goes to onMessage (the bridge) as well. */
const SHARED = /^tele\/[^/]+\/STATE$/

export function createSerialMeterLink(options: SerialMeterLinkOptions): SerialMeterLink {
  if (typeof options?.path !== 'string' || options.path.length === 0)
    throw new SerialLinkConfigError('the serial link needs the path of the port (e.g. /dev/ttyUSB0)')
  const baudRate = options.baudRate ?? DEFAULT_SERIAL_BAUD
  if (!Number.isInteger(baudRate) || baudRate <= 0)
    throw new SerialLinkConfigError(`baud rate must be a positive integer, got ${baudRate}`)
  if (typeof options.ingestor?.ingest !== 'function' || typeof options.ingestor.addOutbound !== 'function')
    throw new SerialLinkConfigError('the serial link needs the node ingestor')
  const log =
    options.log ?? ((entry: Record<string, unknown>) => process.stderr.write(`${JSON.stringify(entry)}\n`))
  const backoffMs = options.backoffMs ?? 250
  const maxBackoffMs = options.maxBackoffMs ?? 5000
  const maxQueued = options.maxQueued ?? 256
  const createPort =
    options.createPort ?? ((o: { path: string; baudRate: number; autoOpen: false }) => new SerialPort(o))
  const { ingestor, path } = options

  const counters: SerialLinkCounters = {
    frames: 0,
    crcErrors: 0,
    messagesDropped: 0,
    otherFrames: 0,
    otherMessages: 0,
    ingested: 0,
    rejected: 0,
    ingestFailed: 0,
    queueFull: 0,
    sent: 0,
    opens: 0,
    disconnects: 0,
  }
  let decoder = new LinkDecoder()
  let crcBase = 0
  let assembler = new MessageAssembler()
  let droppedBase = 0
  let port: SerialPortLike | undefined
  let running = false
  let delay = backoffMs
  let retryTimer: NodeJS.Timeout | undefined
  let idleTimer: NodeJS.Timeout | undefined
  let detach: (() => void) | undefined
  let nextId = 0
  let queued = 0
  let queue: Promise<void> = Promise.resolve()

  const syncCounters = () => {
    counters.crcErrors = crcBase + decoder.errors
    counters.messagesDropped = droppedBase + assembler.dropped
  }

  const handle = (message: SerialMessage) => {
    // The ingestor takes what the node subscribes to over MQTT (tele/+/SENSOR, PERIOD, GONE, STATE).
    const ingested = INGESTED.test(message.topic)
    if (!ingested || SHARED.test(message.topic)) {
      counters.otherMessages++
      try {
        options.onMessage?.(message)
      } catch (error) {
        log({ level: 'warn', event: 'serial.listener-failed', reason: (error as Error)?.message })
      }
    }
    if (!ingested) return
    if (queued >= maxQueued) {
      counters.queueFull++
      return
    }
    queued++
    // One at a time and in order: the ingestor's gap detection expects the meter's order.
    queue = queue.then(async () => {
      try {
        const outcome = await ingestor.ingest(message.topic, message.payload)
        if (outcome.status === 'rejected') counters.rejected++
        else counters.ingested++
      } catch (error) {
        counters.ingestFailed++
        log({ level: 'error', event: 'serial.ingest-failed', reason: (error as Error)?.message })
      } finally {
        queued--
      }
    })
  }

  const onFrames = (frames: LinkFrame[]) => {
    for (const frame of frames) {
      counters.frames++
      if (frame.type !== MESSAGE_FRAME_TYPE) {
        // Raw UNO frames (unsigned MEASUREMENTs) are not billable; only signed messages are ingested.
        counters.otherFrames++
        continue
      }
      const message = assembler.push(frame)
      if (message !== undefined) handle(message)
    }
    syncCounters()
  }

  const onData = (chunk: Buffer) => {
    onFrames(decoder.push(chunk))
    if (idleTimer !== undefined) clearTimeout(idleTimer)
    idleTimer = setTimeout(() => {
      idleTimer = undefined
      onFrames(decoder.idle())
    }, LINK_IDLE_MS)
    idleTimer.unref()
  }

  const write = (topic: string, payload: Uint8Array | string): boolean => {
    const p = port
    if (p === undefined || !p.isOpen) return false
    const frames = encodeMessage(nextId, topic, payload)
    nextId = (nextId + 1) & 0xff
    for (const frame of frames) {
      p.write(frame, (error) => {
        if (error) log({ level: 'warn', event: 'serial.write-failed', path, reason: error.message })
      })
    }
    counters.sent++
    return true
  }

  const scheduleReopen = () => {
    if (!running || retryTimer !== undefined) return
    retryTimer = setTimeout(() => {
      retryTimer = undefined
      void open()
    }, delay)
    delay = Math.min(delay * 2, maxBackoffMs)
  }

  const lost = (reason: string) => {
    const p = port
    if (p === undefined) return
    port = undefined
    detach?.()
    detach = undefined
    p.removeAllListeners()
    // Keep an error listener: a late error from the dead port must not crash the process.
    p.on('error', () => {})
    if (p.isOpen) p.close(() => {})
    counters.disconnects++
    log({ level: 'warn', event: 'serial.disconnected', path, reason })
    // A partial frame or message from before the loss can never complete.
    crcBase += decoder.errors
    droppedBase += assembler.dropped
    decoder = new LinkDecoder()
    assembler = new MessageAssembler()
    scheduleReopen()
  }

  const open = async (): Promise<void> => {
    if (!running) return
    let p: SerialPortLike
    try {
      p = createPort({ path, baudRate, autoOpen: false })
    } catch (error) {
      log({ level: 'warn', event: 'serial.open-failed', path, reason: (error as Error)?.message })
      scheduleReopen()
      return
    }
    p.on('error', (error) => lost(error?.message ?? 'port error'))
    const error = await new Promise<Error | null>((resolve) => p.open(resolve))
    if (error !== null) {
      p.removeAllListeners()
      p.on('error', () => {})
      log({ level: 'warn', event: 'serial.open-failed', path, reason: error.message, retryMs: delay })
      scheduleReopen()
      return
    }
    if (!running) {
      p.close(() => {})
      return
    }
    port = p
    delay = backoffMs
    counters.opens++
    p.on('data', onData)
    p.on('close', (closeError) => lost(closeError?.message ?? 'port closed'))
    detach = ingestor.addOutbound((m: OutboundMessage) => {
      write(m.topic, m.payload)
    })
    log({ level: 'info', event: 'serial.connected', path, baudRate })
  }

  return {
    async start() {
      if (running) return
      running = true
      await open()
    },
    async stop() {
      running = false
      if (retryTimer !== undefined) clearTimeout(retryTimer)
      if (idleTimer !== undefined) clearTimeout(idleTimer)
      retryTimer = undefined
      idleTimer = undefined
      detach?.()
      detach = undefined
      const p = port
      port = undefined
      if (p !== undefined) {
        p.removeAllListeners()
        p.on('error', () => {})
        if (p.isOpen) await new Promise<void>((resolve) => p.close(() => resolve()))
      }
      await queue
    },
    send(topic, payload) {
      return write(topic, payload)
    },
    get connected() {
      return port?.isOpen ?? false
    },
    counters() {
      syncCounters()
      return { ...counters }
    },
  }
}
