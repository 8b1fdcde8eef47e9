import { appendFile, readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { openJournal } from '../../src/ingest/journal.ts'
import { tempDir } from './helpers.ts'

let dir: Awaited<ReturnType<typeof tempDir>>
beforeEach(async () => {
  dir = await tempDir()
})
afterEach(async () => {
  await dir.remove()
})

const bytes = (text: string) => new TextEncoder().encode(text)
const text = (b: Uint8Array) => new TextDecoder().decode(b)

describe('journal', () => {
  it('replays every fsynced frame in order after reopening', async () => {
    const { journal } = await openJournal(dir.path)
    await Promise.all(Array.from({ length: 50 }, (_, i) => journal.append(bytes(`frame ${i}`))))
    await journal.append(bytes('last'))
    await journal.close()
    const reopened = await openJournal(dir.path)
    expect(reopened.frames.map((f) => text(f.payload))).toEqual([
      ...Array.from({ length: 50 }, (_, i) => `frame ${i}`),
      'last',
    ])
    expect(reopened.truncatedBytes).toBe(0)
    await reopened.journal.close()
  })

  it('an append made right after another one resolved is written too', async () => {
    // The first append's resolve runs its caller before the write loop has let go of `writing`: the
    // second append saw a writer busy and did not start one, and waited for some later append.
    const { journal } = await openJournal(dir.path)
    await journal.append(bytes('first'))
    const second = journal.append(bytes('second'))
    const settled = await Promise.race([
      second.then(() => 'written'),
      new Promise((resolve) => setTimeout(() => resolve('still waiting'), 5000)),
    ])
    expect(settled).toBe('written')
    await journal.close()
  })

  it('group-commits: concurrent appends share fsyncs', async () => {
    const { journal } = await openJournal(dir.path)
    await Promise.all(Array.from({ length: 200 }, (_, i) => journal.append(bytes(`r${i}`))))
    const { syncs, frames } = journal.stats()
    expect(frames).toBe(200)
    expect(syncs).toBeLessThan(20)
    await journal.close()
  })

  it('truncates a torn tail and keeps every complete frame (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.string({ minLength: 1, maxLength: 40 }), { minLength: 1, maxLength: 12 }),
        fc.string({ minLength: 1, maxLength: 40 }),
        fc.double({ min: 0, max: 0.999, noNaN: true }),
        fc.boolean(),
        async (payloads, extra, cut, corruptLast) => {
          const sub = join(dir.path, `p${Math.random().toString(16).slice(2)}`)
          const { journal } = await openJournal(sub)
          await Promise.all(payloads.map((p) => journal.append(bytes(p))))
          await journal.close()
          const [segment] = (await readdir(sub)).filter((f) => f.endsWith('.log')).sort()
          const path = join(sub, segment as string)
          if (corruptLast) {
            // The last frame's payload changed after its CRC was computed: it must go, the rest stay.
            const content = new Uint8Array(await readFile(path))
            content[content.length - 1] = (content[content.length - 1] as number) ^ 0xff
            await writeFile(path, content)
            const reopened = await openJournal(sub)
            expect(reopened.frames.map((f) => text(f.payload))).toEqual(payloads.slice(0, -1))
            await reopened.journal.close()
            return
          }
          // A write that never completed: a prefix of one more frame.
          const size = (await stat(path)).size
          const probe = join(sub, 'probe')
          const one = await openJournal(probe)
          await one.journal.append(bytes(extra))
          await one.journal.close()
          const [probeSegment] = (await readdir(probe)).filter((f) => f.endsWith('.log')).sort()
          const full = new Uint8Array(await readFile(join(probe, probeSegment as string)))
          const torn = full.subarray(0, Math.floor(cut * full.length))
          await appendFile(path, torn)
          const reopened = await openJournal(sub)
          expect(reopened.frames.map((f) => text(f.payload))).toEqual(payloads)
          expect(reopened.truncatedBytes).toBe(torn.length)
          expect((await stat(path)).size).toBe(size)
          await reopened.journal.close()
        },
      ),
      { numRuns: 30 },
    )
  })

  it('rotates and releases segments for compaction', async () => {
    const { journal } = await openJournal(dir.path)
    const segA = await journal.append(bytes('a'))
    const closed = await journal.rotate()
    expect(closed).toBe(segA)
    const segB = await journal.append(bytes('b'))
    expect(segB).toBe(segA + 1)
    await journal.release(segB)
    await journal.close()
    const reopened = await openJournal(dir.path)
    expect(reopened.frames.map((f) => text(f.payload))).toEqual(['b'])
    await reopened.journal.close()
  })

  it('refuses appends after close', async () => {
    const { journal } = await openJournal(dir.path)
    await journal.close()
    await journal.close()
    await expect(journal.append(bytes('x'))).rejects.toThrow(/closed/)
  })
})
