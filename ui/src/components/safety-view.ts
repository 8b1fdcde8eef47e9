import { css, html, LitElement } from 'lit'
import { INTERLOCKS, RELAY_NAMES } from '#protocol/meter/interlocks.ts'
import { api, errorText } from '../lib/api.ts'
import { SessionController } from '../lib/session.ts'
import { StreamResource } from '../lib/stream-resource.ts'
import { type Alarm, type Notice, noticeKind } from '../lib/types.ts'
import { blipText, KIND_TEXT, needsAcknowledging, restoreText } from './alarm-banner.ts'
import { renderLoad } from './load-state.ts'
import { shared } from './styles.ts'
import '../pwa/notification-toggle.ts'

/** An alarm's ISO 8601 time or a notice's unix seconds, in the reader's locale. */
function when(value: string | number): string {
  const date = typeof value === 'number' ? new Date(value * 1000) : new Date(value)
  return Number.isNaN(date.getTime()) ? String(value) : date.toLocaleString()
}

const STATE_TEXT: Record<Alarm['state'], string> = {
  active: 'Active',
  cleared: 'Cleared, not acknowledged',
  acknowledged: 'Acknowledged',
}

const HOLD_TEXT = { on: 'held on', off: 'held off', locked: 'no switching' } as const

const stateText = (a: Alarm) =>
  a.state === 'acknowledged' && a.active ? 'Acknowledged, hazard still present' : STATE_TEXT[a.state]

/** The matrix's relays with one action, by name (protocol/meter/interlocks.ts). */
function relaysWith(hazard: keyof typeof INTERLOCKS, action: 'forcedOn' | 'forcedOff' | 'locked'): string {
  const names = INTERLOCKS[hazard].relays
    .filter((r) => r.action === action)
    .map((r) => RELAY_NAMES[r.channel - 1])
  return names.length > 0 ? names.join(', ') : '—'
}

/**
 * Alarms with their Acknowledge buttons and what each holds, the interlock matrix (what the meter
 * forces per hazard, and why), neighbours' alerts and utility notices.
 */
export class SafetyView extends LitElement {
  static override properties = { acking: { state: true }, ackError: { state: true } }
  static override styles = [
    shared,
    css`
      /* One card per alarm rather than a wide table: its holds and its button must stay in view on a phone. */
      .alarms {
        list-style: none;
        margin: 0;
        padding: 0;
        display: grid;
        gap: 0.75rem;
      }
      .alarms > li {
        border: 1px solid var(--line);
        border-radius: 8px;
        padding: 0.5rem 0.75rem;
      }
      .alarms ul {
        margin: 0.25rem 0;
        padding-left: 1.2rem;
      }
      /* The matrix names several relays per cell: they wrap instead of scrolling out of sight. */
      .matrix td {
        white-space: normal;
      }
    `,
  ]
  /** A read-only device sees the buttons disabled (the node refuses them too: 403). */
  #session = new SessionController(this)
  /** Re-read on every `alarm` event (an acknowledged, cleared alarm closes and leaves the list). */
  #alarms = new StreamResource<Alarm[]>(this, {
    fetch: async () => (await api.alarms()).alarms,
    reloadOn: { alarm: true },
  })
  #notices = new StreamResource<Notice[]>(this, {
    fetch: async () => (await api.notices()).notices,
    reloadOn: { notice: true },
  })
  declare acking: string
  declare ackError: string

  constructor() {
    super()
    this.acking = ''
    this.ackError = ''
  }

  async #ack(alarm: Alarm): Promise<void> {
    this.acking = alarm.id
    try {
      await api.acknowledgeAlarm({ params: { id: alarm.id } })
      this.ackError = ''
      await this.#alarms.reload()
    } catch (error) {
      this.ackError = `Acknowledging failed: ${errorText(error)}. Try again.`
    } finally {
      this.acking = ''
    }
  }

  #alarmItem(a: Alarm) {
    const kind = KIND_TEXT[a.kind] ?? a.kind
    const holds = a.holds ?? []
    return html`<li data-alarm=${a.id}>
      <div><strong>${kind}</strong>${a.severity === 'escalated' ? ' (escalated)' : ''} · <span data-state>${stateText(a)}</span></div>
      <div class="small muted">Raised ${when(a.raisedAt)}${a.clearedAt ? ` · cleared ${when(a.clearedAt)}` : ''} ·
        ${a.deviceReacted ? 'the meter reacted' : 'the meter has not confirmed its reaction'}</div>
      ${a.blip ? html`<p class="small" data-blip>${blipText(a)}</p>` : ''}
      ${
        holds.length === 0
          ? ''
          : html`<ul class="small" aria-label="Relays the ${kind} alarm holds">${holds.map(
              (h) => html`<li><strong>${h.name}</strong> ${HOLD_TEXT[h.state]}: ${h.why}</li>`,
            )}</ul>`
      }
      ${a.state === 'cleared' ? html`<p class="small">${restoreText(a)}</p>` : ''}
      ${
        needsAcknowledging(a)
          ? html`<button @click=${() => this.#ack(a)} ?disabled=${this.acking === a.id || this.#session.readOnly}
              aria-label="Acknowledge ${kind} alarm">${this.acking === a.id ? 'Acknowledging…' : 'Acknowledge'}</button>`
          : ''
      }
    </li>`
  }

  #matrix() {
    const hazards = ['flame', 'gas', 'water'] as const
    return html`<div class="table-wrap" tabindex="0" role="region" aria-label="Interlocks per hazard, table"><table class="matrix">
        <caption class="small muted">What the meter does on its own, and the node enforces, while a hazard is detected</caption>
        <thead><tr><th scope="col">Hazard</th><th scope="col">Held on</th><th scope="col">Held off</th>
          <th scope="col">No switching</th><th scope="col">Comfort rules</th></tr></thead>
        <tbody>${hazards.map(
          (h) => html`<tr><th scope="row">${INTERLOCKS[h].label}</th><td>${relaysWith(h, 'forcedOn')}</td>
            <td>${relaysWith(h, 'forcedOff')}</td><td>${relaysWith(h, 'locked')}</td>
            <td>${INTERLOCKS[h].suspendRules ? 'suspended' : 'keep running'}</td></tr>`,
        )}</tbody></table></div>
      <details><summary>Why</summary><ul class="small">${hazards.flatMap((h) =>
        INTERLOCKS[h].relays
          .filter((r, i, all) => all.findIndex((o) => o.why === r.why) === i)
          .map((r) => html`<li>${INTERLOCKS[h].label}: ${r.why}</li>`),
      )}</ul></details>
      <p class="small">Switching a held relay by hand asks you to confirm the override; while gas is detected
        nothing can be switched. When the hazard has cleared, relays the alarm switched off stay off until
        you acknowledge the alarm, then the node switches them back as they were before it.</p>`
  }

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
              : html`<ul class="alarms">${[...alarms].reverse().map((a) => this.#alarmItem(a))}</ul>`,
          () => void this.#alarms.reload(),
          'alarms',
        )}
        ${this.ackError ? html`<p class="error small" role="alert">${this.ackError}</p>` : ''}
      </section>
      <section class="card" aria-labelledby="interlocks-h">
        <h3 id="interlocks-h">Safety interlocks</h3>
        ${this.#matrix()}
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
