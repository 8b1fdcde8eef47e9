/** What can go wrong with the node's own certificates (docs/security.md, HTTPS on the home network). */
import { ZkMeterError } from '#protocol/errors.ts'

/**
 * A certificate or key file in `<dataDir>/tls/` is unreadable, corrupt, or does not belong with the
 * others. Never answered by quietly making a new CA: phones that installed the old one would stop
 * trusting the node, and a CA that silently changes is what an attacker swapping files would want.
 */
export class CertificateStoreError extends ZkMeterError {
  override name = 'CertificateStoreError'
  override readonly category = 'internal'
}
