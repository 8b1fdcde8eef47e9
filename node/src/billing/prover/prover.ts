/** BillProver over the circuits' TypeScript API (circuits/src/index.ts, circuits/src/net.ts). */
import { CircuitNotBuiltError } from '../../../../circuits/src/errors.ts'
import { type Circuit, loadCircuit, prove, toSolidityProof } from '../../../../circuits/src/index.ts'
import { loadNetCircuit, proveNet } from '../../../../circuits/src/net.ts'
import type { BillProver, SolidityProofJson } from '../biller.ts'

const proofJson = (proof: Parameters<typeof toSolidityProof>[0]): SolidityProofJson => {
  const s = toSolidityProof(proof)
  return { a: s.a.map(String), b: s.b.map((row) => row.map(String)), c: s.c.map(String) }
}

export async function circuitProver(
  profile: 'test' | 'production',
): Promise<Required<BillProver> & { n: number; slots: number }> {
  const circuit = await loadCircuit(profile)
  // The net-bill circuit is loaded at the first net bill only: a home without solar never needs it.
  let netCircuit: Circuit | undefined
  const net = (): Circuit => {
    if (netCircuit) return netCircuit
    const loaded = loadNetCircuit(profile)
    if (loaded.n !== circuit.n || loaded.slots !== circuit.slots) {
      throw new CircuitNotBuiltError(
        `the net-bill circuit has ${loaded.n} readings and ${loaded.slots} slots, the bill circuit ${circuit.n} and ${circuit.slots}: rebuild the circuits`,
      )
    }
    netCircuit = loaded
    return loaded
  }
  return {
    n: circuit.n,
    slots: circuit.slots,
    async prove(inputs) {
      const { proof, publicSignals } = await prove(circuit, {
        readings: [...inputs.readings],
        salt: inputs.salt,
        prices: [...inputs.prices],
      })
      return {
        proof: proofJson(proof),
        commitment: publicSignals.commitment,
        tariffHash: publicSignals.tariffHash,
        total: publicSignals.total,
        energyWh: publicSignals.energyWh,
      }
    },
    async proveNet(inputs) {
      const { proof, publicSignals, amounts } = await proveNet(net(), {
        importReadings: [...inputs.importReadings],
        exportReadings: [...inputs.exportReadings],
        salt: inputs.salt,
        prices: [...inputs.prices],
        feedInPrices: [...inputs.feedInPrices],
      })
      return {
        proof: proofJson(proof),
        commitment: publicSignals.commitment,
        exportCommitment: publicSignals.exportCommitment,
        tariffHash: publicSignals.tariffHash,
        cost: amounts.cost,
        credit: amounts.credit,
        importWh: amounts.importWh,
        exportWh: amounts.exportWh,
      }
    },
  }
}
