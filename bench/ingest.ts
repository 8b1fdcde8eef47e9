/**
 * npm run bench:ingest — signed meter records verified + journaled (fsync) + encrypted + stored in the
 * Helia vault, per second, through the ingestor's core path (what MQTT and a serial link both call).
 * Also measures where the time goes: parsing, signature recovery vs the cached-key verifier (the
 * comparison is reported as a ratio), the journal alone, the vault alone, and the same stream over
 * MQTT through the node's embedded broker as it ships: every client logged in, ACLs checked on every
 * publish, the meter on the TLS listener (BENCH_INGEST_MQTT_TLS=0: plain MQTT, for comparison).
 * Last line: the JSON summary of ../shared/BENCH.md.
 */
import { fork } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { availableParallelism, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import mqtt from 'mqtt'
import { addressOfPrivateKey, meterRecordDigest, recoverSigner } from '#protocol/eip712.ts'
import { encodeSensorPayload, type MeterRecord, parseSensorPayload, signRecord } from '#protocol/records.ts'
import { meterTopicName, sensorTopic } from '#protocol/topics.ts'
import { createMeterVerifier } from '#protocol/verifier.ts'
import { createIngestor } from '../node/src/ingest/ingestor.ts'
import { openJournal } from '../node/src/ingest/journal.ts'
import { createHeliaNode } from '../node/src/ipfs/helia.ts'
import { createBroker } from '../node/src/mqtt/broker.ts'
import { createVault } from '../node/src/vault/vault.ts'
import { makeTestCertificates } from '../node/test/mqtt/certificates.ts'
import { createTestUsers } from '../node/test/mqtt/users.ts'

const RECORDS = Number(process.env.BENCH_INGEST_RECORDS ?? 4000)
const MQTT_RECORDS = Number(process.env.BENCH_INGEST_MQTT_RECORDS ?? 1000)
const MQTT_TLS = process.env.BENCH_INGEST_MQTT_TLS !== '0'
const WINDOW = 256
const INTERVAL = 900
const domain = { chainId: 31337n, verifyingContract: '0x5fbdb2315678afecb367f032d93f642f64180aa3' as const }
const key = secp256k1.utils.randomSecretKey()
const meter = addressOfPrivateKey(key)
const START = 1795478400

/** A live sample every 10 s and an interval close every 15 min, like the virtual meter's stream. */
function stream(count: number, firstSeq = 0): MeterRecord[] {
  const out: MeterRecord[] = []
  let counter = 1_000_000
  for (let i = 0; i < count; i++) {
    const time = START + (i + 1) * 10
    counter += 1 + (i % 3)
    const close = time % INTERVAL === 0
    out.push({
      seq: firstSeq + i,
      kind: close ? 1 : 0,
      time,
      energyWh: counter,
      intervalWh: close ? 180 : (i % 90) * 2,
      exportedWh: 0,
      intervalExportedWh: 0,
      powerW: 700 + (i % 400),
      voltageMv: 229_000 + (i % 2000),
      currentMa: 3000 + (i % 500),
      powerFactor: 950,
      temperatureCenti: 2200,
      light: 300,
      gas: 1,
      water: 0,
      hazards: 0,
      relays: 0x81,
      fanSpeed: 1,
    })
  }
  return out
}

function rate(count: number, ms: number): number {
  return Math.round((count / ms) * 1000)
}

async function timed(label: string, count: number, fn: () => Promise<void> | void): Promise<number> {
  const t0 = performance.now()
  await fn()
  const r = rate(count, performance.now() - t0)
  console.log(`${label.padEnd(44)} ${String(r).padStart(7)} /s`)
  return r
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'zkm-bench-ingest-'))
  try {
    console.log(`signing ${RECORDS} records (meter side, not timed)…`)
    const records = stream(RECORDS)
    const topic = sensorTopic(meter)
    const payloads = records.map((r) => encodeSensorPayload(r, signRecord(domain, key, r)))
    const parsed = payloads.map((p) => parseSensorPayload(topic, p))

    // --- where the time goes
    const sample = parsed.slice(0, Math.min(1000, parsed.length))
    const parsePerS = await timed('parse + schema check', payloads.length, () => {
      for (const p of payloads) parseSensorPayload(topic, p)
    })
    const digestPerS = await timed('EIP-712 digest', sample.length, () => {
      for (const p of sample) meterRecordDigest(domain, p.record)
    })
    const recoverPerS = await timed('verify by recovery (recoverSigner)', sample.length, () => {
      for (const p of sample) recoverSigner(meterRecordDigest(domain, p.record), p.signature)
    })
    const verifier = createMeterVerifier(domain, meter)
    verifier.verifyRecord(sample[0]!.record, sample[0]!.signature)
    const cachedPerS = await timed('verify with cached key + precomputed tables', sample.length, () => {
      for (const p of sample) verifier.verifyRecord(p.record, p.signature)
    })
    const journalPerS = await (async () => {
      const { journal } = await openJournal(join(work, 'journal-only'))
      const frames = payloads.map((p) => new TextEncoder().encode(p))
      const r = await timed(
        `journal append + fsync (group commit, ${WINDOW} in flight)`,
        frames.length,
        async () => {
          for (let i = 0; i < frames.length; i += WINDOW) {
            await Promise.all(frames.slice(i, i + WINDOW).map((f) => journal.append(f)))
          }
        },
      )
      console.log(`  (${journal.stats().syncs} fsyncs for ${journal.stats().frames} frames)`)
      await journal.close()
      return r
    })()

    // --- the real pipeline: ingestor core path with the Helia vault
    const node = await createHeliaNode({ dir: join(work, 'helia') })
    const vault = createVault({ helia: node.helia, rootKey: new Uint8Array(randomBytes(32)) })
    const vaultPerS = await timed(
      'vault appendBatch (encrypt + store), 256/batch',
      sample.length * 4,
      async () => {
        const batch = parsed.slice(0, 256).map((p) => ({ ...p.record, sig: p.signature }))
        for (let i = 0; i < (sample.length * 4) / 256; i++) await vault.appendBatch(meter, 0, batch)
      },
    )
    const ingestor = createIngestor({
      dataDir: join(work, 'node'),
      domain,
      meters: [{ address: meter, firstPeriodStart: START }],
      intervalSeconds: INTERVAL,
      vault,
    })
    await ingestor.start()
    const cpuBefore = process.cpuUsage()
    const recordsPerS = await timed(
      'ingest: verify + journal + encrypt + store',
      payloads.length,
      async () => {
        for (let i = 0; i < payloads.length; i += WINDOW) {
          await Promise.all(payloads.slice(i, i + WINDOW).map((p) => ingestor.ingest(topic, p)))
        }
        await ingestor.flush()
      },
    )
    // CPU seconds of this process (all threads): robust against other load on a shared machine.
    const cpu = process.cpuUsage(cpuBefore)
    const recordsPerCpuS = Math.round(RECORDS / ((cpu.user + cpu.system) / 1e6))
    console.log(
      `${'  same, per CPU second of this process'.padEnd(44)} ${String(recordsPerCpuS).padStart(7)} /s`,
    )
    const counters = ingestor.counters()
    if (counters.stored !== RECORDS || counters.flushedRecords !== RECORDS) {
      throw new Error(
        `expected ${RECORDS} stored and flushed, got ${counters.stored} / ${counters.flushedRecords}`,
      )
    }
    await ingestor.stop()

    // --- the same over MQTT (one connection: mqtt.js hands the node one message at a time)
    const users = await createTestUsers()
    const certificates = MQTT_TLS ? await makeTestCertificates() : undefined
    const broker = createBroker({
      port: 0,
      credentials: users.store,
      ...(certificates
        ? { tls: { port: 0, host: '127.0.0.1', key: certificates.key, cert: certificates.cert } }
        : {}),
    })
    await broker.start()
    const url = broker.url
    const meterLogin = await users.meter(meterTopicName(meter))
    // One stream: the first half for the meter in this process, the second for the meter apart.
    const mqttStream = stream(2 * MQTT_RECORDS, 0)
    const mqttRecords = mqttStream.slice(0, MQTT_RECORDS)
    const mqttPayloads = mqttRecords.map((r) => encodeSensorPayload(r, signRecord(domain, key, r)))
    const overMqtt = createIngestor({
      mqttUrl: url,
      mqttCredentials: users.node,
      dataDir: join(work, 'node-mqtt'),
      domain,
      meters: [{ address: meter, firstPeriodStart: START }],
      intervalSeconds: INTERVAL,
      vault,
    })
    await overMqtt.start()
    // The meter logs in as itself; over TLS (the LAN listener) unless BENCH_INGEST_MQTT_TLS=0.
    const publisher = mqtt.connect(broker.tlsUrl ?? url, {
      clientId: meterLogin.username,
      ...meterLogin,
      ...(certificates ? { ca: certificates.ca } : {}),
    })
    await new Promise<void>((resolve) => publisher.once('connect', () => resolve()))
    const mqttCpuBefore = process.cpuUsage()
    const mqttPerS = await timed(
      `over MQTT (${MQTT_TLS ? 'meter on TLS, ' : ''}logins + ACLs, QoS 1, PUBACK after fsync)`,
      mqttPayloads.length,
      async () => {
        await Promise.all(mqttPayloads.map((p) => publisher.publishAsync(topic, p, { qos: 1 })))
        while ((overMqtt.counters().processed ?? 0) < mqttPayloads.length)
          await new Promise((r) => setTimeout(r, 5))
      },
    )
    // Meter, broker and node all run in this process here: the meter's share (signing aside) is
    // counted too, so this is a lower bound of what the node alone gets per CPU second.
    const mqttCpu = process.cpuUsage(mqttCpuBefore)
    const mqttPerCpuS = Math.round(MQTT_RECORDS / ((mqttCpu.user + mqttCpu.system) / 1e6))
    console.log(
      `${'  same, per CPU second of this process'.padEnd(44)} ${String(mqttPerCpuS).padStart(7)} /s`,
    )
    await publisher.endAsync()

    // The same stream from a meter in a process of its own (bench/ingest-meter.ts): what the node's
    // process (broker + ingestor) does per second and per CPU second without the meter's share.
    const apart = await (async () => {
      const payloadsApart = mqttStream
        .slice(MQTT_RECORDS)
        .map((r) => encodeSensorPayload(r, signRecord(domain, key, r)))
      const child = fork(fileURLToPath(new URL('./ingest-meter.ts', import.meta.url)), [], {
        execArgv: process.execArgv.filter((a) => !a.startsWith('--cpu-prof')),
      })
      const messages: { ready?: boolean; published?: number; cpuUs?: number; error?: string }[] = []
      const next = () =>
        new Promise<(typeof messages)[number]>((resolve, reject) => {
          child.once('message', (m) => resolve(m as (typeof messages)[number]))
          child.once('exit', (code) => reject(new Error(`the meter process exited (${code})`)))
        })
      child.send({
        url: broker.tlsUrl ?? url,
        ...meterLogin,
        ...(certificates ? { ca: certificates.ca } : {}),
        topic,
        payloads: payloadsApart,
      })
      const ready = await next()
      if (!ready.ready) throw new Error(`the meter process failed: ${ready.error}`)
      const before = overMqtt.counters().processed ?? 0
      const cpu = process.cpuUsage()
      const perS = await timed(
        `  same, the meter in a process of its own`,
        payloadsApart.length,
        async () => {
          child.send('go')
          while ((overMqtt.counters().processed ?? 0) < before + payloadsApart.length)
            await new Promise((r) => setTimeout(r, 5))
        },
      )
      const used = process.cpuUsage(cpu)
      const perCpuS = Math.round(payloadsApart.length / ((used.user + used.system) / 1e6))
      console.log(
        `${'  node process (broker + ingestor) per CPU s'.padEnd(44)} ${String(perCpuS).padStart(7)} /s`,
      )
      await new Promise<void>((resolve) =>
        child.exitCode !== null ? resolve() : child.once('exit', () => resolve()),
      )
      return { perS, perCpuS }
    })()
    // Every record of both runs stored (none refused as a duplicate or rollback): the figures are
    // of the storing path.
    if (overMqtt.counters().stored !== 2 * MQTT_RECORDS) {
      throw new Error(`expected ${2 * MQTT_RECORDS} stored over MQTT, got ${overMqtt.counters().stored}`)
    }
    await overMqtt.stop()
    await broker.stop()
    await users.remove()
    await node.stop()

    const summary = {
      bench: 'ingest',
      machine: `${availableParallelism()} cores, node ${process.version}`,
      mqtt: MQTT_TLS ? 'meter over TLS, logins and ACLs' : 'plain, logins and ACLs',
      figures: {
        records_per_s: recordsPerS,
        records_per_cpu_s: recordsPerCpuS,
        mqtt_records_per_s: mqttPerS,
        mqtt_records_per_cpu_s: mqttPerCpuS,
        mqtt_meter_apart_records_per_s: apart.perS,
        mqtt_meter_apart_node_records_per_cpu_s: apart.perCpuS,
        parse_per_s: parsePerS,
        digest_per_s: digestPerS,
        verify_recover_per_s: recoverPerS,
        verify_cached_per_s: cachedPerS,
        verify_ratio: Math.round((cachedPerS / recoverPerS) * 100) / 100,
        journal_per_s: journalPerS,
        vault_per_s: vaultPerS,
      },
    }
    console.log(
      `load average during the run: ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')} (shared machine)`,
    )
    console.log(JSON.stringify(summary))
  } finally {
    await rm(work, { recursive: true, force: true })
  }
}

await main()
