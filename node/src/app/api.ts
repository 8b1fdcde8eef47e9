/** The HTTP API and the UI's static files, on the configured address. */
import { createAuthorizer } from '../auth/authorize.ts'
import type { NodeConfig } from '../config.ts'
import type { HouseholdContext } from '../http/context.ts'
import { registerRoutes } from '../http/routes.ts'
import { createHttpApi } from '../http/server.ts'
import { serveStatic } from '../http/static.ts'
import type { Logger } from '../log/logger.ts'
import { categorizeDependencyFailure } from './error-categories.ts'
import type { Lifecycle } from './lifecycle.ts'

export async function startApi(options: {
  http: NodeConfig['http']
  context: HouseholdContext
  lifecycle: Lifecycle
  log: Logger
}): Promise<string> {
  const api = createHttpApi({
    host: options.http.host,
    port: options.http.port,
    fallback: serveStatic(),
    log: options.log,
    categorize: categorizeDependencyFailure,
    authorize: createAuthorizer(options.context.auth),
  })
  registerRoutes(api, options.context)
  const { url } = await api.start()
  options.lifecycle.started('HTTP API', api)
  return url
}
