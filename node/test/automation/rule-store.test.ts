import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { RuleSet, ScheduleRule } from '#protocol/api/types.ts'
import {
  openRuleStore,
  RuleNotFoundError,
  RuleRevisionConflictError,
  RuleStoreCorruptError,
} from '../../src/automation/rule-store.ts'
import { DEFAULT_RULE_SET, RuleConflictError, RuleValidationError } from '../../src/automation/rules.ts'

describe('file-backed rule store', () => {
  let dir: string
  let file: string
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'zkmeter-rules-'))
    file = join(dir, 'state', 'rules.json')
  })
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  const schedule = { id: 'wake', kind: 'schedule', relay: 3, on: true, at: '06:30', days: [1, 2, 3, 4, 5] }

  it('starts from the defaults, then persists put/delete atomically with increasing revisions', async () => {
    const store = await openRuleStore(file)
    expect(store.list().map((r) => r.id)).toEqual(DEFAULT_RULE_SET.rules.map((r) => r.id))
    const changes: number[] = []
    store.onChange((r) => changes.push(r.revision))
    const afterPut = await store.put(schedule)
    expect(afterPut.revision).toBe(1)
    expect(store.get('wake')).toEqual({ ...schedule, enabled: true })
    await store.put({ ...schedule, at: '07:00' })
    expect(store.get('wake').kind === 'schedule' && store.get('wake')).toMatchObject({ at: '07:00' })
    await store.delete('ceiling-fan')
    await store.setSettings({ utcOffsetMinutes: 330 })
    expect(changes).toEqual([1, 2, 3, 4])
    // Only the final file remains: temporary files were renamed into place.
    expect(await readdir(join(dir, 'state'))).toEqual(['rules.json'])
    const reopened = await openRuleStore(file)
    expect(reopened.current()).toEqual(store.current())
    expect(reopened.current()).toMatchObject({ revision: 4, utcOffsetMinutes: 330 })
    expect(JSON.parse(await readFile(file, 'utf8')).rules.map((r: { id: string }) => r.id)).toEqual([
      'air-conditioner',
      'night-light',
      'wake',
    ])
  })

  it('rejects invalid or conflicting rules without writing anything', async () => {
    const store = await openRuleStore(file)
    await expect(store.put({ ...schedule, at: '25:00' })).rejects.toBeInstanceOf(RuleValidationError)
    await expect(
      store.put({ id: 'ac2', kind: 'thermostat', relay: 2, onAtCenti: 3000, offAtCenti: 2800 }),
    ).rejects.toBeInstanceOf(RuleConflictError)
    await expect(store.delete('nope')).rejects.toBeInstanceOf(RuleNotFoundError)
    expect(() => store.get('nope')).toThrow(RuleNotFoundError)
    await expect(store.setSettings({ utcOffsetMinutes: 10_000 })).rejects.toBeInstanceOf(RuleValidationError)
    await expect(readdir(join(dir, 'state'))).rejects.toThrow()
    expect(store.current().revision).toBe(0)
  })

  it('detects lost updates through the expected revision', async () => {
    const store = await openRuleStore(file)
    await store.put(schedule, 0)
    await expect(store.put({ ...schedule, on: false }, 0)).rejects.toBeInstanceOf(RuleRevisionConflictError)
    expect(store.get('wake')).toMatchObject({ on: true })
  })

  it('replaces the whole document in one change, or not at all', async () => {
    const store = await openRuleStore(file)
    const wake: ScheduleRule = { ...schedule, kind: 'schedule', enabled: true }
    const wanted: RuleSet = { ...store.current(), utcOffsetMinutes: 330, rules: [wake] }
    const replaced = await store.replace(wanted, 0)
    expect(replaced.revision).toBe(1)
    expect(replaced.utcOffsetMinutes).toBe(330)
    expect(store.list()).toEqual([wake])
    await expect(store.replace(wanted, 0)).rejects.toBeInstanceOf(RuleRevisionConflictError)
    await expect(store.replace({ ...wanted, rules: [{ ...wake, at: '25:00' }] }, 1)).rejects.toBeInstanceOf(
      RuleValidationError,
    )
    expect((await openRuleStore(file)).current()).toEqual(replaced)
  })

  it('serialises concurrent changes', async () => {
    const store = await openRuleStore(file)
    await Promise.all(
      Array.from({ length: 10 }, (_, i) => store.put({ ...schedule, id: `s${i}`, at: `0${i}:00` })),
    )
    expect(store.current().revision).toBe(10)
    expect((await openRuleStore(file)).list().filter((r) => r.kind === 'schedule')).toHaveLength(10)
  })

  it('refuses to open a corrupt file instead of silently replacing the rules', async () => {
    await writeFile(file.replace('state/', ''), '{"version": 1, "rules": [{"kind": "x"}]}')
    await expect(openRuleStore(file.replace('state/', ''))).rejects.toBeInstanceOf(RuleStoreCorruptError)
  })
})
