/**
 * The HTTP API and the UI's static files: plain HTTP on loopback, and with `--listen` the same
 * over HTTPS for the home network (node/src/tls, docs/security.md). Both ask for a session or a
 * token (node/src/auth) on every route but pairing and the wallet's chain RPC.
 */
import { createAuthorizer } from '../auth/authorize.ts'
import type { NodeConfig } from '../config.ts'
import type { HouseholdContext } from '../http/context.ts'
import { registerRoutes } from '../http/routes.ts'
import { createHttpApi } from '../http/server.ts'
import { serveStatic } from '../http/static.ts'
import type { Logger } from '../log/logger.ts'
import { serveChainRpc, startHttpsApi } from '../tls/https.ts'
import { httpUpstream, providerUpstream, RPC_PATH, type RpcUpstream } from '../tls/rpc-proxy.ts'
import { categorizeDependencyFailure } from './error-categories.ts'
import type { Lifecycle } from './lifecycle.ts'

export interface ApiUrls {
  url: string
  /** With --listen: the URL to open on a phone, and the CA fingerprint to compare there. */
  https?: { url: string; urls: string[]; fingerprint256: string; caCertPath: string }
}

/** The chain the node uses, for the wallet's POST /rpc: over HTTP, or a ws:// provider's send. */
function chainUpstream(context: HouseholdContext): RpcUpstream {
  if (/^https?:/.test(context.rpcUrl)) return httpUpstream(context.rpcUrl)
  return providerUpstream(context.provider as unknown as Parameters<typeof providerUpstream>[0])
}

export async function startApi(options: {
  http: NodeConfig['http']
  context: HouseholdContext
  lifecycle: Lifecycle
  log: Logger
}): Promise<ApiUrls> {
  const upstream = chainUpstream(options.context)
  const common = {
    fallback: serveStatic(),
    log: options.log,
    categorize: categorizeDependencyFailure,
    authorize: createAuthorizer(options.context.auth),
    crossOriginPaths: [RPC_PATH],
  }
  const api = createHttpApi({ host: options.http.host, port: options.http.port, ...common })
  serveChainRpc(api, upstream)
  registerRoutes(api, options.context)
  const { url } = await api.start()
  options.lifecycle.started('HTTP API', api)
  if (options.http.listen === undefined) return { url }

  const https = await startHttpsApi({
    dataDir: options.context.config.dataDir,
    listen: options.http.listen,
    port: options.http.httpsPort ?? 8443,
    context: options.context,
    upstream,
    register: (secure) => registerRoutes(secure, options.context),
    ...common,
  })
  options.lifecycle.started('HTTPS API', https.api)
  const { fingerprint256, caCertPath } = https.certificates
  return { url, https: { url: https.url, urls: https.urls, fingerprint256, caCertPath } }
}
