/**
 * One circuit's INSECURE development setup (dev zkey, export, transcript, manifest) in a process of
 * its own, so that build.ts runs the bill's and the net bill's `zkey new` on both cores at once:
 * snarkjs does most of that step on its main thread and cannot run in worker_threads.
 *
 *   node circuits/scripts/dev-setup-child.ts '<DevPlan as JSON>'
 *
 * Log lines go to stdout (the parent passes them on); an error exits 1 with its message on stderr.
 */
import { type DevPlan, finishDev } from './build.ts'

const plan = JSON.parse(process.argv[2] ?? '') as DevPlan
try {
  await finishDev(plan, (m) => console.log(m))
} catch (err) {
  console.error(err instanceof Error ? `${err.name}: ${err.message}` : String(err))
  process.exitCode = 1
} finally {
  // snarkjs' curve keeps worker threads alive; without this the process never exits.
  await (globalThis as { curve_bn128?: { terminate(): Promise<void> } }).curve_bn128?.terminate()
}
