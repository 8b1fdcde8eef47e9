/**
 * ESP8266 portability: every core source compiles for the lx106 with the ESP8266 Arduino flags
 * (Debian's gcc-xtensa-lx106), and the 97 KB of Poseidon tables land in flash (.irom.text), not
 * in the ESP8266's 80 KB of DRAM.
 */
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { compileCoreForEsp8266, ESP_BUILD_DIR } from '../tools/build-esp8266.ts'
import { FIRMWARE_DIR, run } from '../tools/toolchain.ts'

describe('ESP8266 (lx106) build of the core', () => {
  it('compiles every core source warning-free', () => {
    const objects = compileCoreForEsp8266()
    const sources = readdirSync(join(FIRMWARE_DIR, 'core', 'src')).filter((f) => f.endsWith('.cpp'))
    expect(objects.map((o) => o.source).sort()).toEqual(sources.sort())
  })

  it('keeps the Poseidon constants in flash', () => {
    const headers = run('xtensa-lx106-elf-objdump', ['-h', join(ESP_BUILD_DIR, 'zkm_poseidon.o')]).stdout
    const section = (name: string) => {
      const line = headers.split('\n').find((l) => l.trim().split(/\s+/)[1] === name)
      return line ? Number.parseInt(line.trim().split(/\s+/)[2] ?? '0', 16) : 0
    }
    // C (204) + M (289) + P (289) + S (2244) constants of 32 bytes each
    expect(section('.irom.text')).toBeGreaterThanOrEqual((204 + 289 + 289 + 2244) * 32)
    expect(section('.rodata') + section('.data')).toBeLessThan(1024)
  })
})
