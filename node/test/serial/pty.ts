/**
 * A socat pty pair for serial tests: `<dir>/node` is the node's end, `<dir>/meter` the meter's.
 * socat is a CI dependency (apt-get install socat); a missing one fails with that instruction.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'

export interface PtyPair {
  node: string
  meter: string
  /** Ends socat: both ptys vanish, as a USB serial adapter does when unplugged. */
  kill(): Promise<void>
}

export function requireSocat(): void {
  const probe = spawnSync('socat', ['-V'], { stdio: 'ignore' })
  if (probe.error !== undefined || probe.status !== 0) {
    throw new Error('socat is required by the serial tests: install it (Debian: apt-get install socat)')
  }
}

export async function startPtyPair(dir: string): Promise<PtyPair> {
  const node = join(dir, 'node')
  const meter = join(dir, 'meter')
  const child: ChildProcess = spawn(
    'socat',
    [`pty,raw,echo=0,link=${node}`, `pty,raw,echo=0,link=${meter}`],
    { stdio: 'ignore' },
  )
  let exited = false
  child.once('exit', () => {
    exited = true
  })
  const deadline = Date.now() + 5000
  while (!(existsSync(node) && existsSync(meter))) {
    if (exited || Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error('socat did not create the pty pair within 5 s')
    }
    await new Promise((r) => setTimeout(r, 20))
  }
  return {
    node,
    meter,
    async kill() {
      if (exited) return
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()))
      child.kill('SIGTERM')
      await gone
    },
  }
}
