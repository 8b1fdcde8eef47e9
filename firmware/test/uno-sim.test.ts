/**
 * The real UNO firmware (built by firmware/tools/build-uno.ts with arduino-builder) running under
 * avr8js: sensors in, relays and serial frames out. Needs the Debian AVR toolchain; if it is
 * missing the build throws ToolchainMissingError naming the packages (nothing is skipped).
 */
import { join } from 'node:path'
import { EEPROMMemoryBackend, PinState } from 'avr8js'
import { beforeAll, describe, expect, it } from 'vitest'
import { crc16Modbus } from '#protocol/serial/crc16.ts'
import { decodeMeasurement, LinkType, type Measurement } from '#protocol/serial/link.ts'
import { buildUno, UNO_BUILD_DIR, UNO_HEX } from '../tools/build-uno.ts'
import { run } from '../tools/toolchain.ts'
import { PzemEmulator } from './pzem-sim.ts'
import { UnoSimulator } from './uno-sim.ts'

const RELAY_PIN = (n: number) => 3 + n // relay 1..8 on D4..D11
const relayOn = (sim: UnoSimulator, n: number) => sim.pinState(RELAY_PIN(n)) === PinState.Low // active-LOW board
const FLAME_PIN = 2
const POWER_FAIL_PIN = 18 // A4
const volts = (permille: number) => (permille / 1000) * 5

function lastMeasurement(sim: UnoSimulator): Measurement {
  const frame = sim.frames.filter((f) => f.frame.type === LinkType.measurement).at(-1)
  if (!frame) throw new Error('the UNO sent no measurement frame')
  return decodeMeasurement(frame.frame.payload)
}

function boot(eeprom?: EEPROMMemoryBackend): UnoSimulator {
  const sim = new UnoSimulator(UNO_HEX, eeprom)
  sim.setAnalog(0, 0.245) // LM35: 24.5 °C
  sim.setAnalog(1, 3.0) // LDR: daylight
  sim.setAnalog(2, 0.5) // MQ-6: clean air
  sim.setAnalog(3, 0) // dry
  return sim
}

const heartbeat = (sim: UnoSimulator) => sim.send(LinkType.heartbeat, Uint8Array.of(1))

beforeAll(() => {
  buildUno()
})

describe('UNO image', () => {
  it('contains no hashing, commitment or signing code (that is the ESP8266 job)', () => {
    const symbols = run('avr-nm', ['-C', join(UNO_BUILD_DIR, 'uno.ino.elf')]).stdout
    expect(symbols).toMatch(/zkm::LevelAlarm::update/) // the core is linked (LTO inlines much of it)
    expect(symbols).not.toMatch(/poseidon|keccak|feMul|CommitmentChain|meterRecordDigest|secp256k1/i)
  })
})

describe('UNO firmware under avr8js', () => {
  it('boots with only the appliance circuits on and reports measurements over the link', () => {
    const sim = boot()
    heartbeat(sim)
    sim.run(1300)
    for (let n = 1; n <= 7; n++) expect(relayOn(sim, n), `relay ${n}`).toBe(false)
    expect(relayOn(sim, 8)).toBe(true)
    const m = lastMeasurement(sim)
    expect(Math.abs(m.temperatureCenti - 2450)).toBeLessThan(60)
    expect(m.light).toBeGreaterThan(550)
    expect(m.gas).toBeLessThan(150)
    expect(m.hazards).toBe(0)
    expect(m.relays).toBe(0x80)
    expect(sim.frames.length).toBeGreaterThanOrEqual(2) // at boot and once a second
  })

  it('flame: sprinkler relay and buzzer within 100 ms, frame sent at once, off after the flame is gone', () => {
    const sim = boot()
    heartbeat(sim)
    sim.run(300)
    const framesBefore = sim.frames.length
    const t0 = sim.timeMs
    sim.setPin(FLAME_PIN, false)
    expect(sim.run(100, () => relayOn(sim, 6))).toBe(true)
    const reaction = sim.timeMs - t0
    expect(reaction).toBeLessThan(100)
    expect(relayOn(sim, 7)).toBe(true)
    expect(relayOn(sim, 8)).toBe(true) // flame alone keeps the sockets on
    // The report follows at once; at 9600 baud its 41 bytes take 43 ms on the wire.
    const flameFrame = () =>
      sim.frames.slice(framesBefore).find((f) => decodeMeasurement(f.frame.payload).hazards & 1)
    sim.run(100, () => flameFrame() !== undefined)
    const alarm = flameFrame()
    expect(alarm, 'a measurement with the flame bit').toBeDefined()
    expect(alarm!.timeMs - t0).toBeLessThan(100)
    expect(decodeMeasurement(alarm!.frame.payload).relays & 0x60).toBe(0x60)
    console.log(`flame → sprinkler relay: ${reaction.toFixed(1)} ms simulated`)
    sim.setPin(FLAME_PIN, true)
    sim.run(2500)
    expect(relayOn(sim, 6)).toBe(true) // debounced: needs 3 s of no flame
    sim.run(700)
    expect(relayOn(sim, 6)).toBe(false)
    expect(relayOn(sim, 7)).toBe(false)
  })

  it('gas: cuts the appliance circuits, switches nothing else, refuses POWER8 ON until clear', () => {
    const sim = boot()
    heartbeat(sim)
    sim.send(LinkType.setRelay, Uint8Array.of(3, 1)) // the lights are on when the leak starts
    sim.run(200)
    sim.setAnalog(2, volts(600))
    expect(sim.run(400, () => !relayOn(sim, 8))).toBe(true)
    expect(relayOn(sim, 5)).toBe(false) // no vent: a switched fan sparks in LPG
    expect(relayOn(sim, 7)).toBe(true)
    expect(relayOn(sim, 3)).toBe(true) // locked: left as it was
    sim.send(LinkType.setRelay, Uint8Array.of(8, 1))
    sim.send(LinkType.setRelay, Uint8Array.of(3, 0))
    sim.send(LinkType.setRelay, Uint8Array.of(8, 3)) // FORCEON: no override in gas
    sim.run(50)
    expect(relayOn(sim, 8)).toBe(false)
    expect(relayOn(sim, 3)).toBe(true)
    sim.setAnalog(2, volts(350)) // between the thresholds: still an alarm (hysteresis)
    sim.run(2500)
    expect(relayOn(sim, 7)).toBe(true)
    sim.setAnalog(2, volts(100))
    sim.run(2300)
    expect(relayOn(sim, 7)).toBe(false)
    expect(relayOn(sim, 8)).toBe(false) // latched off until someone switches it on
    sim.send(LinkType.setRelay, Uint8Array.of(8, 1))
    sim.run(50)
    expect(relayOn(sim, 8)).toBe(true)
  })

  it('fire: the local fan fallback cannot start the fan at 39.9 °C; fan and AC stay off afterwards', () => {
    const sim = boot() // no heartbeat: the node is unreachable, the comfort fallback runs
    sim.setAnalog(0, 0.399) // 39.9 °C
    sim.run(300)
    expect(relayOn(sim, 1)).toBe(true)
    sim.setPin(FLAME_PIN, false)
    expect(sim.run(100, () => relayOn(sim, 6))).toBe(true)
    expect(relayOn(sim, 1)).toBe(false)
    expect(relayOn(sim, 2)).toBe(false)
    sim.run(1000)
    expect(relayOn(sim, 1)).toBe(false) // the fallback keeps asking, the interlock refuses
    expect(lastMeasurement(sim).fanSpeed).toBe(0)
  })

  it('water: cuts the appliance circuits and sounds the buzzer', () => {
    const sim = boot()
    heartbeat(sim)
    sim.run(200)
    sim.setAnalog(3, volts(800))
    expect(sim.run(500, () => !relayOn(sim, 8))).toBe(true)
    expect(relayOn(sim, 7)).toBe(true)
    expect(relayOn(sim, 6)).toBe(false)
    sim.run(60) // one frame at 9600 baud
    expect(lastMeasurement(sim).hazards).toBe(4)
  })

  it('obeys relay and fan commands from the ESP8266', () => {
    const sim = boot()
    heartbeat(sim)
    sim.send(LinkType.setRelay, Uint8Array.of(3, 1))
    sim.send(LinkType.setFan, Uint8Array.of(2))
    sim.run(100)
    expect(relayOn(sim, 3)).toBe(true)
    expect(relayOn(sim, 1)).toBe(true)
    sim.send(LinkType.setRelay, Uint8Array.of(3, 2))
    sim.run(50)
    expect(relayOn(sim, 3)).toBe(false)
    sim.run(1000)
    const m = lastMeasurement(sim)
    expect(m.fanSpeed).toBe(2)
    expect(m.relays).toBe(0x81)
  })

  it('without the node: fan follows the temperature and the night light the LDR', () => {
    const sim = boot()
    sim.setAnalog(0, 0.3) // 30 °C
    sim.setAnalog(1, 0.3) // dark
    sim.run(200)
    expect(relayOn(sim, 1)).toBe(true)
    expect(relayOn(sim, 4)).toBe(true)
    sim.run(1000)
    expect(lastMeasurement(sim).fanSpeed).toBe(2)
  })

  it('still reacts to flame within 100 ms while a checkpoint is being written to the EEPROM', () => {
    const sim = boot()
    heartbeat(sim)
    sim.run(300)
    sim.setPin(POWER_FAIL_PIN, false) // starts a ~85 ms checkpoint write
    sim.run(5)
    const t0 = sim.timeMs
    sim.setPin(FLAME_PIN, false)
    expect(sim.run(100, () => relayOn(sim, 6))).toBe(true)
    expect(sim.timeMs - t0).toBeLessThan(100)
  })

  it('keeps the energy counter across a power cut via the EEPROM checkpoint (brown-out write)', () => {
    const eeprom = new EEPROMMemoryBackend(1024)
    const first = boot(eeprom)
    first.run(100)
    // 10 Wh of CF pulses at 3200 imp/kWh = 32 pulses.
    for (let i = 0; i < 32; i++) {
      first.setPin(3, false)
      first.run(2)
      first.setPin(3, true)
      first.run(2)
    }
    first.run(1100)
    expect(lastMeasurement(first).energyWh).toBe(10n)
    first.setPin(POWER_FAIL_PIN, false) // supply collapsing: checkpoint now
    // 24 EEPROM bytes at ~3.4 ms each: the supply must hold up ~85 ms after the power-fail signal.
    first.run(120)
    const second = boot(eeprom)
    second.run(1100)
    expect(lastMeasurement(second).energyWh).toBe(10n)
  })
})

describe('UNO firmware with a PZEM-004T on SoftwareSerial', () => {
  const registers = (energyWh: number) => ({
    voltageDeciV: 2301,
    currentMa: 6520,
    powerDeciW: 15003,
    energyWh,
    frequencyDeciHz: 500,
    powerFactorCenti: 98,
    alarm: 0,
  })

  it('polls the module every second and follows its energy register across the 9999.99 kWh wrap', () => {
    const sim = boot()
    heartbeat(sim)
    const pzem = new PzemEmulator(sim, registers(9_999_990))
    sim.run(2100) // polls at 1 s (the baseline) and 2 s; the report after the second shows it
    expect(pzem.requests).toBe(2)
    const first = lastMeasurement(sim)
    expect(first.source).toBe(0)
    expect(first.voltageMv).toBe(230100)
    expect(first.currentMa).toBe(6520)
    expect(first.powerW).toBe(1500)
    expect(first.powerFactor).toBe(980)
    const base = first.energyWh
    for (const raw of [9_999_995, 0, 5]) {
      pzem.registers = registers(raw)
      sim.run(1000)
    }
    sim.run(1000) // the report at each second precedes that second's answer by ~30 ms
    expect(pzem.requests).toBe(6)
    expect(lastMeasurement(sim).energyWh - base).toBe(15n) // 5 + 5 (through the wrap) + 5
  })

  /** A checkpoint entry as firmware/core/src/zkm_checkpoint.cpp lays it out, in slot 0. */
  function seedCheckpoint(energyWh: bigint, pzemRaw: number): EEPROMMemoryBackend {
    const eeprom = new EEPROMMemoryBackend(1024)
    eeprom.memory.fill(0xff)
    const entry = new Uint8Array(24)
    const view = new DataView(entry.buffer)
    entry[0] = 0xc7
    view.setUint32(1, 1, true) // generation
    view.setBigUint64(5, energyWh, true)
    view.setUint32(13, pzemRaw, true)
    view.setUint32(17, 0, true) // seqLimit (unused on the UNO)
    entry[21] = 1 // the PZEM register is valid
    view.setUint16(22, crc16Modbus(entry.subarray(0, 22)), true)
    eeprom.memory.set(entry, 0)
    return eeprom
  }

  it('loses nothing in a sudden power cut: the PZEM counted on, the checkpoint has its register', () => {
    // Checkpoint at 1000 Wh with the register at 5000; 60 Wh more were used before the supply
    // vanished without warning (no brown-out write), and the PZEM kept its own count.
    const sim = boot(seedCheckpoint(1000n, 5000))
    heartbeat(sim)
    new PzemEmulator(sim, registers(5060))
    sim.run(2100)
    expect(lastMeasurement(sim).energyWh).toBe(1060n)
  })

  it('never inflates: a register far beyond the checkpoint (module reset or swapped) adds nothing', () => {
    const sim = boot(seedCheckpoint(1000n, 5000))
    heartbeat(sim)
    const pzem = new PzemEmulator(sim, registers(9_000_000))
    sim.run(2100)
    expect(lastMeasurement(sim).energyWh).toBe(1000n)
    pzem.registers = registers(9_000_004)
    sim.run(2000)
    expect(lastMeasurement(sim).energyWh).toBe(1004n) // counting resumes from the new baseline
  })

  it('falls back to CF pulses after three unanswered polls', () => {
    const sim = boot()
    heartbeat(sim)
    const pzem = new PzemEmulator(sim, registers(1000))
    sim.run(2100)
    expect(lastMeasurement(sim).source).toBe(0)
    pzem.online = false
    sim.run(3300)
    for (let i = 0; i < 16; i++) {
      sim.setPin(3, false)
      sim.run(2)
      sim.setPin(3, true)
      sim.run(2)
    }
    sim.run(1100)
    const m = lastMeasurement(sim)
    expect(m.source).toBe(1)
    expect(m.energyWh).toBe(5n) // 16 pulses at 3200 imp/kWh
  })
})
