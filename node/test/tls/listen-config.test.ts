import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig, parseFlags } from '../../src/config.ts'

describe('--listen: the home network over HTTPS only', () => {
  const flags = (...argv: string[]) =>
    loadConfig({ flags: parseFlags(['--data-dir', '/nonexistent', ...argv]).flags })

  it('serves loopback HTTP only by default, HTTPS on 8443 once asked for', () => {
    expect(flags().http).toEqual({ host: '127.0.0.1', port: 8787, listen: undefined, httpsPort: 8443 })
    expect(flags('--listen', '0.0.0.0', '--https-port', '9443').http).toMatchObject({
      host: '127.0.0.1',
      listen: '0.0.0.0',
      httpsPort: 9443,
    })
    expect(flags('--listen', '192.168.1.20').http.listen).toBe('192.168.1.20')
    expect(
      loadConfig({ flags: new Map([['data-dir', '/nonexistent']]), env: { ZKMETER_LISTEN: '::' } }).http
        .listen,
    ).toBe('::')
  })

  it('refuses plain HTTP beyond loopback, pointing to --listen', () => {
    expect(() => flags('--host', '0.0.0.0')).toThrow(ConfigError)
    expect(() => flags('--host', '0.0.0.0')).toThrow(
      /plain HTTP serves only this machine.*--listen 0\.0\.0\.0/,
    )
    expect(() => flags('--host', '192.168.1.20')).toThrow(/--listen 192\.168\.1\.20/)
    expect(flags('--host', '::1').http.host).toBe('::1')
    expect(flags('--host', '127.0.0.2').http.host).toBe('127.0.0.2')
  })

  it('takes only an IP address to listen on', () => {
    expect(() => flags('--listen', 'eth0')).toThrow(/--listen must be an IP address/)
    expect(() => flags('--https-port', '70000')).toThrow(/--https-port must be a TCP port/)
  })
})
