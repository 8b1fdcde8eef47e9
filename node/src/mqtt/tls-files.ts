/**
 * The certificate the broker's TLS listener presents: the node's own server certificate and key
 * (`<dataDir>/tls/node.crt`, `node.key`, made by node/src/tls with the household CA), so a meter
 * pins one CA or fingerprint for both the API and the broker.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ZkMeterError } from '#protocol/errors.ts'

export class BrokerCertificateMissingError extends ZkMeterError {
  override name = 'BrokerCertificateMissingError'
  override readonly category = 'unavailable'
}

export async function readNodeCertificate(dataDir: string): Promise<{ key: string; cert: string }> {
  const dir = join(dataDir, 'tls')
  try {
    const [key, cert] = await Promise.all([
      readFile(join(dir, 'node.key'), 'utf8'),
      readFile(join(dir, 'node.crt'), 'utf8'),
    ])
    return { key, cert }
  } catch (error) {
    throw new BrokerCertificateMissingError(
      `the MQTT TLS listener needs the node's certificate in ${dir} (node.key, node.crt); ` +
        'it is made when the node serves HTTPS (--listen): start it so once, or drop --mqtt-tls-port',
      { cause: error, details: { dir } },
    )
  }
}
