/**
 * The meter's outbox of recently published records, for Resend. Bounded like the firmware's flash
 * ring: when full, the oldest record is dropped (the node detects the gap from the counters and
 * seq); an ack from the node frees everything up to the acknowledged seq.
 */
export interface BufferedRecord {
  seq: number
  payload: string
}

export interface RecordBuffer {
  push(record: BufferedRecord): void
  /** Records with from ≤ seq ≤ to, oldest first. */
  range(from: number, to: number): BufferedRecord[]
  /** Frees every record with seq ≤ seq; returns how many were freed. */
  ack(seq: number): number
  /** The oldest seq still held; undefined when empty. Held records are always a contiguous run. */
  readonly oldest: number | undefined
  readonly size: number
  readonly capacity: number
  /** Records dropped because the buffer was full (never acknowledged). */
  readonly dropped: number
}

export function createRecordBuffer(capacity: number): RecordBuffer {
  // A plain array used as a queue: records are appended in seq order and freed from the front.
  let items: BufferedRecord[] = []
  let dropped = 0
  return {
    push(record) {
      items.push(record)
      if (items.length > capacity) {
        items.shift()
        dropped++
      }
    },
    range(from, to) {
      return items.filter((r) => r.seq >= from && r.seq <= to)
    },
    ack(seq) {
      const before = items.length
      items = items.filter((r) => r.seq > seq)
      return before - items.length
    },
    get oldest() {
      return items[0]?.seq
    },
    get size() {
      return items.length
    },
    capacity,
    get dropped() {
      return dropped
    },
  }
}
