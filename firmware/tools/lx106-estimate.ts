/**
 * ESP8266 (lx106 @ 80 MHz) cost estimate of the Poseidon(16) commitment, from the lx106 machine
 * code itself: the core is compiled with Debian's xtensa-lx106-elf-g++ (build-esp8266.ts), the
 * Montgomery multiplication `feMulRaw` and the modular addition `feAdd` are disassembled, and their
 * executed instructions are counted with each loop body weighted by its trip count (8 limbs). The
 * count of field operations per permutation follows from the round structure (t = 17, 8 full + 68
 * partial rounds, circomlib's optimised form with sparse partial-round matrices). Cycles = instructions × an assumed CPI; docs/benchmarks/firmware.md explains the
 * assumptions. There is no lx106 simulator in Debian, so this is an estimate, not a measurement.
 */
import { join } from 'node:path'
import { compileCoreForEsp8266, ESP_BUILD_DIR } from './build-esp8266.ts'
import { FirmwareBuildError, run } from './toolchain.ts'

export const LX106_HZ = 80_000_000
/** Cycles per instruction assumed for this code: single-issue lx106, 2-cycle MULL, load-use stalls, taken branches. */
export const ASSUMED_CPI = 1.3
export const T = 17
export const ROUNDS_F = 8
export const ROUNDS_P = 68
// Commitment version 3 (protocol §3): N = 2976 → 199 packed elements → 14 chain blocks over the
// readings, then at the period's close one block over the layout word and the 96 slot sums packed
// 12 to an element (⌈(1 + 8) / 15⌉ = 1; version 2 chained the sums unpacked: ⌈96 / 15⌉ = 7).
export const READINGS_PERMUTATIONS = 14
export const SLOT_SUM_PERMUTATIONS = 1
/**
 * Field conversions at the close (version 3): the layout word and 8 packed elements each enter the
 * Montgomery form with one multiplication (feFromLimbs); the lane shifts themselves are a few
 * hundred instructions for all 96 sums.
 */
export const CLOSE_CONVERSION_MULS = 9
export const PERMUTATIONS_PER_PERIOD = READINGS_PERMUTATIONS + SLOT_SUM_PERMUTATIONS

interface Instruction {
  address: number
  mnemonic: string
  target?: number
}

function disassemble(object: string, symbol: string): Instruction[] {
  const text = run('xtensa-lx106-elf-objdump', ['-d', object]).stdout
  const start = text.indexOf(`<${symbol}>:`)
  if (start < 0) throw new FirmwareBuildError(`${symbol} not found in ${object}`)
  const body = text.slice(start).split('\n\n')[0] ?? ''
  const out: Instruction[] = []
  for (const line of body.split('\n').slice(1)) {
    const m = /^\s*([0-9a-f]+):\s+[0-9a-f]+\s+(\S+)\s*(.*)$/.exec(line)
    if (!m) continue
    const [, address, mnemonic, operands] = m
    const branch = /^(b|j$|loop)/.test(mnemonic as string) ? /\b([0-9a-f]+) </.exec(operands as string) : null
    out.push({
      address: Number.parseInt(address as string, 16),
      mnemonic: mnemonic as string,
      ...(branch ? { target: Number.parseInt(branch[1] as string, 16) } : {}),
    })
  }
  return out
}

/**
 * Executed instructions of one call: instructions inside a loop (a backward branch's range) count
 * once per iteration; `trips` gives the trip count of each loop in address order of the loop start,
 * outermost first when two loops start at the same place.
 */
export function weightedCount(code: Instruction[], trips: number[]): { instructions: number; loops: number } {
  const loops = code
    .filter((i) => i.target !== undefined && i.target < i.address)
    .map((i) => ({ from: i.target as number, to: i.address }))
    .sort((a, b) => a.from - b.from || b.to - a.to)
  if (loops.length !== trips.length) {
    throw new FirmwareBuildError(
      `expected ${trips.length} loops, found ${loops.length}: the compiler changed the code shape; update lx106-estimate.ts`,
    )
  }
  let instructions = 0
  for (const i of code) {
    let weight = 1
    loops.forEach((loop, k) => {
      if (i.address >= loop.from && i.address <= loop.to) weight *= trips[k] as number
    })
    instructions += weight
  }
  return { instructions, loops: loops.length }
}

export interface Lx106Estimate {
  mulInstructions: number
  addInstructions: number
  mulsPerPermutation: number
  addsPerPermutation: number
  permutationMs: number
  commitMs: number
  /** The part spent at the period's close: the chain over the packed slot sums (version 3). */
  closeMs: number
}

export function estimateCommitment(): Lx106Estimate {
  compileCoreForEsp8266()
  const object = join(ESP_BUILD_DIR, 'zkm_field.o')
  // feMulRaw: outer loop over 8 limbs of b, containing the 8-limb product loop and the 7-limb
  // reduction loop.
  const mul = weightedCount(disassemble(object, '_ZN3zkm8feMulRawERNS_2FeERKS0_PKj'), [8, 8, 7])
  // feAdd: one 8-limb carry loop; the final comparison with r usually decides on the top limb.
  const add = weightedCount(disassemble(object, '_ZN3zkm5feAddERNS_2FeERKS0_S3_'), [8])
  const geqEarlyExit = 8
  // circomlib's optimised form (zkm_poseidon.cpp): x^5 S-boxes, 7 dense t×t mixes in the full
  // rounds, one final column, and a sparse (2t − 1) mix per partial round.
  const mulsPerPermutation =
    ROUNDS_F * T * 3 + ROUNDS_P * 3 + (ROUNDS_F - 1) * T * T + T + ROUNDS_P * (2 * T - 1)
  const addsPerPermutation = T * ROUNDS_F + ROUNDS_P + (ROUNDS_F - 1) * T * T + T + ROUNDS_P * (2 * T - 1)
  const cycles =
    (mulsPerPermutation * mul.instructions + addsPerPermutation * (add.instructions + geqEarlyExit)) *
    ASSUMED_CPI
  const permutationMs = (cycles / LX106_HZ) * 1000
  return {
    mulInstructions: mul.instructions,
    addInstructions: add.instructions + geqEarlyExit,
    mulsPerPermutation,
    addsPerPermutation,
    permutationMs,
    commitMs: permutationMs * PERMUTATIONS_PER_PERIOD,
    closeMs:
      permutationMs * SLOT_SUM_PERMUTATIONS +
      ((CLOSE_CONVERSION_MULS * mul.instructions * ASSUMED_CPI) / LX106_HZ) * 1000,
  }
}
