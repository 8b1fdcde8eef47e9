import { html, LitElement } from 'lit'
import { api } from '../lib/api.ts'
import { StreamResource } from '../lib/stream-resource.ts'
import type { OutputOrigin, Relays } from '../lib/types.ts'
import { renderLoad } from './load-state.ts'
import { shared } from './styles.ts'

/** A clock time the resident reads at a glance: "14:05" (the browser's local time). */
function clock(iso: string): string {
  return new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
}

/** "set by rule ceiling-fan at 14:02", "set by hand at 13:05, manual until 14:05", … */
export function originText(origin: OutputOrigin, now = Date.now()): string {
  const at = clock(origin.at)
  switch (origin.by) {
    case 'rule':
      return `set by rule ${origin.rule} at ${at}`
    case 'schedule':
      return `set by schedule ${origin.rule} at ${at}`
    case 'alarm':
      return `set by the alarm's safety reaction at ${at}`
    case 'manual':
      return origin.manualUntil !== null && Date.parse(origin.manualUntil) > now
        ? `set by hand at ${at}, manual until ${clock(origin.manualUntil)}`
        : `set by hand at ${at}; the rules may change it again`
  }
}

/**
 * Why each switch and the fan are as they are: who last set them (a rule by name, a schedule, the
 * resident by hand, an alarm) and until when a setting made by hand holds against the rules. A fan
 * speed set by hand once snapped back with no word of why; this is the word.
 */
export class OutputOrigins extends LitElement {
  static override styles = [shared]
  #relays = new StreamResource<Relays>(this, {
    fetch: () => api.relays(),
    // Any confirmed change may come from a rule: read who set it again.
    reloadOn: { relay: true },
    keepOnError: true,
    // A hold ends without an event: the text "manual until …" must not outlive it by long.
    pollMs: 60_000,
  })

  override render() {
    return renderLoad(
      this.#relays.state,
      (relays) => {
        const hold = Math.round(relays.manualHoldS / 60)
        return html`<p class="small muted" data-manual-hold>A switch or fan speed you set by hand holds for ${hold} minute${hold === 1 ? '' : 's'}; then the automation rules may change it again.</p>
          ${
            relays.origins.length === 0
              ? ''
              : html`<ul class="small" data-origins>
                ${relays.origins.map(
                  (o) =>
                    html`<li data-origin=${String(o.output)}><strong>${o.name}</strong>: ${originText(o)}</li>`,
                )}
              </ul>`
          }`
      },
      () => void this.#relays.reload(),
      'who set the switches',
    )
  }
}
customElements.define('zkm-output-origins', OutputOrigins)
