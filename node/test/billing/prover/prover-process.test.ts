/**
 * The prover child runs only while there is proving to do: none at start, one during a proof, gone
 * after the idle time, and a new one for the next proof (real Groth16 proofs, test circuit).
 */
import { describe, expect, it } from 'vitest'
import { scaledBudget } from '../../../../test/support/load.ts'
import { processProver } from '../../../src/billing/prover/prover-process.ts'
import { demoPrices } from '../../../src/chain/embedded-chain.ts'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('processProver', () => {
  it(
    'starts its child for a proof and ends it after the idle time',
    async () => {
      const prover = await processProver('test', { idleMs: 300 })
      try {
        expect(prover.running).toBe(false)
        expect(prover.n).toBe(192)
        const prices = demoPrices(prover.slots)
        const readings = Array.from({ length: prover.n }, (_, i) => (i * 7) % 500)
        const first = await prover.prove({ readings, salt: 12345n, prices })
        expect(first.energyWh).toBe(BigInt(readings.reduce((a, b) => a + b, 0)))
        expect(prover.running).toBe(true)
        const deadline = Date.now() + 5000
        while (prover.running && Date.now() < deadline) await sleep(50)
        expect(prover.running).toBe(false)
        // The next bill gets a new child and the same answer.
        const second = await prover.prove({ readings, salt: 12345n, prices })
        expect(second.commitment).toBe(first.commitment)
        expect(second.total).toBe(first.total)
      } finally {
        await prover.close()
      }
      expect(prover.running).toBe(false)
      await expect(prover.prove({ readings: [], salt: 1n, prices: [] })).rejects.toThrow(/closed/)
    },
    scaledBudget(120_000),
  )
})
