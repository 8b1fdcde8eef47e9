/**
 * The UNO firmware (.hex) running in avr8js: an ATmega328P at 16 MHz with Timer0 (millis), the
 * ADC, ports B/C/D, USART0 (the link to the ESP8266) and the EEPROM. Sensors are driven through
 * ADC channel voltages and pin levels; relays are read back from the output pins.
 */
import { readFileSync } from 'node:fs'
import {
  AVRADC,
  AVREEPROM,
  AVRIOPort,
  AVRTimer,
  AVRUSART,
  adcConfig,
  avrInstruction,
  CPU,
  EEPROMMemoryBackend,
  type PinState,
  portBConfig,
  portCConfig,
  portDConfig,
  timer0Config,
  timer1Config,
  timer2Config,
  usart0Config,
} from 'avr8js'
import { InvalidInputError } from '#protocol/errors.ts'
import { encodeFrame, LinkDecoder, type LinkFrame } from '#protocol/serial/link.ts'

export const CLOCK_HZ = 16_000_000
const FLASH_BYTES = 32 * 1024

export class IntelHexError extends InvalidInputError {
  override name = 'IntelHexError'
}

/** Intel HEX (data and EOF records) into a flash image. */
export function parseIntelHex(text: string, size = FLASH_BYTES): Uint8Array {
  const flash = new Uint8Array(size)
  for (const line of text.split(/\r?\n/)) {
    if (!line.startsWith(':')) continue
    const bytes = Buffer.from(line.slice(1), 'hex')
    const count = bytes[0] as number
    const address = ((bytes[1] as number) << 8) | (bytes[2] as number)
    const type = bytes[3] as number
    const sum = bytes.reduce((a, b) => (a + b) & 0xff, 0)
    if (sum !== 0) throw new IntelHexError(`bad checksum in HEX line ${line}`)
    if (type === 0x01) break
    if (type !== 0x00) continue
    if (address + count > size) throw new IntelHexError(`HEX data beyond ${size} bytes of flash`)
    flash.set(bytes.subarray(4, 4 + count), address)
  }
  return flash
}

/** Arduino pin number → port and bit. */
function pin(n: number): { port: 'B' | 'C' | 'D'; bit: number } {
  if (n >= 0 && n <= 7) return { port: 'D', bit: n }
  if (n >= 8 && n <= 13) return { port: 'B', bit: n - 8 }
  if (n >= 14 && n <= 19) return { port: 'C', bit: n - 14 }
  throw new InvalidInputError(`no such UNO pin ${n}`)
}

export class UnoSimulator {
  readonly cpu: CPU
  readonly adc: AVRADC
  readonly usart: AVRUSART
  readonly ports: Record<'B' | 'C' | 'D', AVRIOPort>
  readonly eeprom: EEPROMMemoryBackend
  readonly frames: { timeMs: number; frame: LinkFrame }[] = []
  readonly #decoder = new LinkDecoder()
  readonly #rx: number[] = []

  constructor(hex: string, eeprom?: EEPROMMemoryBackend) {
    const flash = parseIntelHex(readFileSync(hex, 'utf8'))
    this.cpu = new CPU(new Uint16Array(flash.buffer))
    new AVRTimer(this.cpu, timer0Config)
    new AVRTimer(this.cpu, timer1Config)
    new AVRTimer(this.cpu, timer2Config)
    this.adc = new AVRADC(this.cpu, adcConfig)
    this.usart = new AVRUSART(this.cpu, usart0Config, CLOCK_HZ)
    this.ports = {
      B: new AVRIOPort(this.cpu, portBConfig),
      C: new AVRIOPort(this.cpu, portCConfig),
      D: new AVRIOPort(this.cpu, portDConfig),
    }
    this.eeprom = eeprom ?? new EEPROMMemoryBackend(1024)
    new AVREEPROM(this.cpu, this.eeprom)
    this.usart.onByteTransmit = (byte) => {
      for (const frame of this.#decoder.push(Uint8Array.of(byte)))
        this.frames.push({ timeMs: this.timeMs, frame })
    }
    // Idle levels: no flame (the module pulls its output HIGH), CF line idle HIGH, the PZEM's TX
    // (our SoftwareSerial RX) idle HIGH as a UART line is, supply healthy.
    this.setPin(2, true)
    this.setPin(3, true)
    this.setPin(12, true)
    this.setPin(18, true)
  }

  get timeMs(): number {
    return (this.cpu.cycles / CLOCK_HZ) * 1000
  }

  /** Volts on analog input A<channel> (AVcc reference = 5 V). */
  setAnalog(channel: number, volts: number): void {
    this.adc.channelValues[channel] = volts
  }

  setPin(n: number, high: boolean): void {
    const { port, bit } = pin(n)
    this.ports[port].setPin(bit, high)
  }

  pinState(n: number): PinState {
    const { port, bit } = pin(n)
    return this.ports[port].pinState(bit)
  }

  /** Queues bytes for the UNO's serial receiver (the ESP8266 talking). */
  send(type: number, payload: Uint8Array): void {
    this.#rx.push(...encodeFrame(type, payload))
  }

  /** Runs until `ms` of simulated time have passed, or `until` returns true (checked every 0.1 ms). */
  run(ms: number, until?: () => boolean): boolean {
    const end = this.cpu.cycles + Math.round((ms / 1000) * CLOCK_HZ)
    const step = CLOCK_HZ / 10_000
    let nextCheck = this.cpu.cycles + step
    while (this.cpu.cycles < end) {
      avrInstruction(this.cpu)
      this.cpu.tick()
      if (this.cpu.cycles >= nextCheck) {
        nextCheck += step
        const next = this.#rx[0]
        if (next !== undefined && this.usart.writeByte(next)) this.#rx.shift()
        if (until?.()) return true
      }
    }
    return false
  }
}
