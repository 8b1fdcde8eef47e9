import { css, html, LitElement } from 'lit'
import { ApiError, api, errorText } from '../lib/api.ts'
import { SessionController } from '../lib/session.ts'
import { StreamResource } from '../lib/stream-resource.ts'
import type { Alarm, RelayEvent, RelayState, Relays } from '../lib/types.ts'
import { needsAcknowledging } from './alarm-banner.ts'
import { type Load, renderLoad } from './load-state.ts'
import { shared } from './styles.ts'

const FAN_TEXT = ['off', 'low', 'medium', 'high']

/** A refusal the resident chose: the override dialog was cancelled. */
class OverrideCancelledError extends Error {
  override name = 'OverrideCancelledError'
}

/**
 * Sends a switch; when the node answers that a safety interlock holds the relay
 * (SafetyConfirmationRequiredError, docs/automation.md), asks the resident in a confirm dialog and
 * sends it again with `confirm: true` only if they accept. Gas refusals (InterlockRefusedError)
 * are not offered an override: the node refuses those whatever the request says.
 */
async function withOverrideConfirmation<T>(send: (confirm: boolean) => Promise<T>): Promise<T> {
  try {
    return await send(false)
  } catch (error) {
    if (!(error instanceof ApiError) || error.error !== 'SafetyConfirmationRequiredError') throw error
    // The node's message tells an API caller to resend with "confirm"; the dialog is that here.
    const reason = error.message.replace(
      /,? (or )?repeat the request with "confirm": true( to switch it now)?$/,
      '',
    )
    if (!window.confirm(`${reason}.\n\nOverride the safety interlock?`)) {
      throw new OverrideCancelledError('Not switched: the safety interlock stays in force.')
    }
    return send(true)
  }
}

/**
 * Relay switches and fan speed showing the state the meter reports, never the state asked for:
 * a switch is "pending" from the click until the meter confirms (`relay` event or the POST's
 * answer); a 504 means the meter did not confirm and the switch keeps its reported state.
 */
export class RelayPanel extends LitElement {
  static override properties = { pending: { state: true }, errors: { state: true } }
  static override styles = [
    shared,
    css`
      ul {
        list-style: none;
        margin: 0;
        padding: 0;
        display: grid;
        gap: 0.5rem;
        grid-template-columns: repeat(auto-fill, minmax(220px, 1fr));
      }
      li {
        display: flex;
        justify-content: space-between;
        align-items: center;
        gap: 0.5rem;
        border: 1px solid var(--line);
        border-radius: 8px;
        padding: 0.5rem 0.75rem;
      }
      button[role='switch'] {
        min-width: 5.5rem;
        background: var(--line);
        color: var(--fg);
        /* Its outline at 3:1 against the card (WCAG 1.4.11): the Off switch is a control too. */
        border: 1px solid var(--control);
      }
      button[role='switch'][aria-checked='true'] {
        background: var(--ok);
        color: var(--on-ok);
      }
      .state {
        font-size: 0.8rem;
        color: var(--muted);
      }
      .fan {
        margin-top: 1rem;
      }
      fieldset {
        border: 1px solid var(--line);
        border-radius: 8px;
      }
      fieldset label {
        flex-direction: row;
        align-items: center;
        gap: 0.3rem;
        margin-right: 0.8rem;
        display: inline-flex;
      }
    `,
  ]
  /** A read-only device sees the controls disabled (the node refuses them too: 403). */
  #session = new SessionController(this)
  /** The outputs as the meter reports them, kept current by `relay` events. */
  #relays = new StreamResource<Relays>(this, {
    fetch: () => api.relays(),
    apply: { relay: (relays, event) => this.#apply(relays, event) },
  })
  /**
   * The open alarms, for what each relay is held by: a relay that stays off after an alarm must
   * say why, and how to get it back (acknowledge the alarm).
   */
  #alarms = new StreamResource<Alarm[]>(this, {
    fetch: async () => (await api.alarms()).alarms,
    reloadOn: { alarm: true },
  })
  /** Channel (or "fan") → requested state, while waiting for the meter. */
  declare pending: Record<string, boolean | number>
  declare errors: Record<string, string>

  constructor() {
    super()
    this.pending = {}
    this.errors = {}
  }

  get data(): Load<Relays> {
    return this.#relays.state
  }

  async reload(): Promise<void> {
    await this.#relays.reload()
  }

  /** The reported state after `event`; a confirmed command is no longer pending. */
  #apply(current: Relays, event: RelayEvent): Relays {
    if ('fanSpeed' in event) {
      this.#clear('fan')
      return { ...current, fanSpeed: event.fanSpeed }
    }
    if (this.pending[event.channel] === event.on) this.#clear(String(event.channel))
    const relays = current.relays.map((r) =>
      r.channel === event.channel ? { ...r, on: event.on, known: true } : r,
    )
    return { ...current, relays }
  }

  #report(event: RelayEvent): void {
    this.#relays.update((relays) => this.#apply(relays, event))
  }

  #clear(key: string): void {
    const { [key]: _, ...rest } = this.pending
    this.pending = rest
  }

  #failure(key: string, error: unknown): void {
    const text =
      error instanceof ApiError && error.status === 504
        ? 'The meter did not confirm: the command was not applied. Check that the meter is online and try again.'
        : errorText(error)
    this.errors = { ...this.errors, [key]: text }
  }

  async #toggle(relay: RelayState): Promise<void> {
    const key = String(relay.channel)
    const on = !relay.on
    this.pending = { ...this.pending, [key]: on }
    this.errors = { ...this.errors, [key]: '' }
    try {
      const result = await withOverrideConfirmation((confirm) =>
        api.setRelay({ params: { channel: relay.channel }, body: confirm ? { on, confirm } : { on } }),
      )
      if (result.confirmed) this.#report({ channel: result.channel, on: result.on })
      this.#clear(key)
    } catch (error) {
      this.#clear(key)
      this.#failure(key, error)
    }
  }

  async #setFan(speed: number): Promise<void> {
    this.pending = { ...this.pending, fan: speed }
    this.errors = { ...this.errors, fan: '' }
    try {
      const result = await withOverrideConfirmation((confirm) =>
        api.setFan({ body: confirm ? { speed, confirm } : { speed } }),
      )
      if (result.confirmed) this.#report({ fanSpeed: result.speed })
      this.#clear('fan')
    } catch (error) {
      this.#clear('fan')
      this.#failure('fan', error)
    }
  }

  /**
   * "held off by the gas alarm, which has cleared: acknowledge it on the Safety page …", or after a
   * short blip that raised no alarm.
   */
  #heldBy(channel: number): string {
    for (const a of this.#alarms.value ?? []) {
      const hold = (a.holds ?? []).find((h) => h.channel === channel)
      if (hold === undefined || (a.state === 'acknowledged' && !a.active)) continue
      const what = hold.state === 'locked' ? 'no switching' : `held ${hold.state}`
      // A blip raised no alarm: calling it "the gas alarm" sends the resident looking for one.
      if (a.blip)
        return `${what} after a short ${a.kind} blip that raised no alarm: acknowledge it on the Safety page to restore`
      return needsAcknowledging(a) && !a.active
        ? `${what} by the ${a.kind} alarm, which has cleared: acknowledge it on the Safety page to restore`
        : `${what} by the ${a.kind} alarm`
    }
    return ''
  }

  #relay(r: RelayState) {
    const key = String(r.channel)
    const waiting = key in this.pending
    const error = this.errors[key]
    const held = this.#heldBy(r.channel)
    return html`<li data-channel=${r.channel}>
      <div>
        <div id="relay-${r.channel}">${r.name}</div>
        <div class="state" aria-live="polite">
          ${waiting ? `pending — waiting for the meter to switch ${(this.pending[key] ?? !r.on) ? 'on' : 'off'}` : r.known ? `meter reports ${r.on ? 'on' : 'off'}` : 'not reported by the meter yet'}
        </div>
        ${held ? html`<div class="state" data-held>${held}</div>` : ''}
        ${error ? html`<div class="error small" role="alert">${error}</div>` : ''}
      </div>
      <button role="switch" aria-checked=${r.on ? 'true' : 'false'} aria-labelledby="relay-${r.channel}"
        ?disabled=${waiting || this.#session.readOnly} @click=${() => this.#toggle(r)}>${waiting ? 'pending' : r.on ? 'On' : 'Off'}</button>
    </li>`
  }

  override render() {
    return renderLoad(
      this.data,
      (d) => html`<ul aria-label="Relays">${d.relays.map((r) => this.#relay(r))}</ul>
        <fieldset class="fan" ?disabled=${'fan' in this.pending || this.#session.readOnly}>
          <legend>Ceiling fan speed (meter reports ${FAN_TEXT[d.fanSpeed] ?? d.fanSpeed})</legend>
          ${FAN_TEXT.map(
            (text, speed) => html`<label><input type="radio" name="fan" .checked=${d.fanSpeed === speed}
              @change=${() => this.#setFan(speed)} />${speed} — ${text}</label>`,
          )}
          ${'fan' in this.pending ? html`<span class="state" role="status">pending…</span>` : ''}
          ${this.errors.fan ? html`<div class="error small" role="alert">${this.errors.fan}</div>` : ''}
        </fieldset>`,
      () => void this.reload(),
      'relays',
    )
  }
}
customElements.define('zkm-relay-panel', RelayPanel)
