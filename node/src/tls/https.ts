/**
 * The node's API and UI on the home network: HTTPS on `--listen`, with the server certificate of
 * the household CA (store.ts) for the node's names. Same routes and live stream as the loopback
 * server; two things differ for a wallet on a phone: the chain's RPC is served on this origin
 * (POST /rpc, rpc-proxy.ts), and GET /api/chain names that URL instead of the chain's loopback one.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { ROUTES } from '#protocol/api/routes.ts'
import type { RoutesContext } from '../http/context.ts'
import type { Categorize } from '../http/errors.ts'
import { statusRoutes } from '../http/routes/status.ts'
import { createHttpApi, defaultAllowedHosts, type HttpApi, type HttpApiOptions } from '../http/server.ts'
import type { Logger } from '../log/logger.ts'
import { canonicalIp, type NodeNames, nodeNames } from './names.ts'
import { RPC_PATH, type RpcUpstream, rpcProxyHandler } from './rpc-proxy.ts'
import { ensureNodeCertificates, type NodeCertificates } from './store.ts'

export interface HttpsApi {
  api: HttpApi
  /** The URL to open on a phone: https://<host>.local:<port> (or the listen address). */
  url: string
  /** Every URL the certificate covers on the network (mDNS name, addresses). */
  urls: string[]
  certificates: NodeCertificates
}

/** How a URL spells a host (IPv6 in brackets). */
const urlHost = (host: string) => (host.includes(':') ? `[${host}]` : host)

const isLoopback = (host: string) => host === 'localhost' || host === '127.0.0.1' || host === '::1'

/** The network URLs, the phone-friendly one first: mDNS name, then addresses. */
function networkUrls(names: NodeNames, port: number): string[] {
  const mdns = names.hostnames.filter((h) => h.endsWith('.local'))
  const ips = names.ips.filter((ip) => !isLoopback(ip))
  const hosts = [...mdns, ...ips]
  if (hosts.length === 0) hosts.push('localhost')
  return hosts.map((h) => `https://${urlHost(h)}:${port}`)
}

/**
 * The origin the request came in on, when the certificate covers its host; otherwise the default.
 * The wallet must add the network under a name it can reach and verify: the one the page uses.
 */
function requestOrigin(req: IncomingMessage, names: NodeNames, fallback: string): string {
  const host = req.headers.host
  if (typeof host !== 'string') return fallback
  let parsed: URL
  try {
    parsed = new URL(`https://${host}`)
  } catch {
    return fallback
  }
  const name = parsed.hostname.replace(/^\[|\]$/g, '').toLowerCase()
  const covered = names.hostnames.includes(name) || names.ips.includes(canonicalIp(name))
  return covered ? parsed.origin : fallback
}

/** The chain's JSON-RPC on a server's own origin (POST /rpc), reads and signed transactions only. */
export function serveChainRpc(api: HttpApi, upstream: RpcUpstream): void {
  api.route('POST', RPC_PATH, rpcProxyHandler(upstream))
}

export async function startHttpsApi(options: {
  dataDir: string
  listen: string
  port: number
  context: RoutesContext
  upstream: RpcUpstream
  /** Registers the node's routes and live stream (app/api.ts: the same as on loopback). */
  register: (api: HttpApi) => void
  fallback?: (req: IncomingMessage, res: ServerResponse) => Promise<boolean>
  categorize?: Categorize
  /** Who may call (node/src/auth): the same authorizer as on loopback. */
  authorize?: HttpApiOptions['authorize']
  crossOriginPaths?: HttpApiOptions['crossOriginPaths']
  log: Logger
}): Promise<HttpsApi> {
  const certificates = await ensureNodeCertificates(options.dataDir, nodeNames({ listen: options.listen }))
  for (const reason of certificates.issued) options.log.info('certificate issued', { reason })
  if (certificates.omitted.length > 0) {
    options.log.warn('names left out of the certificate: the household CA vouches only for home names', {
      omitted: certificates.omitted,
      covered: certificates.names,
    })
  }
  const api = createHttpApi({
    host: options.listen,
    port: options.port,
    tls: { key: certificates.key, cert: certificates.cert },
    log: options.log,
    ...(options.fallback ? { fallback: options.fallback } : {}),
    ...(options.categorize ? { categorize: options.categorize } : {}),
    ...(options.authorize ? { authorize: options.authorize } : {}),
    ...(options.crossOriginPaths ? { crossOriginPaths: options.crossOriginPaths } : {}),
    // The names the certificate vouches for (box.local, the LAN address…) are the names a phone
    // opens the node by; with the interface addresses, nothing else passes the Host check.
    allowedHosts: [
      ...defaultAllowedHosts(options.listen),
      ...certificates.names.hostnames,
      ...certificates.names.ips,
    ],
  })
  let defaultOrigin = `https://localhost:${options.port}`
  // Registered before the node's routes, so this GET /api/chain is the one that answers here.
  const chain = statusRoutes(options.context).chain
  api.route(ROUTES.chain.method, ROUTES.chain.path, async ({ req, params, query, json }) => ({
    ...(await chain({ params, query, json })),
    rpcUrl: `${requestOrigin(req, certificates.names, defaultOrigin)}${RPC_PATH}`,
  }))
  serveChainRpc(api, options.upstream)
  options.register(api)
  const { port } = await api.start()
  const urls = networkUrls(certificates.names, port)
  const url = urls[0] as string
  defaultOrigin = new URL(url).origin
  return { api, url, urls, certificates }
}
