/** The serial ingestion option in the node configuration: --serial-port / ZKMETER_SERIAL_PORT, --serial-baud. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ConfigError, loadConfig, parseFlags } from '../../src/config.ts'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'zkmeter-serial-config-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('serial ingestion configuration', () => {
  it('is off by default at the meter link speed', () => {
    const config = loadConfig({ flags: parseFlags(['--data-dir', dir]).flags })
    expect(config.serial).toEqual({ port: undefined, baudRate: 9600 })
  })

  it('takes the port and baud rate from file, env and flags', async () => {
    await writeFile(join(dir, 'config.json'), JSON.stringify({ serial: { port: '/dev/ttyACM0' } }))
    expect(loadConfig({ flags: parseFlags(['--data-dir', dir]).flags }).serial.port).toBe('/dev/ttyACM0')
    const config = loadConfig({
      flags: parseFlags(['--data-dir', dir, '--serial-baud', '115200']).flags,
      env: { ZKMETER_SERIAL_PORT: '/dev/ttyUSB1' },
    })
    expect(config.serial).toEqual({ port: '/dev/ttyUSB1', baudRate: 115_200 })
  })

  it('refuses a baud rate a UART does not run at, naming the source', () => {
    expect(() =>
      loadConfig({ flags: parseFlags(['--data-dir', dir, '--serial-baud', '9601']).flags }),
    ).toThrow(ConfigError)
    expect(() =>
      loadConfig({ flags: parseFlags(['--data-dir', dir]).flags, env: { ZKMETER_SERIAL_BAUD: 'fast' } }),
    ).toThrow(/ZKMETER_SERIAL_BAUD must be a standard baud rate/)
  })
})
