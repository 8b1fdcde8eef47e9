import { X509Certificate } from 'node:crypto'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { loadConfig, parseFlags } from '../../src/config.ts'
import { certificateReport, httpsSummary } from '../../src/tls/cli.ts'

let dataDir: string
beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'zkm-tls-cli-'))
})
afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true })
})

const config = (...argv: string[]) =>
  loadConfig({ flags: parseFlags(['--data-dir', dataDir, ...argv]).flags })

describe('zkmeter cert and status', () => {
  it('status says HTTPS is off without --listen, and creates nothing', async () => {
    expect(await httpsSummary(config())).toEqual({
      enabled: false,
      hint: expect.stringContaining('--listen 0.0.0.0'),
    })
    await expect(readFile(join(dataDir, 'tls', 'ca.crt'))).rejects.toThrow(/ENOENT/)
  })

  it('cert makes the CA and prints its path and the fingerprint the phone shows; status then names both', async () => {
    const report = await certificateReport(config('--listen', '127.0.0.1', '--https-port', '9443'), {
      newCa: false,
    })
    const pem = await readFile(report.ca.path, 'utf8')
    expect(report.ca.fingerprint256).toBe(new X509Certificate(pem).fingerprint256)
    expect(report.ca.install).toMatch(/Android.*iOS/)
    expect(report.serverCertificate.names.ips).toContain('127.0.0.1')
    expect(report.issued[0]).toBe('new CA (none yet)')

    const status = await httpsSummary(config('--listen', '127.0.0.1', '--https-port', '9443'))
    expect(status).toMatchObject({
      enabled: true,
      caFingerprint256: report.ca.fingerprint256,
      caCertPath: report.ca.path,
    })
    expect(status.urls?.every((u) => u.endsWith(':9443'))).toBe(true)

    // Asked again: the same CA; --new-ca: a new one, and a warning that phones must install it.
    const again = await certificateReport(config(), { newCa: false })
    expect(again.ca.fingerprint256).toBe(report.ca.fingerprint256)
    const fresh = await certificateReport(config(), { newCa: true })
    expect(fresh.ca.fingerprint256).not.toBe(report.ca.fingerprint256)
    expect(fresh.warning).toMatch(/install it again/)
  })
})
