/** BillProver over the circuit's TypeScript API (circuits/src/index.ts). */
import { loadCircuit, prove, toSolidityProof } from '../../../../circuits/src/index.ts'
import type { BillProver } from '../biller.ts'

export async function circuitProver(
  profile: 'test' | 'production',
): Promise<BillProver & { n: number; slots: number }> {
  const circuit = await loadCircuit(profile)
  return {
    n: circuit.n,
    slots: circuit.slots,
    async prove(inputs) {
      const { proof, publicSignals } = await prove(circuit, {
        readings: [...inputs.readings],
        salt: inputs.salt,
        prices: [...inputs.prices],
      })
      const s = toSolidityProof(proof)
      return {
        proof: {
          a: s.a.map(String),
          b: s.b.map((row) => row.map(String)),
          c: s.c.map(String),
        },
        commitment: publicSignals.commitment,
        tariffHash: publicSignals.tariffHash,
        total: publicSignals.total,
        energyWh: publicSignals.energyWh,
      }
    },
  }
}
