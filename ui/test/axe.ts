/**
 * axe-core in a test page: its WCAG 2.1 A and AA rules (tags wcag2a, wcag2aa, wcag21a, wcag21aa)
 * over the whole document, open shadow roots included (the app's components all use them).
 */
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import type { Page } from 'playwright-core'

const AXE_SOURCE = await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8')
export const WCAG_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']

export interface Violation {
  id: string
  impact: string | null
  help: string
  nodes: string[]
}

/** axe-core's WCAG 2.1 A/AA rules over the whole page, open shadow roots included. */
export async function axe(p: Page): Promise<Violation[]> {
  // Evaluated through the DevTools protocol: the page's CSP (script-src 'self') does not apply.
  if (!(await p.evaluate(() => 'axe' in window))) await p.evaluate(AXE_SOURCE)
  return p.evaluate(async (tags) => {
    const { axe } = window as unknown as {
      axe: {
        run(
          context: Document,
          options: object,
        ): Promise<{
          violations: {
            id: string
            impact: string | null
            help: string
            nodes: { target: unknown[]; failureSummary?: string }[]
          }[]
        }>
      }
    }
    const result = await axe.run(document, {
      runOnly: { type: 'tag', values: tags },
      resultTypes: ['violations'],
    })
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => `${JSON.stringify(n.target)}: ${n.failureSummary ?? ''}`),
    }))
  }, WCAG_TAGS)
}

/** Waits until nothing in the app says "Loading" (every view shows its data or its error). */
export async function settled(p: Page): Promise<void> {
  await p.waitForFunction(() => {
    const text = (root: Element | ShadowRoot): string =>
      [...root.children].map((c) => (c.shadowRoot ? text(c.shadowRoot) : '') + text(c)).join(' ') +
      (root instanceof Element ? (root.textContent ?? '') : '')
    const app = document.querySelector('zkm-app')?.shadowRoot
    const main = app?.querySelector('main')
    return !!main && main.children.length > 0 && !/Loading/.test(text(app as ShadowRoot))
  })
}
