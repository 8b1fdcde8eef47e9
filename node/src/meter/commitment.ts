/**
 * The period commitment of docs/protocol.md §3, computed as intervals close instead of from the
 * whole array at period end: the meter (firmware and simulator) cannot afford to keep 2976
 * readings, only the chain state and the current block of 225 readings (15 packed elements).
 * finish() equals commit(readings, salt, n) of circuits/src/commitment.ts.
 */
import {
  CHAIN_RATE,
  FIELD_ORDER,
  InvalidReadingError,
  InvalidSaltError,
  MAX_READING,
  packReadings,
  poseidonChain,
  READINGS_PER_ELEMENT,
} from '../../../circuits/src/commitment.ts'
import { InvalidInputError } from '../errors.ts'

const BLOCK = READINGS_PER_ELEMENT * CHAIN_RATE

export interface CommitmentAccumulator {
  /** Sets reading `index`; indices must increase; skipped indices read 0. */
  add(index: number, reading: number): void
  /** The commitment of everything added (the rest read 0). The accumulator is spent afterwards. */
  finish(): bigint
  /** Index the next add() must be at or after. */
  readonly nextIndex: number
}

export function createCommitmentAccumulator(salt: bigint, n: number): CommitmentAccumulator {
  if (!Number.isInteger(n) || n <= 0)
    throw new InvalidInputError(`period size N must be a positive integer, got ${n}`)
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
      next = index + 1
    },
    finish() {
      if (finished) throw new InvalidInputError('this commitment was already finished')
      finished = true
      while (block < blocks) flush()
      return state
    },
    get nextIndex() {
      return next
    },
  }
}
