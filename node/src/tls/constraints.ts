/**
 * What the household CA may vouch for: home names only. A phone that installs the CA trusts every
 * certificate its key signs; X.509 name constraints (RFC 5280 §4.2.1.10) limit that to `localhost`,
 * `*.local` (mDNS) and loopback, link-local and private addresses, so even a stolen CA key cannot
 * impersonate the resident's bank to their phone. Browsers, iOS, Android and OpenSSL enforce them.
 * A name of the node outside these (a router DNS name, a public IPv6 address) is left out of the
 * server certificate: a certificate naming it would fail validation for *every* name.
 */
import { BlockList, isIP } from 'node:net'
import type { NodeNames } from './names.ts'

/** dNSName subtrees: a name equal to one of these or ending in `.<it>`. */
export const PERMITTED_DNS = ['localhost', 'local'] as const

/** iPAddress subtrees. */
export const PERMITTED_IP_RANGES: readonly [string, number][] = [
  ['127.0.0.0', 8],
  ['10.0.0.0', 8],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
  ['169.254.0.0', 16],
  ['100.64.0.0', 10],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
]

const permittedIps = new BlockList()
for (const [address, prefix] of PERMITTED_IP_RANGES) {
  permittedIps.addSubnet(address, prefix, isIP(address) === 6 ? 'ipv6' : 'ipv4')
}

export function isHomeName(hostname: string): boolean {
  return PERMITTED_DNS.some((base) => hostname === base || hostname.endsWith(`.${base}`))
}

export function isHomeAddress(ip: string): boolean {
  const family = isIP(ip)
  return family !== 0 && permittedIps.check(ip, family === 6 ? 'ipv6' : 'ipv4')
}

/** The names the CA may certify, and the ones it may not (reported, never silently dropped). */
export function splitHomeNames(names: NodeNames): { home: NodeNames; omitted: string[] } {
  return {
    home: { hostnames: names.hostnames.filter(isHomeName), ips: names.ips.filter(isHomeAddress) },
    omitted: [
      ...names.hostnames.filter((h) => !isHomeName(h)),
      ...names.ips.filter((ip) => !isHomeAddress(ip)),
    ],
  }
}

// DER, by hand: the extension is three nested structures, not worth a dependency of its own.
function tlv(tag: number, content: Uint8Array): Uint8Array {
  const n = content.length
  const length = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff]
  return Uint8Array.from([tag, ...length, ...content])
}
const concat = (parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((p) => [...p]))

function ipWithMask(address: string, prefix: number): Uint8Array {
  const v6 = isIP(address) === 6
  const size = v6 ? 16 : 4
  const bytes = new Uint8Array(size)
  if (v6) {
    const full = new URL(`http://[${address}]/`).hostname.slice(1, -1)
    const [head = '', tail = ''] = full.split('::')
    const left = head ? head.split(':') : []
    const right = tail ? tail.split(':') : []
    const groups = full.includes('::')
      ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right]
      : left
    groups.forEach((g, i) => {
      const value = Number.parseInt(g, 16)
      bytes[2 * i] = value >> 8
      bytes[2 * i + 1] = value & 0xff
    })
  } else {
    address.split('.').forEach((part, i) => {
      bytes[i] = Number(part)
    })
  }
  const mask = new Uint8Array(size)
  for (let bit = 0; bit < prefix; bit++) mask[bit >> 3] = (mask[bit >> 3] as number) | (0x80 >> (bit & 7))
  return concat([bytes, mask])
}

/** The DER value of the NameConstraints extension (OID 2.5.29.30) with the home subtrees permitted. */
export function homeNameConstraintsDer(): Uint8Array {
  const ascii = (s: string) => new TextEncoder().encode(s)
  const subtrees = [
    ...PERMITTED_DNS.map((name) => tlv(0x30, tlv(0x82, ascii(name)))), // GeneralSubtree { dNSName }
    ...PERMITTED_IP_RANGES.map(([address, prefix]) => tlv(0x30, tlv(0x87, ipWithMask(address, prefix)))), // iPAddress
  ]
  // NameConstraints ::= SEQUENCE { permittedSubtrees [0] GeneralSubtrees }
  return tlv(0x30, tlv(0xa0, concat(subtrees)))
}

export const NAME_CONSTRAINTS_OID = '2.5.29.30'
