/**
 * A PZEM-004T v3 on the simulated UNO's SoftwareSerial pins (9600 8N1): it decodes the bytes the
 * firmware bit-bangs on D13, and when a complete read-input-registers request arrives it answers on
 * D12, bit by bit, with the registers the test sets — the same Modbus frames as the real module.
 */
import { crc16Modbus } from '#protocol/serial/crc16.ts'
import {
  PZEM_DEFAULT_ADDRESS,
  type PzemRegisters,
  pzemReadRequest,
  pzemResponse,
} from '#protocol/serial/pzem.ts'
import { CLOCK_HZ, type UnoSimulator } from './uno-sim.ts'

const BAUD = 9600
const BIT = CLOCK_HZ / BAUD
const TX_PIN_BIT = 5 // D13 = PB5: the firmware's SoftwareSerial TX
const RX_PIN = 12 // D12: the firmware's SoftwareSerial RX
const ANSWER_DELAY_CYCLES = Math.round(CLOCK_HZ * 0.01) // the module answers after ~10 ms

export class PzemEmulator {
  registers: PzemRegisters
  /** Set to false to make the module go silent (unplugged). */
  online = true
  requests = 0
  readonly #sim: UnoSimulator
  #rx: number[] = []
  #receiving = false
  #lastLevel = true

  constructor(sim: UnoSimulator, registers: PzemRegisters) {
    this.#sim = sim
    this.registers = registers
    sim.ports.B.addListener((value) => {
      const level = ((value >> TX_PIN_BIT) & 1) === 1
      if (!level && this.#lastLevel && !this.#receiving) this.#startByte()
      this.#lastLevel = level
    })
  }

  #txLevel(): boolean {
    return this.#sim.pinState(13) !== 0 // PinState.Low is 0
  }

  #startByte(): void {
    this.#receiving = true
    let byte = 0
    // Sample each data bit in its middle, LSB first.
    for (let i = 0; i < 8; i++) {
      this.#sim.cpu.addClockEvent(
        () => {
          if (this.#txLevel()) byte |= 1 << i
        },
        Math.round(BIT * (1.5 + i)),
      )
    }
    this.#sim.cpu.addClockEvent(
      () => {
        this.#receiving = false
        this.#onByte(byte)
      },
      Math.round(BIT * 9.5),
    )
  }

  #onByte(byte: number): void {
    this.#rx.push(byte)
    const request = pzemReadRequest(PZEM_DEFAULT_ADDRESS)
    if (this.#rx.length < request.length) return
    const frame = Uint8Array.from(this.#rx.slice(-request.length))
    this.#rx = []
    if (crc16Modbus(frame) !== 0 || !frame.every((b, i) => b === request[i])) return
    this.requests++
    if (this.online) this.#send(pzemResponse(PZEM_DEFAULT_ADDRESS, this.registers))
  }

  #send(bytes: Uint8Array): void {
    let at = ANSWER_DELAY_CYCLES
    const level = (high: boolean, delay: number) =>
      this.#sim.cpu.addClockEvent(() => this.#sim.setPin(RX_PIN, high), Math.round(delay))
    for (const byte of bytes) {
      level(false, at) // start bit
      for (let i = 0; i < 8; i++) level(((byte >> i) & 1) === 1, at + BIT * (1 + i))
      level(true, at + BIT * 9) // stop bit
      at += BIT * 10.5 // a little idle time between bytes, as the module leaves
    }
  }
}
