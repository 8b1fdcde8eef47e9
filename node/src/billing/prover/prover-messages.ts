/**
 * The IPC between the node and its prover child (prover-process.ts ⇄ prover-worker.ts), typed on
 * both ends. Messages travel with Node's 'advanced' serialization, so bigints cross as bigints.
 */
import type { BillProver, NetBillProofResult, NetProveInputs } from '../biller.ts'

export type BillProof = Awaited<ReturnType<BillProver['prove']>>

/** node → child: prove one bill (an import bill; `kind` absent in requests of older nodes). */
export interface ProveRequest {
  id: number
  kind?: 'bill'
  readings: number[]
  salt: bigint
  prices: bigint[]
}

/** node → child: prove one net bill (issue 17). */
export interface ProveNetRequest extends NetProveInputs {
  id: number
  kind: 'net'
}

export interface ProverErrorInfo {
  name: string
  message: string
}

/** child → node. */
export type ProverReply =
  | { type: 'ready'; n: number; slots: number }
  | { type: 'fatal'; error: ProverErrorInfo }
  | { type: 'result'; id: number; result: BillProof }
  | { type: 'net-result'; id: number; result: NetBillProofResult }
  | { type: 'error'; id: number; error: ProverErrorInfo }
