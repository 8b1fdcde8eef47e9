import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  generateX25519KeyPair,
  type MemberKey,
  MOD,
  maskShare,
  membersDigest,
  pairKey,
  pairMask,
  signedMask,
  sumMod,
  unmaskTotal,
  x25519SharedSecret,
} from '../../src/mesh/masking.ts'
import type { Address } from '../../src/mesh/signing.ts'

interface Party extends MemberKey {
  privateKey: Uint8Array
}

function parties(n: number): Party[] {
  return Array.from({ length: n }, (_, i) => {
    const kp = generateX25519KeyPair()
    return {
      meter: `0x${(i + 1).toString(16).padStart(40, '0')}` as Address,
      x25519PublicKey: `0x${Buffer.from(kp.publicKey).toString('hex')}`,
      privateKey: kp.privateKey,
    }
  })
}

function share(area: number, round: number, self: Party, all: Party[], value: bigint) {
  const masks = all
    .filter((p) => p !== self)
    .map((o) =>
      signedMask(self.meter, o.meter, pairMask(pairKey(area, self, self.privateKey, o), area, round)),
    )
  return maskShare(value, masks)
}

describe('pairwise masking arithmetic', () => {
  const pool = parties(8)

  it('derives the same pair key on both sides, different per area', () => {
    const [a, b] = pool as [Party, Party]
    expect(pairKey(3, a, a.privateKey, b)).toEqual(pairKey(3, b, b.privateKey, a))
    expect(pairKey(3, a, a.privateKey, b)).not.toEqual(pairKey(4, a, a.privateKey, b))
  })

  it('masks cancel: the sum of shares is the exact sum of values, for any values and rounds', () => {
    fc.assert(
      fc.property(
        fc.array(fc.bigInt({ min: 0n, max: 2n ** 32n - 1n }), { minLength: 8, maxLength: 8 }),
        fc.integer({ min: 0, max: 2 ** 40 }),
        (values, round) => {
          const shares = pool.map((p, i) => share(9, round, p, pool, values[i] as bigint))
          expect(sumMod(shares)).toBe(values.reduce((a, b) => a + b, 0n))
        },
      ),
      { numRuns: 50 },
    )
  })

  it('dropouts: subtracting the remaining members’ revealed masks with the missing ones gives the exact partial sum', () => {
    fc.assert(
      fc.property(
        fc.array(fc.bigInt({ min: 0n, max: 65_535n }), { minLength: 8, maxLength: 8 }),
        fc.subarray([0, 1, 2, 3, 4, 5, 6, 7], { minLength: 0, maxLength: 5 }),
        fc.integer({ min: 0, max: 2 ** 40 }),
        (values, missingIdx, round) => {
          const present = pool.filter((_, i) => !missingIdx.includes(i))
          const missing = pool.filter((_, i) => missingIdx.includes(i))
          const shares = present.map((p) => share(9, round, p, pool, values[pool.indexOf(p)] as bigint))
          const revealed = present.flatMap((p) =>
            missing.map((m) =>
              signedMask(p.meter, m.meter, pairMask(pairKey(9, p, p.privateKey, m), 9, round)),
            ),
          )
          const expected = present.reduce((s, p) => s + (values[pool.indexOf(p)] as bigint), 0n)
          expect(unmaskTotal(shares, revealed)).toBe(expected)
        },
      ),
      { numRuns: 50 },
    )
  })

  it('a single share is indistinguishable from noise: it changes with the round for the same value', () => {
    const a = pool[0] as Party
    const s1 = share(9, 1000, a, pool, 500n)
    const s2 = share(9, 1900, a, pool, 500n)
    expect(s1).not.toBe(s2)
    expect(s1).toBeLessThan(MOD)
  })

  it('refuses a low-order X25519 public key (all-zero shared secret)', () => {
    expect(() => x25519SharedSecret((pool[0] as Party).privateKey, new Uint8Array(32))).toThrow(/low order/)
  })

  it('member digest does not depend on order but on every key', () => {
    const d = membersDigest(1, pool)
    expect(membersDigest(1, [...pool].reverse())).toBe(d)
    expect(membersDigest(1, pool.slice(1))).not.toBe(d)
    expect(membersDigest(2, pool)).not.toBe(d)
  })
})
