/**
 * What `zkmeter status` and `zkmeter cert` say about HTTPS: the URL to open on a phone, the CA to
 * install there and the fingerprint to compare. Read from the data directory, so it answers the
 * same whether or not the node runs.
 */
import type { NodeConfig } from '../config.ts'
import { splitHomeNames } from './constraints.ts'
import { nodeNames } from './names.ts'
import { ensureNodeCertificates, readCaCertificate } from './store.ts'

const urlHost = (host: string) => (host.includes(':') ? `[${host}]` : host)

/** The phone-friendly URLs for the configured names: mDNS name first, then the addresses. */
function phoneUrls(
  config: NodeConfig,
  names = splitHomeNames(nodeNames({ listen: config.http.listen })).home,
): string[] {
  const port = config.http.httpsPort ?? 8443
  const hosts = [
    ...names.hostnames.filter((h) => h.endsWith('.local')),
    ...names.ips.filter((ip) => ip !== '127.0.0.1' && ip !== '::1'),
  ]
  return hosts.map((h) => `https://${urlHost(h)}:${port}`)
}

export interface HttpsSummary {
  enabled: boolean
  urls?: string[]
  /** SHA-256 of the household CA certificate (what the phone shows when installing it). */
  caFingerprint256?: string
  caCertPath?: string
  hint?: string
}

/** For `zkmeter status`: nothing is created. */
export async function httpsSummary(config: NodeConfig): Promise<HttpsSummary> {
  const ca = await readCaCertificate(config.dataDir)
  const caPart = ca ? { caFingerprint256: ca.fingerprint256, caCertPath: ca.caCertPath } : {}
  if (config.http.listen === undefined) {
    return {
      enabled: false,
      ...caPart,
      hint: 'loopback HTTP only: start with --listen 0.0.0.0 to open the app from a phone over HTTPS',
    }
  }
  return { enabled: true, urls: phoneUrls(config), ...caPart }
}

/** For `zkmeter cert`: creates the CA and server certificate if needed (or a new CA when asked). */
export async function certificateReport(config: NodeConfig, options: { newCa: boolean }) {
  const names = nodeNames({ listen: config.http.listen })
  const certs = await ensureNodeCertificates(config.dataDir, names, { newCa: options.newCa })
  return {
    ca: {
      path: certs.caCertPath,
      fingerprint256: certs.fingerprint256,
      install:
        'copy this file to the phone and install it as a CA certificate (Android: Settings › Security › Encryption & credentials › Install a certificate › CA certificate; iOS: open it, install the profile, then Settings › General › About › Certificate Trust Settings › enable full trust). Compare the SHA-256 fingerprint the phone shows with the one above.',
    },
    serverCertificate: {
      fingerprint256: certs.leafFingerprint256,
      names: certs.names,
      ...(certs.omitted.length > 0
        ? {
            omitted: certs.omitted,
            why: 'the household CA vouches only for .local, localhost and private addresses',
          }
        : {}),
      notAfter: certs.leafNotAfter.toISOString(),
    },
    urls: config.http.listen === undefined ? [] : phoneUrls(config, certs.names),
    issued: certs.issued,
    ...(options.newCa ? { warning: 'a NEW household CA: every phone must install it again' } : {}),
  }
}
