/** The neighbourhood mesh: its state and backups, and a restore of this home's periods from them. */
import type { MeshReport } from '#protocol/api/types.ts'
import type { HouseholdContext } from '../context.ts'
import { type HttpApi, HttpError } from '../server.ts'

export type MeshContext = Pick<HouseholdContext, 'mesh' | 'history'>

export function registerMeshRoutes(api: HttpApi, ctx: MeshContext): void {
  api.route('GET', '/api/mesh', (): MeshReport => {
    if (!ctx.mesh) return { enabled: false }
    return { ...ctx.mesh.status(), backups: ctx.mesh.backups() }
  })
  api.route('POST', '/api/mesh/restore', async () => {
    if (!ctx.mesh) throw new HttpError(409, 'the mesh is disabled (--mesh false): no neighbour holds backups')
    // Adopted periods join the in-memory history at once, as the vault's periods do at start.
    return ctx.mesh.restore((records) => {
      for (const record of records) ctx.history.add(record)
    })
  })
}
