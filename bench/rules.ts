/**
 * bench:rules — reading → relay command latency through the real commander over the node's
 * embedded MQTT broker (aedes on loopback), and rule evaluations per second in process.
 *
 * relay_latency_p95_ms: from handing a reading to automation.onReading() to the cmnd/ message
 * arriving at a subscriber on the broker (the meter's side). relay_confirm_p95_ms additionally
 * includes the device's stat/ answer reaching the commander. evaluations_per_s: the rule engine
 * alone (default rules: fan steps, AC thermostat, night light, plus a schedule), fake clock.
 */
import type { Socket } from 'node:net'
import { availableParallelism } from 'node:os'
import { performance } from 'node:perf_hooks'
import mqtt from 'mqtt'
import { createFakeClock } from '../node/src/automation/clock.ts'
import type { Reading, RelayCommand } from '../node/src/automation/reading.ts'
import { createRuleEngine, DEFAULT_RULE_SET, type RuleSet } from '../node/src/automation/rules.ts'
import { createAutomation } from '../node/src/automation/service.ts'
import { METER, startBroker, startDevice } from '../node/test/automation/fixtures.ts'
import { startTestBroker, type TestUsers } from '../node/test/mqtt/users.ts'

const LATENCY_ROUNDS = Number(process.env.RULES_BENCH_ROUNDS ?? 1000)
const EVALUATIONS = Number(process.env.RULES_BENCH_EVALUATIONS ?? 300_000)

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!
}

const round = (x: number, digits = 3) => Number(x.toFixed(digits))

interface BenchBroker {
  url: string
  users: TestUsers
  close(): Promise<void>
}

/** The household node's embedded broker, as it ships: logins and ACLs on. */
async function embeddedBroker(): Promise<BenchBroker> {
  const broker = await startTestBroker()
  return { url: broker.url, users: broker.users, close: () => broker.stop() }
}

async function latency(open: () => Promise<BenchBroker>): Promise<{ publish: number[]; confirm: number[] }> {
  const broker = await open()
  const node = await mqtt.connectAsync(broker.url, { ...broker.users.node, reconnectPeriod: 0 })
  const observer = await mqtt.connectAsync(broker.url, { ...broker.users.node, reconnectPeriod: 0 })
  const device = await startDevice(broker, METER)
  // Small MQTT packets on loopback otherwise wait for Nagle's algorithm / delayed ACKs (~40 ms).
  for (const client of [node, observer, device.client]) (client.stream as unknown as Socket).setNoDelay(true)
  const rules: RuleSet = {
    ...DEFAULT_RULE_SET,
    rules: [
      {
        id: 'ac',
        kind: 'thermostat',
        enabled: true,
        relay: 2,
        onAtCenti: 3000,
        offAtCenti: 2700,
        minOnS: 0,
        minOffS: 0,
      },
    ],
  }
  const automation = createAutomation({ client: node, meter: METER, rules, commandTimeoutMs: 5000 })
  await automation.start()
  let arrived: (() => void) | undefined
  observer.on('message', () => arrived?.())
  await observer.subscribeAsync(`cmnd/${METER}/#`, { qos: 1 })
  const publish: number[] = []
  const confirm: number[] = []
  try {
    for (let i = 0; i < LATENCY_ROUNDS + 50; i++) {
      const hot = i % 2 === 0
      const reading: Reading = {
        ...device.reading(),
        temperatureCenti: hot ? 3200 : 2000,
        relays: device.relays,
      }
      const seen = new Promise<number>((resolve) => {
        arrived = () => resolve(performance.now())
      })
      const confirmed = new Promise<number>((resolve) =>
        automation.commander.events.once('confirmed', () => resolve(performance.now())),
      )
      const t0 = performance.now()
      const sent = automation.onReading(reading)
      if (sent.length !== 1) throw new Error(`expected one command per reading, got ${sent.length}`)
      const [tPublish, tConfirm] = await Promise.all([seen, confirmed])
      if (i >= 50) {
        // The first rounds warm up the JIT and the TCP connections.
        publish.push(tPublish - t0)
        confirm.push(tConfirm - t0)
      }
    }
  } finally {
    await automation.stop()
    await device.close()
    await observer.endAsync()
    await node.endAsync()
    await broker.close()
  }
  return { publish, confirm }
}

function throughput(): number {
  const clock = createFakeClock(Date.UTC(2026, 10, 24))
  const state = { relays: 0, fanSpeed: 0 }
  const apply = (c: RelayCommand) => {
    if (c.kind === 'fanSpeed') state.fanSpeed = c.speed
    else state.relays = c.on ? state.relays | (1 << (c.channel - 1)) : state.relays & ~(1 << (c.channel - 1))
  }
  const rules: RuleSet = {
    ...DEFAULT_RULE_SET,
    rules: [
      ...DEFAULT_RULE_SET.rules,
      { id: 'wake', kind: 'schedule', enabled: true, relay: 3, on: true, at: '06:30', days: [1, 2, 3, 4, 5] },
    ],
  }
  const engine = createRuleEngine({ rules, clock, sendCommand: apply })
  const base = { time: 0, powerW: 800, gas: 0, water: 0, hazards: 0 }
  let commands = 0
  const run = (n: number) => {
    for (let i = 0; i < n; i++) {
      clock.advance(2000)
      // A slow temperature and light wave so rules actually switch now and then.
      const phase = i / 500
      commands += engine.evaluate({
        ...base,
        time: Math.floor(clock.now() / 1000),
        temperatureCenti: Math.round(2700 + 500 * Math.sin(phase)),
        light: Math.round(500 + 500 * Math.cos(phase / 3)),
        relays: state.relays,
        fanSpeed: state.fanSpeed,
      }).length
    }
  }
  run(20_000)
  const t0 = performance.now()
  run(EVALUATIONS)
  const seconds = (performance.now() - t0) / 1000
  if (commands === 0)
    throw new Error('the throughput run produced no commands: the workload is not exercising the rules')
  return EVALUATIONS / seconds
}

const { publish, confirm } = await latency(embeddedBroker)
// The same path through plain aedes with TCP_NODELAY on the broker's sockets: shows what the
// embedded broker's ~40 ms per hop (Nagle's algorithm meeting delayed ACKs) costs.
const nodelay = await latency(startBroker)
const evaluationsPerS = throughput()
const figures = {
  relay_latency_p95_ms: round(percentile(publish, 95)),
  relay_latency_p50_ms: round(percentile(publish, 50)),
  relay_confirm_p95_ms: round(percentile(confirm, 95)),
  relay_latency_nodelay_p95_ms: round(percentile(nodelay.publish, 95)),
  relay_confirm_nodelay_p95_ms: round(percentile(nodelay.confirm, 95)),
  evaluations_per_s: Math.round(evaluationsPerS),
}
console.log(
  `embedded broker: reading → cmnd/ p50 ${figures.relay_latency_p50_ms} ms, p95 ${figures.relay_latency_p95_ms} ms (${publish.length} commands; target ≤ 50 ms p95)`,
)
console.log(`embedded broker: reading → stat/ confirmation p95 ${figures.relay_confirm_p95_ms} ms`)
console.log(
  `aedes + TCP_NODELAY: reading → cmnd/ p95 ${figures.relay_latency_nodelay_p95_ms} ms, confirmation p95 ${figures.relay_confirm_nodelay_p95_ms} ms`,
)
console.log(`rule evaluations: ${figures.evaluations_per_s.toLocaleString('en')} per second`)
console.log(
  JSON.stringify({
    bench: 'rules',
    machine: `${availableParallelism()} cores, node ${process.version}`,
    figures,
  }),
)
