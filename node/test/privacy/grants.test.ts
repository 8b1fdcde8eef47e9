import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openGrantStore } from '../../src/privacy/grants.ts'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'zkmeter-grants-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('grant store', () => {
  it('lists nothing before the first grant, then every grant in order, kept in grants.json', async () => {
    const store = openGrantStore(dir)
    expect(await store.list()).toEqual([])
    const first = {
      manifestCid: 'bafy-1',
      billId: 'b1',
      recipient: '0xaa',
      createdAt: '2026-12-01T00:00:00.000Z',
    }
    const second = {
      manifestCid: 'bafy-2',
      billId: 'b2',
      recipient: '0xbb',
      createdAt: '2026-12-02T00:00:00.000Z',
    }
    await store.append(first)
    await store.append(second)
    expect(await openGrantStore(dir).list()).toEqual([first, second])
    expect(JSON.parse(await readFile(join(dir, 'grants.json'), 'utf8'))).toEqual({ grants: [first, second] })
  })
})
