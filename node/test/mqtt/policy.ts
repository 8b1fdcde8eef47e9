/**
 * The broker's access-control policy as attacks (docs/broker.md), one suite run against every
 * broker the node supports: the embedded one (access.test.ts) and Debian's Mosquitto with the
 * configuration `zkmeter broker-config` writes (mosquitto-policy.test.ts). Each attack is what a
 * process on the home network could try with no login or with one meter's login.
 *
 * Refusals look different on the two brokers (aedes closes a connection that publishes where it may
 * not, Mosquitto acknowledges and drops it; aedes answers a refused subscription with SUBACK 0x80,
 * Mosquitto may grant it and deliver nothing), so the tests check what matters: nothing forbidden
 * ever reaches anyone. "Nothing arrived" is made exact with a fence: a message routed after the
 * attempt, on a topic the observer reads; once the fence arrived, anything routed before it has too.
 */
import { spawn } from 'node:child_process'
import type { MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { topicsForName } from '#protocol/topics.ts'
import { connectMqtt } from '../../src/mqtt/client.ts'
import type { MqttCredentials } from '../../src/mqtt/credentials.ts'
import { MqttConnectRefusedError } from '../../src/mqtt/errors.ts'
import { type Collector, collect } from './collector.ts'

export interface PolicyBroker {
  host: string
  port: number
  url: string
  node: MqttCredentials
  meterA: MqttCredentials
  meterB: MqttCredentials
  /** A Home Assistant user allowed POWER2..POWER8 and FanSpeed (not POWER1). */
  homeAssistant: MqttCredentials
  stop(): Promise<void>
}

const A = 'zkm_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'
const B = 'zkm_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb'
export const POLICY_METERS = { A, B }
export const HOME_ASSISTANT_COMMANDS = [
  'POWER2',
  'POWER3',
  'POWER4',
  'POWER5',
  'POWER6',
  'POWER7',
  'POWER8',
  'FanSpeed',
]

/** Runs Debian's mosquitto_sub once; resolves with its exit code and output. */
export function mosquittoSub(
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('mosquitto_sub', args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString()
    })
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString()
    })
    child.once('error', (error) =>
      reject(new Error(`mosquitto_sub is missing (apt-get install mosquitto-clients): ${error.message}`)),
    )
    child.once('close', (code) => resolve({ code, stdout, stderr }))
  })
}

export function describeBrokerPolicy(name: string, start: () => Promise<PolicyBroker>): void {
  describe(`broker access control: ${name}`, () => {
    let b: PolicyBroker
    let node: Collector
    const clients: MqttClient[] = []
    beforeAll(async () => {
      b = await start()
      node = await collect(b.url, ['#'], b.node)
    }, 30_000)
    afterAll(async () => {
      for (const c of clients) await c.endAsync(true).catch(() => {})
      await node?.close()
      await b?.stop()
    })

    const as = async (credentials: MqttCredentials, clientId?: string) => {
      const c = await connectMqtt(b.url, {
        ...credentials,
        clientId: clientId ?? credentials.username,
        reconnectPeriod: 0,
        timeoutMs: 5000,
      })
      clients.push(c)
      return c
    }
    let fences = 0
    /** Publishes a fence as the node on `topic` and waits until `arrived(payload)` says it is there. */
    const fence = async (topic: string, arrived: (payload: string) => boolean) => {
      const payload = `fence-${++fences}`
      const n = await connectMqtt(b.url, {
        ...b.node,
        clientId: `zkmeter-fence-${fences}`,
        reconnectPeriod: 0,
      })
      await n.publishAsync(topic, payload, { qos: 1 })
      await n.endAsync()
      await expect.poll(() => arrived(payload), { timeout: 5000 }).toBe(true)
    }
    const seenBy = (observer: Collector, topic: string) => (payload: string) =>
      observer.messages.some((m) => m.topic === topic && m.payload === payload)
    /** Publishes and waits until the broker has dealt with it: PUBACK, or the connection closed. */
    const attempt = async (client: MqttClient, topic: string, payload: string, retain = false) => {
      const closed = new Promise<void>((resolve) => client.once('close', () => resolve()))
      await Promise.race([client.publishAsync(topic, payload, { qos: 1, retain }).catch(() => {}), closed])
    }

    it('refuses mosquitto_sub -t "#" without credentials', async () => {
      const result = await mosquittoSub(['-h', b.host, '-p', String(b.port), '-t', '#', '-C', '1', '-W', '5'])
      expect(result.stdout).toBe('')
      expect(result.code).not.toBe(0)
      expect(result.stderr).toMatch(/refused|not authori[sz]ed/i)
    })

    it('refuses a wrong password, an unknown user and no login', async () => {
      const refused = (options: Record<string, unknown>) =>
        expect(
          connectMqtt(b.url, { reconnectPeriod: 0, timeoutMs: 5000, ...options }),
        ).rejects.toBeInstanceOf(MqttConnectRefusedError)
      await refused({ username: A, password: `${b.meterA.password}x`, clientId: A })
      await refused({ username: 'zkm_cccccccccccccccccccccccccccccccccccccccc', password: b.meterA.password })
      await refused({ clientId: 'anonymous-probe' })
    })

    it('lets a meter publish its records and read its commands and ack', async () => {
      const meter = await as(b.meterA)
      const got: string[] = []
      meter.on('message', (topic) => got.push(topic))
      await meter.subscribeAsync([topicsForName(A).commands, topicsForName(A).ack], { qos: 1 })
      await meter.publishAsync(topicsForName(A).sensor, 'reading-a', { qos: 1 })
      await node.waitFor((m) => m.topic === topicsForName(A).sensor && m.payload === 'reading-a')
      const n = await as(b.node, 'zkmeter-node-policy')
      await n.publishAsync(topicsForName(A).command('POWER6'), 'ON', { qos: 1 })
      await n.publishAsync(topicsForName(A).ack, '{"seq":1}', { qos: 1, retain: true })
      await expect.poll(() => got).toEqual([topicsForName(A).command('POWER6'), topicsForName(A).ack])
      await n.publishAsync(topicsForName(A).ack, '', { qos: 1, retain: true })
      await n.endAsync()
      await meter.endAsync()
    })

    it("gives meter A nothing of '#' or of meter B's telemetry", async () => {
      const meter = await as(b.meterA)
      const got: string[] = []
      meter.on('message', (topic) => got.push(topic))
      for (const filter of [
        '#',
        'tele/#',
        `tele/${B}/SENSOR`,
        'tele/+/SENSOR',
        `zkmeter/${B}/ack`,
        `cmnd/${B}/+`,
      ]) {
        await meter.subscribeAsync(filter, { qos: 1 }).catch(() => {})
      }
      await meter.subscribeAsync(topicsForName(A).commands, { qos: 1 })
      const other = await as(b.meterB)
      await other.publishAsync(topicsForName(B).sensor, 'reading-b', { qos: 1 })
      await node.waitFor((m) => m.topic === topicsForName(B).sensor && m.payload === 'reading-b')
      const fenceTopic = topicsForName(A).command('Fence')
      await fence(fenceTopic, () => got.includes(fenceTopic))
      expect(got).toEqual([fenceTopic])
      await other.endAsync()
      await meter.endAsync()
    })

    it('keeps meter A from publishing as meter B, commanding relays or writing acks', async () => {
      const forged = [
        [topicsForName(B).sensor, 'forged-1', false],
        [topicsForName(B).period, 'forged-2', true],
        [topicsForName(A).command('POWER6'), 'forged-3', false],
        [topicsForName(B).command('POWER6'), 'forged-4', false],
        [topicsForName(A).ack, 'forged-5', true],
        [topicsForName(B).ack, 'forged-6', true],
        ['homeassistant/switch/x/config', 'forged-7', true],
      ] as const
      for (const [topic, payload, retain] of forged) {
        const meter = await as(b.meterA)
        await attempt(meter, topic, payload, retain)
        await meter.endAsync(true)
      }
      await fence('tele/fence/LWT', seenBy(node, 'tele/fence/LWT'))
      expect(node.messages.filter((m) => m.payload.startsWith('forged-'))).toEqual([])
      // Nothing was retained either: a fresh subscriber gets no forged ack, close or config.
      const late = await collect(b.url, ['zkmeter/+/ack', 'tele/+/PERIOD', 'homeassistant/#'], b.node)
      await fence('zkmeter/fence/ack', seenBy(late, 'zkmeter/fence/ack'))
      expect(late.messages.filter((m) => m.payload.startsWith('forged-'))).toEqual([])
      await late.close()
    })

    it('lets Home Assistant switch the relays it was given and nothing else', async () => {
      const attempts = [
        [topicsForName(A).command('POWER6'), 'ha-allowed'],
        [topicsForName(A).command('POWER1'), 'ha-1'],
        [topicsForName(A).command('Resend'), 'ha-2'],
        [topicsForName(A).command('PeriodDays'), 'ha-3'],
        [topicsForName(A).ack, 'ha-4'],
        [topicsForName(A).sensor, 'ha-5'],
      ] as const
      for (const [topic, payload] of attempts) {
        const ha = await as(b.homeAssistant, 'home-assistant-policy')
        await attempt(ha, topic, payload)
        await ha.endAsync(true)
      }
      await fence('tele/fence/LWT', seenBy(node, 'tele/fence/LWT'))
      const landed = node.messages.filter((m) => m.payload.startsWith('ha-'))
      expect(landed.map((m) => [m.topic, m.payload])).toEqual([
        [topicsForName(A).command('POWER6'), 'ha-allowed'],
      ])
    })
  })
}
