/**
 * The node's certificates on disk, `<dataDir>/tls/` (0700; every file 0600):
 *
 *   ca.key  ca.crt      the household CA: made once, what a phone installs and what the pairing
 *                       QR code's fingerprint names; never replaced unless the resident asks
 *   node.key node.crt   the server certificate (HTTPS API, MQTT over TLS): re-issued by the same
 *                       CA whenever the node's names change or it has under 30 days left
 *
 * Every load checks what it reads (PEM parses, key matches certificate, server certificate issued
 * and signed by this CA, CA still valid). A broken CA is a named error, never a quiet new CA: see
 * CertificateStoreError. A broken server certificate is only re-issued, since it carries no trust
 * of its own (the phone trusts the CA).
 */
import { createHash, createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto'
import { chmod, mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { writeFileAtomic } from '../storage/json-file.ts'
import { splitHomeNames } from './constraints.ts'
import { CertificateStoreError } from './errors.ts'
import { certificateNames, type IssuedPair, issueCa, issueLeaf } from './issue.ts'
import { type NodeNames, normalizeNames, sameNames } from './names.ts'

/** A server certificate is re-issued when it has less than this left. */
const RENEW_BEFORE_MS = 30 * 86_400_000

export interface NodeCertificates {
  /** The server certificate's private key (PKCS#8 PEM) and certificate (PEM): node:tls options. */
  key: string
  cert: string
  /** The household CA's certificate (PEM): what a phone installs, what a client trusts (`ca`). */
  caCert: string
  /**
   * SHA-256 of the CA certificate, colon hex (AB:CD:…): what the resident compares on the phone
   * and what the pairing QR code carries. The CA's, not the server certificate's: it stays the same
   * when the server certificate is re-issued (new IP address from DHCP, renewal every 2 years).
   */
  fingerprint256: string
  /** SHA-256 of the server certificate, colon hex (what a browser's certificate viewer shows first). */
  leafFingerprint256: string
  /** base64 SHA-256 of the server certificate's public key (SPKI), as HPKP pins and Chromium flags spell it. */
  leafSpkiSha256: string
  caCertPath: string
  /** The names the server certificate carries: the node's, within the CA's home names. */
  names: NodeNames
  /** The node's names the CA may not vouch for (constraints.ts), so not in the certificate. */
  omitted: string[]
  leafNotAfter: Date
  /** Why anything was (re-)issued on this call; empty when everything was reused. */
  issued: string[]
}

export interface EnsureOptions {
  now?: Date
  /** The resident asked for a new CA (`zkmeter cert --new-ca`): phones must install it again. */
  newCa?: boolean
}

export const TLS_DIR = 'tls'

function paths(dataDir: string) {
  const dir = join(dataDir, TLS_DIR)
  return {
    dir,
    caKey: join(dir, 'ca.key'),
    caCert: join(dir, 'ca.crt'),
    leafKey: join(dir, 'node.key'),
    leafCert: join(dir, 'node.crt'),
  }
}

async function readIfPresent(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new CertificateStoreError(`cannot read ${path}: ${(error as Error).message}`, { cause: error })
  }
}

function parseCert(path: string, pem: string): X509Certificate {
  try {
    return new X509Certificate(pem)
  } catch (error) {
    throw new CertificateStoreError(`${path} is not a PEM certificate (${(error as Error).message})`, {
      cause: error,
      details: { path },
    })
  }
}

function parseKey(path: string, pem: string): KeyObject {
  try {
    return createPrivateKey(pem)
  } catch (error) {
    throw new CertificateStoreError(`${path} is not a PEM private key (${(error as Error).message})`, {
      cause: error,
      details: { path },
    })
  }
}

const HOW_TO_REPLACE =
  'If you meant to start over, run `zkmeter cert --new-ca` (every phone must then install the new CA); otherwise restore the tls directory from a backup.'

/** The CA from disk, checked; undefined when none was ever completed (no ca.crt). */
async function loadCa(p: ReturnType<typeof paths>, now: Date): Promise<IssuedPair | undefined> {
  const certPem = await readIfPresent(p.caCert)
  // ca.crt is written last: without it no phone can have installed this CA, so none exists yet.
  if (certPem === undefined) return undefined
  const keyPem = await readIfPresent(p.caKey)
  if (keyPem === undefined) {
    throw new CertificateStoreError(`${p.caCert} exists but its key ${p.caKey} is missing. ${HOW_TO_REPLACE}`)
  }
  const cert = parseCert(p.caCert, certPem)
  const key = parseKey(p.caKey, keyPem)
  if (!cert.ca || !cert.checkPrivateKey(key)) {
    throw new CertificateStoreError(
      `${p.caKey} and ${p.caCert} do not belong together (or the certificate is no CA). ${HOW_TO_REPLACE}`,
    )
  }
  if (cert.validToDate.getTime() <= now.getTime()) {
    throw new CertificateStoreError(
      `the household CA ${p.caCert} expired on ${cert.validToDate.toISOString()}. ${HOW_TO_REPLACE}`,
    )
  }
  return { keyPem, certPem }
}

/** Why the server certificate on disk cannot be reused, or undefined when it can. */
async function leafProblem(
  p: ReturnType<typeof paths>,
  ca: X509Certificate,
  names: NodeNames,
  now: Date,
): Promise<string | undefined> {
  const certPem = await readIfPresent(p.leafCert)
  const keyPem = await readIfPresent(p.leafKey)
  if (certPem === undefined || keyPem === undefined) return 'no server certificate yet'
  let cert: X509Certificate
  let key: KeyObject
  try {
    cert = parseCert(p.leafCert, certPem)
    key = parseKey(p.leafKey, keyPem)
  } catch (error) {
    return (error as Error).message
  }
  if (!cert.checkPrivateKey(key)) return `${p.leafKey} does not match ${p.leafCert}`
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey))
    return 'the server certificate is not signed by this CA'
  if (cert.validToDate.getTime() - now.getTime() < RENEW_BEFORE_MS) {
    return `the server certificate expires on ${cert.validToDate.toISOString()}`
  }
  if (!sameNames(certificateNames(certPem), names)) return "the node's names changed"
  return undefined
}

function colonHex(digest: Buffer): string {
  return (digest.toString('hex').toUpperCase().match(/../g) as string[]).join(':')
}

/** SHA-256 of a certificate's DER, colon hex (the form browsers and `openssl x509 -fingerprint` show). */
export function certificateFingerprint256(certPem: string): string {
  return colonHex(createHash('sha256').update(new X509Certificate(certPem).raw).digest())
}

/** base64 SHA-256 of a certificate's SubjectPublicKeyInfo. */
export function spkiSha256(certPem: string): string {
  const spki = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' })
  return createHash('sha256').update(spki).digest('base64')
}

async function writePair(keyPath: string, certPath: string, pair: IssuedPair): Promise<void> {
  // Key first, certificate last: a certificate on disk always has its key beside it.
  await writeFileAtomic(keyPath, pair.keyPem, 0o600)
  await writeFileAtomic(certPath, pair.certPem, 0o600)
}

/**
 * The node's CA and server certificate for `names`, creating or re-issuing what is missing or
 * stale and reusing the rest. Throws CertificateStoreError for a CA it cannot trust.
 */
export async function ensureNodeCertificates(
  dataDir: string,
  wanted: NodeNames,
  options: EnsureOptions = {},
): Promise<NodeCertificates> {
  const now = options.now ?? new Date()
  const { home: names, omitted } = splitHomeNames(normalizeNames(wanted))
  const p = paths(dataDir)
  await mkdir(p.dir, { recursive: true, mode: 0o700 })
  await chmod(p.dir, 0o700)
  const issued: string[] = []

  let ca = options.newCa ? undefined : await loadCa(p, now)
  if (ca === undefined) {
    ca = await issueCa(`zkmeter household CA ${now.toISOString().slice(0, 10)}`, now)
    await writePair(p.caKey, p.caCert, ca)
    issued.push(options.newCa ? 'new CA (asked for)' : 'new CA (none yet)')
  }
  const caCert = new X509Certificate(ca.certPem)
  const problem = issued.length > 0 ? 'new CA' : await leafProblem(p, caCert, names, now)
  if (problem !== undefined) {
    await writePair(p.leafKey, p.leafCert, await issueLeaf(ca, names, now))
    issued.push(`server certificate: ${problem}`)
  }
  const key = await readFile(p.leafKey, 'utf8')
  const cert = await readFile(p.leafCert, 'utf8')
  return {
    key,
    cert,
    caCert: ca.certPem,
    fingerprint256: certificateFingerprint256(ca.certPem),
    leafFingerprint256: certificateFingerprint256(cert),
    leafSpkiSha256: spkiSha256(cert),
    caCertPath: p.caCert,
    names,
    omitted,
    leafNotAfter: new X509Certificate(cert).validToDate,
    issued,
  }
}

/** The CA on disk without creating anything (`zkmeter status`): undefined when there is none yet. */
export async function readCaCertificate(
  dataDir: string,
): Promise<{ caCertPath: string; fingerprint256: string } | undefined> {
  const p = paths(dataDir)
  const pem = await readIfPresent(p.caCert)
  if (pem === undefined) return undefined
  parseCert(p.caCert, pem)
  return { caCertPath: p.caCert, fingerprint256: certificateFingerprint256(pem) }
}
