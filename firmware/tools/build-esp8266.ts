/**
 * ESP8266 portability check: compiles every core source with Debian's xtensa-lx106-elf-g++ exactly
 * as the ESP8266 Arduino core would (-mlongcalls -Os -fno-exceptions -fno-rtti, ARDUINO_ARCH_ESP8266)
 * and fails on any warning. Debian has no ESP8266 C library, so a <string.h> with newlib's
 * declarations of the functions the core may use stands in (tools/lx106-sysroot/).
 */
import { mkdirSync, readdirSync, renameSync } from 'node:fs'
import { basename, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { FIRMWARE_DIR, requireTool, run } from './toolchain.ts'

export const ESP_BUILD_DIR = join(FIRMWARE_DIR, 'build', 'esp8266')
export const ESP_FLAGS = ['-c', '-mlongcalls', '-Os', '-fno-exceptions', '-fno-rtti', '-ffreestanding']

export interface EspObject {
  source: string
  textBytes: number
}

export function compileCoreForEsp8266(): EspObject[] {
  requireTool('xtensa-lx106-elf-g++', 'gcc-xtensa-lx106 binutils-xtensa-lx106')
  mkdirSync(ESP_BUILD_DIR, { recursive: true })
  const srcDir = join(FIRMWARE_DIR, 'core', 'src')
  const sources = readdirSync(srcDir).filter((f) => f.endsWith('.cpp'))
  return sources.map((source) => {
    const object = join(ESP_BUILD_DIR, `${basename(source, '.cpp')}.o`)
    // Compile to a private file and rename: concurrent builds never expose a half-written object.
    const partial = `${object}.${process.pid}.tmp`
    run('xtensa-lx106-elf-g++', [
      ...ESP_FLAGS,
      '-Wall',
      '-Wextra',
      '-Werror',
      '-DARDUINO_ARCH_ESP8266',
      '-isystem',
      join(FIRMWARE_DIR, 'tools', 'lx106-sysroot'),
      '-I',
      srcDir,
      join(srcDir, source),
      '-o',
      partial,
    ])
    renameSync(partial, object)
    const size = run('xtensa-lx106-elf-size', [object]).stdout.trim().split('\n')[1] ?? ''
    return { source, textBytes: Number.parseInt(size.trim().split(/\s+/)[0] ?? '0', 10) }
  })
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const objects = compileCoreForEsp8266()
  for (const o of objects) console.log(`lx106 ${o.source.padEnd(22)} ${o.textBytes} bytes`)
  console.log(`lx106: ${objects.length} core sources compiled`)
}
