/** The neighbourhood mesh: its state and backups, and a restore of this home's periods from them. */
import type { RouteHandlers } from '#protocol/api/routes.ts'
import type { RoutesContext } from '../context.ts'
import { HttpError } from '../errors.ts'

export type MeshContext = Pick<RoutesContext, 'mesh' | 'history'>

export function meshRoutes(ctx: MeshContext): Pick<RouteHandlers, 'mesh' | 'restoreFromMesh'> {
  return {
    mesh: () => {
      if (!ctx.mesh) return { enabled: false }
      return { ...ctx.mesh.status(), backups: ctx.mesh.backups() }
    },
    restoreFromMesh: async () => {
      if (!ctx.mesh)
        throw new HttpError(409, 'the mesh is disabled (--mesh false): no neighbour holds backups')
      // Adopted periods join the in-memory history at once, as the vault's periods do at start.
      return ctx.mesh.restore((records) => {
        for (const record of records) ctx.history.add(record)
      })
    },
  }
}
