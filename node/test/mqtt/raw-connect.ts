/**
 * Test helper: one MQTT 3.1.1 CONNECT written byte for byte from a chosen local address (mqtt.js
 * cannot bind one), answered with the CONNACK's return code — what a brute-force loop sees.
 */
import { connect } from 'node:net'

function field(value: string): Buffer {
  const bytes = Buffer.from(value, 'utf8')
  const length = Buffer.alloc(2)
  length.writeUInt16BE(bytes.length)
  return Buffer.concat([length, bytes])
}

function remainingLength(n: number): Buffer {
  const out: number[] = []
  do {
    let byte = n % 128
    n = Math.floor(n / 128)
    if (n > 0) byte |= 0x80
    out.push(byte)
  } while (n > 0)
  return Buffer.from(out)
}

export function connectPacket(clientId: string, username: string, password: string): Buffer {
  const variable = Buffer.concat([field('MQTT'), Buffer.from([4, 0x80 | 0x40 | 0x02, 0, 60])])
  const payload = Buffer.concat([field(clientId), field(username), field(password)])
  const body = Buffer.concat([variable, payload])
  return Buffer.concat([Buffer.from([0x10]), remainingLength(body.length), body])
}

/**
 * Sends a CONNECT from `localAddress` and resolves with the CONNACK return code (0 accepted,
 * 3 server unavailable, 4 bad user name or password, 5 not authorized), or 'closed' when the
 * broker closed the connection without a CONNACK.
 */
export function connackCode(options: {
  port: number
  localAddress: string
  clientId: string
  username: string
  password: string
}): Promise<number | 'closed'> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: options.port, localAddress: options.localAddress })
    let received = Buffer.alloc(0)
    socket.on('connect', () =>
      socket.write(connectPacket(options.clientId, options.username, options.password)),
    )
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk])
      if (received.length >= 4) {
        if (received[0] !== 0x20) reject(new Error(`expected a CONNACK, got packet type ${received[0]}`))
        resolve(received[3] as number)
        socket.destroy()
      }
    })
    socket.on('error', reject)
    socket.on('close', () => resolve('closed'))
  })
}
