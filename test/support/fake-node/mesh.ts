/**
 * The fake node's neighbourhood mesh: its state, backups, restore report and area aggregates from
 * the fixture (`state.mesh = { enabled: false }` is a node started with --mesh false: no mesh).
 */
import type { RoutesContext } from '../../../node/src/http/context.ts'
import type { FakeNodeState } from './fixtures.ts'

type Mesh = NonNullable<RoutesContext['mesh']>

export function fakeMesh(state: FakeNodeState): Mesh | undefined {
  const report = state.mesh
  if (!report.enabled) return undefined
  const { backups, ...status } = report
  return {
    status: () => status,
    backups: () => backups,
    restore: async () => state.restore,
    notices: () => state.notices.flatMap((n) => (n.via === 'mesh' ? [n] : [])),
    aggregates: () => state.aggregates,
  }
}
