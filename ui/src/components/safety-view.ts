import { html, LitElement } from 'lit'
import { api } from '../lib/api.ts'
import { StreamResource } from '../lib/stream-resource.ts'
import { type Alarm, type Notice, noticeKind } from '../lib/types.ts'
import { renderLoad } from './load-state.ts'
import { shared } from './styles.ts'
import '../pwa/notification-toggle.ts'

/** An alarm's ISO 8601 time or a notice's unix seconds, in the reader's locale. */
function when(value: string | number): string {
  const date = typeof value === 'number' ? new Date(value * 1000) : new Date(value)
  return Number.isNaN(date.getTime()) ? String(value) : date.toLocaleString()
}

/** Alarm history (the banner handles active ones), neighbours' alerts and utility notices. */
export class SafetyView extends LitElement {
  static override styles = [shared]
  /** Re-read on every `alarm` event: the history lists closed alarms too. */
  #alarms = new StreamResource<Alarm[]>(this, {
    fetch: async () => (await api.alarms()).alarms,
    reloadOn: { alarm: true },
  })
  #notices = new StreamResource<Notice[]>(this, {
    fetch: async () => (await api.notices()).notices,
    reloadOn: { notice: true },
  })

  override render() {
    return html`<h1>Safety</h1>
      <section class="card" aria-labelledby="notify-h">
        <h3 id="notify-h">Alarm notifications on this device</h3>
        <zkm-notification-toggle></zkm-notification-toggle>
      </section>
      <section class="card" aria-labelledby="alarms-h">
        <h3 id="alarms-h">Alarms</h3>
        ${renderLoad(
          this.#alarms.state,
          (alarms) =>
            alarms.length === 0
              ? html`<p class="muted">No alarms. Fire, gas and water sensors are watched by the meter, which reacts on its own.</p>`
              : html`<div class="table-wrap" tabindex="0" role="region" aria-label="Alarms, table"><table>
                  <thead><tr><th scope="col">Kind</th><th scope="col">State</th><th scope="col">Raised</th><th scope="col">Meter reacted</th></tr></thead>
                  <tbody>${[...alarms].reverse().map(
                    (
                      a,
                    ) => html`<tr><td>${a.kind}${a.severity === 'escalated' ? ' (escalated)' : ''}</td><td>${a.state}</td>
                      <td>${when(a.raisedAt)}</td><td>${a.deviceReacted ? 'yes' : 'no'}</td></tr>`,
                  )}</tbody></table></div>`,
          () => void this.#alarms.reload(),
          'alarms',
        )}
      </section>
      <section class="card" aria-labelledby="notices-h">
        <h3 id="notices-h">Neighbours' alerts and utility notices</h3>
        ${renderLoad(
          this.#notices.state,
          (notices) =>
            notices.length === 0
              ? html`<p class="muted">No alerts from neighbours and no notices from the utility.</p>`
              : html`<ul>${notices.map(
                  (
                    n,
                  ) => html`<li><strong>${n.source === 'neighbour' ? "Neighbour's alert" : 'Utility notice'} · ${noticeKind(n.kind)}</strong>
                    <span class="small muted">(area ${n.area})</span>
                    <div>${n.message}</div>
                    <div class="small muted">${when(n.startsAt)} → ${when(n.endsAt)}</div></li>`,
                )}</ul>`,
          () => void this.#notices.reload(),
          'notices',
        )}
      </section>`
  }
}
customElements.define('zkm-safety-view', SafetyView)
