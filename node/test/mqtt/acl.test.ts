/** The policy's matching rules: exact for topics, conservative for subscription filters (property tests). */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { filterCovers, mayPublish, maySubscribe, mayUseClientId, topicMatches } from '../../src/mqtt/acl.ts'

const level = fc.constantFrom(
  'tele',
  'cmnd',
  'stat',
  'zkmeter',
  'zkm_a',
  'zkm_b',
  'SENSOR',
  'ack',
  '',
  '$SYS',
)
const topic = fc.array(level, { minLength: 1, maxLength: 4 }).map((l) => l.join('/'))
const filter = fc
  .tuple(fc.array(fc.oneof(level, fc.constant('+')), { minLength: 0, maxLength: 4 }), fc.boolean())
  .filter(([levels, hash]) => levels.length > 0 || hash)
  .map(([levels, hash]) => [...levels, ...(hash ? ['#'] : [])].join('/'))

describe('MQTT topic and filter matching', () => {
  it('matches topics as MQTT 3.1.1 §4.7 says', () => {
    expect(topicMatches('tele/+/SENSOR', 'tele/zkm_a/SENSOR')).toBe(true)
    expect(topicMatches('tele/+/SENSOR', 'tele/zkm_a/PERIOD')).toBe(false)
    expect(topicMatches('cmnd/zkm_a/#', 'cmnd/zkm_a')).toBe(true)
    expect(topicMatches('#', '$SYS/broker/uptime')).toBe(false)
    expect(topicMatches('+/x', '$SYS/x')).toBe(false)
  })

  it('grants a filter only if every topic it can match is allowed (property)', () => {
    fc.assert(
      fc.property(filter, filter, topic, (allowed, requested, t) => {
        if (filterCovers(allowed, requested) && topicMatches(requested, t)) {
          expect(topicMatches(allowed, t)).toBe(true)
        }
      }),
      { numRuns: 5000 },
    )
  })

  it('covers a filter by itself and by a wider one', () => {
    fc.assert(
      fc.property(filter, (f) => filterCovers(f, f) && filterCovers('#', f.startsWith('$') ? 'x' : f)),
    )
    expect(filterCovers('cmnd/zkm_a/#', 'cmnd/zkm_a/+')).toBe(true)
    expect(filterCovers('cmnd/zkm_a/+', 'cmnd/zkm_a/#')).toBe(false)
    expect(filterCovers('tele/+/SENSOR', 'tele/#')).toBe(false)
  })
})

describe('roles', () => {
  const meter = { username: 'zkm_a', role: 'meter' as const }
  const ha = { username: 'homeassistant', role: 'homeassistant' as const, commands: ['POWER2'] }
  it('a meter writes only its own tele/ and stat/, reads only its own cmnd/ and ack', () => {
    expect(mayPublish(meter, 'tele/zkm_a/SENSOR')).toBe(true)
    expect(mayPublish(meter, 'stat/zkm_a/POWER3')).toBe(true)
    for (const t of ['tele/zkm_b/SENSOR', 'zkmeter/zkm_a/ack', 'cmnd/zkm_a/POWER6', 'tele/zkm_a/x/y'])
      expect(mayPublish(meter, t)).toBe(false)
    expect(maySubscribe(meter, 'cmnd/zkm_a/+')).toBe(true)
    expect(maySubscribe(meter, 'zkmeter/zkm_a/ack')).toBe(true)
    for (const f of ['#', 'cmnd/+/+', 'tele/zkm_a/SENSOR', 'zkmeter/+/ack'])
      expect(maySubscribe(meter, f)).toBe(false)
  })
  it('Home Assistant sends only its allowed commands', () => {
    expect(mayPublish(ha, 'cmnd/zkm_a/POWER2')).toBe(true)
    expect(mayPublish(ha, 'cmnd/zkm_a/POWER6')).toBe(false)
    expect(mayPublish(ha, 'cmnd/zkm_a/Resend')).toBe(false)
    expect(maySubscribe(ha, 'homeassistant/#')).toBe(true)
    expect(maySubscribe(ha, 'tele/+/PERIOD')).toBe(false)
  })
  it('binds client ids to users', () => {
    expect(mayUseClientId(meter, 'zkm_a', () => false)).toBe(true)
    expect(mayUseClientId(meter, 'zkm_b', () => true)).toBe(false)
    expect(mayUseClientId(ha, 'zkmeter-node-1', () => false)).toBe(false)
    expect(mayUseClientId(ha, 'zkm_a', (id) => id === 'zkm_a')).toBe(false)
    expect(mayUseClientId(ha, 'ha-1', () => false)).toBe(true)
  })
})
