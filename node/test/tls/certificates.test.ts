import 'reflect-metadata'
import { X509Certificate } from 'node:crypto'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect as connectTls, createServer as createTlsServer } from 'node:tls'
import * as x509 from '@peculiar/x509'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { CertificateStoreError } from '../../src/tls/errors.ts'
import { issueLeaf, LEAF_VALIDITY_DAYS } from '../../src/tls/issue.ts'
import { canonicalIp, nodeNames } from '../../src/tls/names.ts'
import { ensureNodeCertificates } from '../../src/tls/store.ts'

const NAMES = { hostnames: ['localhost', 'box', 'box.local'], ips: ['127.0.0.1', '::1', '192.168.1.20'] }
const DAY = 86_400_000

let dataDir: string
beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'zkm-tls-'))
})
afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true })
})

const mode = async (path: string) => (await stat(path)).mode & 0o777

describe('the node certificates', () => {
  it('issues a P-256 CA and a server certificate for the names, chained, with serverAuth', async () => {
    const certs = await ensureNodeCertificates(dataDir, NAMES)
    const leaf = new x509.X509Certificate(certs.cert)
    const ca = new x509.X509Certificate(certs.caCert)

    // P-256 keys, ECDSA-SHA256 signatures, the leaf signed by the CA.
    expect(leaf.publicKey.algorithm).toMatchObject({ name: 'ECDSA', namedCurve: 'P-256' })
    expect(ca.publicKey.algorithm).toMatchObject({ name: 'ECDSA', namedCurve: 'P-256' })
    expect(leaf.signatureAlgorithm).toMatchObject({ name: 'ECDSA', hash: { name: 'SHA-256' } })
    expect(await leaf.verify({ publicKey: ca.publicKey, signatureOnly: true })).toBe(true)
    expect(leaf.issuer).toBe(ca.subject)
    expect(new X509Certificate(certs.cert).checkIssued(new X509Certificate(certs.caCert))).toBe(true)

    // SAN: every name; EKU serverAuth; not a CA. The CA: a CA that cannot sign another CA.
    const san = leaf.getExtension(x509.SubjectAlternativeNameExtension)?.names.items ?? []
    // The bare host name is no home name the CA may vouch for (constraints): left out, and said so.
    expect(san.filter((n) => n.type === 'dns').map((n) => n.value)).toEqual(['box.local', 'localhost'])
    expect(certs.omitted).toEqual(['box'])
    expect(san.filter((n) => n.type === 'ip').map((n) => canonicalIp(n.value))).toEqual([
      '127.0.0.1',
      '192.168.1.20',
      '::1',
    ])
    expect(leaf.getExtension(x509.ExtendedKeyUsageExtension)?.usages).toEqual([
      x509.ExtendedKeyUsage.serverAuth,
    ])
    expect(leaf.getExtension(x509.BasicConstraintsExtension)?.ca).toBe(false)
    const caBasic = ca.getExtension(x509.BasicConstraintsExtension)
    expect(caBasic).toMatchObject({ ca: true, pathLength: 0, critical: true })

    // Validity: the leaf about 2 years (under iOS's 825 days), the CA about 10.
    const days = (c: x509.X509Certificate) => (c.notAfter.getTime() - c.notBefore.getTime()) / DAY
    expect(Math.round(days(leaf))).toBe(LEAF_VALIDITY_DAYS)
    expect(days(leaf)).toBeLessThan(825)
    expect(Math.round(days(ca))).toBe(3650)

    // The fingerprint the resident checks: the CA's, colon hex, as openssl and browsers show it.
    expect(certs.fingerprint256).toBe(new X509Certificate(certs.caCert).fingerprint256)
    expect(certs.fingerprint256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/)
    expect(certs.leafFingerprint256).toBe(new X509Certificate(certs.cert).fingerprint256)
    expect(certs.issued).toEqual(['new CA (none yet)', 'server certificate: new CA'])
  })

  it('writes keys 0600 in a 0700 directory', async () => {
    const certs = await ensureNodeCertificates(dataDir, NAMES)
    expect(await mode(join(dataDir, 'tls'))).toBe(0o700)
    for (const file of ['ca.key', 'ca.crt', 'node.key', 'node.crt']) {
      expect(await mode(join(dataDir, 'tls', file)), file).toBe(0o600)
    }
    expect(certs.caCertPath).toBe(join(dataDir, 'tls', 'ca.crt'))
    expect(await readFile(join(dataDir, 'tls', 'node.key'), 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/)
  })

  it('reuses both on restart', async () => {
    const first = await ensureNodeCertificates(dataDir, NAMES)
    const again = await ensureNodeCertificates(dataDir, {
      hostnames: [...NAMES.hostnames].reverse(),
      ips: ['0:0:0:0:0:0:0:1', '192.168.1.20', '127.0.0.1'],
    })
    expect(again.issued).toEqual([])
    expect(again.cert).toBe(first.cert)
    expect(again.key).toBe(first.key)
    expect(again.fingerprint256).toBe(first.fingerprint256)
  })

  it('re-issues the server certificate (same CA) when the names change or it nears expiry', async () => {
    const first = await ensureNodeCertificates(dataDir, NAMES)
    const moved = await ensureNodeCertificates(dataDir, {
      ...NAMES,
      ips: ['127.0.0.1', '::1', '192.168.1.77'],
    })
    expect(moved.issued).toEqual(["server certificate: the node's names changed"])
    expect(moved.fingerprint256).toBe(first.fingerprint256)
    expect(moved.leafFingerprint256).not.toBe(first.leafFingerprint256)
    expect(new X509Certificate(moved.cert).checkHost('box.local')).toBe('box.local')
    expect(new X509Certificate(moved.cert).checkIP('192.168.1.77')).toBe('192.168.1.77')

    const later = new Date(Date.now() + (LEAF_VALIDITY_DAYS - 10) * DAY)
    const renewed = await ensureNodeCertificates(dataDir, moved.names, { now: later })
    expect(renewed.issued[0]).toMatch(/^server certificate: the server certificate expires on/)
    expect(renewed.fingerprint256).toBe(first.fingerprint256)
    expect(renewed.leafNotAfter.getTime()).toBeGreaterThan(later.getTime() + 700 * DAY)
  })

  it('refuses a corrupt or mismatched CA with a named error instead of making a new one', async () => {
    const first = await ensureNodeCertificates(dataDir, NAMES)
    const caCert = join(dataDir, 'tls', 'ca.crt')
    await writeFile(caCert, '-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n')
    const corrupt = ensureNodeCertificates(dataDir, NAMES)
    await expect(corrupt).rejects.toBeInstanceOf(CertificateStoreError)
    await expect(corrupt).rejects.toThrow(/ca\.crt is not a PEM certificate/)

    // Another CA's certificate beside this CA's key: a swapped file, not a fresh start.
    const other = await mkdtemp(join(tmpdir(), 'zkm-tls-other-'))
    try {
      await ensureNodeCertificates(other, NAMES)
      await writeFile(caCert, await readFile(join(other, 'tls', 'ca.crt')))
    } finally {
      await rm(other, { recursive: true, force: true })
    }
    await expect(ensureNodeCertificates(dataDir, NAMES)).rejects.toThrow(/do not belong together.*--new-ca/)

    // The key gone but the certificate there: also refused.
    await rm(join(dataDir, 'tls', 'ca.key'))
    await expect(ensureNodeCertificates(dataDir, NAMES)).rejects.toThrow(/key .*ca\.key is missing/)

    // Only when the resident asks: a new CA, and a new fingerprint to compare.
    const fresh = await ensureNodeCertificates(dataDir, NAMES, { newCa: true })
    expect(fresh.issued[0]).toBe('new CA (asked for)')
    expect(fresh.fingerprint256).not.toBe(first.fingerprint256)
  })

  it('re-issues a corrupt or foreign server certificate under the same CA', async () => {
    const first = await ensureNodeCertificates(dataDir, NAMES)
    await writeFile(join(dataDir, 'tls', 'node.crt'), 'garbage')
    const again = await ensureNodeCertificates(dataDir, NAMES)
    expect(again.issued[0]).toMatch(/node\.crt is not a PEM certificate/)
    expect(again.fingerprint256).toBe(first.fingerprint256)
    expect(new X509Certificate(again.cert).checkIssued(new X509Certificate(again.caCert))).toBe(true)
  })
})

describe("the node's names", () => {
  const interfaces = {
    lo: [{ address: '127.0.0.1', family: 'IPv4', internal: true }],
    eth0: [
      { address: '192.168.1.20', family: 'IPv4', internal: false },
      { address: 'fe80::1', family: 'IPv6', internal: false },
      { address: '2001:db8::20', family: 'IPv6', internal: false },
    ],
  } as unknown as NonNullable<Parameters<typeof nodeNames>[0]>['interfaces']

  it('names localhost, the host name as .local (mDNS) and the loopback addresses', () => {
    expect(nodeNames({ hostname: 'Box.lan', interfaces })).toEqual({
      hostnames: ['box.local', 'localhost'],
      ips: ['127.0.0.1', '::1'],
    })
  })

  it('adds every external address for 0.0.0.0 / ::, or the one listen address', () => {
    expect(nodeNames({ hostname: 'box', listen: '0.0.0.0', interfaces }).ips).toEqual([
      '127.0.0.1',
      '192.168.1.20',
      '::1',
    ])
    expect(nodeNames({ hostname: 'box', listen: '::', interfaces }).ips).toEqual([
      '127.0.0.1',
      '192.168.1.20',
      '2001:db8::20',
      '::1',
    ])
    expect(nodeNames({ hostname: 'box', listen: '10.0.0.5', interfaces }).ips).toEqual([
      '10.0.0.5',
      '127.0.0.1',
      '::1',
    ])
  })

  it('leaves out a host name no certificate may carry', () => {
    expect(nodeNames({ hostname: 'my_box!', interfaces }).hostnames).toEqual(['localhost'])
  })
})

describe('the household CA vouches only for home names (name constraints)', () => {
  /** Serves `pair` over TLS and connects as a client trusting only `ca`, checking `servername`. */
  async function handshake(pair: { keyPem: string; certPem: string }, ca: string, servername: string) {
    const server = createTlsServer({ key: pair.keyPem, cert: pair.certPem }, (socket) => socket.end())
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as AddressInfo
    try {
      return await new Promise<string>((resolve) => {
        const socket = connectTls({ host: '127.0.0.1', port, ca, servername }, () => {
          resolve('trusted')
          socket.destroy()
        })
        socket.on('error', (error: NodeJS.ErrnoException) => resolve(`${error.code}: ${error.message}`))
      })
    } finally {
      server.close()
    }
  }

  it('a certificate its key signs for a bank or a public address is refused by a client trusting it (attack)', async () => {
    await ensureNodeCertificates(dataDir, NAMES)
    const ca = {
      keyPem: await readFile(join(dataDir, 'tls', 'ca.key'), 'utf8'),
      certPem: await readFile(join(dataDir, 'tls', 'ca.crt'), 'utf8'),
    }
    // The attacker holds the CA key and signs whatever they like.
    const bank = await issueLeaf(ca, { hostnames: ['bank.example'], ips: ['127.0.0.1'] })
    expect(await handshake(bank, ca.certPem, 'bank.example')).toMatch(/permitted subtree violation/)
    const publicIp = await issueLeaf(ca, { hostnames: ['box.local'], ips: ['8.8.8.8', '127.0.0.1'] })
    expect(await handshake(publicIp, ca.certPem, 'box.local')).toMatch(/permitted subtree violation/)
    // The node's own certificate passes the same client.
    const own = await issueLeaf(ca, {
      hostnames: ['box.local', 'localhost'],
      ips: ['192.168.1.20', '127.0.0.1'],
    })
    expect(await handshake(own, ca.certPem, 'box.local')).toBe('trusted')
  })

  it('leaves names outside them out of the server certificate, and says which', async () => {
    const certs = await ensureNodeCertificates(dataDir, {
      hostnames: ['localhost', 'box.lan', 'box.local'],
      ips: ['127.0.0.1', '2001:db8::20', '203.0.113.9', '10.1.2.3', 'fd00::5'],
    })
    expect(certs.omitted).toEqual(['box.lan', '2001:db8::20', '203.0.113.9'])
    expect(certs.names).toEqual({
      hostnames: ['box.local', 'localhost'],
      ips: ['10.1.2.3', '127.0.0.1', 'fd00::5'],
    })
    expect(await handshake({ keyPem: certs.key, certPem: certs.cert }, certs.caCert, 'box.local')).toBe(
      'trusted',
    )
  })
})
