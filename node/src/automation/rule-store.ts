/**
 * File-backed store of the rule set: the functions the HTTP API calls to list, read, create or
 * replace, and delete rules. Every change is validated as a whole rule set (so conflicts are caught
 * before anything is written), then written with writeFileAtomic — a crash leaves either the old or
 * the new rules, never half a file.
 */
import { readFile } from 'node:fs/promises'
import { ZkMeterError } from '#protocol/errors.ts'
import { writeFileAtomic } from '../storage/json-file.ts'
import {
  DEFAULT_RULE_SET,
  type Rule,
  type RuleSet,
  RuleValidationError,
  validateRule,
  validateRuleSet,
} from './rule-schema.ts'

export class RuleNotFoundError extends ZkMeterError {
  override name = 'RuleNotFoundError'
  override readonly category = 'not-found'
}

/** The caller edited an older revision than the stored one (someone else changed the rules). */
export class RuleRevisionConflictError extends ZkMeterError {
  override name = 'RuleRevisionConflictError'
  override readonly category = 'conflict'
}

export class RuleStoreCorruptError extends ZkMeterError {
  override name = 'RuleStoreCorruptError'
  override readonly category = 'internal'
}

export interface RuleStore {
  current(): RuleSet
  list(): Rule[]
  get(id: string): Rule
  /**
   * Replaces the whole document (rules and settings) in one change: one new revision, and nothing
   * applied if `expectedRevision` is stale or the document invalid.
   */
  replace(wanted: RuleSet, expectedRevision?: number): Promise<RuleSet>
  /** Creates or replaces the rule with `rule.id`. */
  put(rule: unknown, expectedRevision?: number): Promise<RuleSet>
  delete(id: string, expectedRevision?: number): Promise<RuleSet>
  /** Updates the household settings (zone offset, default override length). */
  setSettings(
    settings: { utcOffsetMinutes?: number; overrideS?: number },
    expectedRevision?: number,
  ): Promise<RuleSet>
  /** Called after every successful write with the new rule set (e.g. engine.setRules). */
  onChange(listener: (rules: RuleSet) => void): () => void
}

/**
 * Opens the store at `file`. A missing file starts from `initial` (the default rules) without
 * writing; an unreadable or invalid file is an error rather than silently replaced.
 */
export async function openRuleStore(file: string, initial: RuleSet = DEFAULT_RULE_SET): Promise<RuleStore> {
  let rules: RuleSet
  let text: string | undefined
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
  if (text === undefined) rules = validateRuleSet(initial)
  else {
    try {
      rules = validateRuleSet(JSON.parse(text))
    } catch (error) {
      throw new RuleStoreCorruptError(
        `the rules file ${file} is not a valid rule set (${(error as Error).message}); fix it or move it away to start from the defaults`,
        { cause: error },
      )
    }
  }
  const listeners = new Set<(rules: RuleSet) => void>()
  let queue: Promise<unknown> = Promise.resolve()

  const write = (next: RuleSet): Promise<void> => writeFileAtomic(file, `${JSON.stringify(next, null, 2)}\n`)

  /** Serialises changes: each one sees the result of the previous one. */
  function change(
    expectedRevision: number | undefined,
    mutate: (rules: RuleSet) => RuleSet,
  ): Promise<RuleSet> {
    const run = queue.then(async () => {
      if (expectedRevision !== undefined && expectedRevision !== rules.revision) {
        throw new RuleRevisionConflictError(
          `the rules changed since revision ${expectedRevision} (now ${rules.revision}): reload them and apply your edit again`,
          { details: { expectedRevision, revision: rules.revision } },
        )
      }
      const next = validateRuleSet({ ...mutate(structuredClone(rules)), revision: rules.revision + 1 })
      await write(next)
      rules = next
      for (const listener of listeners) listener(structuredClone(next))
      return structuredClone(next)
    })
    queue = run.catch(() => undefined)
    return run
  }

  function find(id: string): Rule {
    const rule = rules.rules.find((r) => r.id === id)
    if (rule === undefined) {
      throw new RuleNotFoundError(
        `no rule has the id ${JSON.stringify(id)}; list the rules to see their ids`,
        {
          details: { id },
        },
      )
    }
    return rule
  }

  return {
    current: () => structuredClone(rules),
    list: () => structuredClone(rules.rules),
    get: (id) => structuredClone(find(id)),
    replace(wanted, expectedRevision) {
      return change(expectedRevision, (r) => ({
        ...r,
        utcOffsetMinutes: wanted.utcOffsetMinutes,
        overrideS: wanted.overrideS,
        rules: structuredClone(wanted.rules),
      }))
    },
    put(input, expectedRevision) {
      let rule: Rule
      try {
        rule = validateRule(input)
      } catch (error) {
        return Promise.reject(error)
      }
      return change(expectedRevision, (r) => {
        const index = r.rules.findIndex((x) => x.id === rule.id)
        if (index === -1) r.rules.push(rule)
        else r.rules[index] = rule
        return r
      })
    },
    delete(id, expectedRevision) {
      return change(expectedRevision, (r) => {
        find(id)
        r.rules = r.rules.filter((x) => x.id !== id)
        return r
      })
    },
    setSettings(settings, expectedRevision) {
      if (settings === null || typeof settings !== 'object') {
        return Promise.reject(
          new RuleValidationError('settings must be an object {utcOffsetMinutes?, overrideS?}'),
        )
      }
      return change(expectedRevision, (r) => ({
        ...r,
        ...(settings.utcOffsetMinutes === undefined ? {} : { utcOffsetMinutes: settings.utcOffsetMinutes }),
        ...(settings.overrideS === undefined ? {} : { overrideS: settings.overrideS }),
      }))
    },
    onChange(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
  }
}
