/**
 * Append-only write-ahead journal: what makes "durable before acknowledged" true.
 *
 * Frames `be32(length) ‖ be32(crc32(payload)) ‖ payload` go into segment files `seg-<16 digits>.log`.
 * Appends are group-committed: every frame handed in while the previous write+fsync runs is written
 * with one writev and one fdatasync, and all of their promises resolve together — so fsync cost is
 * per batch, not per record, whenever records arrive faster than the disk syncs.
 *
 * Recovery on open reads every segment in order; at the first frame whose header or CRC does not
 * check (a torn tail of a write that was never acknowledged) it truncates that segment there. A frame
 * that was completely written and fsynced is never dropped. Compaction is by whole segments: the owner
 * rotates to a new segment, flushes the closed one elsewhere (the vault), then releases it.
 */

import type { FileHandle } from 'node:fs/promises'
import { mkdir, readdir, readFile, rm, truncate } from 'node:fs/promises'
import { join } from 'node:path'
import { crc32 } from 'node:zlib'
import { InvalidInputError, ZkMeterError } from '#protocol/errors.ts'
import { type DiskOps, freeBytes, nodeDisk } from '../storage/disk.ts'

const HEADER = 8
/** A frame above this is not something this journal wrote: treat it as corruption. */
export const MAX_FRAME_BYTES = 1024 * 1024
const SEGMENT_RE = /^seg-(\d{16})\.log$/

export class JournalError extends ZkMeterError {
  override name = 'JournalError'
}

export interface JournalFrame {
  segment: number
  payload: Uint8Array
}

export interface Journal {
  /**
   * Resolves, with the segment it went to, once the frame (and every one before it) is fsynced.
   * `onDurable` runs synchronously right after the fsync, before any later rotate() returns: the
   * owner's per-segment bookkeeping can never miss a frame that landed in a closed segment.
   */
  append(payload: Uint8Array, onDurable?: (segment: number) => void): Promise<number>
  /** Segment that new appends go to. */
  readonly segment: number
  /** Waits for pending appends, then starts a new segment; returns the number of the closed one. */
  rotate(): Promise<number>
  /** Deletes every segment numbered below `segment` (their frames are safe elsewhere). */
  release(segment: number): Promise<void>
  /** Total fsyncs and frames written since open (to show group commit working). */
  stats(): { syncs: number; frames: number }
  /**
   * After a failed write (a full disk): cuts the segment back to its last fsynced frame, so no torn
   * frame stays on disk, and proves the disk writable again with a probe frame (which replay skips:
   * it names no meter). Throws the failure again while the disk is still full (or below
   * `reserveBytes` free); afterwards appends work again. A no-op on a healthy journal.
   */
  recover(reserveBytes?: number): Promise<void>
  close(): Promise<void>
}

export interface OpenJournalResult {
  journal: Journal
  /** Every intact frame found on disk, oldest first. */
  frames: JournalFrame[]
  /** Bytes cut off torn tails during recovery (0 after a clean shutdown). */
  truncatedBytes: number
}

const segmentName = (n: number): string => `seg-${String(n).padStart(16, '0')}.log`

function frame(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER + payload.length)
  const view = new DataView(out.buffer)
  view.setUint32(0, payload.length)
  view.setUint32(4, crc32(payload))
  out.set(payload, HEADER)
  return out
}

/** Splits a segment into intact frames; `valid` is the byte length up to the last intact frame. */
function scan(bytes: Uint8Array): { payloads: Uint8Array[]; valid: number } {
  const payloads: Uint8Array[] = []
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let at = 0
  while (at + HEADER <= bytes.length) {
    const length = view.getUint32(at)
    const crc = view.getUint32(at + 4)
    if (length > MAX_FRAME_BYTES || at + HEADER + length > bytes.length) break
    const payload = bytes.subarray(at + HEADER, at + HEADER + length)
    if (crc32(payload) !== crc) break
    payloads.push(payload)
    at += HEADER + length
  }
  return { payloads, valid: at }
}

async function syncDir(dir: string, disk: DiskOps = nodeDisk): Promise<void> {
  const handle = await disk.open(dir, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

export async function openJournal(dir: string, disk: DiskOps = nodeDisk): Promise<OpenJournalResult> {
  if (typeof dir !== 'string' || dir.length === 0)
    throw new InvalidInputError('the journal needs a directory')
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const numbers = (await readdir(dir))
    .map((name) => SEGMENT_RE.exec(name))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b)
  const frames: JournalFrame[] = []
  let truncatedBytes = 0
  for (const n of numbers) {
    const path = join(dir, segmentName(n))
    const bytes = new Uint8Array(await readFile(path))
    const { payloads, valid } = scan(bytes)
    for (const payload of payloads) frames.push({ segment: n, payload: Uint8Array.from(payload) })
    if (valid < bytes.length) {
      // Only the tail can be torn (frames are appended in order and fsynced before any ack).
      truncatedBytes += bytes.length - valid
      await truncate(path, valid)
    }
  }
  // Always start a fresh segment: a recovered segment is never appended to again.
  let segment = (numbers.at(-1) ?? 0) + 1
  let handle: FileHandle = await disk.open(join(dir, segmentName(segment)), 'a', 0o600)
  await syncDir(dir, disk)
  /** Bytes of the current segment that are fsynced frames: a failed write is cut back to this. */
  let durableBytes = 0

  interface Pending {
    bytes: Uint8Array
    onDurable: ((segment: number) => void) | undefined
    resolve: (segment: number) => void
    reject: (e: unknown) => void
  }
  let queue: Pending[] = []
  let writing: Promise<void> | undefined
  let closed = false
  let failure: unknown
  let syncs = 0
  let written = 0

  const writeLoop = async (): Promise<void> => {
    while (queue.length > 0) {
      const batch = queue
      queue = []
      try {
        if (failure !== undefined) throw failure
        // File and segment number are taken together: rotate() swaps both only between batches.
        const file = handle
        const into = segment
        await file.writev(batch.map((b) => b.bytes))
        await file.datasync()
        durableBytes += batch.reduce((n, b) => n + b.bytes.length, 0)
        syncs++
        written += batch.length
        for (const item of batch) {
          item.onDurable?.(into)
          item.resolve(into)
        }
      } catch (error) {
        // After a failed write the file's tail is unknown: refuse everything until reopened.
        failure ??= new JournalError('the journal could not write to disk; no record was acknowledged', {
          cause: error,
        })
        for (const item of batch) item.reject(failure)
      }
    }
  }
  const kick = (): Promise<void> => {
    writing ??= writeLoop().finally(() => {
      writing = undefined
      // A caller resumed by this loop's last resolve may have appended while `writing` was still
      // set, so its append did not start a writer: start one for it, or it waits for the next append.
      if (queue.length > 0) void kick()
    })
    return writing
  }
  const drain = async (): Promise<void> => {
    while (writing !== undefined || queue.length > 0) await kick()
  }

  const journal: Journal = {
    append(payload, onDurable) {
      if (closed) return Promise.reject(new JournalError('the journal is closed'))
      if (!(payload instanceof Uint8Array) || payload.length > MAX_FRAME_BYTES) {
        return Promise.reject(new InvalidInputError(`a journal frame is 0..${MAX_FRAME_BYTES} bytes`))
      }
      const { promise, resolve, reject } = Promise.withResolvers<number>()
      queue.push({ bytes: frame(payload), onDurable, resolve, reject })
      // Defer the write by a tick so appends of the same turn share one fsync.
      if (writing === undefined) setImmediate(() => void kick())
      return promise
    },
    get segment() {
      return segment
    },
    async rotate() {
      if (closed) throw new JournalError('the journal is closed')
      const next = await disk.open(join(dir, segmentName(segment + 1)), 'a', 0o600)
      await syncDir(dir, disk)
      // Frames appended while the new file was opened still go to the old one; once none is queued
      // or being written, swap file and number in one synchronous step.
      await drain()
      if (failure !== undefined) {
        await next.close()
        throw failure
      }
      const old = handle
      const closedSegment = segment
      handle = next
      segment++
      durableBytes = 0
      await old.close()
      return closedSegment
    },
    async release(below) {
      for (const name of await readdir(dir)) {
        const match = SEGMENT_RE.exec(name)
        if (match !== null && Number(match[1]) < below && Number(match[1]) !== segment) {
          await rm(join(dir, name), { force: true })
        }
      }
      await syncDir(dir, disk)
    },
    stats: () => ({ syncs, frames: written }),
    async recover(reserveBytes = 0) {
      if (closed) throw new JournalError('the journal is closed')
      await drain()
      if (failure === undefined) return
      const latched = failure
      if (reserveBytes > 0 && (await freeBytes(dir, disk)) < reserveBytes) throw latched
      await handle.truncate(durableBytes)
      await handle.datasync()
      failure = undefined
      try {
        await journal.append(new TextEncoder().encode('{"k":"probe"}'))
      } catch (error) {
        throw failure ?? error
      }
    },
    async close() {
      if (closed) return
      await drain()
      closed = true
      await handle.close()
    },
  }
  return { journal, frames, truncatedBytes }
}
