/**
 * Issuing the node's certificates: a small local CA and the server certificate it signs, both
 * ECDSA P-256 with SHA-256 (what every phone, browser and BearSSL accepts), keys made by WebCrypto
 * and kept as PKCS#8 PEM (what node:tls reads). No files here: store.ts decides when to issue.
 */
import 'reflect-metadata'
import { webcrypto } from 'node:crypto'
import * as x509 from '@peculiar/x509'
import { homeNameConstraintsDer, NAME_CONSTRAINTS_OID } from './constraints.ts'
import type { NodeNames } from './names.ts'

const EC_KEY = { name: 'ECDSA', namedCurve: 'P-256' } as const
const SIGNING = { name: 'ECDSA', hash: 'SHA-256' } as const
const DAY_MS = 86_400_000

/** The CA lives 10 years (it is what a phone installs once); a server certificate 2 years. */
export const CA_VALIDITY_DAYS = 3650
/** Under 825 days: iOS refuses server certificates valid longer, even from a CA the user installed. */
export const LEAF_VALIDITY_DAYS = 730

export interface IssuedPair {
  keyPem: string
  certPem: string
}

const crypto = webcrypto as unknown as Crypto

async function newKeyPair(): Promise<webcrypto.CryptoKeyPair> {
  return (await crypto.subtle.generateKey(EC_KEY, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair
}

async function pkcs8Pem(key: CryptoKey): Promise<string> {
  const der = await crypto.subtle.exportKey('pkcs8', key)
  return x509.PemConverter.encode(der, 'PRIVATE KEY')
}

/** A PKCS#8 PEM private key back into a WebCrypto signing key. */
export async function importSigningKey(keyPem: string): Promise<CryptoKey> {
  return crypto.subtle.importKey('pkcs8', x509.PemConverter.decodeFirst(keyPem), EC_KEY, false, ['sign'])
}

/** Backdated an hour: a phone whose clock runs a little slow must not see "not yet valid". */
function validity(days: number, now: Date): { notBefore: Date; notAfter: Date } {
  return { notBefore: new Date(now.getTime() - 3_600_000), notAfter: new Date(now.getTime() + days * DAY_MS) }
}

function serial(): string {
  // Positive (high bit clear) and random: RFC 5280 wants unique serials, browsers want them positive.
  const bytes = crypto.getRandomValues(new Uint8Array(16))
  bytes[0] = (bytes[0] as number) & 0x7f
  return Buffer.from(bytes).toString('hex')
}

/** The household's own certificate authority: signs only this node's server certificates, for home names. */
export async function issueCa(commonName: string, now = new Date()): Promise<IssuedPair> {
  const keys = await newKeyPair()
  const name = `CN=${escapeRdn(commonName)}, O=zkmeter household node`
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: serial(),
      name,
      keys,
      signingAlgorithm: SIGNING,
      ...validity(CA_VALIDITY_DAYS, now),
      extensions: [
        // pathLength 0: the CA can sign server certificates, never another CA.
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
        // Home names only (constraints.ts): the CA a phone installs cannot vouch for anyone else.
        new x509.Extension(NAME_CONSTRAINTS_OID, true, homeNameConstraintsDer()),
      ],
    },
    crypto,
  )
  return { keyPem: await pkcs8Pem(keys.privateKey), certPem: cert.toString('pem') }
}

/** The server certificate for the node's names, signed by the CA. */
export async function issueLeaf(ca: IssuedPair, names: NodeNames, now = new Date()): Promise<IssuedPair> {
  const caCert = new x509.X509Certificate(ca.certPem)
  const keys = await newKeyPair()
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: serial(),
      subject: `CN=${escapeRdn(names.hostnames[0] ?? 'localhost')}, O=zkmeter household node`,
      issuer: caCert.subject,
      publicKey: keys.publicKey,
      signingKey: await importSigningKey(ca.keyPem),
      signingAlgorithm: SIGNING,
      ...validity(LEAF_VALIDITY_DAYS, now),
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
        new x509.SubjectAlternativeNameExtension([
          ...names.hostnames.map((value) => ({ type: 'dns' as const, value })),
          ...names.ips.map((value) => ({ type: 'ip' as const, value })),
        ]),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
        await x509.AuthorityKeyIdentifierExtension.create(caCert, false, crypto),
      ],
    },
    crypto,
  )
  return { keyPem: await pkcs8Pem(keys.privateKey), certPem: cert.toString('pem') }
}

/** The DNS names and IP addresses a certificate's SAN extension holds. */
export function certificateNames(certPem: string): NodeNames {
  const cert = new x509.X509Certificate(certPem)
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension)
  const items = san?.names.items ?? []
  return {
    hostnames: items.filter((n) => n.type === 'dns').map((n) => n.value),
    ips: items.filter((n) => n.type === 'ip').map((n) => n.value),
  }
}

/** RDN values may not carry the separators of the name string. */
function escapeRdn(value: string): string {
  return value.replace(/[,+"\\<>;=]/g, '')
}
