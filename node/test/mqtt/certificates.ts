/**
 * Test helper: a CA and a server certificate for 127.0.0.1/localhost, ECDSA P-256 like the node's
 * own (node/src/tls), made with @peculiar/x509 so TLS tests need no files and no openssl.
 */
import 'reflect-metadata'
import { createHash, webcrypto } from 'node:crypto'
import * as x509 from '@peculiar/x509'

const crypto = webcrypto as unknown as Crypto
const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const
const SIGN = { name: 'ECDSA', hash: 'SHA-256' } as const

export interface TestCertificates {
  /** The CA certificate a client trusts (PEM). */
  ca: string
  /** The server's key (PKCS#8 PEM) and certificate (PEM). */
  key: string
  cert: string
  /** SHA-1 of the server certificate's DER, hex: what BearSSL's setFingerprint pins. */
  sha1Fingerprint: string
}

export async function makeTestCertificates(): Promise<TestCertificates> {
  x509.cryptoProvider.set(crypto)
  const now = Date.now()
  const notBefore = new Date(now - 3_600_000)
  const notAfter = new Date(now + 86_400_000)
  const caKeys = (await crypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as {
    publicKey: CryptoKey
    privateKey: CryptoKey
  }
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=zkmeter test CA',
    notBefore,
    notAfter,
    keys: caKeys,
    signingAlgorithm: SIGN,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    ],
  })
  const leafKeys = (await crypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as {
    publicKey: CryptoKey
    privateKey: CryptoKey
  }
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: '02',
    subject: 'CN=localhost',
    issuer: ca.subject,
    notBefore,
    notAfter,
    publicKey: leafKeys.publicKey,
    signingKey: caKeys.privateKey,
    signingAlgorithm: SIGN,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        { type: 'dns', value: 'localhost' },
        { type: 'ip', value: '127.0.0.1' },
      ]),
    ],
  })
  const pkcs8 = await crypto.subtle.exportKey('pkcs8', leafKeys.privateKey)
  return {
    ca: ca.toString('pem'),
    key: x509.PemConverter.encode(pkcs8, 'PRIVATE KEY'),
    cert: leaf.toString('pem'),
    sha1Fingerprint: createHash('sha1').update(Buffer.from(leaf.rawData)).digest('hex'),
  }
}
