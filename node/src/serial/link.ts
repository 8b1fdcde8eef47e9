/**
 * A meter wired to the node by USB: the same signed messages it would publish over MQTT arrive as
 * MESSAGE frames on the serial line (docs/serial.md), go through the ingestor's one path, and the
 * acks and Resend requests go back as frames. The port may vanish (USB unplug) and come back: the
 * link reopens it with backoff and sends the current acks again, as a retained MQTT ack would.
 */

import { SerialPort } from 'serialport'
import { InvalidInputError, ZkMeterError } from '#protocol/errors.ts'
import { encodeMessage, type SerialMessage } from '#protocol/serial/message.ts'
import type { Ingestor, OutboundMessage } from '../ingest/ingestor.ts'
import { type Logger, silentLogger } from '../log/logger.ts'
import { createFrameReader } from './frame-reader.ts'
import { newCounters, type SerialLinkCounters } from './link-counters.ts'
import { createMessageRouter } from './message-router.ts'

export type { SerialLinkCounters } from './link-counters.ts'

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
  /** Where the link reports connects, disconnects and failed writes (default: silent). */
  log?: Logger
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

export interface SerialMeterLink {
  start(): Promise<void>
  stop(): Promise<void>
  /** Sends a message to the meter (a command topic such as cmnd/<meter>/POWER1). */
  send(topic: string, payload: Uint8Array | string): boolean
  readonly connected: boolean
  counters(): SerialLinkCounters
}

export const DEFAULT_SERIAL_BAUD = 9600

function checkOptions(options: SerialMeterLinkOptions): void {
  if (typeof options?.path !== 'string' || options.path.length === 0)
    throw new SerialLinkConfigError('the serial link needs the path of the port (e.g. /dev/ttyUSB0)')
  const baudRate = options.baudRate ?? DEFAULT_SERIAL_BAUD
  if (!Number.isInteger(baudRate) || baudRate <= 0)
    throw new SerialLinkConfigError(`baud rate must be a positive integer, got ${baudRate}`)
  if (typeof options.ingestor?.ingest !== 'function' || typeof options.ingestor.addOutbound !== 'function')
    throw new SerialLinkConfigError('the serial link needs the node ingestor')
}

/** Wires the frame reader and the message router to a port it opens, loses and reopens with backoff. */
export function createSerialMeterLink(options: SerialMeterLinkOptions): SerialMeterLink {
  checkOptions(options)
  const baudRate = options.baudRate ?? DEFAULT_SERIAL_BAUD
  const log = options.log ?? silentLogger
  const backoffMs = options.backoffMs ?? 250
  const maxBackoffMs = options.maxBackoffMs ?? 5000
  const createPort =
    options.createPort ?? ((o: { path: string; baudRate: number; autoOpen: false }) => new SerialPort(o))
  const { ingestor, path } = options
  const counters = newCounters()
  const router = createMessageRouter({
    ingestor,
    counters,
    maxQueued: options.maxQueued ?? 256,
    log,
    onMessage: options.onMessage,
  })
  const reader = createFrameReader(counters, router.route)
  let port: SerialPortLike | undefined
  let running = false
  let delay = backoffMs
  let retryTimer: NodeJS.Timeout | undefined
  let detach: (() => void) | undefined
  let nextId = 0

  const write = (topic: string, payload: Uint8Array | string): boolean => {
    const p = port
    if (p === undefined || !p.isOpen) return false
    const frames = encodeMessage(nextId, topic, payload)
    nextId = (nextId + 1) & 0xff
    for (const frame of frames) {
      p.write(frame, (error) => {
        if (error) log.warn('a write to the meter failed', { path, error })
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
    log.warn('the meter disconnected', { path, reason })
    reader.reset()
    scheduleReopen()
  }

  const open = async (): Promise<void> => {
    if (!running) return
    let p: SerialPortLike
    try {
      p = createPort({ path, baudRate, autoOpen: false })
    } catch (error) {
      log.warn('could not open the serial port', { path, error })
      scheduleReopen()
      return
    }
    p.on('error', (error) => lost(error?.message ?? 'port error'))
    const error = await new Promise<Error | null>((resolve) => p.open(resolve))
    if (error !== null) {
      p.removeAllListeners()
      p.on('error', () => {})
      log.warn('could not open the serial port', { path, error, retryMs: delay })
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
    p.on('data', reader.onData)
    p.on('close', (closeError) => lost(closeError?.message ?? 'port closed'))
    detach = ingestor.addOutbound((m: OutboundMessage) => {
      write(m.topic, m.payload)
    })
    log.info('the meter connected', { path, baudRate })
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
      retryTimer = undefined
      reader.stop()
      detach?.()
      detach = undefined
      const p = port
      port = undefined
      if (p !== undefined) {
        p.removeAllListeners()
        p.on('error', () => {})
        if (p.isOpen) await new Promise<void>((resolve) => p.close(() => resolve()))
      }
      await router.drained()
    },
    send(topic, payload) {
      return write(topic, payload)
    },
    get connected() {
      return port?.isOpen ?? false
    },
    counters() {
      reader.syncCounters()
      return { ...counters }
    },
  }
}
