/**
 * The fake node's automation rules: the node's own rule store (validation, revisions, conflicts)
 * in a temporary file, starting from the fixture's rule set and mirrored into `state.rules` so a
 * test reads what was saved.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openRuleStore, type RuleStore } from '../../../node/src/automation/rule-store.ts'
import type { FakeNodeState } from './fixtures.ts'

export async function fakeRules(state: FakeNodeState): Promise<{ store: RuleStore; close(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'zkm-fake-node-rules-'))
  const store = await openRuleStore(join(dir, 'rules.json'), state.rules)
  store.onChange((rules) => {
    state.rules = rules
  })
  return { store, close: () => rm(dir, { recursive: true, force: true }) }
}
