/**
 * Rule validation errors in the resident's words. The schema names each offending field by its
 * path in the document (`ruleSet.rules[0].steps[1].atCenti`), which a program needs and a person
 * cannot read; this turns it into "Rule 1, step 2, temperature". The raw path stays in the error's
 * details for clients that point at the field.
 */

const FIELDS: Record<string, string> = {
  id: 'name',
  kind: 'type',
  enabled: 'on/off switch',
  steps: 'fan steps',
  atCenti: 'temperature',
  speed: 'fan speed',
  hysteresisCenti: 'hysteresis',
  minOnS: 'minimum on time',
  minOffS: 'minimum off time',
  relay: 'relay',
  onAtCenti: 'switch-on temperature',
  offAtCenti: 'switch-off temperature',
  onBelow: 'switch-on light level',
  offAbove: 'switch-off light level',
  window: 'time window',
  from: 'start time',
  to: 'end time',
  on: 'on/off',
  at: 'time',
  days: 'days',
  version: 'format version',
  revision: 'revision',
  utcOffsetMinutes: 'time zone offset',
  overrideS: 'manual hold time',
  rules: 'rules',
}

const ITEMS: Record<string, string> = { rules: 'Rule', steps: 'step', days: 'day' }

/** `ruleSet.rules[0].steps[1].atCenti` → "Rule 1, step 2, temperature"; `rule.id` → "Rule, name". */
export function describePath(path: string): string {
  const parts: string[] = []
  for (const segment of path.split('.')) {
    const item = /^([A-Za-z]+)\[(\d+)\]$/.exec(segment)
    if (item) {
      const [, list, index] = item as unknown as [string, string, string]
      parts.push(`${ITEMS[list] ?? FIELDS[list] ?? list} ${Number(index) + 1}`)
    } else if (segment === 'ruleSet') {
    } else if (segment === 'rule') {
      parts.push('Rule')
    } else {
      parts.push(FIELDS[segment] ?? segment)
    }
  }
  const text = parts.join(', ') || 'Automation settings'
  return text.charAt(0).toUpperCase() + text.slice(1)
}

/** A range in the field's unit: temperatures are stored in hundredths of a degree. */
export function rangeText(key: string, min: number, max: number): string {
  if (key.endsWith('Centi')) return `must be a temperature from ${min / 100} °C to ${max / 100} °C`
  if (key.endsWith('S')) return `must be a whole number of seconds from ${min} to ${max}`
  return `must be a whole number from ${min} to ${max}`
}
