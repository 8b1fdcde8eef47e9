/**
 * The node on the home network over TLS (docs/security.md, HTTPS on the home network):
 *
 * | module | job |
 * |---|---|
 * | names.ts | the names the node answers to (host name, <host>.local, listen addresses, loopback) |
 * | constraints.ts | what the CA may vouch for: home names only (X.509 name constraints) |
 * | issue.ts | issuing the household CA and the server certificate (ECDSA P-256, @peculiar/x509) |
 * | store.ts | `<dataDir>/tls/`: create once, check on every load, re-issue the server certificate |
 * | rpc-proxy.ts | POST /rpc: the chain's JSON-RPC on the node's own origin, reads and raw transactions only |
 * | https.ts | the HTTPS listener: certificates for the names, the API on them, the wallet's RPC URL |
 * | cli.ts | what `zkmeter status` and `zkmeter cert` print about HTTPS |
 */
export { CertificateStoreError } from './errors.ts'
export { type NodeNames, nodeNames } from './names.ts'
export {
  certificateFingerprint256,
  type EnsureOptions,
  ensureNodeCertificates,
  type NodeCertificates,
  readCaCertificate,
  spkiSha256,
} from './store.ts'

import { nodeNames } from './names.ts'
import { ensureNodeCertificates, type NodeCertificates } from './store.ts'

/**
 * The node's server certificate for a TLS listener of its own (the MQTT broker's 8883): the same
 * key and certificate as the HTTPS API, for the same names, so a meter or phone trusts one CA.
 * Spread `{ key, cert }` into `tls.createServer`; `ca` is what a client verifies against.
 */
export async function nodeTlsCredentials(
  dataDir: string,
  listen: string | undefined,
): Promise<{ key: string; cert: string; ca: string; certificates: NodeCertificates }> {
  const certificates = await ensureNodeCertificates(dataDir, nodeNames({ listen }))
  return { key: certificates.key, cert: certificates.cert, ca: certificates.caCert, certificates }
}
