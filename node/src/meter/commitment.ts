/**
 * The period commitment of docs/protocol.md §3, computed as intervals close instead of from the
 * whole array at period end: the meter (firmware and simulator) cannot afford to keep 2976
 * readings, only the chain state and the current block of 225 readings (15 packed elements).
 * finish() equals commit(readings, salt, n, slots) of protocol/commitment.ts: it also keeps the
 * per-slot sums (slots numbers, 384 bytes at 96 slots) that version 3 of the commitment packs 12 to
 * an element and chains on after the layout word.
 */
import {
  CHAIN_RATE,
  commitToSlotSums,
  DIRECTION,
  type Direction,
  FIELD_ORDER,
  InvalidReadingError,
  InvalidSaltError,
  MAX_READING,
  packReadings,
  poseidonChain,
  READINGS_PER_ELEMENT,
  SLOTS,
  validatePeriodShape,
} from '#protocol/commitment.ts'
import { InvalidInputError } from '#protocol/errors.ts'

const BLOCK = READINGS_PER_ELEMENT * CHAIN_RATE

export interface CommitmentAccumulator {
  /** Sets reading `index`; indices must increase; skipped indices read 0. */
  add(index: number, reading: number): void
  /** The commitment of everything added (the rest read 0). The accumulator is spent afterwards. */
  finish(): bigint
  /** Index the next add() must be at or after. */
  readonly nextIndex: number
  /** Everything needed to continue after a restart (chain state, current block, position). */
  snapshot(): AccumulatorSnapshot
}

export interface AccumulatorSnapshot {
  n: number
  /** Chain state after the completed blocks, as a decimal string. */
  state: string
  block: number
  current: number[]
  next: number
  /** Slots per day and the per-slot sums of every reading added so far (commitment version 2 on). */
  slots: number
  sums: number[]
  /** Which counter's readings (the layout word's direction, protocol §3); absent = import. */
  direction?: Direction
}

/** Continues an accumulator from snapshot(); validates it like any other input. */
export function restoreCommitmentAccumulator(snapshot: AccumulatorSnapshot): CommitmentAccumulator {
  const bad = (what: string) => new InvalidInputError(`commitment snapshot: ${what}`)
  if (typeof snapshot !== 'object' || snapshot === null) throw bad('must be an object')
  const { n, state, block, current, next, slots, sums, direction = 'import' } = snapshot
  if (!Object.hasOwn(DIRECTION, direction)) throw bad('direction must be import or export')
  if (typeof state !== 'string' || !/^\d{1,80}$/.test(state)) throw bad('state must be a decimal string')
  if (!Number.isInteger(slots) || !Array.isArray(sums) || sums.length !== slots) {
    throw bad('slots and sums (commitment version 2) are missing or disagree: a state from an older version')
  }
  const acc = createCommitmentAccumulator(BigInt(state), n, slots, direction)
  const blocks = Math.ceil(Math.ceil(n / READINGS_PER_ELEMENT) / CHAIN_RATE)
  if (!Number.isInteger(block) || block < 0 || block >= blocks) throw bad(`block must be in [0, ${blocks})`)
  if (!Array.isArray(current) || current.length > BLOCK)
    throw bad(`current must hold at most ${BLOCK} readings`)
  if (next !== block * BLOCK + current.length) throw bad('next does not match block and current')
  acc.load(block, current, next, sums)
  return acc
}

export function createCommitmentAccumulator(
  salt: bigint,
  n: number,
  slots: number = SLOTS,
  direction: Direction = 'import',
): CommitmentAccumulator & { load(block: number, current: number[], next: number, sums: number[]): void } {
  if (!Number.isInteger(n) || n <= 0)
    throw new InvalidInputError(`period size N must be a positive integer, got ${n}`)
  // At period open, not at the close: a period whose slot sums could outgrow their 20-bit lanes
  // (more than 32 days of readings per slot) could never be committed (protocol §3, version 3).
  validatePeriodShape(n, slots)
  // Checked at period open so a bad salt fails now, not when the period closes.
  if (typeof salt !== 'bigint' || salt < 0n || salt >= FIELD_ORDER) {
    throw new InvalidSaltError('salt must be a bigint in [0, r) where r is the BN254 scalar field order')
  }
  const blocks = Math.ceil(Math.ceil(n / READINGS_PER_ELEMENT) / CHAIN_RATE)
  let state = salt
  let block = 0
  let current: number[] = []
  let next = 0
  let finished = false
  let sums = new Array<number>(slots).fill(0)

  const flush = () => {
    state = poseidonChain(state, packReadings(current, BLOCK))
    block++
    current = []
  }

  return {
    add(index, reading) {
      if (finished) throw new InvalidInputError('this commitment was already finished')
      if (!Number.isInteger(index) || index < next || index >= n) {
        throw new InvalidInputError(`reading index must be an integer in [${next}, ${n}), got ${index}`)
      }
      if (!Number.isInteger(reading) || reading < 0 || reading > MAX_READING) {
        throw new InvalidReadingError(
          `reading ${index} must be an integer number of Wh in [0, ${MAX_READING}], got ${reading}`,
        )
      }
      while (index >= (block + 1) * BLOCK) flush()
      const slot = index - block * BLOCK
      while (current.length < slot) current.push(0)
      current.push(reading)
      // Readings are indexed from the period's first UTC midnight: reading i is in slot i mod slots.
      sums[index % slots] = (sums[index % slots] as number) + reading
      next = index + 1
    },
    finish() {
      if (finished) throw new InvalidInputError('this commitment was already finished')
      finished = true
      while (block < blocks) flush()
      return commitToSlotSums(state, sums.map(BigInt), direction)
    },
    get nextIndex() {
      return next
    },
    snapshot: () => ({
      n,
      state: state.toString(),
      block,
      current: [...current],
      next,
      slots,
      sums: [...sums],
      ...(direction === 'import' ? {} : { direction }),
    }),
    load(atBlock, readings, nextIndex, savedSums) {
      savedSums.forEach((v, s) => {
        if (!Number.isSafeInteger(v) || v < 0 || v > Math.ceil(n / slots) * MAX_READING) {
          throw new InvalidReadingError(
            `snapshot slot sum ${s} must be an integer in [0, ${Math.ceil(n / slots) * MAX_READING}]`,
          )
        }
      })
      readings.forEach((r, i) => {
        if (!Number.isInteger(r) || r < 0 || r > MAX_READING) {
          throw new InvalidReadingError(`snapshot reading ${i} must be an integer in [0, ${MAX_READING}]`)
        }
      })
      block = atBlock
      current = [...readings]
      next = nextIndex
      sums = [...savedSums]
    },
  }
}
