/**
 * Shared test vectors (protocol/vectors/*.json), generated from the TypeScript reference
 * implementations — protocol/commitment.ts, protocol/eip712.ts and the wire formats in
 * protocol/serial/ — and checked byte for byte by the C++ core (firmware/test/cpp/) and by
 * firmware/protocol/vectors.test.ts, which regenerates them and compares with the committed files.
 *
 * Run: npx node protocol/vectors/generate.ts
 * Keys below are fixed test keys, derived from public strings: never use them for anything real.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { keccak_256 } from '@noble/hashes/sha3.js'
import { poseidon16 } from 'poseidon-lite/poseidon16'
import {
  commit,
  commitExport,
  deriveSalt,
  FIELD_ORDER,
  layoutWord,
  MAX_READING,
  packSlotSums,
  readingsDigest,
  SLOTS,
  slotSums,
} from '../commitment.ts'
import {
  addressOfPrivateKey,
  type BillingPeriodMessage,
  billingPeriodDigest,
  bytesToHex,
  domainSeparator,
  type Eip712Domain,
  type ExportPeriodMessage,
  exportPeriodDigest,
  hexToBytes,
  type MeterRecordMessage,
  meterRecordDigest,
  type RecordsGoneMessage,
  recordsGoneDigest,
  signDigest,
} from '../eip712.ts'
import { interlockMasks } from '../meter/interlocks.ts'
import { periodEndFor, rescheduledEnd } from '../meter/period.ts'
import { createRelayController, type RelayAction } from '../meter/relays.ts'
import { encodeState } from '../meter/status.ts'
import { encodeGonePayload, encodePeriodPayload, encodeSensorPayload, MAX_PAYLOAD_BYTES } from '../records.ts'
import { crc16Modbus } from '../serial/crc16.ts'
import {
  encodeFrame,
  encodeMeasurement,
  LinkDecoder,
  LinkType,
  type Measurement,
  MeasureSource,
} from '../serial/link.ts'
import { encodeMessage, MESSAGE_FRAME_TYPE } from '../serial/message.ts'
import {
  PZEM_DEFAULT_ADDRESS,
  type PzemRegisters,
  pzemReadRequest,
  pzemResetRequest,
  pzemResponse,
} from '../serial/pzem.ts'
import {
  SDM_DEFAULT_ADDRESS,
  SDM_ENERGY_COUNT,
  SDM_ENERGY_FIRST,
  SDM_INSTANT_COUNT,
  SDM_INSTANT_FIRST,
  type SdmValues,
  sdmEnergyResponse,
  sdmInstantResponse,
  sdmReading,
  sdmReadRequest,
} from '../serial/sdm.ts'
import { meterTopicName } from '../topics.ts'

export const VECTORS_DIR = dirname(fileURLToPath(import.meta.url))

/** Deterministic byte stream: keccak256(label ‖ be32(counter)) blocks. */
class Prng {
  #label: Uint8Array
  #counter = 0
  constructor(label: string) {
    this.#label = new TextEncoder().encode(label)
  }
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n)
    for (let off = 0; off < n; off += 32) {
      const input = new Uint8Array(this.#label.length + 4)
      input.set(this.#label)
      new DataView(input.buffer).setUint32(this.#label.length, this.#counter++)
      out.set(keccak_256(input).subarray(0, Math.min(32, n - off)), off)
    }
    return out
  }
  bigint(bytes: number): bigint {
    return BigInt(bytesToHex(this.bytes(bytes)))
  }
  int(maxExclusive: number): number {
    return Number(this.bigint(6) % BigInt(maxExclusive))
  }
}

const dec = (v: bigint | number): string => BigInt(v).toString()
const hex32 = (v: bigint): `0x${string}` => `0x${v.toString(16).padStart(64, '0')}`
const hex = (bytes: Uint8Array): string => bytesToHex(bytes).slice(2)
const testKey = (label: string): Uint8Array =>
  keccak_256(new TextEncoder().encode(`zkmeter test key/${label}`))

function poseidonVectors() {
  const prng = new Prng('zkmeter/vectors/poseidon16')
  const cases: bigint[][] = [
    new Array(16).fill(0n),
    Array.from({ length: 16 }, (_, i) => BigInt(i + 1)),
    new Array(16).fill(FIELD_ORDER - 1n),
  ]
  for (let c = 0; c < 5; c++) cases.push(Array.from({ length: 16 }, () => prng.bigint(32) % FIELD_ORDER))
  return {
    description: 'circomlib Poseidon(16) (poseidon-lite poseidon16): 16 inputs < r, decimal',
    cases: cases.map((inputs) => ({ inputs: inputs.map(dec), output: dec(poseidon16(inputs)) })),
  }
}

function commitmentVectors() {
  const prng = new Prng('zkmeter/vectors/commitment')
  const shapes: { name: string; n: number; count: number; max: number; slots?: number }[] = [
    { name: 'one element', n: 15, count: 15, max: MAX_READING + 1 },
    { name: 'exactly one chain block', n: 225, count: 225, max: MAX_READING + 1 },
    { name: 'one reading into the second block', n: 226, count: 226, max: MAX_READING + 1 },
    { name: 'short period, zero tail', n: 288, count: 200, max: 4000 },
    { name: 'production month N=2976', n: 2976, count: 2976, max: 1200 },
    { name: 'production size, period ends early', n: 2976, count: 2000, max: MAX_READING + 1 },
    { name: 'all readings at the 15-bit limit', n: 450, count: 450, max: -1 },
    { name: 'no readings at all', n: 96, count: 0, max: 1 },
    // Longer intervals: fewer slots a day, still 12 sums per element (the last one partly filled).
    { name: 'hourly intervals, 24 slots, 31 days', n: 744, count: 744, max: MAX_READING + 1, slots: 24 },
    { name: '80-minute intervals, 18 slots (a partial element)', n: 180, count: 170, max: 3000, slots: 18 },
    {
      name: '32 days at the 15-bit limit: the widest slot sums',
      n: 32 * 24,
      count: 32 * 24,
      max: -1,
      slots: 24,
    },
  ]
  return {
    description:
      'C = PoseidonChain(R, [H, packed slot sums]), R = PoseidonChain(salt, packed readings), `slots` a day, sums packed ' +
      '12 per element in 20-bit lanes (docs/protocol.md §3, commitment version 3) computed from the whole array by ' +
      'protocol/commitment.ts; C++ pushes the readings one by one (incrementally). readingsHex: 4 hex digits per ' +
      'reading, big-endian; readingsDigest: R; layout: H; packedSums: the ceil(slots/12) packed slot-sum elements; ' +
      'exportLayout / exportCommitment: the same readings committed as exported energy (direction byte 1 in H).',
    cases: shapes.map((s) => {
      const readings = Array.from({ length: s.count }, () => (s.max < 0 ? MAX_READING : prng.int(s.max)))
      const salt = prng.bigint(32) % FIELD_ORDER
      const slots = s.slots ?? SLOTS
      return {
        name: s.name,
        n: s.n,
        slots,
        salt: hex32(salt),
        readingsHex: readings.map((r) => r.toString(16).padStart(4, '0')).join(''),
        readingsDigest: hex32(readingsDigest(readings, salt, s.n)),
        layout: hex32(layoutWord(slots)),
        packedSums: packSlotSums(slotSums(readings, s.n, slots)).map(hex32),
        commitment: hex32(commit(readings, salt, s.n, slots)),
        // The same readings as exported energy: only the layout word's direction byte differs.
        exportLayout: hex32(layoutWord(slots, 1, 'export')),
        exportCommitment: hex32(commitExport(readings, salt, s.n, slots)),
      }
    }),
  }
}

function saltVectors() {
  const prng = new Prng('zkmeter/vectors/salt')
  const starts = [0, 1764000000, 1766592000, 2 ** 40 + 900]
  return {
    description:
      'salt = keccak256("zkmeter/salt/v1" ‖ pairingKey ‖ meter ‖ be64(periodStart)) mod r (docs/protocol.md §3)',
    cases: starts.map((periodStart) => {
      const pairingKey = prng.bytes(32)
      const meter = prng.bytes(20)
      return {
        pairingKey: bytesToHex(pairingKey),
        meter: bytesToHex(meter),
        periodStart,
        salt: hex32(deriveSalt(pairingKey, meter, periodStart)),
      }
    }),
  }
}

const DOMAINS: Eip712Domain[] = [
  { chainId: 31337n, verifyingContract: '0x5fbdb2315678afecb367f032d93f642f64180aa3' },
  { chainId: 8453n, verifyingContract: '0xffffffffffffffffffffffffffffffffffffff01' },
]

function recordMessages(): MeterRecordMessage[] {
  return [
    {
      seq: 42n,
      kind: 1,
      time: 1764002700n,
      energyWh: 1234567n,
      intervalWh: 312,
      exportedWh: 54321n,
      intervalExportedWh: 95,
      powerW: 1500,
      voltageMv: 230100,
      currentMa: 6520,
      powerFactor: 980,
      temperatureCenti: 2450,
      light: 42,
      gas: 1,
      water: 0,
      hazards: 0,
      relays: 137,
      fanSpeed: 2,
    },
    {
      seq: 0n,
      kind: 0,
      time: 0n,
      energyWh: 0n,
      intervalWh: 0,
      exportedWh: 0n,
      intervalExportedWh: 0,
      powerW: 0,
      voltageMv: 0,
      currentMa: 0,
      powerFactor: 0,
      temperatureCenti: -55,
      light: 0,
      gas: 0,
      water: 0,
      hazards: 0,
      relays: 0,
      fanSpeed: 0,
    },
    {
      seq: (1n << 53n) - 1n,
      kind: 1,
      time: 4102444800n,
      // 15 significant digits: the display Total (Wh / 1000) prints identically in C++ and JS.
      energyWh: 999999999999999n,
      intervalWh: MAX_READING, // the largest reading a meter commits
      exportedWh: 999999999999999n,
      intervalExportedWh: 0, // import and export together stay within one reading's bound
      powerW: 26000,
      voltageMv: 264999,
      currentMa: 100000,
      powerFactor: 1000,
      temperatureCenti: -2147483648,
      light: 1000,
      gas: 999,
      water: 1000,
      hazards: 7,
      relays: 255,
      fanSpeed: 3,
    },
    {
      seq: 7n,
      kind: 0,
      time: 1764003333n,
      energyWh: 1000999n,
      intervalWh: 17,
      exportedWh: 8800n,
      intervalExportedWh: 4200, // a live sample: export so far in the open interval
      powerW: 87,
      voltageMv: 229950,
      currentMa: 412,
      powerFactor: 915,
      temperatureCenti: 3199,
      light: 143,
      gas: 402,
      water: 351,
      hazards: 3,
      relays: 0b10110001,
      fanSpeed: 1,
    },
  ]
}

function randomRecords(count: number): MeterRecordMessage[] {
  const prng = new Prng('zkmeter/vectors/records')
  // Small magnitudes are drawn often: they exercise leading zeros after the decimal point.
  const pick = (max: number) => (prng.int(3) === 0 ? prng.int(Math.min(max, 1000)) : prng.int(max))
  return Array.from({ length: count }, (_, i) => {
    const intervalWh = pick(MAX_READING + 1)
    const exportedWh = BigInt(pick(2 ** 47)) * BigInt(1 + prng.int(7))
    const room = MAX_READING - intervalWh
    return {
      seq: BigInt(i * 7919),
      kind: 1,
      time: BigInt(1764000000 + pick(400_000_000) * 900 - (1764000000 % 900)),
      energyWh: BigInt(pick(2 ** 47)) * BigInt(1 + prng.int(7)), // < 10^15: 15 significant digits
      intervalWh,
      exportedWh,
      intervalExportedWh: Math.min(pick(room + 1), Number(exportedWh)),
      powerW: pick(2 ** 32),
      voltageMv: pick(2 ** 32),
      currentMa: pick(2 ** 32),
      powerFactor: pick(1001),
      temperatureCenti: pick(2 ** 32) - 2 ** 31,
      light: pick(1001),
      gas: pick(1001),
      water: pick(1001),
      hazards: pick(8),
      relays: pick(256),
      fanSpeed: pick(4),
    }
  })
}

function periodMessages(): BillingPeriodMessage[] {
  return [
    {
      meter: addressOfPrivateKey(testKey('meter-1')),
      periodStart: 1764000000n,
      periodEnd: 1766592000n,
      startCounter: 1000000n,
      endCounter: 1312000n,
      commitment: commit([1, 2, 3], 5n, 2976),
    },
    {
      meter: addressOfPrivateKey(testKey('meter-2')),
      periodStart: 0n,
      periodEnd: 86400n,
      startCounter: 0n,
      endCounter: 0n,
      commitment: FIELD_ORDER - 1n,
    },
  ]
}

/** The export half of each close of periodMessages(), in the same order. */
function exportPeriodMessages(): ExportPeriodMessage[] {
  return periodMessages().map((p, i) =>
    i === 0
      ? { ...p, startCounter: 50000n, endCounter: 61234n, commitment: commitExport([0, 4, 9], 5n, 2976) }
      : { ...p, startCounter: 0n, endCounter: 0n, commitment: FIELD_ORDER - 2n },
  )
}

/** A BillingPeriod's or ExportPeriod's fields as the vectors write them (integers decimal, commitment 32 bytes). */
function periodFields(message: BillingPeriodMessage | ExportPeriodMessage) {
  return {
    meter: message.meter,
    periodStart: dec(message.periodStart),
    periodEnd: dec(message.periodEnd),
    startCounter: dec(message.startCounter),
    endCounter: dec(message.endCounter),
    commitment: hex32(BigInt(message.commitment)),
  }
}

function goneMessages(): RecordsGoneMessage[] {
  return [
    { meter: addressOfPrivateKey(testKey('meter-1')), fromSeq: 120n, toSeq: 4215n },
    { meter: addressOfPrivateKey(testKey('meter-2')), fromSeq: 0n, toSeq: 2n ** 53n - 1n },
  ]
}

function eip712Vectors() {
  const keys = ['meter-1', 'meter-2'].map((label) => {
    const key = testKey(label)
    return { label, privateKey: bytesToHex(key), address: addressOfPrivateKey(key) }
  })
  const records = recordMessages()
  const periods = periodMessages()
  const gone = goneMessages()
  const exports = exportPeriodMessages()
  /** A message's vector: its fields, digest, and the signature by keys[i] (alternating meters). */
  const signedVector = <M>(message: M, digest: Uint8Array, i: number) => {
    const key = keys[i % keys.length]!
    return {
      message,
      digest: bytesToHex(digest),
      key: key.label,
      signature: signDigest(testKey(key.label), digest),
    }
  }
  return {
    description:
      'EIP-712 digests (docs/protocol.md §6) by protocol/eip712.ts and signatures by @noble/curves ' +
      '(RFC 6979, low S, v = 27 + recovery). Integers as decimal strings.',
    keys,
    domains: DOMAINS.map((domain) => ({
      chainId: dec(domain.chainId),
      verifyingContract: domain.verifyingContract,
      separator: bytesToHex(domainSeparator(domain)),
      records: records.map((message, i) =>
        signedVector(
          Object.fromEntries(Object.entries(message).map(([k, v]) => [k, dec(v as bigint | number)])),
          meterRecordDigest(domain, message),
          i,
        ),
      ),
      // BillingPeriod and ExportPeriod have the same fields, under their own type hashes.
      periods: periods.map((message, i) =>
        signedVector(periodFields(message), billingPeriodDigest(domain, message), i),
      ),
      exportPeriods: exports.map((message, i) =>
        signedVector(periodFields(message), exportPeriodDigest(domain, message), i),
      ),
      gone: gone.map((message, i) =>
        signedVector(
          { meter: message.meter, fromSeq: dec(message.fromSeq), toSeq: dec(message.toSeq) },
          recordsGoneDigest(domain, message),
          i,
        ),
      ),
    })),
  }
}

function measurements(): Measurement[] {
  return [
    {
      energyWh: 1234567n,
      powerW: 1500,
      voltageMv: 230100,
      currentMa: 6520,
      powerFactor: 980,
      temperatureCenti: 2450,
      light: 42,
      gas: 1,
      water: 0,
      hazards: 0,
      relays: 137,
      fanSpeed: 2,
      source: MeasureSource.pzem,
      exportedWh: 0n,
    },
    {
      energyWh: (1n << 64n) - 1n,
      powerW: 0xffffffff,
      voltageMv: 0,
      currentMa: 0x7e7e7e7e,
      powerFactor: 0x7e7e,
      temperatureCenti: -1234,
      light: 1000,
      gas: 1000,
      water: 1000,
      hazards: 7,
      relays: 0x7e,
      fanSpeed: 3,
      source: MeasureSource.pulse,
      exportedWh: 0n,
    },
    {
      energyWh: 987654321n,
      powerW: 3120,
      voltageMv: 241500,
      currentMa: 12900,
      powerFactor: 1000,
      temperatureCenti: 3125,
      light: 1000,
      gas: 0,
      water: 0,
      hazards: 0,
      relays: 0x80,
      fanSpeed: 0,
      source: MeasureSource.bidirectional,
      exportedWh: (1n << 64n) - 2n,
    },
  ]
}

const measurementJson = (m: Measurement) => ({
  ...m,
  energyWh: dec(m.energyWh),
  exportedWh: dec(m.exportedWh),
})

function linkVectors() {
  const frames = [
    ...measurements().map((m) => ({
      name: 'measurement',
      type: LinkType.measurement,
      payload: encodeMeasurement(m),
      measurement: measurementJson(m),
    })),
    { name: 'relay 6 on', type: LinkType.setRelay, payload: Uint8Array.of(6, 1) },
    { name: 'relay 8 toggle', type: LinkType.setRelay, payload: Uint8Array.of(8, 2) },
    { name: 'fan speed 3', type: LinkType.setFan, payload: Uint8Array.of(3) },
    { name: 'heartbeat online', type: LinkType.heartbeat, payload: Uint8Array.of(1) },
    { name: 'empty payload', type: 0x7e, payload: new Uint8Array(0) },
  ].map((f) => ({ ...f, payload: hex(f.payload), frame: hex(encodeFrame(f.type, f.payload)) }))

  // A noisy line: garbage, a frame with a flipped byte, a false start inside a payload, a length
  // byte beyond the maximum, then good frames. The expected output is what the TS decoder finds.
  const prng = new Prng('zkmeter/vectors/link')
  const good = frames.map((f) => Buffer.from(f.frame, 'hex'))
  const corrupted = Uint8Array.from(good[0]!)
  corrupted[10] = (corrupted[10] as number) ^ 0x40
  const parts: Uint8Array[] = [
    prng.bytes(7),
    corrupted,
    good[2]!,
    Uint8Array.of(0x7e, 0xff, 0x01),
    good[1]!,
    Uint8Array.of(0x7e, 0x02),
    good[3]!,
    prng.bytes(5).map((b) => (b === 0x7e ? 0 : b)),
    good[4]!,
    good[6]!,
    // A corrupted frame whose CRC low byte is 0x7E starts a false frame (len 0x22) that holds the
    // last good frame until the line goes quiet: a decoder releases it on idle().
    Buffer.from('7e05013279d493847e22', 'hex'),
    encodeFrame(0x00, new Uint8Array(0)),
  ]
  const stream = Buffer.concat(parts)
  const decoder = new LinkDecoder()
  const decoded = [...decoder.push(stream), ...decoder.idle()]
  return {
    description:
      'UNO ↔ ESP8266 frames: 0x7E | len | type | payload | CRC-16/Modbus (lo, hi) over len, type, payload. ' +
      'stream: a noisy byte sequence and the frames a resynchronising decoder must recover from it, the last one ' +
      'only once the line goes quiet (idle()).',
    frames,
    stream: {
      bytes: hex(stream),
      frames: decoded.map((f) => ({ type: f.type, payload: hex(f.payload) })),
    },
  }
}

/** MESSAGE frames (type 0x20, docs/serial.md) as protocol/serial/message.ts cuts a message into them. */
function messageVectors(mqtt: ReturnType<typeof mqttVectors>) {
  const prng = new Prng('zkmeter/vectors/message')
  const sensor = mqtt.sensor[0]!
  const cases = [
    {
      name: 'short SENSOR',
      id: 7,
      topic: `tele/${mqtt.meterName}/SENSOR`,
      payload: new TextEncoder().encode(sensor.json),
    },
    {
      name: 'maximal payload (4096 bytes), longest topic',
      id: 255,
      topic: `zkmeter/${mqtt.meterName}/${'x'.repeat(255 - 9 - mqtt.meterName.length)}`,
      payload: prng.bytes(MAX_PAYLOAD_BYTES),
    },
    { name: 'topic only', id: 0, topic: `cmnd/${mqtt.meterName}/Resend`, payload: new Uint8Array(0) },
    { name: 'one byte topic, one full frame', id: 1, topic: 'a', payload: prng.bytes(43) },
  ]
  return {
    description:
      'MESSAGE frames (type 0x20, docs/serial.md): message = topicLen (1) ‖ topic ‖ payload (≤ 4096), cut into ' +
      'link frames whose payload is id (1) ‖ index (1) ‖ count (1) ‖ chunk (≤ 45), by protocol/serial/message.ts.',
    type: MESSAGE_FRAME_TYPE,
    cases: cases.map((c) => ({
      name: c.name,
      id: c.id,
      topic: c.topic,
      payload: hex(c.payload),
      frames: encodeMessage(c.id, c.topic, c.payload).map(hex),
    })),
  }
}

function mqttVectors() {
  const eip = eip712Vectors()
  const domain = eip.domains[0]!
  const address = eip.keys[0]!.address
  const name = meterTopicName(address)
  const records = recordMessages()
  const periods = periodMessages()
  const command = (topic: string, payload: string, expect: Record<string, unknown>) => ({
    topic,
    payload,
    expect,
  })
  const t = (suffix: string) => `cmnd/${name}/${suffix}`
  return {
    description:
      'MQTT payloads (docs/protocol.md §7) as protocol/records.ts encodes them and the firmware must print ' +
      'them byte for byte. commands: how the meter must parse cmnd/ topics ({"kind":"invalid"} = ignored).',
    address,
    meterName: name,
    // Random records across every field's range: the display numbers must print as JS prints them.
    sensorRandom: randomRecords(40).map((message) => {
      const signature = bytesToHex(new Prng(`zkmeter/vectors/sig/${message.seq}`).bytes(65))
      return {
        message: Object.fromEntries(Object.entries(message).map(([k, v]) => [k, dec(v as bigint | number)])),
        signature,
        json: encodeSensorPayload(message, signature),
      }
    }),
    sensor: records.map((message, i) => ({
      message: Object.fromEntries(Object.entries(message).map(([k, v]) => [k, dec(v as bigint | number)])),
      signature: domain.records[i]!.signature,
      json: encodeSensorPayload(message, domain.records[i]!.signature),
    })),
    period: periods.map((message, i) => ({
      message: domain.periods[i]!.message,
      signature: domain.periods[i]!.signature,
      exportMessage: domain.exportPeriods[i]!.message,
      exportSignature: domain.exportPeriods[i]!.signature,
      // records.ts's validator takes the integer fields as JS numbers (all are below 2^53).
      json: encodePeriodPayload(
        {
          ...message,
          periodStart: Number(message.periodStart),
          periodEnd: Number(message.periodEnd),
          startCounter: Number(message.startCounter),
          endCounter: Number(message.endCounter),
        },
        domain.periods[i]!.signature,
        {
          startCounter: Number(domain.exportPeriods[i]!.message.startCounter),
          endCounter: Number(domain.exportPeriods[i]!.message.endCounter),
          commitment: BigInt(domain.exportPeriods[i]!.message.commitment),
          signature: domain.exportPeriods[i]!.signature,
        },
      ),
    })),
    commands: [
      command(t('POWER1'), 'ON', { kind: 'power', relay: 1, action: 1 }),
      command(t('power8'), 'off', { kind: 'power', relay: 8, action: 0 }),
      command(t('POWER3'), ' Toggle\n', { kind: 'power', relay: 3, action: 2 }),
      command(t('POWER5'), '1', { kind: 'power', relay: 5, action: 1 }),
      command(t('POWER6'), '0', { kind: 'power', relay: 6, action: 0 }),
      command(t('POWER6'), 'FORCEOFF', { kind: 'power', relay: 6, action: 4 }),
      command(t('POWER7'), 'forceon', { kind: 'power', relay: 7, action: 3 }),
      command(t('POWER7'), 'FORCE ON', { kind: 'invalid' }),
      command(t('POWER9'), 'ON', { kind: 'invalid' }),
      command(t('POWER0'), 'ON', { kind: 'invalid' }),
      command(t('POWER2'), 'ONN', { kind: 'invalid' }),
      command(t('POWER'), 'ON', { kind: 'invalid' }),
      command(t('FanSpeed'), '3', { kind: 'fanSpeed', value: 3 }),
      command(t('fanspeed'), '0', { kind: 'fanSpeed', value: 0 }),
      command(t('FanSpeed'), '4', { kind: 'invalid' }),
      command(t('FanSpeed'), '-1', { kind: 'invalid' }),
      command(t('PeriodDays'), '7', { kind: 'periodDays', value: 7 }),
      command(t('PeriodDays'), '0', { kind: 'periodDays', value: 0 }),
      command(t('PeriodDays'), '32', { kind: 'invalid' }),
      command(t('Resend'), '{"from":10,"to":20}', { kind: 'resend', from: '10', to: '20' }),
      command(t('Resend'), ' { "to" : 9007199254740991 , "from" : 0 } ', {
        kind: 'resend',
        from: '0',
        to: '9007199254740991',
      }),
      command(t('Resend'), '{"from":20,"to":10}', { kind: 'invalid' }),
      command(t('Resend'), '{"from":1}', { kind: 'invalid' }),
      command(t('Resend'), '{"from":1,"to":2,"x":3}', { kind: 'invalid' }),
      command(t('ResendPeriod'), '{"periodStart":1764000000}', {
        kind: 'resendPeriod',
        periodStart: '1764000000',
      }),
      command(t('resendperiod'), ' { "periodStart" : 0 } ', { kind: 'resendPeriod', periodStart: '0' }),
      command(t('ResendPeriod'), '{"periodStart":-1}', { kind: 'invalid' }),
      command(t('ResendPeriod'), '{"periodStart":1,"to":2}', { kind: 'invalid' }),
      command(t('ResendPeriod'), '{}', { kind: 'invalid' }),
      command(`cmnd/zkm_${'0'.repeat(40)}/POWER1`, 'ON', { kind: 'invalid' }),
      command(`stat/${name}/POWER1`, 'ON', { kind: 'invalid' }),
    ],
    // STATE as the virtual meter prints it (protocol/meter/status.ts); the node parses it strictly.
    state: [
      { time: 1764002700, uptime: 93784, relays: 137, fanSpeed: 2, periodStart: 1761955200, periodDays: 0 },
      { time: 1764000000, uptime: 0, relays: 0, fanSpeed: 0, periodStart: 1764000000, periodDays: 31 },
    ].map((v) => ({ ...v, json: encodeState(v) })),
    // tele/<meter>/GONE: records the meter no longer holds (signed RecordsGone, protocol §6).
    gone: goneMessages().map((message, i) => ({
      message: domain.gone[i]!.message,
      signature: domain.gone[i]!.signature,
      json: encodeGonePayload(
        { ...message, fromSeq: Number(message.fromSeq), toSeq: Number(message.toSeq) },
        domain.gone[i]!.signature,
      ),
    })),
    results: [
      { relay: 3, on: true, json: '{"POWER3":"ON"}' },
      { relay: 8, on: false, json: '{"POWER8":"OFF"}' },
      { fanSpeed: 2, json: '{"FanSpeed":2}' },
    ],
  }
}

function modbusVectors() {
  const prng = new Prng('zkmeter/vectors/modbus')
  const registers: PzemRegisters[] = [
    {
      voltageDeciV: 2301,
      currentMa: 6520,
      powerDeciW: 15000,
      energyWh: 1234567,
      frequencyDeciHz: 500,
      powerFactorCenti: 98,
      alarm: 0,
    },
    {
      voltageDeciV: 2650,
      currentMa: 100000,
      powerDeciW: 265000,
      energyWh: 9999999,
      frequencyDeciHz: 600,
      powerFactorCenti: 100,
      alarm: 1,
    },
  ]
  return {
    description:
      'PZEM-004T v3 Modbus-RTU: CRC-16/Modbus (sent low byte first), read/reset requests and responses',
    crc: [new Uint8Array(0), Uint8Array.of(0x01, 0x04, 0x00, 0x00, 0x00, 0x0a), prng.bytes(40)].map((b) => ({
      data: hex(b),
      crc: crc16Modbus(b),
    })),
    requests: [PZEM_DEFAULT_ADDRESS, 0x01].map((address) => ({
      address,
      read: hex(pzemReadRequest(address)),
      reset: hex(pzemResetRequest(address)),
    })),
    responses: registers.map((r) => ({
      registers: r,
      frame: hex(pzemResponse(PZEM_DEFAULT_ADDRESS, r)),
      reading: {
        voltageMv: r.voltageDeciV * 100,
        currentMa: r.currentMa,
        powerDeciW: r.powerDeciW,
        energyWh: r.energyWh,
        frequencyDeciHz: r.frequencyDeciHz,
        powerFactorPermille: r.powerFactorCenti * 10,
        alarm: r.alarm ? 1 : 0,
      },
    })),
  }
}

/** The bidirectional source (SDM120 register map): requests, answers and what the firmware reads. */
function sdmVectors() {
  const prng = new Prng('zkmeter/vectors/sdm')
  const values: SdmValues[] = [
    // Importing in the evening.
    {
      voltageV: 230.1,
      currentA: 6.52,
      powerW: 1480.6,
      powerFactor: 0.98,
      importKwh: 1234.567,
      exportKwh: 89.012,
    },
    // Exporting at noon: negative power, a leading power factor (negative on the SDM).
    {
      voltageV: 241.5,
      currentA: 17.25,
      powerW: -4102.5,
      powerFactor: -0.995,
      importKwh: 1250.5,
      exportKwh: 95.25,
    },
    // Large counters: the float's own resolution (2 Wh at 20,000 kWh) is what the meter reads.
    { voltageV: 0, currentA: 0, powerW: 0, powerFactor: 0, importKwh: 20000.123, exportKwh: 16777.217 },
    // Half-way cases and the smallest steps.
    { voltageV: 0.0005, currentA: 0.0015, powerW: -0.5, powerFactor: 1, importKwh: 0.0005, exportKwh: 0.001 },
  ]
  for (let i = 0; i < 12; i++) {
    values.push({
      voltageV: 180 + prng.int(80_000) / 1000,
      currentA: prng.int(100_000) / 1000,
      powerW: (prng.int(2) === 0 ? -1 : 1) * (prng.int(2_600_000) / 100),
      powerFactor: (prng.int(2) === 0 ? -1 : 1) * (prng.int(1001) / 1000),
      importKwh: prng.int(100_000_000) / 1000,
      exportKwh: prng.int(10_000_000) / 1000,
    })
  }
  return {
    description:
      'Bidirectional source, Eastron SDM120 register map over Modbus-RTU (protocol/serial/sdm.ts): float32 big-endian ' +
      'input registers; instant block 0x0000..0x001F (V 0x00, A 0x06, W 0x0C signed, PF 0x1E), energy block ' +
      '0x0048..0x004B (import kWh, export kWh). reading: what zkm::sdmParse* yields (value × scale of the float32, ' +
      'rounded half away from zero; the PF as its magnitude).',
    requests: [SDM_DEFAULT_ADDRESS, 0x07].map((address) => ({
      address,
      instant: hex(sdmReadRequest(address, SDM_INSTANT_FIRST, SDM_INSTANT_COUNT)),
      energy: hex(sdmReadRequest(address, SDM_ENERGY_FIRST, SDM_ENERGY_COUNT)),
    })),
    responses: values.map((v) => ({
      values: v,
      instant: hex(sdmInstantResponse(SDM_DEFAULT_ADDRESS, v)),
      energy: hex(sdmEnergyResponse(SDM_DEFAULT_ADDRESS, v)),
      reading: sdmReading(v),
    })),
  }
}

function periodVectors() {
  const production = { intervalSeconds: 900, n: 2976 }
  const small = { intervalSeconds: 900, n: 288 } // 3 days
  const hourly = { intervalSeconds: 3600, n: 24 * 40 } // capped at 31 days
  const ends: { geometry: typeof production; start: number; days: number }[] = []
  const starts = [
    Date.UTC(2026, 10, 24, 16, 45) / 1000,
    Date.UTC(2026, 11, 31, 23, 45) / 1000,
    Date.UTC(2028, 1, 1) / 1000,
    Date.UTC(2027, 1, 28, 12) / 1000,
    Date.UTC(2026, 0, 31) / 1000,
    0,
  ]
  for (const start of starts) {
    for (const days of [0, 1, 7, 31]) ends.push({ geometry: production, start, days })
    for (const days of [0, 2, 3]) ends.push({ geometry: small, start, days })
    ends.push({ geometry: hourly, start: start - (start % 3600), days: 0 })
  }
  const reschedules = [
    { start: Date.UTC(2026, 10, 3, 6) / 1000, days: 2, now: Date.UTC(2026, 10, 9, 13) / 1000 },
    { start: Date.UTC(2026, 10, 3, 6) / 1000, days: 10, now: Date.UTC(2026, 10, 9, 13) / 1000 },
    { start: Date.UTC(2026, 10, 3, 6) / 1000, days: 0, now: Date.UTC(2026, 10, 30, 23) / 1000 },
  ]
  // A period opened mid-day, fed interval by interval with a gap (meter off): the commitment equals
  // the whole-array reference over readings indexed from the UTC midnight anchor.
  const prng = new Prng('zkmeter/vectors/period')
  const start = Date.UTC(2026, 10, 24, 16, 45) / 1000
  const geometry = small
  const end = periodEndFor(start, 0, geometry)
  const anchor = start - (start % 86_400)
  const readings = new Array((end - anchor) / 900).fill(0)
  const intervals: { time: number; intervalWh: number }[] = []
  for (let t = start + 900; t <= end; t += 900) {
    if (t > start + 20 * 900 && t <= start + 30 * 900) continue // ten intervals missed
    const wh = prng.int(3000)
    intervals.push({ time: t, intervalWh: wh })
    readings[(t - 900 - anchor) / 900] = wh
  }
  const salt = prng.bigint(32) % FIELD_ORDER
  const startCounter = 1_000_000
  return {
    description:
      'Period boundaries by protocol/meter/period.ts (periodEndFor, rescheduledEnd) and an incrementally fed ' +
      'period whose commitment is protocol/commitment.ts over readings indexed from the UTC midnight anchor.',
    ends: ends.map(({ geometry: g, start: s, days }) => ({
      intervalSeconds: g.intervalSeconds,
      n: g.n,
      start: s,
      days,
      end: periodEndFor(s, days, g),
    })),
    reschedules: reschedules.map((r) => ({
      ...r,
      ...production,
      end: rescheduledEnd(r.start, r.days, r.now, production),
    })),
    feed: {
      intervalSeconds: geometry.intervalSeconds,
      n: geometry.n,
      start,
      days: 0,
      salt: hex32(salt),
      startCounter,
      intervals,
      periodEnd: end,
      endCounter: startCounter + intervals.reduce((a, i) => a + i.intervalWh, 0),
      commitment: hex32(commit(readings, salt, geometry.n)),
    },
  }
}

type RelayStep =
  | { op: 'command'; n: number; action: RelayAction }
  | { op: 'fan'; speed: number }
  | { op: 'hazards'; bits: number }

/** Random command / fan / hazard sequences run through the virtual meter's relay twin. */
function relayVectors() {
  const prng = new Prng('zkmeter/vectors/relays')
  const actions: RelayAction[] = ['off', 'on', 'toggle', 'forceOn', 'forceOff']
  const scenarios = Array.from({ length: 16 }, () => {
    const relays = createRelayController()
    return Array.from({ length: 30 }, () => {
      const kind = prng.int(4)
      let step: RelayStep
      let accepted = true
      if (kind < 2) {
        // Overrides are rare next to plain commands, as in a house.
        step = {
          op: 'command',
          n: prng.int(10),
          action: actions[prng.int(8) === 0 ? 3 + prng.int(2) : prng.int(3)]!,
        }
        accepted = relays.command(step.n, step.action)
      } else if (kind === 2) {
        step = { op: 'fan', speed: prng.int(5) }
        accepted = relays.setFanSpeed(step.speed)
      } else {
        // Hazards often enough that commands meet every interlock of the matrix.
        step = { op: 'hazards', bits: prng.int(2) === 0 ? prng.int(8) : 0 }
        relays.apply(step.bits)
      }
      return { ...step, accepted, outputs: relays.outputs(), fanSpeed: relays.fanSpeed() }
    })
  })
  return {
    // The matrix folded per combination of hazard bits: the firmware's masks must be these.
    interlocks: Array.from({ length: 8 }, (_, bits) => {
      const m = interlockMasks(bits)
      return {
        bits,
        forcedOn: m.forcedOn,
        forcedOff: m.forcedOff,
        locked: m.locked,
        suspendRules: m.suspendRules,
      }
    }),
    description:
      'Relay outputs under commands, fan speeds and hazards (docs/protocol.md §8), from protocol/meter/relays.ts ' +
      '(the virtual meter) under the interlock matrix of protocol/meter/interlocks.ts — the firmware RelayController ' +
      'must agree step by step. action: 0 off, 1 on, 2 toggle, 3 forceOn, 4 forceOff.',
    scenarios: scenarios.map((steps) =>
      steps.map((s) => (s.op === 'command' ? { ...s, action: actions.indexOf(s.action) } : s)),
    ),
  }
}

/**
 * The whole ESP8266 pipeline end to end: a meter measuring energyAt(t) every minute from a UTC
 * midnight closes a three-day test period. The expected SENSOR and PERIOD payloads come from the TS
 * references alone (readings = counter differences at the boundaries, circuits' commit, the node's
 * encoders); firmware/test/cpp/engine_test.cpp runs zkm::MeterEngine and must print the same bytes.
 */
function engineVectors() {
  const t0 = 1764028800
  const geometry = { intervalSeconds: 900, n: 288 }
  const energyAt = (t: number) => {
    const minutes = Math.floor((t - t0) / 60)
    return 1000 + minutes * 3 + Math.floor(minutes / 97) * 5
  }
  // The export counter (OBIS 2.8.0) moves on its own schedule: 2 Wh every 4 minutes, 7 more every 331.
  const exportAt = (t: number) => {
    const minutes = Math.floor((t - t0) / 60)
    return 200 + Math.floor(minutes / 4) * 2 + Math.floor(minutes / 331) * 7
  }
  const key = testKey('meter-1')
  const meter = addressOfPrivateKey(key)
  const pairingKey = new Prng('zkmeter/vectors/engine').bytes(32)
  const domain = DOMAINS[0]!
  const end = periodEndFor(t0, 0, geometry)
  const readings: number[] = []
  const exported: number[] = []
  const sensors: string[] = []
  for (let t = t0 + 900; t <= end; t += 900) {
    const wh = energyAt(t) - energyAt(t - 900)
    const xwh = exportAt(t) - exportAt(t - 900)
    readings.push(wh)
    exported.push(xwh)
    if (sensors.length < 3) {
      const record: MeterRecordMessage = {
        seq: BigInt(readings.length - 1),
        kind: 1,
        time: BigInt(t),
        energyWh: BigInt(energyAt(t)),
        intervalWh: wh,
        exportedWh: BigInt(exportAt(t)),
        intervalExportedWh: xwh,
        powerW: 180,
        voltageMv: 230000,
        currentMa: 0,
        powerFactor: 0,
        temperatureCenti: 0,
        light: 0,
        gas: 0,
        water: 0,
        hazards: 0,
        relays: 0x80,
        fanSpeed: 0,
      }
      sensors.push(encodeSensorPayload(record, signDigest(key, meterRecordDigest(domain, record))))
    }
  }
  const salt = deriveSalt(pairingKey, hexToBytes(meter), t0)
  const period: BillingPeriodMessage = {
    meter,
    periodStart: BigInt(t0),
    periodEnd: BigInt(end),
    startCounter: 1000n,
    endCounter: BigInt(energyAt(end)),
    commitment: commit(readings, salt, geometry.n),
  }
  const signature = signDigest(key, billingPeriodDigest(domain, period))
  const exportPeriod: ExportPeriodMessage = {
    ...period,
    startCounter: 200n,
    endCounter: BigInt(exportAt(end)),
    commitment: commitExport(exported, salt, geometry.n),
  }
  const exportSignature = signDigest(key, exportPeriodDigest(domain, exportPeriod))
  return {
    description:
      'End-to-end ESP8266 pipeline: energyAt(t) = 1000 + 3·m + 5·floor(m / 97) Wh with m = floor((t − t0) / 60), ' +
      'and exportAt(t) = 200 + 2·floor(m / 4) + 7·floor(m / 331) Wh exported, ' +
      'measured every 60 s from t0 (powerW 180, voltageMv 230000, relays 0x80, nothing else), no live samples, ' +
      'startCounter 1000, export startCounter 200, PeriodDays 0. Expected: the first interval SENSOR payloads and the PERIOD payload.',
    t0,
    intervalSeconds: geometry.intervalSeconds,
    n: geometry.n,
    key: 'meter-1',
    privateKey: bytesToHex(key),
    pairingKey: bytesToHex(pairingKey),
    chainId: dec(domain.chainId),
    verifyingContract: domain.verifyingContract,
    sensors,
    period: encodePeriodPayload(
      {
        ...period,
        periodStart: Number(period.periodStart),
        periodEnd: Number(period.periodEnd),
        startCounter: Number(period.startCounter),
        endCounter: Number(period.endCounter),
      },
      signature,
      {
        startCounter: Number(exportPeriod.startCounter),
        endCounter: Number(exportPeriod.endCounter),
        commitment: BigInt(exportPeriod.commitment),
        signature: exportSignature,
      },
    ),
  }
}

/** Every vector file's name and exact text. */
export function generateVectors(): Record<string, string> {
  const mqtt = mqttVectors()
  const files: Record<string, unknown> = {
    'poseidon16.json': poseidonVectors(),
    'commitment.json': commitmentVectors(),
    'salt.json': saltVectors(),
    'eip712.json': eip712Vectors(),
    'link.json': linkVectors(),
    'mqtt.json': mqtt,
    'message.json': messageVectors(mqtt),
    'modbus.json': modbusVectors(),
    'sdm.json': sdmVectors(),
    'period.json': periodVectors(),
    'relays.json': relayVectors(),
    'engine.json': engineVectors(),
  }
  return Object.fromEntries(
    Object.entries(files).map(([name, value]) => [name, `${JSON.stringify(value, null, 2)}\n`]),
  )
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  mkdirSync(VECTORS_DIR, { recursive: true })
  for (const [name, text] of Object.entries(generateVectors())) {
    writeFileSync(join(VECTORS_DIR, name), text)
    console.log(`wrote protocol/vectors/${name} (${text.length} bytes)`)
  }
}
