/**
 * The shared vectors in protocol/vectors/ and the generated Poseidon header are exactly what the
 * TypeScript references produce today (the C++ side checks the same files in firmware/test/cpp/).
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { generateVectors, VECTORS_DIR } from '#protocol/vectors/generate.ts'
import { POSEIDON_HEADER_PATH, renderPoseidonHeader } from '../tools/generate-poseidon-header.ts'

describe('shared test vectors', () => {
  const generated = generateVectors()

  it.each(Object.keys(generated))('%s matches a fresh generation', (name) => {
    const committed = readFileSync(join(VECTORS_DIR, name), 'utf8')
    expect(committed).toBe(generated[name])
  })

  it('the Poseidon(16) constants header matches poseidon-lite', () => {
    expect(readFileSync(POSEIDON_HEADER_PATH, 'utf8')).toBe(renderPoseidonHeader())
  })

  it('covers the production period size and both signing keys', () => {
    const commitment = JSON.parse(generated['commitment.json'] as string) as { cases: { n: number }[] }
    expect(commitment.cases.some((c) => c.n === 2976)).toBe(true)
    const eip = JSON.parse(generated['eip712.json'] as string) as { keys: unknown[] }
    expect(eip.keys).toHaveLength(2)
  })
})
