/**
 * The household node's HTTP API (docs/api.md), one file per area under routes/: thin handlers that
 * validate input, call the services they are given and shape the answer. No business rules here.
 */
import type { HouseholdContext } from './context.ts'
import { registerBillRoutes } from './routes/bills.ts'
import { registerHomeRoutes } from './routes/home.ts'
import { registerMeshRoutes } from './routes/mesh.ts'
import { registerPrivacyRoutes } from './routes/privacy.ts'
import { registerReadingRoutes } from './routes/readings.ts'
import { registerSafetyRoutes } from './routes/safety.ts'
import { registerStatusRoutes } from './routes/status.ts'
import { registerStreamRoute } from './routes/stream.ts'
import { registerUtilityRoutes } from './routes/utility.ts'
import type { HttpApi } from './server.ts'

export function registerRoutes(api: HttpApi, ctx: HouseholdContext): void {
  registerStatusRoutes(api, ctx)
  registerReadingRoutes(api, ctx)
  registerBillRoutes(api, ctx)
  registerHomeRoutes(api, ctx)
  registerSafetyRoutes(api, ctx)
  registerMeshRoutes(api, ctx)
  registerPrivacyRoutes(api, ctx)
  registerUtilityRoutes(api, ctx)
  registerStreamRoute(api, ctx)
}
