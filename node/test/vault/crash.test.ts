import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHeliaNode } from '../../src/ipfs/helia.ts'
import { createRootKeyFile, createVault, openRootKeyFile } from '../../src/vault/index.ts'
import { METER, PERIOD_END, PERIOD_START, scratch } from './helpers.ts'

const CHILD = fileURLToPath(new URL('./fixtures/append-child.ts', import.meta.url))

/** Runs the appending child until it has acknowledged `acks` batches, then SIGKILLs it. */
function runAndKill(
  dir: string,
  keyFile: string,
  firstSeq: number,
  acks: number,
): Promise<Array<[number, number]>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, dir, keyFile, String(firstSeq)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const acked: Array<[number, number]> = []
    let buffer = ''
    let stderr = ''
    child.stderr.on('data', (d) => {
      stderr += d
    })
    child.stdout.on('data', (d) => {
      buffer += d
      const lines = buffer.split('\n')
      buffer = lines.pop()!
      for (const line of lines) {
        const m = /^ack (\d+) (\d+)$/.exec(line)
        if (m) acked.push([Number(m[1]), Number(m[2])])
      }
      if (acked.length >= acks && child.exitCode === null) child.kill('SIGKILL')
    })
    child.on('exit', (_code, signal) => {
      if (signal === 'SIGKILL') resolve(acked)
      else reject(new Error(`child exited without being killed: ${stderr}`))
    })
  })
}

let s: Awaited<ReturnType<typeof scratch>>
beforeAll(async () => {
  s = await scratch('crash')
})
afterAll(async () => {
  await s.cleanup()
})

describe('kill -9 during appends', () => {
  it('loses no acknowledged batch and duplicates nothing across repeated crashes', async () => {
    const dir = join(s.dir, 'home')
    const keyFile = join(s.dir, 'root.key')
    await createRootKeyFile(keyFile, { insecureDev: true })

    const acked: Array<[number, number]> = []
    let nextSeq = 0
    for (const acks of [15, 40, 5]) {
      const round = await runAndKill(dir, keyFile, nextSeq, acks)
      expect(round.length).toBeGreaterThanOrEqual(acks)
      acked.push(...round)
      // Restart where a real node would: after the highest acknowledged record (an unacknowledged
      // batch may or may not have landed; the test accepts either, but never a duplicate index).
      nextSeq = 1_000_000 * (acked.length + 1)
    }

    const node = await createHeliaNode({ dir })
    try {
      const vault = createVault({
        helia: node.helia,
        rootKey: await openRootKeyFile(keyFile, { allowInsecureDev: true }),
      })
      const [period] = await vault.listPeriods()
      expect(period?.status).toBe('open')
      expect(period!.batchCount).toBeGreaterThanOrEqual(acked.length)
      const { manifestCid } = await vault.sealPeriod(METER, PERIOD_START, PERIOD_END)
      const records = (await vault.readPeriod(manifestCid)) as Array<{ seq: number }>
      const seqs = records.map((r) => r.seq)
      expect(new Set(seqs).size).toBe(seqs.length)
      for (const [, firstSeq] of acked) {
        for (let i = 0; i < 20; i++) expect(seqs).toContain(firstSeq + i)
      }
      // Indexes acknowledged in later rounds continue where the previous round's state ended.
      const indexes = acked.map(([index]) => index)
      expect(new Set(indexes).size).toBe(indexes.length)
    } finally {
      await node.stop()
    }
  })
})
