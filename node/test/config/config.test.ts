import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ConfigError, DEFAULT_CONFIG, loadConfig, parseFlags } from '../../src/config.ts'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'zkmeter-config-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('node configuration', () => {
  it('defaults to the embedded, loopback-only stack', () => {
    const config = loadConfig({ flags: parseFlags(['--data-dir', dir]).flags })
    expect(config).toEqual({ ...DEFAULT_CONFIG, dataDir: dir })
    expect(config.http).toEqual({ host: '127.0.0.1', port: 8787, httpsPort: 8443 })
  })

  it('layers file < env < flags', async () => {
    await writeFile(join(dir, 'config.json'), JSON.stringify({ http: { port: 9000 }, meter: { speed: 60 } }))
    const config = loadConfig({
      flags: parseFlags(['--data-dir', dir, '--port=9100']).flags,
      env: { ZKMETER_HTTP_PORT: '9050', ZKMETER_METER_SPEED: '120' },
    })
    expect(config.http.port).toBe(9100)
    expect(config.meter.speed).toBe(120)
  })

  it("the household's time zone: the machine's by default, any IANA zone, an unknown one refused", async () => {
    const load = (args: string[], env: Record<string, string> = {}) =>
      loadConfig({ flags: parseFlags(['--data-dir', dir, ...args]).flags, env })
    expect(load([]).timeZone).toBe(Intl.DateTimeFormat().resolvedOptions().timeZone)
    expect(load(['--time-zone', 'Asia/Kolkata']).timeZone).toBe('Asia/Kolkata')
    expect(load([], { ZKMETER_TIME_ZONE: 'America/New_York' }).timeZone).toBe('America/New_York')
    await writeFile(join(dir, 'config.json'), JSON.stringify({ timeZone: 'Europe/Berlin' }))
    expect(load([]).timeZone).toBe('Europe/Berlin')
    expect(() => load(['--time-zone', 'Mars/Olympus'])).toThrow(ConfigError)
    expect(() => load(['--time-zone', 'Mars/Olympus'])).toThrow(
      /time-zone.*unknown time zone "Mars\/Olympus"/,
    )
  })

  it("the virtual meter's live-sample period: 60 s by default, any divisor of the interval", () => {
    const load = (args: string[], env: Record<string, string> = {}) =>
      loadConfig({ flags: parseFlags(['--data-dir', dir, ...args]).flags, env })
    expect(load([]).meter.livePeriodSeconds).toBe(60)
    expect(load(['--meter-live-period', '900']).meter.livePeriodSeconds).toBe(900)
    expect(load([], { ZKMETER_METER_LIVE_PERIOD: '10' }).meter.livePeriodSeconds).toBe(10)
    expect(() => load(['--meter-live-period', '7'])).toThrow(
      /option --meter-live-period must be .* dividing 900/,
    )
    expect(() => load(['--meter-live-period', '0'])).toThrow(ConfigError)
    // A rooftop PV array behind the virtual meter: off unless asked for.
    expect(load([]).meter.pvPeakW).toBeUndefined()
    expect(load(['--pv-peak-w', '4000']).meter.pvPeakW).toBe(4000)
    expect(load([], { ZKMETER_PV_PEAK_W: '6500' }).meter.pvPeakW).toBe(6500)
    expect(() => load(['--pv-peak-w', '0'])).toThrow(/option --pv-peak-w must be a whole number of watts/)
    expect(() => load(['--pv-peak-w', '2.5'])).toThrow(ConfigError)
    expect(() => load(['--pv-peak-w', '100001'])).toThrow(ConfigError)
  })

  it('what the dev chain bills in: Ether by default, --asset token for the test stablecoin, nothing else', () => {
    const load = (args: string[], env: Record<string, string> = {}) =>
      loadConfig({ flags: parseFlags(['--data-dir', dir, ...args]).flags, env })
    expect(load([]).chain.asset).toBe('eth')
    expect(load(['--asset', 'token']).chain.asset).toBe('token')
    expect(load([], { ZKMETER_ASSET: 'token' }).chain.asset).toBe('token')
    expect(() => load(['--asset', 'usdc'])).toThrow(/option --asset must be "eth".*or "token"/)
  })

  it('an external RPC_URL turns dev conveniences off unless asked for', () => {
    const config = loadConfig({
      flags: new Map([['data-dir', dir]]),
      env: { RPC_URL: 'https://rpc.example.org' },
    })
    expect(config.chain.rpcUrl).toBe('https://rpc.example.org')
    expect(config.dev).toBe(false)
  })

  it('names the source and key of every bad value', async () => {
    const load = (args: string[], env: Record<string, string> = {}) =>
      loadConfig({ flags: parseFlags(['--data-dir', dir, ...args]).flags, env })
    expect(() => load(['--port', '70000'])).toThrow(/option --port must be a TCP port/)
    expect(() => load([], { ZKMETER_MQTT_URL: 'http://x' })).toThrow(/ZKMETER_MQTT_URL must use mqtt:/)
    expect(() => load(['--circuit', 'big'])).toThrow(ConfigError)
    expect(() => load(['--period-days', '40'])).toThrow(/0..31/)
    expect(() => load(['--frobnicate'])).toThrow(/unknown option --frobnicate/)
    await writeFile(join(dir, 'config.json'), '{"http": {"port": 1}, "colour": "blue"}')
    expect(() => load([])).toThrow(/unknown key "colour"/)
    await writeFile(join(dir, 'config.json'), '{nope')
    expect(() => load([])).toThrow(/not valid JSON/)
    expect(() => load(['--config', join(dir, 'missing.json')])).toThrow(/does not exist/)
  })

  it('parses flags and positionals', () => {
    expect(parseFlags(['start', '--dev', '--port', '1', 'x'])).toEqual({
      flags: new Map([
        ['dev', 'true'],
        ['port', '1'],
      ]),
      positionals: ['start', 'x'],
    })
  })
})
