/** The serial meter's MQTT bridge: commands from the broker go down the line, reports go up. */
import type { MqttClient } from 'mqtt'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createSerialMqttBridge, type SerialMqttBridge } from '../../src/serial/bridge.ts'
import { connectMeter, startBroker, type TestBroker, until } from '../ingest/helpers.ts'

const METER = `zkm_${'ab'.repeat(20)}`

describe('serial ↔ MQTT bridge', () => {
  let broker: TestBroker
  let other: MqttClient
  let bridge: SerialMqttBridge
  const sent: { topic: string; payload: string }[] = []
  beforeEach(async () => {
    sent.length = 0
    broker = await startBroker()
    other = await connectMeter(broker, 'automation-under-test')
    bridge = createSerialMqttBridge({ mqttUrl: broker.url, credentials: broker.users.node, meter: METER })
    await bridge.start({
      send(topic, payload) {
        sent.push({
          topic,
          payload: typeof payload === 'string' ? payload : new TextDecoder().decode(payload),
        })
        return true
      },
    })
  })
  afterEach(async () => {
    await bridge.stop()
    await other.endAsync()
    await broker.stop()
  })

  it("forwards the meter's commands except Resend and ResendPeriod, which the ingestor sends itself", async () => {
    await other.publishAsync(`cmnd/${METER}/Resend`, '{"from":1,"to":2}', { qos: 1 })
    await other.publishAsync(`cmnd/${METER}/ResendPeriod`, '{"periodStart":0}', { qos: 1 })
    await other.publishAsync(`cmnd/zkm_${'cd'.repeat(20)}/POWER1`, 'ON', { qos: 1 })
    await other.publishAsync(`cmnd/${METER}/POWER3`, 'ON', { qos: 1 })
    await until(() => sent.length > 0)
    await new Promise((r) => setTimeout(r, 50))
    expect(sent).toEqual([{ topic: `cmnd/${METER}/POWER3`, payload: 'ON' }])
  })

  it("publishes the meter's own reports on the broker and nothing else", async () => {
    const seen: string[] = []
    other.on('message', (topic, payload) => seen.push(`${topic} ${payload.toString()}`))
    await other.subscribeAsync(['#'], { qos: 1 })
    const bytes = (s: string) => new TextEncoder().encode(s)
    bridge.fromMeter({ topic: `zkmeter/${METER}/ack`, payload: bytes('{"seq":9}') })
    bridge.fromMeter({ topic: `tele/zkm_${'cd'.repeat(20)}/STATE`, payload: bytes('{}') })
    bridge.fromMeter({ topic: `stat/${METER}/RESULT`, payload: bytes('{"POWER3":"ON"}') })
    await until(() => seen.length > 0)
    await new Promise((r) => setTimeout(r, 50))
    expect(seen).toEqual([`stat/${METER}/RESULT {"POWER3":"ON"}`])
  })
})
