// The parts of snarkjs 0.7 (which ships no types) that zkmeter calls.
declare module 'snarkjs' {
  export interface Groth16Proof {
    pi_a: string[]
    pi_b: string[][]
    pi_c: string[]
    protocol: string
    curve: string
  }
  export interface VerificationKey {
    protocol: string
    curve: string
    nPublic: number
    [key: string]: unknown
  }
  export type FileRef = string | { type: 'mem'; data?: Uint8Array }
  export interface Logger {
    debug(msg: string): void
    info(msg: string): void
    warn(msg: string): void
    error(msg: string): void
  }
  export const groth16: {
    fullProve(
      input: Record<string, unknown>,
      wasm: string,
      zkey: string,
      logger?: Logger,
    ): Promise<{ proof: Groth16Proof; publicSignals: string[] }>
    prove(
      zkey: FileRef,
      wtns: FileRef,
      logger?: Logger,
      /** singleThread: compute on the main thread instead of one worker per core. */
      options?: { singleThread?: boolean },
    ): Promise<{ proof: Groth16Proof; publicSignals: string[] }>
    verify(
      vk: VerificationKey,
      publicSignals: string[],
      proof: Groth16Proof,
      logger?: Logger,
    ): Promise<boolean>
    exportSolidityCallData(proof: Groth16Proof, publicSignals: string[]): Promise<string>
  }
  export const wtns: {
    calculate(input: Record<string, unknown>, wasm: string, wtns: FileRef): Promise<void>
    check(r1cs: string, wtns: FileRef, logger?: Logger): Promise<boolean>
  }
  export const zKey: {
    newZKey(r1cs: string, ptau: string, zkey: string, logger?: Logger): Promise<Uint8Array>
    contribute(
      oldZkey: string,
      newZkey: string,
      name: string,
      entropy: string,
      logger?: Logger,
    ): Promise<Uint8Array>
    beacon(
      oldZkey: string,
      newZkey: string,
      name: string,
      beaconHashHex: string,
      numIterationsExp: number,
      logger?: Logger,
    ): Promise<Uint8Array>
    verifyFromR1cs(r1cs: string, ptau: string, zkey: string, logger?: Logger): Promise<boolean>
    verifyFromInit(initZkey: string, ptau: string, zkey: string, logger?: Logger): Promise<boolean>
    exportVerificationKey(zkey: string, logger?: Logger): Promise<VerificationKey>
    exportSolidityVerifier(zkey: string, templates: { groth16: string }, logger?: Logger): Promise<string>
  }
  export const powersOfTau: {
    verify(ptau: string, logger?: Logger): Promise<boolean>
    newAccumulator(curve: unknown, power: number, ptau: string, logger?: Logger): Promise<Uint8Array>
    contribute(
      oldPtau: string,
      newPtau: string,
      name: string,
      entropy: string,
      logger?: Logger,
    ): Promise<Uint8Array>
    beacon(
      oldPtau: string,
      newPtau: string,
      name: string,
      beaconHashHex: string,
      numIterationsExp: number,
      logger?: Logger,
    ): Promise<Uint8Array>
    preparePhase2(oldPtau: string, newPtau: string, logger?: Logger): Promise<void>
  }
  export const r1cs: {
    info(r1cs: string, logger?: Logger): Promise<{ nConstraints: number; nVars: number; nOutputs: number }>
  }
  export const curves: {
    getCurveFromName(name: string): Promise<unknown>
  }
}

// circom's witness calculator (snarkjs' own dependency, which wtns.calculate builds for every call).
declare module 'circom_runtime' {
  export interface WitnessCalculator {
    /** The witness as a .wtns file image; throws when an assert of the circuit fails. */
    calculateWTNSBin(input: Record<string, unknown>, sanityCheck?: boolean | number): Promise<Uint8Array>
  }
  /** memorySize: pages of the WebAssembly.Memory it creates for circom 1 code (default 32,767). */
  export function WitnessCalculatorBuilder(
    code: Uint8Array,
    options?: { memorySize?: number },
  ): Promise<WitnessCalculator>
}

// ffjavascript (snarkjs' curve library): only the curve builder.
declare module 'ffjavascript' {
  export function buildBn128(singleThread?: boolean): Promise<{ terminate(): Promise<void> }>
}
