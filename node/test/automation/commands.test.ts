import type { MqttClient } from 'mqtt'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { InvalidInputError } from '#protocol/errors.ts'
import { createFakeClock } from '../../src/automation/clock.ts'
import {
  CommanderNotStartedError,
  createRelayCommander,
  type MqttLink,
} from '../../src/automation/commands.ts'
import { type Broker, connect, type Device, METER, startBroker, startDevice, until } from './fixtures.ts'

describe('relay commander over a real MQTT broker', () => {
  let broker: Broker
  let node: MqttClient
  let device: Device
  let other: MqttClient

  beforeEach(async () => {
    broker = await startBroker()
    node = await connect(broker)
    other = await connect(broker)
    device = await startDevice(broker, METER)
  })
  afterEach(async () => {
    await device.close()
    await node.endAsync()
    await other.endAsync()
    await broker.close()
  })

  it('mqtt.js clients satisfy the MqttLink interface', () => {
    const link: MqttLink = node
    expect(typeof link.publish).toBe('function')
  })

  it('publishes cmnd/<meter>/POWER<n> and resolves when the meter confirms', async () => {
    const commander = createRelayCommander({ client: node, meter: METER })
    await commander.start()
    const result = await commander.send({ kind: 'power', channel: 2, on: true })
    expect(result.status).toBe('confirmed')
    expect(device.received).toContain(`cmnd/${METER}/POWER2 ON`)
    expect(commander.outputs().relays[1]).toBe(true)
    const off = await commander.send({ kind: 'power', channel: 2, on: false })
    expect(off.status).toBe('confirmed')
    expect(commander.outputs().relays[1]).toBe(false)
    await commander.stop()
  })

  it('sends FanSpeed and confirms it from stat/RESULT', async () => {
    const commander = createRelayCommander({ client: node, meter: METER })
    await commander.start()
    const result = await commander.send({ kind: 'fanSpeed', speed: 3 })
    expect(result).toMatchObject({ status: 'confirmed', command: { kind: 'fanSpeed', speed: 3 } })
    expect(device.received).toContain(`cmnd/${METER}/FanSpeed 3`)
    expect(commander.outputs().fanSpeed).toBe(3)
    await commander.stop()
  })

  it('reports an unanswered command as failed at the deadline, never as done', async () => {
    device.options.answers = false
    const clock = createFakeClock(1_000)
    const commander = createRelayCommander({ client: node, meter: METER, timeoutMs: 2000, clock })
    await commander.start()
    const failed: unknown[] = []
    commander.events.on('failed', (r) => failed.push(r))
    const pending = commander.send({ kind: 'power', channel: 3, on: true })
    await until(() => device.received.includes(`cmnd/${METER}/POWER3 ON`))
    clock.advance(1999)
    expect(failed).toHaveLength(0)
    clock.advance(1)
    const result = await pending
    expect(result).toMatchObject({ status: 'failed', reason: 'timeout', elapsedMs: 2000 })
    expect(failed).toHaveLength(1)
    expect(commander.outputs().relays[2]).toBeUndefined()
    await commander.stop()
    expect(clock.pendingTimers()).toBe(0)
  })

  it('does not accept a report of the opposite state as confirmation', async () => {
    device.options.answers = false
    const clock = createFakeClock()
    const commander = createRelayCommander({ client: node, meter: METER, timeoutMs: 1000, clock })
    await commander.start()
    const pending = commander.send({ kind: 'power', channel: 8, on: true })
    await until(() => device.received.length > 0)
    // The firmware keeps the sockets cut during a gas alarm and says so.
    await other.publishAsync(`stat/${METER}/POWER8`, 'OFF')
    await until(() => commander.outputs().relays[7] === false)
    clock.advance(1000)
    expect((await pending).status).toBe('failed')
    await commander.stop()
  })

  it('a stat/POWER<n> echo of an earlier RESULT does not confirm a newer command; a lone one does', async () => {
    device.options.answers = false
    const clock = createFakeClock()
    const commander = createRelayCommander({ client: node, meter: METER, timeoutMs: 1000, clock })
    await commander.start()
    const relayEvents: string[] = []
    commander.events.on('relay', (n, on) => relayEvents.push(`${n}:${on}`))
    // A change the meter reported (RESULT) whose stat/POWER3 echo is still on its way.
    await other.publishAsync(`stat/${METER}/RESULT`, '{"POWER3":"ON"}')
    await until(() => relayEvents.length === 1)
    const stale = commander.send({ kind: 'power', channel: 3, on: true })
    const fresh = commander.send({ kind: 'power', channel: 5, on: true })
    await other.publishAsync(`stat/${METER}/POWER3`, 'ON')
    await other.publishAsync(`stat/${METER}/POWER5`, 'ON')
    expect(await fresh).toMatchObject({ status: 'confirmed' })
    clock.advance(1000)
    expect(await stale).toMatchObject({ status: 'failed', reason: 'timeout' })
    await commander.stop()
  })

  it('tracks states reported by the meter (stat/POWER<n>, RESULT, tele STATE) and ignores garbage', async () => {
    const commander = createRelayCommander({ client: node, meter: METER })
    await commander.start()
    const invalid: string[] = []
    commander.events.on('invalidMessage', (topic, reason) => invalid.push(`${topic}: ${reason}`))
    await other.publishAsync(`stat/${METER}/POWER4`, 'on')
    await other.publishAsync(`stat/${METER}/RESULT`, '{"POWER5":"1","FanSpeed":"2"}')
    await other.publishAsync(`tele/${METER}/STATE`, '{"Time":"x","POWER6":"ON","POWER7":0,"FanSpeed":1}')
    await other.publishAsync(`stat/${METER}/RESULT`, 'not json')
    await other.publishAsync(`stat/${METER}/RESULT`, '[1,2]')
    await other.publishAsync(`stat/${METER}/RESULT`, '{"POWER1":"MAYBE","FanSpeed":9}')
    await other.publishAsync(`stat/${METER}/POWER2`, '\u0000\u0001')
    await until(() => invalid.length === 5)
    const outputs = commander.outputs()
    expect(outputs.relays.slice(3, 7)).toEqual([true, true, true, false])
    expect(outputs.fanSpeed).toBe(1)
    expect(outputs.relays[0]).toBeUndefined()
    await commander.stop()
  })

  it('validates commands and requires start()', async () => {
    const commander = createRelayCommander({ client: node, meter: METER })
    await expect(commander.send({ kind: 'power', channel: 1, on: true })).rejects.toBeInstanceOf(
      CommanderNotStartedError,
    )
    await commander.start()
    await expect(commander.send({ kind: 'power', channel: 9, on: true })).rejects.toBeInstanceOf(
      InvalidInputError,
    )
    await expect(commander.send({ kind: 'fanSpeed', speed: 4 })).rejects.toBeInstanceOf(InvalidInputError)
    expect(() => createRelayCommander({ client: node, meter: 'bad/topic' })).toThrow(InvalidInputError)
    await commander.stop()
    await commander.stop()
  })

  it('a newer command for the same output supersedes an unconfirmed older one', async () => {
    device.options.answers = false
    const clock = createFakeClock()
    const commander = createRelayCommander({ client: node, meter: METER, clock })
    await commander.start()
    const first = commander.send({ kind: 'power', channel: 2, on: true })
    const other2 = commander.send({ kind: 'power', channel: 3, on: true })
    const second = commander.send({ kind: 'power', channel: 2, on: false })
    expect(await first).toMatchObject({ status: 'failed', reason: 'superseded' })
    device.options.answers = true
    await other.publishAsync(`stat/${METER}/RESULT`, '{"POWER2":"OFF","POWER3":"ON"}')
    expect(await second).toMatchObject({ status: 'confirmed' })
    expect(await other2).toMatchObject({ status: 'confirmed' })
    await commander.stop()
  })

  it('stop() fails pending commands and releases timers', async () => {
    device.options.answers = false
    const clock = createFakeClock()
    const commander = createRelayCommander({ client: node, meter: METER, clock })
    await commander.start()
    const pending = commander.send({ kind: 'power', channel: 1, on: true })
    await commander.stop()
    expect(await pending).toMatchObject({ status: 'failed', reason: 'stopped' })
    expect(clock.pendingTimers()).toBe(0)
  })
})
