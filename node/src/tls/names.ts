/**
 * The names the node answers to on the home network, for its server certificate: localhost, the
 * machine's mDNS name (<host>.local), the listen address (every interface address for 0.0.0.0 /
 * ::) and the loopback addresses. A phone may open any of them.
 */
import { isIP } from 'node:net'
import { networkInterfaces, hostname as osHostname } from 'node:os'

export interface NodeNames {
  /** DNS names (SAN dNSName). */
  hostnames: string[]
  /** IPv4 and IPv6 addresses (SAN iPAddress), canonical form. */
  ips: string[]
}

type Interfaces = ReturnType<typeof networkInterfaces>

/** A DNS label sequence a certificate may carry (letters, digits, hyphens; no wildcard). */
const DNS_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/

/** One spelling per address (::1 and 0:0:0:0:0:0:0:1 are the same name to a browser). */
export function canonicalIp(ip: string): string {
  if (isIP(ip) !== 6) return ip
  return new URL(`http://[${ip}]/`).hostname.slice(1, -1)
}

const isUnspecified = (ip: string) => ip === '0.0.0.0' || canonicalIp(ip) === '::'

/**
 * Addresses a phone can reach: a given listen address as is; for the unspecified address, every
 * external interface address (IPv6 link-local ones need a zone id no URL carries, so not those).
 */
function listenIps(listen: string, interfaces: Interfaces): string[] {
  if (!isUnspecified(listen)) return [listen]
  const wantV6 = isIP(listen) === 6
  const found: string[] = []
  for (const entries of Object.values(interfaces)) {
    for (const entry of entries ?? []) {
      if (entry.internal) continue
      if (entry.family === 'IPv4') found.push(entry.address)
      else if (wantV6 && !entry.address.toLowerCase().startsWith('fe80')) found.push(entry.address)
    }
  }
  return found
}

export function nodeNames(
  options: { listen?: string | undefined; hostname?: string; interfaces?: Interfaces } = {},
): NodeNames {
  const host = (options.hostname ?? osHostname()).toLowerCase()
  const hostnames = ['localhost']
  // The mDNS name only: a bare or router-DNS host name (box, box.lan) is outside what the household
  // CA may vouch for (constraints.ts), and a phone finds the box by <host>.local or its address.
  if (DNS_NAME.test(host) && host !== 'localhost') hostnames.push(`${host.split('.')[0] as string}.local`)
  const ips = ['127.0.0.1', '::1']
  if (options.listen !== undefined)
    ips.push(...listenIps(options.listen, options.interfaces ?? networkInterfaces()))
  return normalizeNames({ hostnames, ips })
}

/** Sorted, deduplicated, canonical: two name sets compare by their JSON. */
export function normalizeNames(names: NodeNames): NodeNames {
  const unique = (list: string[]) => [...new Set(list)].sort()
  return {
    hostnames: unique(names.hostnames.map((h) => h.toLowerCase())),
    ips: unique(names.ips.map(canonicalIp)),
  }
}

export function sameNames(a: NodeNames, b: NodeNames): boolean {
  return JSON.stringify(normalizeNames(a)) === JSON.stringify(normalizeNames(b))
}
