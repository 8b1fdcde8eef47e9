/**
 * `npm run build:firmware`: builds the UNO sketch with arduino-builder and Debian's
 * arduino-core-avr, prints flash/SRAM use from `avr-size -C --mcu=atmega328p` and fails over the
 * budget (flash ≤ 28 KB, SRAM ≤ 1.5 KB); then runs the ESP8266 portability check.
 */
import { mkdirSync, symlinkSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { compileCoreForEsp8266 } from './build-esp8266.ts'
import { FIRMWARE_DIR, FirmwareBuildError, requireFile, requireTool, run, runLocked } from './toolchain.ts'

export const UNO_BUILD_DIR = join(FIRMWARE_DIR, 'build', 'uno')
export const UNO_HEX = join(UNO_BUILD_DIR, 'uno.ino.hex')
export const FLASH_BUDGET_BYTES = 28 * 1024
export const SRAM_BUDGET_BYTES = 1536

export class OverBudgetError extends FirmwareBuildError {
  override name = 'OverBudgetError'
}

export interface UnoSize {
  flashBytes: number
  sramBytes: number
}

export function parseAvrSize(text: string): UnoSize {
  const program = /Program:\s+(\d+) bytes/.exec(text)
  const data = /Data:\s+(\d+) bytes/.exec(text)
  if (!program || !data) throw new FirmwareBuildError(`cannot read avr-size output:\n${text}`)
  return { flashBytes: Number(program[1]), sramBytes: Number(data[1]) }
}

/** Builds the UNO firmware; returns its size. Throws OverBudgetError over the budget. */
export function buildUno(): UnoSize {
  requireTool('arduino-builder', 'arduino-builder arduino-core-avr arduino-ctags', ['-version'])
  requireTool('avr-size', 'binutils-avr')
  requireTool('avr-g++', 'gcc-avr avr-libc')
  requireFile('/usr/share/arduino/hardware/arduino/avr/cores/arduino/Arduino.h', 'arduino-core-avr')
  // arduino-builder wants a directory of libraries: expose the core under its library name.
  const libraries = join(FIRMWARE_DIR, 'build', 'libraries')
  mkdirSync(libraries, { recursive: true })
  const link = join(libraries, 'zkmeter')
  try {
    symlinkSync(join(FIRMWARE_DIR, 'core'), link)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
  }
  mkdirSync(UNO_BUILD_DIR, { recursive: true })
  runLocked(join(FIRMWARE_DIR, 'build', 'uno.lock'), 'arduino-builder', [
    '-compile',
    '-hardware',
    '/usr/share/arduino-builder',
    '-hardware',
    '/usr/share/arduino/hardware',
    '-tools',
    '/usr/share/arduino-builder',
    '-libraries',
    '/usr/share/arduino/hardware/arduino/avr/libraries',
    '-libraries',
    libraries,
    '-fqbn',
    'arduino:avr:uno',
    '-build-path',
    UNO_BUILD_DIR,
    // avr-gcc 5.4's C++ headers in Debian lack DECIMAL_DIG.
    '-prefs=compiler.cpp.extra_flags=-DDECIMAL_DIG=__DECIMAL_DIG__',
    join(FIRMWARE_DIR, 'uno', 'uno.ino'),
  ])
  const size = parseAvrSize(
    run('avr-size', ['-C', '--mcu=atmega328p', join(UNO_BUILD_DIR, 'uno.ino.elf')]).stdout,
  )
  console.log(
    `UNO flash ${size.flashBytes} / ${FLASH_BUDGET_BYTES} bytes, SRAM ${size.sramBytes} / ${SRAM_BUDGET_BYTES} bytes`,
  )
  if (size.flashBytes > FLASH_BUDGET_BYTES || size.sramBytes > SRAM_BUDGET_BYTES) {
    throw new OverBudgetError(
      `UNO firmware over budget: flash ${size.flashBytes} (max ${FLASH_BUDGET_BYTES}), SRAM ${size.sramBytes} (max ${SRAM_BUDGET_BYTES})`,
      { details: { ...size, flashBudget: FLASH_BUDGET_BYTES, sramBudget: SRAM_BUDGET_BYTES } },
    )
  }
  return size
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  buildUno()
  const objects = compileCoreForEsp8266()
  console.log(`ESP8266 (lx106) portability check: ${objects.length} core sources compile warning-free`)
}
