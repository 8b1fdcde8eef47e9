/**
 * The household's display currency (billing/display-currency.ts): set by the resident, validated,
 * kept across a restart (reopening the store), refused input changes nothing, an unreadable file
 * is moved aside and named instead of stopping the node.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { MoneyInputError } from '#protocol/money.ts'
import { CorruptSettingsFileError, openDisplayCurrencyStore } from '../../src/billing/display-currency.ts'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'zkm-display-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

const at = new Date('2026-12-07T05:00:00.000Z')

describe('display currency', () => {
  it('is none at first, is kept across a restart, and can be cleared', async () => {
    const store = await openDisplayCurrencyStore(dir, () => at)
    expect(store.get()).toBeNull()
    expect(await store.set({ currency: 'EUR', rate: '2,870.00' })).toEqual({
      currency: 'EUR',
      rate: '2870.00',
      setAt: '2026-12-07T05:00:00.000Z',
    })
    const reopened = await openDisplayCurrencyStore(dir)
    expect(reopened.problem).toBeUndefined()
    expect(reopened.get()).toEqual({ currency: 'EUR', rate: '2870.00', setAt: '2026-12-07T05:00:00.000Z' })
    await reopened.set(null)
    expect((await openDisplayCurrencyStore(dir)).get()).toBeNull()
    expect(await readdir(dir)).toEqual(['display-currency.json'])
  })

  it('refuses a bad code or rate and keeps what was set', async () => {
    const store = await openDisplayCurrencyStore(dir, () => at)
    await store.set({ currency: 'CHF', rate: '2500' })
    for (const bad of [
      { currency: 'chf', rate: '1' },
      { currency: 'ETH', rate: '1' },
      { currency: 'EUR', rate: '0' },
      { currency: 'EUR', rate: '-5' },
      { currency: 'EUR', rate: '1e9' },
      { currency: 'EUR', rate: 2870 },
      { currency: undefined, rate: '1' },
    ]) {
      await expect(store.set(bad), JSON.stringify(bad)).rejects.toBeInstanceOf(MoneyInputError)
    }
    expect(store.get()).toMatchObject({ currency: 'CHF', rate: '2500' })
    expect((await openDisplayCurrencyStore(dir)).get()).toMatchObject({ currency: 'CHF', rate: '2500' })
  })

  it('an unreadable file is moved aside and named; the store starts empty and works', async () => {
    const path = join(dir, 'display-currency.json')
    for (const text of [
      '{',
      '{"version":1,"display":{"currency":"EUR","rate":"-1","setAt":"x"}}',
      '{"version":2}',
    ]) {
      await writeFile(path, text)
      const store = await openDisplayCurrencyStore(dir, () => at)
      expect(store.problem).toBeInstanceOf(CorruptSettingsFileError)
      expect(store.get()).toBeNull()
      const aside = `${path}.corrupt-${at.getTime()}`
      expect(await readFile(aside, 'utf8')).toBe(text)
      await store.set({ currency: 'USD', rate: '3100' })
      expect((await openDisplayCurrencyStore(dir)).get()).toMatchObject({ currency: 'USD' })
      await rm(aside)
    }
  })
})
