import { html, LitElement } from 'lit'
import { api } from '../lib/api.ts'
import { normalizeAlarm } from '../lib/normalize.ts'
import { stream } from '../lib/stream.ts'
import { type Alarm, type Notice, noticeKind } from '../lib/types.ts'
import { type Load, load, loading, renderLoad } from './load-state.ts'
import { shared } from './styles.ts'

function when(value: string | number | null): string {
  if (value === null || value === '') return '—'
  const date = typeof value === 'number' ? new Date(value * 1000) : new Date(value)
  return Number.isNaN(date.getTime()) ? String(value) : date.toLocaleString()
}

/** Alarm history (the banner handles active ones), neighbours' alerts and utility notices. */
export class SafetyView extends LitElement {
  static override properties = { alarms: { state: true }, notices: { state: true } }
  static override styles = [shared]
  declare alarms: Load<Alarm[]>
  declare notices: Load<Notice[]>
  #off: (() => void)[] = []

  constructor() {
    super()
    this.alarms = loading()
    this.notices = loading()
  }

  override connectedCallback(): void {
    super.connectedCallback()
    this.#off.push(
      stream.on('alarm', () => void this.#loadAlarms()),
      stream.on('notice', () => void this.#loadNotices()),
      stream.onConnection((s) => {
        if (s === 'open') void this.reload()
      }),
    )
    void this.reload()
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback()
    for (const off of this.#off.splice(0)) off()
  }

  reload(): Promise<unknown> {
    return Promise.all([this.#loadAlarms(), this.#loadNotices()])
  }

  async #loadAlarms(): Promise<void> {
    this.alarms = await load(() =>
      api.get<{ alarms: Alarm[] }>('/api/alarms').then((a) => a.alarms.map(normalizeAlarm)),
    )
  }

  async #loadNotices(): Promise<void> {
    this.notices = await load(() => api.get<{ notices: Notice[] }>('/api/notices').then((n) => n.notices))
  }

  override render() {
    return html`<h2>Safety</h2>
      <section class="card" aria-labelledby="alarms-h">
        <h3 id="alarms-h">Alarms</h3>
        ${renderLoad(
          this.alarms,
          (alarms) =>
            alarms.length === 0
              ? html`<p class="muted">No alarms. Fire, gas and water sensors are watched by the meter, which reacts on its own.</p>`
              : html`<div class="table-wrap"><table>
                  <thead><tr><th scope="col">Kind</th><th scope="col">State</th><th scope="col">Raised</th><th scope="col">Meter reacted</th></tr></thead>
                  <tbody>${[...alarms].reverse().map(
                    (
                      a,
                    ) => html`<tr><td>${a.kind}${a.severity === 'escalated' ? ' (escalated)' : ''}</td><td>${a.state}</td>
                      <td>${when(a.raisedAt)}</td><td>${a.deviceReacted ? 'yes' : 'no'}</td></tr>`,
                  )}</tbody></table></div>`,
          () => void this.#loadAlarms(),
          'alarms',
        )}
      </section>
      <section class="card" aria-labelledby="notices-h">
        <h3 id="notices-h">Neighbours' alerts and utility notices</h3>
        ${renderLoad(
          this.notices,
          (notices) =>
            notices.length === 0
              ? html`<p class="muted">No alerts from neighbours and no notices from the utility.</p>`
              : html`<ul>${notices.map(
                  (
                    n,
                  ) => html`<li><strong>${n.source === 'neighbour' ? "Neighbour's alert" : 'Utility notice'} · ${noticeKind(n.kind)}</strong>
                    ${n.area !== null && n.area !== undefined ? html`<span class="small muted">(area ${n.area})</span>` : ''}
                    <div>${n.message}</div>
                    <div class="small muted">${when(n.startsAt)} → ${when(n.endsAt)}</div></li>`,
                )}</ul>`,
          () => void this.#loadNotices(),
          'notices',
        )}
      </section>`
  }
}
customElements.define('zkm-safety-view', SafetyView)
