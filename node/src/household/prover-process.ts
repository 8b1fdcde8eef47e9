/** BillProver that proves in a child process (see prover-worker.ts for why). */
import { type ChildProcess, fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { BillProver } from '../billing/biller.ts'
import { ZkMeterError } from '../errors.ts'

/** The prover process died or could not start: retrying (with a new process) may succeed. */
export class ProverProcessError extends Error {
  override name = 'ProverProcessError'
}

/** A proving error the child reported (invalid witness, …): retrying will not help. */
export class ProvingError extends ZkMeterError {
  override name = 'ProvingError'
}

type Pending = { resolve: (v: never) => void; reject: (e: Error) => void }

export interface ProcessProver extends BillProver {
  n: number
  slots: number
  close(): Promise<void>
}

const WORKER = fileURLToPath(new URL('./prover-worker.ts', import.meta.url))

export async function processProver(profile: 'test' | 'production'): Promise<ProcessProver> {
  let child: ChildProcess | undefined
  let nextId = 1
  const pending = new Map<number, Pending>()
  let closed = false

  const spawn = () =>
    new Promise<{ n: number; slots: number }>((resolve, reject) => {
      const proc = fork(WORKER, [profile], {
        serialization: 'advanced',
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      })
      child = proc
      proc.on(
        'message',
        (message: {
          type: string
          id?: number
          n?: number
          slots?: number
          result?: never
          error?: { name: string; message: string }
        }) => {
          if (message.type === 'ready') resolve({ n: message.n as number, slots: message.slots as number })
          else if (message.type === 'fatal')
            reject(new ProvingError(`${message.error?.name}: ${message.error?.message}`))
          else if (message.id !== undefined) {
            const p = pending.get(message.id)
            pending.delete(message.id)
            if (message.type === 'result') p?.resolve(message.result as never)
            else
              p?.reject(
                new ProvingError(`${message.error?.name}: ${message.error?.message}`, {
                  details: { name: message.error?.name },
                }),
              )
          }
        },
      )
      proc.on('exit', (code, signal) => {
        if (child === proc) child = undefined
        const error = new ProverProcessError(`the prover process exited (${signal ?? code})`)
        reject(error)
        for (const p of pending.values()) p.reject(error)
        pending.clear()
      })
    })

  const { n, slots } = await spawn()

  return {
    n,
    slots,
    async prove(inputs) {
      if (closed) throw new ProverProcessError('the prover is closed')
      if (!child) await spawn()
      const id = nextId++
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve: resolve as (v: never) => void, reject })
        child?.send({ id, readings: [...inputs.readings], salt: inputs.salt, prices: [...inputs.prices] })
      })
    },
    async close() {
      closed = true
      const proc = child
      if (!proc) return
      await new Promise<void>((resolve) => {
        proc.once('exit', () => resolve())
        proc.kill('SIGKILL')
      })
    },
  }
}
