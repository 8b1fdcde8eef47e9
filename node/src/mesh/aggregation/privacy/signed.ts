/** Signed values on the mod-2⁶⁴ share arithmetic: noisy values and totals may be below zero. */
import { MOD } from '../../masking.ts'

/** A signed value as its residue mod 2⁶⁴. */
export const toMod = (value: bigint): bigint => ((value % MOD) + MOD) % MOD

/**
 * A sum mod 2⁶⁴ read as a signed number: residues from 2⁶³ up are negative. Exact readings never get
 * there (1000 homes × 2³² < 2⁴²); a noisy total near zero may be slightly negative.
 */
export const signedTotal = (sum: bigint): bigint => (sum >= MOD / 2n ? sum - MOD : sum)
