/**
 * The fake node's vault grants and their list: a grant names the period and the recipient, with
 * fixed stand-in key material (the UI shows and downloads it; nothing here opens it).
 */
import type { GrantRecord } from '#protocol/api/types.ts'
import type { RoutesContext } from '../../../node/src/http/context.ts'
import { type FakeNodeState, METER } from './fixtures.ts'

export function fakePrivacy(state: FakeNodeState): Pick<RoutesContext, 'vault' | 'grants'> {
  const given: GrantRecord[] = []
  return {
    vault: {
      async grant(manifestCid, recipient) {
        const bill = state.bills.find((b) => b.manifestCid === String(manifestCid))
        if (!bill) throw new RangeError(`no fixture bill has the manifest ${String(manifestCid)}`)
        return {
          format: 'zkmeter-grant',
          version: 1,
          manifestCid: bill.manifestCid,
          meter: METER,
          periodStart: bill.periodStart,
          periodEnd: bill.periodEnd,
          recipient: Buffer.from(recipient).toString('hex'),
          ephemeralPublicKey: '00'.repeat(32),
          nonce: '00'.repeat(24),
          wrappedKey: '00'.repeat(48),
        }
      },
    },
    grants: {
      list: async () => [...given],
      append: async (entry) => {
        given.push(entry)
      },
    },
  }
}
