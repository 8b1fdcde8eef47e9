import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { scaledBudget } from '../../../test/support/load.ts'

const run = promisify(execFile)

/**
 * mDNS discovery in a fresh network namespace (`unshare -rn`: a private loopback, no other hosts and
 * no static peers), so only multicast DNS can bring the two nodes together. The nodes run in a child
 * process because a namespace is per process.
 */
describe('mDNS discovery', () => {
  it('two nodes in an isolated network namespace find each other by mDNS alone and exchange an alert', async () => {
    const child = fileURLToPath(new URL('./mdns-child.ts', import.meta.url))
    const { stdout } = await run(
      'unshare',
      ['-rn', 'sh', '-c', 'ip link set lo up && exec "$0" "$1"', process.execPath, child],
      { timeout: 60_000 },
    )
    const result = JSON.parse(stdout.trim().split('\n').at(-1) as string)
    expect(result).toMatchObject({ ok: true, acked: 1 })
    expect(result.discoveredMs).toBeLessThan(scaledBudget(20_000))
  })
})
