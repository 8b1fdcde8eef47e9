/** Every topic string the meter, node, Home Assistant and mesh use comes from protocol/topics.ts. */
import { describe, expect, it } from 'vitest'
import { InvalidInputError } from '../errors.ts'
import {
  ANY_METER,
  homeAssistantConfigTopic,
  meshTopic,
  meterTopics,
  parseMeterTopic,
  resendPeriodTopic,
  TopicError,
} from '../topics.ts'

const METER = '0x00000000000000000000000000000000000000AB'
const NAME = 'zkm_00000000000000000000000000000000000000ab'

describe('topics', () => {
  it('names a meter by its lowercase address, Tasmota style (docs/protocol.md §7)', () => {
    const t = meterTopics(METER)
    expect([t.sensor, t.period, t.gone, t.state, t.lwt, t.result, t.ack]).toEqual([
      `tele/${NAME}/SENSOR`,
      `tele/${NAME}/PERIOD`,
      `tele/${NAME}/GONE`,
      `tele/${NAME}/STATE`,
      `tele/${NAME}/LWT`,
      `stat/${NAME}/RESULT`,
      `zkmeter/${NAME}/ack`,
    ])
    expect([t.power(3), t.command('POWER3'), t.commands, t.stat]).toEqual([
      `stat/${NAME}/POWER3`,
      `cmnd/${NAME}/POWER3`,
      `cmnd/${NAME}/+`,
      `stat/${NAME}/#`,
    ])
    expect(resendPeriodTopic(METER)).toBe(`cmnd/${NAME}/ResendPeriod`)
  })

  it('gives the node its wildcard subscriptions and parses a meter topic back', () => {
    expect(ANY_METER.sensor).toBe('tele/+/SENSOR')
    expect(parseMeterTopic(`tele/${NAME}/GONE`, 'tele', 'GONE')).toBe(`0x${NAME.slice(4)}`)
    expect(() => parseMeterTopic(`tele/${NAME}/GONE`, 'tele', 'SENSOR')).toThrow(TopicError)
    expect(() => meterTopics('0x12')).toThrow(InvalidInputError)
  })

  it('names mesh and Home Assistant topics', () => {
    expect(meshTopic(7, 'alerts')).toBe('zkmeter/7/alerts')
    expect(homeAssistantConfigTopic('homeassistant', 'switch', NAME, 'relay2')).toBe(
      `homeassistant/switch/${NAME}/relay2/config`,
    )
  })
})
