import { html, type TemplateResult } from 'lit'

/**
 * Loading / error / empty rendering shared by the views: every view shows one of these until it
 * has data, so nothing is ever a blank box.
 */
export type Load<T> =
  | { state: 'loading' }
  | { state: 'error'; message: string }
  | { state: 'ready'; value: T }

export function loading<T>(): Load<T> {
  return { state: 'loading' }
}

export async function load<T>(fetcher: () => Promise<T>): Promise<Load<T>> {
  try {
    return { state: 'ready', value: await fetcher() }
  } catch (error) {
    return { state: 'error', message: error instanceof Error ? error.message : String(error) }
  }
}

export function renderLoad<T>(
  value: Load<T>,
  ready: (value: T) => TemplateResult | string,
  retry?: () => void,
  what = 'data',
): TemplateResult | string {
  if (value.state === 'loading') return html`<p class="muted" role="status">Loading ${what}…</p>`
  if (value.state === 'error')
    return html`<div class="error" role="alert">
      Could not load ${what}: ${value.message}
      ${retry ? html`<button class="secondary" @click=${retry}>Retry</button>` : ''}
    </div>`
  return ready(value.value)
}
