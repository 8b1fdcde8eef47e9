/**
 * The dev chain registers this meter only at its first interval boundary: until then neighbours
 * refuse our announcement. Watch for the registration and announce again at once.
 */
import type { MeshNode } from '../node.ts'
import type { MeshSpeaker } from './speaker.ts'
import type { HouseholdMeshOptions } from './types.ts'

const POLL_MS = 2000

export interface RegistrationWatch {
  stop(): void
}

export function watchRegistration(
  options: Pick<HouseholdMeshOptions, 'registered' | 'ledger' | 'meterAddress' | 'area' | 'log'>,
  mesh: MeshNode,
  speaker: MeshSpeaker,
): RegistrationWatch {
  let timer: ReturnType<typeof setInterval> | undefined
  if (!options.registered) {
    timer = setInterval(() => {
      void options.ledger.meter(options.meterAddress).then(
        (info) => {
          if (!info.registered) return
          speaker.checkHousehold(info)
          clearInterval(timer)
          timer = undefined
          if (info.areaId !== options.area) {
            options.log.error(
              `the meter was registered in area ${info.areaId}, not ${options.area}: restart the node to join that area`,
            )
            return
          }
          if (mesh.running) mesh.announce().catch(() => undefined)
        },
        () => undefined,
      )
    }, POLL_MS)
  }
  return { stop: () => clearInterval(timer) }
}
