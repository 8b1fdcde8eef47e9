/**
 * The IPC between the node and its prover child (prover-process.ts ⇄ prover-worker.ts), typed on
 * both ends. Messages travel with Node's 'advanced' serialization, so bigints cross as bigints.
 */
import type { BillProver } from '../biller.ts'

export type BillProof = Awaited<ReturnType<BillProver['prove']>>

/** node → child: prove one bill. */
export interface ProveRequest {
  id: number
  readings: number[]
  salt: bigint
  prices: bigint[]
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
  | { type: 'error'; id: number; error: ProverErrorInfo }
