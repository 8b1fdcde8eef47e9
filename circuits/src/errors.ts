/** Named errors of the circuit API (circuits/src/index.ts). */
import { InvalidInputError, ZkMeterError } from '#protocol/errors.ts'

/** The build artifacts of a profile are missing or unreadable: run the named npm script. */
export class CircuitNotBuiltError extends ZkMeterError {
  override name = 'CircuitNotBuiltError'
}

/** An argument of loadCircuit/prove/verify/toSolidityProof is malformed. */
export class InvalidCircuitInputError extends InvalidInputError {
  override name = 'InvalidCircuitInputError'
}

/** A proof or its public signals do not have the Groth16/BN254 shape snarkjs produces. */
export class InvalidProofError extends InvalidInputError {
  override name = 'InvalidProofError'
}

/** The witness could not be computed: the inputs violate a circuit constraint. */
export class WitnessError extends ZkMeterError {
  override name = 'WitnessError'
}
