/**
 * `zkmeter pair` on a node that listens on the home network (`--listen`): the CLI reaches the node
 * on loopback, but the link and QR code it prints must be the ones a phone can use — the node's
 * HTTPS URL on the LAN with the certificate fingerprint, as the start banner prints them. Before,
 * it printed the loopback HTTP link, which a phone cannot open. Without --listen it stays loopback.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, expect, it } from 'vitest'
import { createApiClient } from '#protocol/api/client.ts'
import { createAuthorizer } from '../../src/auth/authorize.ts'
import { runAuthCommand } from '../../src/auth/cli.ts'
import { authRoutes } from '../../src/auth/routes.ts'
import { type AuthOptions, openAuth } from '../../src/auth/service.ts'
import { pairingText } from '../../src/auth/terminal.ts'
import { createHttpApi, type HttpApi } from '../../src/http/server.ts'

const PHONE_URL = 'https://zkmeter.local:8443'
const FINGERPRINT =
  'AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89'

let dataDir: string
let api: HttpApi | undefined
beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'zkm-pair-link-'))
})
afterEach(async () => {
  await api?.stop()
  api = undefined
  await rm(dataDir, { recursive: true, force: true })
})

/** The node's loopback API with its auth service and the pairing-code route; `zkmeter pair` against it. */
async function pairOutput(auth: Partial<AuthOptions>) {
  const service = await openAuth({ dataDir, ...auth })
  api = createHttpApi({ authorize: createAuthorizer(service) })
  const routes = authRoutes({ auth: service })
  api.route('POST', '/api/pairing-codes', (ctx) =>
    routes.createPairingCode({
      params: {},
      query: ctx.query,
      json: ctx.json,
      principal: ctx.principal,
      remoteAddress: undefined,
      secure: false,
      setHeader: () => {},
    } as unknown as Parameters<typeof routes.createPairingCode>[0]),
  )
  const { url: loopback } = await api.start()
  const client = createApiClient({ baseUrl: loopback, token: service.adminToken })
  const printed = await runAuthCommand({
    command: 'pair',
    args: [],
    flags: new Map([['role', 'read-only']]),
    api: client,
    apiUrl: loopback,
    call: (request) => request(new AbortController().signal),
  })
  return {
    printed: String(printed),
    loopback,
    banner: (u: string) => pairingText(u, service.issuePairingCode('resident')),
  }
}

it('prints the HTTPS link on the LAN with the certificate fingerprint, as the start banner does', async () => {
  const { printed, loopback, banner } = await pairOutput({
    fingerprint: FINGERPRINT,
    phoneUrl: () => PHONE_URL,
  })
  const link = /link {10}(\S+)/.exec(printed)?.[1]
  expect(link).toMatch(/^https:\/\/zkmeter\.local:8443\/#pair=[0-9A-Z]{5}-[0-9A-Z]{5}&fp=AB%3ACD%3A/)
  expect(new URLSearchParams(new URL(link as string).hash.slice(1)).get('fp')).toBe(FINGERPRINT)
  expect(printed).not.toContain(loopback)
  expect(printed).toMatch(/[▀▄█]/) // the QR code (of that link)
  expect(printed).toContain(`certificate   SHA-256 ${FINGERPRINT}`)
  // The start banner, given the loopback URL as the node's API, prints the same kind of link.
  expect(banner(loopback)).toMatch(/link {10}https:\/\/zkmeter\.local:8443\/#pair=.*&fp=/)
})

it('prints the loopback link when the node serves loopback only', async () => {
  const { printed, loopback } = await pairOutput({})
  expect(printed).toContain(`link          ${loopback}/#pair=`)
  expect(printed).not.toContain('fp=')
})
